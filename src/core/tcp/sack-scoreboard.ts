/**
 * The sender's SACK scoreboard (RFC 6675 Update()): which data above SND.UNA the receiver holds,
 * from the SACK blocks of RFC 2018; how many bytes each ACK newly SACKed (PRR's DeliveredData);
 * D-SACK blocks (RFC 2883) recognised and reported, not recorded. Which segments are lost, what to
 * send and the pipe are RACK's (rack.ts, RFC 8985, which folds RFC 6675's DupThresh rule in).
 *
 * Ranges are half-open [start, end) in sequence space, sorted, disjoint and never touching; their
 * number is bounded (`maxRanges`): beyond it the highest ranges are forgotten (counted in
 * `overflows`), which can only cause a retransmission that was not needed.
 */
import type { SackBlock } from '../../wire/tcp-options.ts';
import { type Seq, seqDiff, seqGt, seqLe, seqLt, seqMax } from './seq.ts';

/** RFC 6675 2 (DupThresh): three duplicate ACKs or three SACKed segments above a hole. */
export const DUP_THRESH = 3;
/** The default bound on the ranges remembered. */
export const MAX_SACK_RANGES = 64;

/** What one ACK's SACK blocks changed. */
export interface SackUpdate {
  /** The D-SACK block the ACK carried (RFC 2883 4), if any: data received twice. */
  dsack: SackBlock | undefined;
  /** Bytes SACKed by this ACK that were not SACKed before. */
  newlySacked: number;
}

interface Range {
  start: Seq;
  end: Seq;
}

/** One connection's scoreboard (see the module comment). */
export class SackScoreboard {
  private ranges: Range[] = [];
  private una: Seq;
  private highSacked: Seq;
  private bytes = 0;
  private readonly maxRanges: number;
  /** Ranges forgotten because of the bound. */
  overflows = 0;

  /** A scoreboard starting at SND.UNA `sndUna`, remembering at most `maxRanges` ranges. */
  constructor(sndUna: Seq, maxRanges = MAX_SACK_RANGES) {
    this.una = sndUna >>> 0;
    this.highSacked = this.una;
    this.maxRanges = maxRanges;
  }

  /** SND.UNA as last given to `update`. */
  get sndUna(): Seq {
    return this.una;
  }

  /** Bytes above SND.UNA the receiver has SACKed. */
  get sackedBytes(): number {
    return this.bytes;
  }

  /** The end of the highest SACKed data (SND.UNA when nothing is SACKed above it). */
  get highestSacked(): Seq {
    return seqMax(this.highSacked, this.una);
  }

  /** The SACKed ranges, lowest first (copies). */
  sackedRanges(): SackBlock[] {
    return this.ranges.map((r) => ({ left: r.start, right: r.end }));
  }

  /** Whether byte `seq` was SACKed. */
  isSacked(seq: Seq): boolean {
    return this.ranges.some((r) => seqLe(r.start, seq) && seqLt(seq, r.end));
  }

  /**
   * An ACK arrived: cumulative acknowledgment `cumAck` (SND.UNA after it) and its SACK `blocks`
   * (as received). Blocks beyond `sndNxt` (when given) or empty are ignored (RFC 2018 does not
   * allow them). `segAck` is the ACK's own acknowledgment field when it differs from `cumAck` (an
   * older ACK arriving late): D-SACK is judged against it, not against SND.UNA.
   */
  update(cumAck: Seq, blocks: readonly SackBlock[], sndNxt?: Seq, segAck: Seq = cumAck): SackUpdate {
    let dsack: SackBlock | undefined;
    const first = blocks[0];
    const second = blocks[1];
    // RFC 2883 4: the first block reports a duplicate if it lies below the ACK field of the
    // segment that carries it, or within the second block.
    if (
      first !== undefined &&
      (seqLt(first.left, segAck) ||
        (second !== undefined && seqLe(second.left, first.left) && seqLe(first.right, second.right)))
    ) {
      dsack = { left: first.left >>> 0, right: first.right >>> 0 };
    }
    if (seqGt(cumAck, this.una)) this.advance(cumAck >>> 0);
    const before = this.bytes;
    blocks.forEach((b, i) => {
      if (i === 0 && dsack !== undefined) return;
      if (!seqLt(b.left, b.right)) return;
      if (sndNxt !== undefined && seqGt(b.right, sndNxt)) return;
      if (seqLe(b.right, this.una)) return;
      this.insert(seqMax(b.left >>> 0, this.una), b.right >>> 0);
    });
    const newlySacked = this.bytes - before;
    while (this.ranges.length > this.maxRanges) {
      const dropped = this.ranges.pop() as Range;
      this.bytes -= seqDiff(dropped.end, dropped.start);
      this.overflows++;
    }
    return { dsack, newlySacked };
  }

  /**
   * Forget all SACK information (RFC 2018 8 / RFC 6675 5.1: after a retransmission timeout the
   * receiver may have reneged, so the sender must not trust earlier SACKs).
   */
  clear(): void {
    this.ranges = [];
    this.bytes = 0;
    this.highSacked = this.una;
  }

  private advance(cumAck: Seq): void {
    this.una = cumAck;
    while (this.ranges.length > 0) {
      const r = this.ranges[0] as Range;
      if (seqLe(r.end, cumAck)) {
        this.ranges.shift();
        this.bytes -= seqDiff(r.end, r.start);
      } else {
        if (seqLt(r.start, cumAck)) {
          this.bytes -= seqDiff(cumAck, r.start);
          r.start = cumAck;
        }
        break;
      }
    }
  }

  /** Adds [start, end) (above SND.UNA), merging what it overlaps or touches. */
  private insert(start: Seq, end: Seq): void {
    let lo = start;
    let hi = end;
    const kept: Range[] = [];
    let at = -1;
    for (const r of this.ranges) {
      if (seqLt(r.end, lo)) {
        kept.push(r);
      } else if (seqGt(r.start, hi)) {
        if (at < 0) at = kept.length;
        kept.push(r);
      } else {
        lo = seqLt(r.start, lo) ? r.start : lo;
        hi = seqGt(r.end, hi) ? r.end : hi;
        this.bytes -= seqDiff(r.end, r.start);
      }
    }
    kept.splice(at < 0 ? kept.length : at, 0, { start: lo, end: hi });
    this.ranges = kept;
    this.bytes += seqDiff(hi, lo);
    this.highSacked = seqMax(this.highSacked, hi);
  }
}
