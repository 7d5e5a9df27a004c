/**
 * The sender's SACK scoreboard (RFC 6675): which data above SND.UNA the receiver holds, from the
 * SACK blocks of RFC 2018, and the loss-recovery rules built on it: IsLost, NextSeg, SetPipe.
 * D-SACK blocks (RFC 2883) are recognised and reported, not recorded.
 *
 * Ranges are half-open [start, end) in sequence space, sorted, disjoint and never touching; their
 * number is bounded (`maxRanges`): beyond it the highest ranges are forgotten (counted in
 * `overflows`), which can only cause a retransmission that was not needed.
 */
import type { SackBlock } from '../../wire/tcp-options.ts';
import { type Seq, seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax } from './seq.ts';

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

/**
 * A segment NextSeg (RFC 6675 4) chose: `lost` (rule 1), `new` data at SND.NXT (rule 2, the caller
 * chooses its length), an `unsacked` hole not yet deemed lost (rule 3), or the `rescue`
 * retransmission (rule 4).
 */
export interface NextSeg {
  kind: 'lost' | 'new' | 'unsacked' | 'rescue';
  seq: Seq;
  length: number;
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
  /** HighRxt (RFC 6675 2), as the end of the highest retransmitted data (exclusive). */
  private highRxt: Seq;
  private rescueRxt: Seq | undefined;
  private recoveryPoint: Seq | undefined;
  private mss: number;
  private readonly maxRanges: number;
  /** Ranges forgotten because of the bound. */
  overflows = 0;

  /** A scoreboard starting at SND.UNA `sndUna`, for sender MSS `mss`. */
  constructor(sndUna: Seq, mss: number, maxRanges = MAX_SACK_RANGES) {
    this.una = sndUna >>> 0;
    this.highSacked = this.una;
    this.highRxt = this.una;
    this.mss = mss;
    this.maxRanges = maxRanges;
  }

  /** The sender MSS changed. */
  setMss(mss: number): void {
    this.mss = mss;
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
   * RFC 6675 4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges lie above `seq`, or more than
   * (DupThresh - 1) * SMSS bytes above it are SACKed.
   */
  isLost(seq: Seq): boolean {
    let count = 0;
    let bytes = 0;
    for (const r of this.ranges) {
      if (seqLe(r.end, seq)) continue;
      if (seqGt(r.start, seq)) {
        count++;
        bytes += seqDiff(r.end, r.start);
      } else {
        bytes += seqDiff(r.end, seq) - 1;
      }
    }
    return count >= DUP_THRESH || bytes > (DUP_THRESH - 1) * this.mss;
  }

  /** RFC 6675 5 step (4): entering loss recovery with RecoveryPoint `recoveryPoint` (HighData). */
  enterRecovery(recoveryPoint: Seq): void {
    this.recoveryPoint = recoveryPoint >>> 0;
    this.highRxt = this.una;
    this.rescueRxt = undefined;
  }

  /** Loss recovery ended. */
  exitRecovery(): void {
    this.recoveryPoint = undefined;
    this.rescueRxt = undefined;
  }

  /**
   * RFC 6675 4 NextSeg(): what to send next during recovery, given SND.NXT (HighData + 1) and
   * whether new data may be sent (available and allowed by the receive window). Undefined when
   * nothing qualifies.
   */
  nextSeg(sndNxt: Seq, canSendNew: boolean): NextSeg | undefined {
    let firstUnsacked: NextSeg | undefined;
    for (const [hs, he] of this.holes(sndNxt)) {
      // Rules 1.a and 1.b: beyond HighRxt and below the highest SACKed byte.
      const s = seqMax(hs, this.highRxt);
      if (!seqLt(s, he) || !seqLt(s, this.highestSacked)) continue;
      const seg = { seq: s, length: Math.min(this.mss, seqDiff(he, s)) };
      if (this.isLost(s)) return { kind: 'lost', ...seg }; // rule 1.c
      firstUnsacked ??= { kind: 'unsacked', ...seg };
    }
    if (canSendNew) return { kind: 'new', seq: sndNxt >>> 0, length: this.mss }; // rule 2
    if (firstUnsacked !== undefined) return firstUnsacked; // rule 3
    // Rule 4: one rescue retransmission per recovery, holding the highest outstanding unSACKed byte.
    if (this.recoveryPoint === undefined) return undefined;
    if (this.rescueRxt !== undefined && !seqGt(this.una, this.rescueRxt)) return undefined;
    const last = this.ranges[this.ranges.length - 1];
    const top = last !== undefined && last.end === sndNxt >>> 0 ? last.start : sndNxt >>> 0;
    if (!seqGt(top, this.una)) return undefined;
    const length = Math.min(this.mss, seqDiff(top, this.una));
    return { kind: 'rescue', seq: seqAdd(top, -length), length };
  }

  /** The caller sent `seg` (as NextSeg returned it): RFC 6675 5 steps (C.2) and rule 4. */
  onSent(seg: NextSeg): void {
    if (seg.kind === 'lost' || seg.kind === 'unsacked') {
      this.highRxt = seqMax(this.highRxt, seqAdd(seg.seq, seg.length));
    } else if (seg.kind === 'rescue') {
      this.rescueRxt = this.recoveryPoint;
    }
  }

  /**
   * RFC 6675 4 SetPipe(): the bytes estimated in flight between SND.UNA and `sndNxt`: octets
   * neither SACKed nor lost, plus octets retransmitted (up to HighRxt) during this recovery.
   */
  pipe(sndNxt: Seq): number {
    let pipe = 0;
    const rxtEnd = this.recoveryPoint === undefined ? this.una : this.highRxt;
    for (const [hs, he] of this.holes(sndNxt)) {
      if (!this.isLost(hs)) pipe += seqDiff(he, hs);
      if (seqLt(hs, rxtEnd)) pipe += seqDiff(seqLt(he, rxtEnd) ? he : rxtEnd, hs);
    }
    return pipe;
  }

  /**
   * Forget all SACK information (RFC 2018 8 / RFC 6675 5.1: after a retransmission timeout the
   * receiver may have reneged, so the sender must not trust earlier SACKs).
   */
  clear(): void {
    this.ranges = [];
    this.bytes = 0;
    this.highSacked = this.una;
    this.highRxt = this.una;
  }

  /** The unSACKed holes [start, end) between SND.UNA and `sndNxt`, lowest first. */
  private holes(sndNxt: Seq): Array<[Seq, Seq]> {
    const out: Array<[Seq, Seq]> = [];
    let cur = this.una;
    for (const r of this.ranges) {
      if (seqLt(cur, r.start)) out.push([cur, r.start]);
      cur = r.end;
    }
    if (seqLt(cur, sndNxt)) out.push([cur, sndNxt >>> 0]);
    return out;
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
    this.highRxt = seqMax(this.highRxt, cumAck);
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
