/**
 * RACK-TLP loss detection (RFC 8985). RACK keeps each outstanding segment's transmit time; when a
 * segment sent later is delivered, an earlier one still missing after the RTT plus a reordering
 * window is deemed lost (time-based instead of counting duplicate ACKs). TLP sends a probe when
 * the tail of a flight may be lost, after the probe timeout `tlpTimeout` computes.
 *
 * Use: `onSend` for every (re)transmission, `onAck` for every ACK, then `detectLoss(now)` gives the
 * newly lost ranges to retransmit and when to run it again (the reordering timer); `onTimeout` on
 * an RTO (RFC 8985 6.3); `onRecoveryEnd` when a recovery ends (for the reordering window).
 *
 * The segments are kept twice: in sequence order (an array, for cumulative and selective ACKs by
 * binary search) and, while neither delivered nor lost, in a list ordered by transmit time (as
 * Linux's tsorted queue), so loss detection looks only at the segments sent before the one RACK
 * trusts. `inFlight` (bytes neither delivered nor lost, RFC 6675 "pipe" in spirit) is kept as
 * segments change, so no ACK scans the whole flight. The number of segments is bounded
 * (`maxSegments`): beyond it new data is merged into the last segment (`coalesced` counts it),
 * which only makes the merged bytes look sent later (loss found later, never spuriously).
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
/** The default bound on the segments tracked. */
export const MAX_RACK_SEGMENTS = 16384;

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
  /** Neighbours in transmit-time order, while neither delivered nor lost. */
  older: Segment | undefined;
  newer: Segment | undefined;
  linked: boolean;
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

const length = (s: Segment): number => seqDiff(s.end, s.start);
const byStart = (a: SackBlock, b: SackBlock): number => seqDiff(a.left, b.left);

/** RACK state of one connection. */
export class Rack {
  /** In sequence order from `head`; entries before `head` are acknowledged and dropped. */
  private segments: Segment[] = [];
  private head = 0;
  /** Transmit-time list of the segments neither delivered nor lost, oldest first. */
  private oldest: Segment | undefined;
  private newest: Segment | undefined;
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
  /** The segments the ACK being processed delivered (reused from ACK to ACK). */
  private readonly newly: Segment[] = [];
  /** Segments selectively acknowledged above the cumulative ACK. */
  private sackedCount = 0;
  /** Bytes sent and neither delivered nor marked lost. */
  inFlight = 0;
  /** Bytes marked lost and not retransmitted since. */
  lostBytes = 0;
  /** Times new data was merged into the last segment because of the bound. */
  coalesced = 0;

  /** A RACK instance tracking at most `maxSegments` segments (softly: see the module comment). */
  constructor(private readonly maxSegments = MAX_RACK_SEGMENTS) {}

  /** Segments tracked (sent and neither cumulatively acknowledged nor forgotten). */
  get size(): number {
    return this.segments.length - this.head;
  }

  /**
   * [start, end) was transmitted at `now`: new data beyond what is tracked is appended; data
   * already tracked is a retransmission (Segment.retransmitted, no longer lost).
   */
  onSend(start: Seq, end: Seq, now: number): void {
    if (!seqLt(start, end)) return;
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || this.size === 0 || seqGe(start, last.end)) {
      this.inFlight += seqDiff(end, start);
      if (
        last !== undefined &&
        this.size >= this.maxSegments &&
        last.end === start &&
        !last.delivered &&
        !last.lost &&
        !last.retransmitted
      ) {
        this.coalesced++;
        last.end = end;
        last.xmitTs = now;
        this.unlink(last);
        this.link(last);
        return;
      }
      const s: Segment = {
        start,
        end,
        xmitTs: now,
        retransmitted: false,
        delivered: false,
        lost: false,
        older: undefined,
        newer: undefined,
        linked: false,
      };
      this.segments.push(s);
      this.link(s);
      return;
    }
    this.split(start);
    this.split(end);
    for (let i = Math.max(this.head, this.indexAtOrAfter(start)); i < this.segments.length; i++) {
      const s = this.segments[i] as Segment;
      if (seqGe(s.start, end)) break;
      if (s.delivered) continue;
      if (s.lost) {
        s.lost = false;
        this.lostBytes -= length(s);
        this.inFlight += length(s);
      }
      s.xmitTs = now;
      s.retransmitted = true;
      this.unlink(s);
      this.link(s);
    }
    const top = (this.segments[this.segments.length - 1] as Segment).end;
    if (seqGt(end, top)) this.onSend(top, end, now);
  }

  /** RFC 8985 6.2 steps 1 to 4: an ACK arrived. Returns the bytes it newly delivered. */
  onAck(ack: RackAck): number {
    this.srtt = ack.srtt;
    this.inRecovery = ack.inRecovery;
    const newly = this.newly;
    newly.length = 0;
    let bytes = 0;
    // Step 1: the segments this ACK delivers (cumulatively, or wholly inside a SACK block).
    this.split(ack.cumAck);
    for (let i = this.head; i < this.segments.length; i++) {
      const s = this.segments[i] as Segment;
      if (!seqLe(s.end, ack.cumAck)) break;
      bytes += this.deliver(s);
    }
    for (const b of ack.sacked) {
      for (let i = this.indexAtOrAfter(b.left); i < this.segments.length; i++) {
        const s = this.segments[i] as Segment;
        if (!seqLe(s.end, b.right)) break;
        bytes += this.deliver(s);
      }
    }
    // Step 2 (RACK_update), in ascending order of transmit time.
    if (newly.length > 1) newly.sort((a, b) => a.xmitTs - b.xmitTs || seqDiff(a.end, b.end));
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
    if (newly.length > 1) newly.sort((a, b) => seqDiff(a.end, b.end));
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
    while (this.head < this.segments.length && seqLe((this.segments[this.head] as Segment).end, ack.cumAck)) {
      this.sackedCount--;
      this.head++;
    }
    this.compact();
    newly.length = 0;
    return bytes;
  }

  /** Marks `s` delivered (once): it leaves the flight and the time list. Returns its bytes. */
  private deliver(s: Segment): number {
    if (s.delivered) return 0;
    s.delivered = true;
    if (s.lost) {
      s.lost = false;
      this.lostBytes -= length(s);
    } else {
      this.inFlight -= length(s);
    }
    this.unlink(s);
    this.sackedCount++;
    this.newly.push(s);
    return length(s);
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
      // The DupThresh rule folded into RACK (RFC 8985 6.2): with DupThresh segments SACKed and
      // no reordering seen, no extra wait.
      if (this.sackedCount >= DUP_THRESH) return 0;
    }
    return Math.min((this.reoWndMult * (this.minRtt ?? 0)) / 4, this.srtt);
  }

  /** RFC 8985 6.2 step 5 (RACK_detect_loss): segments lost by `now`, and the reordering timeout. */
  detectLoss(now: number): RackLoss {
    const lost: SackBlock[] = [];
    let timeout = 0;
    if (this.xmitTs !== undefined) {
      const reoWnd = this.reorderWindow;
      // Oldest transmissions first: the scan ends at the first one sent after RACK's segment.
      for (let s = this.oldest; s !== undefined; ) {
        const next = s.newer;
        if (!sentAfter(this.xmitTs, this.endSeq, s.xmitTs, s.end)) break;
        const remaining = s.xmitTs + this.rtt + reoWnd - now;
        if (remaining <= 0) {
          this.markLost(s);
          lost.push({ left: s.start, right: s.end });
        } else {
          timeout = Math.max(timeout, remaining);
        }
        s = next;
      }
    }
    if (lost.length > 1) lost.sort(byStart);
    return { lost, reorderTimeout: timeout > 0 ? timeout : undefined };
  }

  /**
   * RFC 8985 6.3: the retransmission timer expired. The first outstanding segment is lost; the
   * others only if sent at least RACK.rtt + reo_wnd ago. Returns the ranges newly deemed lost.
   */
  onTimeout(now: number): SackBlock[] {
    const lost: SackBlock[] = [];
    for (let i = this.head; i < this.segments.length; i++) {
      const s = this.segments[i] as Segment;
      if (s.delivered) continue;
      if (!s.lost) {
        this.markLost(s);
        lost.push({ left: s.start, right: s.end });
      }
      break;
    }
    const reoWnd = this.reorderWindow;
    for (let s = this.oldest; s !== undefined; ) {
      const next = s.newer;
      if (s.xmitTs + this.rtt + reoWnd - now > 0) break;
      this.markLost(s);
      lost.push({ left: s.start, right: s.end });
      s = next;
    }
    if (lost.length > 1) lost.sort(byStart);
    return lost;
  }

  /** Whether the segment holding `seq` is marked lost (and not retransmitted since). */
  isLost(seq: Seq): boolean {
    const i = this.indexOf(seq);
    return i >= 0 && (this.segments[i] as Segment).lost;
  }

  /** The lowest segment marked lost at or after `from`, as [seq, seq + length). */
  nextLost(from: Seq): { seq: Seq; length: number } | undefined {
    if (this.lostBytes === 0) return undefined;
    for (let i = Math.max(this.head, this.indexAtOrAfter(from)); i < this.segments.length; i++) {
      const s = this.segments[i] as Segment;
      if (!s.lost) continue;
      const seq = seqLt(s.start, from) ? from : s.start;
      return { seq, length: seqDiff(s.end, seq) };
    }
    return undefined;
  }

  /** The highest segment sent and not delivered (what a TLP retransmits: RFC 8985 7.3). */
  lastOutstanding(): SackBlock | undefined {
    for (let i = this.segments.length - 1; i >= this.head; i--) {
      const s = this.segments[i] as Segment;
      if (!s.delivered) return { left: s.start, right: s.end };
    }
    return undefined;
  }

  /**
   * Forgets every selective acknowledgment (RFC 2018 8: the receiver reneged): SACKed segments
   * count as lost, to be sent again.
   */
  forgetSacks(): void {
    for (let i = this.head; i < this.segments.length; i++) {
      const s = this.segments[i] as Segment;
      if (!s.delivered) continue;
      s.delivered = false;
      s.lost = true;
      this.lostBytes += length(s);
    }
    this.sackedCount = 0;
  }

  private markLost(s: Segment): void {
    s.lost = true;
    this.unlink(s);
    this.inFlight -= length(s);
    this.lostBytes += length(s);
  }

  /** Appends `s` as the newest transmission. */
  private link(s: Segment): void {
    s.older = this.newest;
    s.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = s;
    else this.oldest = s;
    this.newest = s;
    s.linked = true;
  }

  private unlink(s: Segment): void {
    if (!s.linked) return;
    if (s.older !== undefined) s.older.newer = s.newer;
    else this.oldest = s.newer;
    if (s.newer !== undefined) s.newer.older = s.older;
    else this.newest = s.older;
    s.older = undefined;
    s.newer = undefined;
    s.linked = false;
  }

  /** The index of the first segment whose start is at or after `seq` (binary search). */
  private indexAtOrAfter(seq: Seq): number {
    let lo = this.head;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqLt((this.segments[mid] as Segment).start, seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of the segment holding `seq`, or -1. */
  private indexOf(seq: Seq): number {
    const i = this.indexAtOrAfter(seq);
    const at = this.segments[i];
    if (at !== undefined && at.start === seq) return i;
    const before = this.segments[i - 1];
    if (i - 1 >= this.head && before !== undefined && seqLt(seq, before.end)) return i - 1;
    return -1;
  }

  /** Splits the segment holding `seq` (strictly inside it) in two at `seq`. */
  private split(seq: Seq): void {
    const i = this.indexOf(seq);
    if (i < 0) return;
    const s = this.segments[i] as Segment;
    if (s.start === seq) return;
    const upper: Segment = { ...s, start: seq, older: undefined, newer: undefined, linked: false };
    s.end = seq;
    this.segments.splice(i + 1, 0, upper);
    if (s.delivered) this.sackedCount++;
    if (s.linked) {
      // Same transmit time: right after `s` in the time list.
      upper.older = s;
      upper.newer = s.newer;
      if (s.newer !== undefined) s.newer.older = upper;
      else this.newest = upper;
      s.newer = upper;
      upper.linked = true;
    }
  }

  /** Drops acknowledged entries from the array now and then (amortised O(1) per segment). */
  private compact(): void {
    if (this.head === this.segments.length) {
      this.segments = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.segments.length) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
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
