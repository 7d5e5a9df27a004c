/**
 * RACK-TLP loss detection (RFC 8985). RACK keeps each outstanding segment's transmit time; when a
 * segment sent later is delivered, an earlier one still missing after the RTT plus a reordering
 * window is deemed lost (time-based instead of counting duplicate ACKs). TLP sends a probe when
 * the tail of a flight may be lost, after the probe timeout `tlpTimeout` computes.
 *
 * Use: `onSend` for every (re)transmission, `onAck` for every ACK, then `detectLoss(now)` gives the
 * newly lost ranges to retransmit and when to run it again (the reordering timer); `onTimeout` on
 * an RTO (RFC 8985 6.3); `onRecoveryEnd` when a recovery ends (for the reordering window).
 */
import type { SackBlock } from '../../wire/tcp-options.ts';
import { DUP_THRESH } from './sack-scoreboard.ts';
import { type Seq, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';

/** RFC 8985 7.2: WCDelAckT, the worst-case delayed-ACK time, 200 ms. */
export const WC_DEL_ACK_T = 200;
/** RFC 8985 7.2: the PTO before any RTT sample, 1 s. */
export const TLP_INITIAL_PTO = 1000;
/** RFC 8985 6.2 step 4: reo_wnd_persist, recoveries a grown reordering window survives. */
export const REO_WND_PERSIST = 16;

/** One transmitted segment [start, end) (RFC 8985 5.2 per-segment variables). */
interface Segment {
  start: Seq;
  end: Seq;
  /** Segment.xmit_ts: the time of the latest (re)transmission. */
  xmitTs: number;
  retransmitted: boolean;
  /** Cumulatively or selectively acknowledged. */
  delivered: boolean;
  /** Marked lost and not retransmitted since. */
  lost: boolean;
}

/** What one ACK tells RACK. */
export interface RackAck {
  now: number;
  /** The cumulative acknowledgment number (SND.UNA after this ACK). */
  cumAck: Seq;
  /** The ACK's SACK blocks, without a D-SACK block; segments wholly inside one are delivered. */
  sacked: readonly SackBlock[];
  /** Whether the ACK carried a D-SACK block (RFC 2883). */
  dsack: boolean;
  /** SND.NXT now. */
  sndNxt: Seq;
  /** SRTT of the RFC 6298 estimator (ms), bounding the reordering window. */
  srtt: number;
  /** Whether the sender is in fast or RTO recovery. */
  inRecovery: boolean;
}

/** What `detectLoss` found. */
export interface RackLoss {
  /** Segments newly deemed lost, lowest first. */
  lost: SackBlock[];
  /** When to run detection again (ms from now): the reordering timer; undefined when not needed. */
  reorderTimeout: number | undefined;
}

/** RFC 8985 6.2 RACK_sent_after: was (t1, seq1) sent after (t2, seq2)? */
function sentAfter(t1: number, seq1: Seq, t2: number, seq2: Seq): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(seq1, seq2));
}

/** RACK state of one connection. */
export class Rack {
  private segments: Segment[] = [];
  /** RACK.xmit_ts and RACK.end_seq: the most recently sent segment delivered. */
  private xmitTs: number | undefined;
  private endSeq: Seq = 0;
  /** RACK.rtt: the RTT of that segment. */
  rtt = 0;
  /** RACK.min_RTT: the smallest RTT sampled (ms), undefined before any. */
  minRtt: number | undefined;
  /** RACK.fack: the end of the highest segment delivered. */
  private fack: Seq | undefined;
  /** RACK.reordering_seen. */
  reorderingSeen = false;
  /** RACK.reo_wnd_mult. */
  reoWndMult = 1;
  private reoWndPersist = 0;
  private dsackRound: Seq | undefined;
  private srtt = 0;
  private inRecovery = false;

  /** Segments tracked (sent and neither cumulatively acknowledged nor forgotten). */
  get size(): number {
    return this.segments.length;
  }

  /**
   * [start, end) was transmitted at `now`: new data beyond what is tracked is appended; data
   * already tracked is a retransmission (Segment.retransmitted, no longer lost).
   */
  onSend(start: Seq, end: Seq, now: number): void {
    if (!seqLt(start, end)) return;
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || seqGe(start, last.end)) {
      this.segments.push({ start, end, xmitTs: now, retransmitted: false, delivered: false, lost: false });
      return;
    }
    this.split(start);
    this.split(end);
    for (const s of this.segments) {
      if (seqGe(s.start, end)) break;
      if (seqLt(s.start, start) || s.delivered) continue;
      s.xmitTs = now;
      s.retransmitted = true;
      s.lost = false;
    }
    if (seqGt(end, (this.segments[this.segments.length - 1] as Segment).end)) {
      this.onSend((this.segments[this.segments.length - 1] as Segment).end, end, now);
    }
  }

  /** RFC 8985 6.2 steps 1 to 4: an ACK arrived. */
  onAck(ack: RackAck): void {
    this.srtt = ack.srtt;
    this.inRecovery = ack.inRecovery;
    const newly: Segment[] = [];
    for (const s of this.segments) {
      if (s.delivered) continue;
      const acked =
        seqLe(s.end, ack.cumAck) || ack.sacked.some((b) => seqLe(b.left, s.start) && seqLe(s.end, b.right));
      if (!acked) continue;
      s.delivered = true;
      s.lost = false;
      newly.push(s);
    }
    // Step 2 (RACK_update), in ascending order of transmit time.
    newly.sort((a, b) => a.xmitTs - b.xmitTs || seqDiff(a.end, b.end));
    for (const s of newly) {
      const rtt = ack.now - s.xmitTs;
      if (s.retransmitted) {
        // Possibly an ACK of the original transmission: too fast to be of the retransmission.
        if (this.minRtt === undefined || rtt < this.minRtt) continue;
      } else {
        this.minRtt = this.minRtt === undefined ? rtt : Math.min(this.minRtt, rtt);
      }
      this.rtt = rtt;
      if (this.xmitTs === undefined || sentAfter(s.xmitTs, s.end, this.xmitTs, this.endSeq)) {
        this.xmitTs = s.xmitTs;
        this.endSeq = s.end;
      }
    }
    // Step 3 (RACK_detect_reordering), in ascending order of end sequence.
    newly.sort((a, b) => seqDiff(a.end, b.end));
    for (const s of newly) {
      if (this.fack === undefined || seqGt(s.end, this.fack)) this.fack = s.end;
      else if (seqLt(s.end, this.fack) && !s.retransmitted) this.reorderingSeen = true;
    }
    // Step 4 (RACK_update_reo_wnd): one increase of the multiplier per round trip with D-SACK.
    if (this.dsackRound !== undefined && seqGe(ack.cumAck, this.dsackRound)) this.dsackRound = undefined;
    if (this.dsackRound === undefined && ack.dsack) {
      this.dsackRound = ack.sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    }
    // Cumulatively acknowledged segments are done.
    let drop = 0;
    while (drop < this.segments.length && seqLe((this.segments[drop] as Segment).end, ack.cumAck)) drop++;
    if (drop > 0) this.segments.splice(0, drop);
  }

  /** RFC 8985 6.2 step 4: a fast or RTO recovery ended (a grown window decays after 16 of them). */
  onRecoveryEnd(): void {
    this.inRecovery = false;
    if (--this.reoWndPersist <= 0) {
      this.reoWndPersist = 0;
      this.reoWndMult = 1;
    }
  }

  /** RFC 8985 6.2 RACK_reo_wnd(): the reordering window now (ms). */
  get reorderWindow(): number {
    if (!this.reorderingSeen) {
      if (this.inRecovery) return 0;
      const sacked = this.segments.filter((s) => s.delivered).length;
      if (sacked >= DUP_THRESH) return 0;
    }
    return Math.min((this.reoWndMult * (this.minRtt ?? 0)) / 4, this.srtt);
  }

  /** RFC 8985 6.2 step 5 (RACK_detect_loss): segments lost by `now`, and the reordering timeout. */
  detectLoss(now: number): RackLoss {
    const lost: SackBlock[] = [];
    let timeout = 0;
    if (this.xmitTs !== undefined) {
      const reoWnd = this.reorderWindow;
      for (const s of this.segments) {
        if (s.delivered || s.lost) continue;
        if (!sentAfter(this.xmitTs, this.endSeq, s.xmitTs, s.end)) continue;
        const remaining = s.xmitTs + this.rtt + reoWnd - now;
        if (remaining <= 0) {
          s.lost = true;
          lost.push({ left: s.start, right: s.end });
        } else {
          timeout = Math.max(timeout, remaining);
        }
      }
    }
    return { lost, reorderTimeout: timeout > 0 ? timeout : undefined };
  }

  /**
   * RFC 8985 6.3: the retransmission timer expired. The first outstanding segment is lost; the
   * others only if sent at least RACK.rtt + reo_wnd ago. Returns the ranges newly deemed lost.
   */
  onTimeout(now: number): SackBlock[] {
    const lost: SackBlock[] = [];
    const reoWnd = this.reorderWindow;
    let first = true;
    for (const s of this.segments) {
      if (s.delivered) continue;
      if (!s.lost && (first || s.xmitTs + this.rtt + reoWnd - now <= 0)) {
        s.lost = true;
        lost.push({ left: s.start, right: s.end });
      }
      first = false;
    }
    return lost;
  }

  /** Whether the segment holding `seq` is marked lost (and not retransmitted since). */
  isLost(seq: Seq): boolean {
    return this.segments.some((s) => s.lost && seqLe(s.start, seq) && seqLt(seq, s.end));
  }

  /** Splits the segment holding `seq` (strictly inside it) in two at `seq`. */
  private split(seq: Seq): void {
    const i = this.segments.findIndex((s) => seqLt(s.start, seq) && seqLt(seq, s.end));
    if (i < 0) return;
    const s = this.segments[i] as Segment;
    this.segments.splice(i + 1, 0, { ...s, start: seq });
    s.end = seq;
  }
}

/**
 * RFC 8985 7.2: the probe timeout. PTO = 2 * SRTT, plus the worst-case delayed-ACK time when only
 * one segment is in flight (its ACK may be delayed); 1 s without an RTT sample; never later than
 * the pending RTO (`rtoRemaining` ms from now).
 */
export function tlpTimeout(
  srtt: number | undefined,
  flightSize: number,
  mss: number,
  rtoRemaining: number,
  maxAckDelay = WC_DEL_ACK_T,
): number {
  let pto = TLP_INITIAL_PTO;
  if (srtt !== undefined) {
    pto = 2 * srtt;
    if (flightSize <= mss) pto += maxAckDelay;
  }
  return Math.min(pto, rtoRemaining);
}
