/**
 * What a connection sends, and when: segmentation to the MSS, the sender's SWS avoidance and
 * Nagle (RFC 9293 3.7.4, 3.8.6.2.1), the receiver's window with its SWS avoidance (3.8.6.2.2),
 * options on every segment (RFC 7323 timestamps, RFC 2018 SACK), and the ACK policy (3.8.6.3).
 *
 * Data is copied once, from the user's chunks in the send buffer straight into a PacketBuffer
 * with headroom for every header below (`MAX_HEADROOM`).
 */
import { MAX_HEADROOM, PacketBuffer } from '../../wire/packet-buffer.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../wire/tcp.ts';
import type { TcpOptions } from '../../wire/tcp-options.ts';
import { onDataSent, pipe, retransmitLost } from './recovery.ts';
import { routeTcp, type SegmentHeader, type TcpPath, transmit } from './route.ts';
import { receiveWindow, sendDecision } from './rules.ts';
import { type Seq, seqAdd, seqDiff, seqGt, seqLt } from './seq.ts';
import { FIN_WAIT_1, LAST_ACK } from './state.ts';
import type { Tcb } from './tcb.ts';

/** RFC 2018 3: at most 3 SACK blocks fit next to timestamps (4 without). */
const MAX_SACK_BLOCKS_WITH_TS = 3;
const MAX_SACK_BLOCKS = 4;

/**
 * The window to advertise, as the 16-bit field (RFC 7323 2.3: scaled, except in a SYN), after the
 * receiver's SWS avoidance (RFC 9293 3.8.6.2.2, MUST-39): the right edge moves only by at least
 * min(RCV.BUFF / 2, MSS), and never back (SHLD-14: do not shrink the window).
 */
export function windowField(tcb: Tcb, syn: boolean): number {
  const current = Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt));
  const wnd = receiveWindow(tcb.rcvBuf - tcb.receiveQueue.readable, current, tcb.rcvBuf, tcb.rcvMss);
  if (syn) return Math.min(wnd, 0xffff);
  const shift = tcb.rcvWscale;
  return Math.min(0xffff, (wnd + (1 << shift) - 1) >>> shift);
}

/** Data bytes per segment now: the MSS less the room SACK blocks take (RFC 2018 3). */
export function sendMss(tcb: Tcb): number {
  const blocks = sackBlockCount(tcb);
  return blocks === 0 ? tcb.mss : tcb.mss - (4 + 8 * blocks);
}

/** SACK blocks the next segment carries: a pending D-SACK block, then the out-of-order ranges. */
function sackBlockCount(tcb: Tcb): number {
  if (!tcb.sackOk) return 0;
  const max = tcb.tsOk ? MAX_SACK_BLOCKS_WITH_TS : MAX_SACK_BLOCKS;
  return Math.min(max, tcb.receiveQueue.outOfOrderRanges + (tcb.dsack !== undefined ? 1 : 0));
}

/**
 * The options of a non-SYN segment: timestamps and SACK blocks as negotiated. A D-SACK block
 * (RFC 2883 4) goes first, in one segment only, followed by the out-of-order range holding it.
 */
function segmentOptions(tcb: Tcb): TcpOptions {
  const opts: TcpOptions = {};
  if (tcb.tsOk) opts.timestamp = { value: tcb.tsNow(), echo: tcb.tsRecent };
  const count = sackBlockCount(tcb);
  if (count > 0) {
    const dsack = tcb.dsack;
    tcb.dsack = undefined;
    const ranges = tcb.receiveQueue.sackBlocks(dsack === undefined ? count : count - 1);
    opts.sackBlocks = dsack === undefined ? ranges : [dsack, ...ranges];
  }
  return opts;
}

/**
 * Sends one segment of the connection: `len` data bytes from sequence number `seq` (copied out
 * of the send buffer) with `flags` (ACK is added once synchronized). Everything sent carries the
 * current ACK and window, so the delayed-ACK state is cleared.
 */
export function sendSegment(
  tcb: Tcb,
  seq: Seq,
  len: number,
  flags: number,
  synOptions?: TcpOptions,
): boolean {
  const layer = tcb.layer;
  const path = routeOf(tcb);
  if (path === undefined) return false;
  const pb = PacketBuffer.alloc(MAX_HEADROOM, len);
  if (len > 0) tcb.sendBuffer.copyOut(seqDiff(seq, tcb.sndBufSeq), len, pb.buf, MAX_HEADROOM);
  const syn = (flags & TCP_SYN) !== 0;
  const withAck = tcb.state.name !== 'SYN-SENT' && (flags & TCP_RST) === 0;
  const window = windowField(tcb, syn);
  const h: SegmentHeader = {
    srcPort: tcb.localPort,
    dstPort: tcb.remotePort,
    seq,
    ack: withAck ? tcb.rcvNxt : 0,
    flags: flags | (withAck ? TCP_ACK : 0),
    window,
    options: synOptions ?? segmentOptions(tcb),
  };
  if (withAck) {
    tcb.lastAckSent = tcb.rcvNxt;
    const edge = seqAdd(tcb.rcvNxt, syn ? window : window << tcb.rcvWscale);
    if (seqGt(edge, tcb.rcvAdv)) tcb.rcvAdv = edge;
    clearAckState(tcb);
  }
  tcb.stats.segsOut++;
  if (len > 0) {
    tcb.lastDataSend = tcb.now;
    tcb.stats.dataSegsOut++;
    tcb.stats.bytesSent += len;
  }
  const fin = (flags & TCP_FIN) !== 0 ? 1 : 0;
  if (len + fin > 0 && !syn) onDataSent(tcb, seq, len + fin);
  return transmit(layer, path, tcb.remoteAddr, h, pb);
}

function clearAckState(tcb: Tcb): void {
  // Quick-ack mode lasts for a number of ACKs of new data (as Linux's tcp_dec_quickack_mode).
  if (tcb.unackedBytes > 0 && tcb.quickAcks > 0) tcb.quickAcks--;
  tcb.ackNow = false;
  tcb.ackAtOnce = false;
  tcb.unackedBytes = 0;
  if (tcb.delackTimer.scheduled) tcb.layer.stack.cancel(tcb.delackTimer);
}

/**
 * RFC 9293 3.10.7.4 (MUST-58, MUST-59): an ACK that is due goes out when the stack entry ends,
 * after every segment of the received batch was processed, so a batch is answered by one ACK
 * (or by the data sent meanwhile, which carries it).
 */
function scheduleAck(tcb: Tcb): void {
  if (tcb.ackScheduled) return;
  tcb.ackScheduled = true;
  tcb.layer.stack.atEntryEnd(() => {
    tcb.ackScheduled = false;
    if (tcb.ackNow && tcb.state.name !== 'CLOSED') sendAck(tcb);
  });
}

/** The connection's route (out of its bound device or scope), refreshed when the cached one is gone. */
export function routeOf(tcb: Tcb): TcpPath | undefined {
  if (tcb.path !== undefined) return tcb.path;
  const path = routeTcp(tcb.layer.stack, tcb.remoteAddr, tcb.localAddr, tcb.device);
  if (typeof path === 'string') {
    tcb.layer.counters.noRoute.value++;
    return undefined;
  }
  tcb.path = path;
  return path;
}

/** The options of our SYN or SYN-ACK (for a SYN-ACK, only what the peer offered: RFC 7323 1.3). */
export function synOptions(tcb: Tcb): TcpOptions {
  const opts: TcpOptions = { mss: tcb.rcvMss };
  const synAck = tcb.state.name === 'SYN-RECEIVED';
  if (!synAck || tcb.sndWscale >= 0) opts.windowScale = tcb.rcvWscale;
  if (tcb.sackOk) opts.sackPermitted = true;
  if (tcb.tsOk) opts.timestamp = { value: tcb.tsNow(), echo: synAck ? tcb.tsRecent : 0 };
  return opts;
}

/** Sends (or resends) our SYN, or SYN-ACK in SYN-RECEIVED. */
export function sendSyn(tcb: Tcb): void {
  const flags = tcb.state.name === 'SYN-RECEIVED' ? TCP_SYN | TCP_ACK : TCP_SYN;
  sendSegment(tcb, tcb.iss, 0, flags, synOptions(tcb));
  if (seqLt(tcb.sndMax, seqAdd(tcb.iss, 1))) tcb.sndMax = seqAdd(tcb.iss, 1);
  tcb.sndNxt = seqAdd(tcb.iss, 1);
  tcb.unackedSince ??= tcb.now;
  tcb.layer.timers.armRetransmit(tcb);
}

/**
 * An ACK now (with SACK blocks and the current window). Its sequence number is the highest sent
 * (SND.NXT before any go-back-N rewind), which the peer's acceptability test always passes.
 */
export function sendAck(tcb: Tcb): void {
  sendSegment(tcb, tcb.sndMax, 0, 0);
}

/** Sends a RST for the connection (abort, SO_LINGER 0, close with unread data). */
export function sendRst(tcb: Tcb): void {
  sendSegment(tcb, tcb.sndMax, 0, TCP_RST | TCP_ACK);
}

/** The sequence number of our FIN (valid once `finQueued`). */
export function finSeq(tcb: Tcb): Seq {
  return seqAdd(tcb.sndBufSeq, tcb.sendBuffer.length);
}

/**
 * Sends what may be sent now: new data within min(SND.WND, cwnd) in MSS-sized segments, the FIN
 * after the data, and a pending ACK if nothing else carried it.
 */
export function output(tcb: Tcb): void {
  const s = tcb.state.name;
  if (s === 'CLOSED' || s === 'SYN-SENT' || s === 'SYN-RECEIVED' || s === 'TIME-WAIT') {
    if (tcb.ackNow && s === 'TIME-WAIT') sendAck(tcb);
    return;
  }
  const layer = tcb.layer;
  const now = tcb.now;
  let sent = false;
  const canSendData =
    s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
  if (canSendData) {
    // RFC 5681 4.1: restart after idle ("not sent data in an interval exceeding the
    // retransmission timeout"; the pure ACKs of a receiving connection do not count).
    if (tcb.flightSize === 0 && now - tcb.lastDataSend > tcb.rtt.rto && tcb.sendBuffer.length > 0) {
      tcb.cc.onIdle(now, tcb.rtt.rto);
    }
    // RFC 6675 NextSeg rule 1: what RACK deemed lost goes before new data.
    sent = retransmitLost(tcb);
    const bufEnd = finSeq(tcb);
    const mss = sendMss(tcb);
    for (;;) {
      const available = seqDiff(bufEnd, tcb.sndNxt);
      const wantFin = tcb.finQueued && available >= 0 && tcb.sndNxt !== seqAdd(bufEnd, 1);
      if (available <= 0 && !wantFin) break;
      const flight = inFlight(tcb);
      const usable = seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt);
      const cwndRoom = tcb.cc.cwnd - flight;
      const len = Math.max(0, Math.min(mss, available, usable, cwndRoom));
      if (available > 0 && len === 0) break;
      // Sender SWS avoidance (MUST-38) and Nagle (SHLD-7; MUST-17: TCP_NODELAY turns it off).
      const decision = sendDecision({
        len,
        mss,
        available,
        cwndRoom,
        maxSndWnd: tcb.maxSndWnd,
        flight,
        finQueued: tcb.finQueued,
        noDelay: tcb.noDelay,
      });
      if (decision !== 'send') break;
      sent = true;
      if (sendNew(tcb, len)) break;
    }
    // Data waiting and nothing in flight: a zero window is probed (RFC 9293 3.8.6.1), and a
    // window the SWS rule refused to use is used after the override timeout (3.8.6.2.1).
    if (tcb.flightSize === 0 && seqDiff(bufEnd, tcb.sndNxt) > 0) {
      layer.timers.armPersist(tcb);
    }
  }
  if (!sent && tcb.ackNow) {
    if (tcb.ackAtOnce) sendAck(tcb);
    else scheduleAck(tcb);
  }
}

/**
 * Sends `len` bytes at SND.NXT (with the FIN when they end the queued data and a FIN is queued),
 * advances SND.NXT, times the segment for the RTT (Karn: not a retransmission) and arms the
 * timer. Returns whether the FIN went.
 */
export function sendNew(tcb: Tcb, len: number): boolean {
  const now = tcb.now;
  const available = seqDiff(finSeq(tcb), tcb.sndNxt);
  const fin = tcb.finQueued && len === available;
  let flags = 0;
  if (fin) flags |= TCP_FIN;
  if (len > 0 && len === available) flags |= TCP_PSH;
  const seq = tcb.sndNxt;
  const retransmission = seqLt(seq, tcb.sndMax);
  if (len > 0 && !retransmission && tcb.rttSeq === undefined && !tcb.tsOk) {
    tcb.rttSeq = seq;
    tcb.rttTime = now;
  }
  if (retransmission) {
    tcb.stats.totalRetrans++;
    tcb.stats.bytesRetrans += len;
  }
  sendSegment(tcb, seq, len, flags);
  tcb.sndNxt = seqAdd(seq, len + (fin ? 1 : 0));
  if (seqGt(tcb.sndNxt, tcb.sndMax)) tcb.sndMax = tcb.sndNxt;
  tcb.unackedSince ??= now;
  if (fin) enterFinSent(tcb);
  tcb.layer.timers.armRetransmit(tcb, !retransmission);
  return fin;
}

/** ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK when the FIN first goes out (RFC 9293 3.10.4). */
function enterFinSent(tcb: Tcb): void {
  if (tcb.state.name === 'ESTABLISHED') tcb.setState(FIN_WAIT_1);
  else if (tcb.state.name === 'CLOSE-WAIT') tcb.setState(LAST_ACK);
}

/** Data in flight: with SACK, the RFC 6675 pipe; otherwise SND.NXT - SND.UNA. */
export function inFlight(tcb: Tcb): number {
  return pipe(tcb);
}

/** Retransmits `len` bytes at `seq` (the first unacknowledged segment, or a SACK hole). */
export function retransmit(tcb: Tcb, seq: Seq, maxLen = tcb.mss): number {
  const bufEnd = finSeq(tcb);
  const available = Math.max(0, seqDiff(bufEnd, seq));
  const len = Math.min(maxLen, available, sendMss(tcb));
  const fin = tcb.finQueued && len === available && seqGt(tcb.sndMax, bufEnd);
  if (len === 0 && !fin) return 0;
  if (tcb.rttSeq !== undefined && seqLt(seq, seqAdd(tcb.rttSeq, 1))) tcb.rttSeq = undefined; // Karn
  tcb.stats.totalRetrans++;
  tcb.stats.bytesRetrans += len;
  sendSegment(tcb, seq, len, (fin ? TCP_FIN : 0) | (len > 0 && len === available ? TCP_PSH : 0));
  return len + (fin ? 1 : 0);
}
