/**
 * The pure decisions of segment arrival and output, as functions of numbers only, so they can be
 * tested without a network: segment acceptability (RFC 9293 3.10.7.4), PAWS and TS.Recent
 * (RFC 7323 4.3, 5.3), the send window update (SND.WL1/WL2), the receiver's window with its SWS
 * avoidance (3.8.6.2.2), the sender's SWS avoidance and Nagle (3.7.4, 3.8.6.2.1), and when to ACK
 * (3.8.6.3, RFC 5681 4.2).
 */
import { type Seq, seqAdd, seqDiff, seqGe, seqInWindow, seqLe, seqLt } from './seq.ts';

/**
 * RFC 9293 3.10.7.4, the four cases of the acceptability test for a segment of SEG.LEN `len` at
 * SEG.SEQ `seq`, with RCV.NXT `rcvNxt` and RCV.WND `rcvWnd`:
 *
 *     len = 0, wnd = 0: SEG.SEQ = RCV.NXT
 *     len = 0, wnd > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *     len > 0, wnd = 0: not acceptable
 *     len > 0, wnd > 0: the first or the last octet of the segment lies in the window
 */
export function segmentAcceptable(seq: Seq, len: number, rcvNxt: Seq, rcvWnd: number): boolean {
  if (len === 0) return rcvWnd === 0 ? seq === rcvNxt : seqInWindow(seq, rcvNxt, rcvWnd);
  if (rcvWnd === 0) return false;
  return seqInWindow(seq, rcvNxt, rcvWnd) || seqInWindow(seqAdd(seq, len - 1), rcvNxt, rcvWnd);
}

/**
 * Tolerance of the PAWS test in timestamp ticks (Linux's TCP_PAWS_WINDOW): a segment sent a tick
 * before the one that set TS.Recent (a hole-filling retransmission overtaking the originals by a
 * millisecond) is not taken for an old duplicate.
 */
export const PAWS_WINDOW = 1;

/** RFC 7323 5.3 R1: PAWS rejects a segment whose TSval is older than TS.Recent (beyond the window). */
export function pawsRejects(tsVal: number, tsRecent: number): boolean {
  return seqDiff(tsRecent, tsVal) > PAWS_WINDOW;
}

/**
 * RFC 7323 4.3 (2): TS.Recent takes a segment's TSval when SEG.TSval >= TS.Recent and
 * SEG.SEQ =< Last.ACK.sent (the RCV.NXT of the last ACK sent): the timestamp the next ACK will echo
 * is that of the segment that advanced the left edge, never of a later out-of-order one.
 */
export function updatesTsRecent(seq: Seq, tsVal: number, tsRecent: number, lastAckSent: Seq): boolean {
  return seqGe(tsVal, tsRecent) && seqLe(seq, lastAckSent);
}

/**
 * RFC 9293 3.10.7.4 (fifth, ESTABLISHED): "If SND.UNA =< SEG.ACK =< SND.NXT, the send window
 * should be updated" from a segment not older than the one that last set it: SND.WL1 < SEG.SEQ,
 * or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK. (SEG.ACK > SND.NXT never gets this far.)
 */
export function updatesSendWindow(wl1: Seq, wl2: Seq, seq: Seq, ack: Seq, sndUna: Seq): boolean {
  if (seqLt(ack, sndUna)) return false;
  return seqLt(wl1, seq) || (wl1 === seq && seqLe(wl2, ack));
}

/**
 * The receive window to offer, in bytes (RFC 9293 3.8.6.2.2, MUST-39): `free` bytes of buffer
 * left; the right edge moves only by at least min(RCV.BUFF / 2, MSS) past the window `current`
 * still open from the last advertisement, and never back (SHLD-14: do not shrink the window).
 */
export function receiveWindow(free: number, current: number, rcvBuf: number, rcvMss: number): number {
  const wnd = Math.max(0, free);
  if (wnd <= current) return current;
  if (wnd - current < Math.min(rcvBuf >> 1, rcvMss)) return current;
  return wnd;
}

/** What the sender does with `len` bytes it could send now. */
export type SendDecision = 'send' | 'sws' | 'nagle';

/** The inputs of `sendDecision`, all in bytes. */
export interface SendState {
  /** Bytes the segment would carry: min(MSS, queued, usable window, cwnd room). */
  len: number;
  mss: number;
  /** Bytes queued and not yet sent. */
  available: number;
  /** cwnd less what is in flight. */
  cwndRoom: number;
  /** The largest window the peer has offered. */
  maxSndWnd: number;
  /** Bytes in flight. */
  flight: number;
  /** A FIN follows the queued data (a short last segment goes at once). */
  finQueued: boolean;
  /** TCP_NODELAY (MUST-17). */
  noDelay: boolean;
}

/**
 * RFC 9293 3.8.6.2.1 (MUST-38) and 3.7.4 (Nagle, SHLD-7): a full segment goes; a segment cut short
 * by the window goes only if it is at least half the largest window offered and cwnd is not the
 * limit (its ACKs will open room for full segments); a segment cut short by the data queued waits
 * while data is in flight, unless TCP_NODELAY or a FIN follows it.
 */
export function sendDecision(s: SendState): SendDecision {
  if (s.len < s.mss && s.len < s.available) {
    return s.cwndRoom < s.mss || s.len < s.maxSndWnd / 2 ? 'sws' : 'send';
  }
  if (s.len > 0 && s.len < s.mss && !s.finQueued && s.flight > 0 && !s.noDelay) return 'nagle';
  return 'send';
}

/** When to acknowledge received data: at once, at the end of the received batch, or delayed. */
export type AckDecision = 'at-once' | 'batch' | 'delay';

/**
 * RFC 9293 3.8.6.3 and RFC 5681 4.2: an out-of-order segment, or one that fills (part of) a hole,
 * is acknowledged at once (the sender counts duplicate ACKs and reads SACK blocks); a segment
 * without data (a FIN), the first segments (quick-ack, as Linux) and every second full segment
 * (SHLD-19) are acknowledged when the received batch is processed (MUST-58); other data waits for
 * the delayed-ACK timer (MUST-40).
 */
export function ackDecision(a: {
  inOrder: boolean;
  /** A hole existed before the segment, or exists after it. */
  outOfOrderHeld: boolean;
  payload: number;
  /** Bytes received since the last ACK sent, this segment included. */
  unackedBytes: number;
  quickAcks: number;
  rcvMss: number;
}): AckDecision {
  if (!a.inOrder || a.outOfOrderHeld) return 'at-once';
  if (a.payload === 0) return 'batch';
  if (a.quickAcks > 0 || a.unackedBytes >= 2 * a.rcvMss) return 'batch';
  return 'delay';
}
