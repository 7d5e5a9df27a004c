/**
 * Segment arrival for a connection, in the order of RFC 9293 3.10.7: SYN-SENT (3.10.7.3), then for
 * SYN-RECEIVED and the synchronized states (3.10.7.4) the checks in turn: sequence number (with
 * PAWS, RFC 7323 5), RST (RFC 5961 3), SYN (RFC 5961 4), ACK (RFC 5961 5), data, FIN.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.ts';
import type { TcpOptions } from '../../wire/tcp-options.ts';
import { createCongestionControl } from './congestion/controller.ts';
import { finSeq, output, sendAck, sendSyn } from './output.ts';
import { isDuplicateAck, onAckReceived, startRecoveryState } from './recovery.ts';
import { mssForMtu } from './route.ts';
import { ackDecision, pawsRejects, segmentAcceptable, updatesSendWindow, updatesTsRecent } from './rules.ts';
import { hasAck, hasFin, hasRst, hasSyn, type Segment, segLen } from './segment.ts';
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from './seq.ts';
import {
  acceptsData,
  CLOSE_WAIT,
  CLOSING,
  ESTABLISHED,
  FIN_WAIT_2,
  synReceived,
  TIME_WAIT,
} from './state.ts';
import { DEFAULT_MSS, DEFAULT_MSS_V6, type Tcb } from './tcb.ts';

const NO_DATA = new Uint8Array(0);

/** RFC 7323 5.5: TS.Recent older than 24 days is no longer used for PAWS. */
const PAWS_IDLE = 24 * 24 * 3600_000;

export function segmentArrives(tcb: Tcb, seg: Segment): void {
  const now = tcb.now;
  tcb.stats.segsIn++;
  tcb.lastReceive = now;
  tcb.keepaliveProbes = 0;
  if (tcb.state.name === 'SYN-SENT') synSent(tcb, seg);
  else if (tcb.state.name !== 'CLOSED') synchronized(tcb, seg);
}

/**
 * Options of the peer's SYN (RFC 9293 3.7.1; RFC 7323 1.3 and 2.2; RFC 2018 2): each extension
 * is on only if both sides offered it. `tcb` holds what we offered.
 */
export function negotiate(tcb: Tcb, opts: TcpOptions): void {
  tcb.peerMss = opts.mss ?? (typeof tcb.localAddr === 'number' ? DEFAULT_MSS : DEFAULT_MSS_V6);
  if (opts.windowScale !== undefined) {
    // RFC 7323 2.3: a shift above 14 is taken as 14.
    tcb.sndWscale = Math.min(14, opts.windowScale);
  } else {
    tcb.sndWscale = 0;
    tcb.rcvWscale = 0;
  }
  tcb.sackOk = tcb.sackOk && opts.sackPermitted === true;
  tcb.tsOk = tcb.tsOk && opts.timestamp !== undefined;
  if (tcb.tsOk) {
    tcb.tsRecent = opts.timestamp!.value;
    tcb.tsRecentAge = tcb.now;
  }
  updateMss(tcb);
}

/**
 * The effective send MSS (RFC 9293 3.7.1, MUST-16): the peer's MSS, clamped to the path MTU less
 * the IP and TCP headers, less the timestamp option carried by every segment.
 */
export function updateMss(tcb: Tcb, pathMtu = tcb.path?.mtu ?? 1500): void {
  const family = typeof tcb.localAddr === 'number' ? 4 : 6;
  const mss = Math.max(64, Math.min(tcb.peerMss, mssForMtu(family, pathMtu)) - (tcb.tsOk ? 12 : 0));
  if (mss === tcb.mss) return;
  tcb.mss = mss;
  tcb.cc.setMss(mss);
  tcb.prr?.setMss(mss);
}

/** Entering ESTABLISHED: the congestion window starts for the negotiated MSS (RFC 6928). */
function establish(tcb: Tcb, seg: Segment): void {
  tcb.setState(ESTABLISHED);
  tcb.cc = createCongestionControl(tcb.cc.name, tcb.mss, tcb.now);
  startRecoveryState(tcb);
  tcb.sndWnd = seg.window << (hasSyn(seg) ? 0 : tcb.sndWscale);
  tcb.maxSndWnd = Math.max(tcb.maxSndWnd, tcb.sndWnd);
  tcb.sndWl1 = seg.seq;
  tcb.sndWl2 = seg.ack;
  // RFC 6298 5.7: after a retransmitted SYN without an RTT sample, data starts with a 3 s RTO.
  if (tcb.backoffs > 0) tcb.rtt.fallback();
  tcb.backoffs = 0;
  tcb.layer.timers.armKeepalive(tcb);
  tcb.layer.counters.established.value++;
}

/** RFC 9293 3.10.7.3: SYN-SENT. */
function synSent(tcb: Tcb, seg: Segment): void {
  const layer = tcb.layer;
  let ackOk = false;
  if (hasAck(seg)) {
    // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set)".
    if (seqLe(seg.ack, tcb.iss) || seqGt(seg.ack, tcb.sndMax)) {
      if (!hasRst(seg)) layer.sendReset(seg);
      layer.counters.drops.drop('bad-ack');
      return;
    }
    ackOk = true;
  }
  if (hasRst(seg)) {
    // RFC 5961 3.2 keeps the SYN-SENT rule: the RST is valid if its ACK acknowledges our SYN.
    if (ackOk) tcb.destroy('ECONNREFUSED');
    else layer.counters.drops.drop('rst-without-ack');
    return;
  }
  if (!hasSyn(seg)) {
    layer.counters.drops.drop('no-syn');
    return;
  }
  tcb.irs = seg.seq;
  tcb.receiveQueue.reset(seqAdd(seg.seq, 1));
  tcb.rcvAdv = tcb.rcvNxt;
  tcb.lastAckSent = tcb.rcvNxt;
  negotiate(tcb, seg.options);
  if (ackOk) {
    sampleRtt(tcb, seg, seg.ack);
    tcb.sndUna = seg.ack;
    tcb.unackedSince = undefined;
    establish(tcb, seg);
    tcb.ackNow = true;
    tcb.events?.connected();
    // Data or FIN in the SYN-ACK goes through the sixth step on (rare, but legal).
    if (seg.payload.length > 0 || hasFin(seg)) {
      receiveText(tcb, { ...seg, seq: seqAdd(seg.seq, 1) });
    }
    layer.timers.restartRetransmit(tcb);
    output(tcb);
    return;
  }
  // Simultaneous open (MUST-10): SYN-RECEIVED, answering with SYN-ACK.
  tcb.setState(synReceived(false));
  tcb.sndWnd = seg.window;
  sendSyn(tcb);
}

/** RTT sample for an ACK of new data: from TSecr (RFC 7323 4.1) or the one timed segment (Karn). */
function sampleRtt(tcb: Tcb, seg: Segment, ack: number): number | undefined {
  const now = tcb.now;
  let rtt: number | undefined;
  const ts = seg.options.timestamp;
  if (tcb.tsOk && ts !== undefined && ts.echo !== 0) {
    const sent = (ts.echo - tcb.tsOffset) >>> 0;
    const elapsed = ((Math.floor(now) >>> 0) - sent) >>> 0;
    if (elapsed < 0x7fffffff) rtt = Math.max(1, elapsed);
  } else if (tcb.rttSeq !== undefined && seqGt(ack, tcb.rttSeq)) {
    rtt = Math.max(1, now - tcb.rttTime);
    tcb.rttSeq = undefined;
  }
  // Karn (MUST-18): no sample from a timed-out (backed-off) exchange unless timestamps tell.
  if (rtt !== undefined && (tcb.backoffs === 0 || tcb.tsOk)) tcb.rtt.sample(rtt);
  return rtt;
}

/** RFC 5961 3.2, 4.2, 5.2: the challenge ACK, rate limited like Linux's tcp_challenge_ack_limit. */
function challengeAck(tcb: Tcb): void {
  const layer = tcb.layer;
  if (!layer.challengeAcks.take(tcb.now)) {
    layer.counters.challengeAcksLimited.value++;
    return;
  }
  layer.counters.challengeAcks.value++;
  sendAck(tcb);
}

/** RFC 9293 3.10.7.4: the four-case acceptability test against the window last advertised. */
function acceptable(tcb: Tcb, seg: Segment, len: number): boolean {
  return segmentAcceptable(seg.seq, len, tcb.rcvNxt, Math.max(0, seqDiff(tcb.rcvAdv, tcb.rcvNxt)));
}

/**
 * Header prediction (Van Jacobson's, as Linux's tcp_rcv_established fast path): in ESTABLISHED, a
 * segment with only ACK (and PSH) set, at RCV.NXT, whose data fits the window last advertised,
 * whose timestamp passes PAWS and whose ACK lies in [SND.UNA, SND.MAX]. For such a segment every
 * check of RFC 9293 3.10.7.4 before the fifth step passes (acceptable, no RST, no SYN, ACK set and
 * acceptable under RFC 5961 5.2), so it goes straight to TS.Recent, the ACK, and the text, in that
 * order. Returns false, having done nothing, for any other segment.
 */
function predicted(tcb: Tcb, seg: Segment): boolean {
  if (tcb.state !== ESTABLISHED || (seg.flags & ~TCP_PSH) !== TCP_ACK || seg.seq !== tcb.rcvNxt) return false;
  const len = seg.payload.length;
  if (len > 0 && seqDiff(tcb.rcvAdv, seg.seq) < len) return false;
  const ts = seg.options.timestamp;
  if (tcb.tsOk && (ts === undefined || pawsRejects(ts.value, tcb.tsRecent))) return false;
  if (seqLt(seg.ack, tcb.sndUna) || seqGt(seg.ack, tcb.sndMax)) return false;
  if (ts !== undefined && tcb.tsOk && updatesTsRecent(seg.seq, ts.value, tcb.tsRecent, tcb.lastAckSent)) {
    tcb.tsRecent = ts.value;
    tcb.tsRecentAge = tcb.now;
  }
  tcb.layer.counters.predicted.value++;
  if (processAck(tcb, seg, len)) {
    if (len > 0) receiveText(tcb, seg);
    output(tcb);
  }
  return true;
}

/** RFC 9293 3.10.7.4 for SYN-RECEIVED and the synchronized states. */
function synchronized(tcb: Tcb, arrived: Segment): void {
  if (predicted(tcb, arrived)) return;
  let seg = arrived;
  const layer = tcb.layer;
  const drops = layer.counters.drops;
  const state = tcb.state;
  // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost; send it again.
  if (state.name === 'SYN-RECEIVED' && hasSyn(seg) && !hasAck(seg) && seg.seq === tcb.irs) {
    sendSyn(tcb);
    return;
  }
  // Simultaneous open: the peer's SYN-ACK repeats the SYN we already took (it fails the
  // acceptability test, one of the edge cases RFC 9293 3.10.7.4 notes); its ACK of our SYN is
  // what completes the handshake, as Linux takes it.
  if (
    state.name === 'SYN-RECEIVED' &&
    !state.passive &&
    hasSyn(seg) &&
    hasAck(seg) &&
    !hasRst(seg) &&
    seg.seq === tcb.irs &&
    seg.ack === tcb.sndMax
  ) {
    establish(tcb, seg);
    tcb.sndUna = seg.ack;
    tcb.unackedSince = undefined;
    layer.timers.restartRetransmit(tcb);
    tcb.events?.connected();
    tcb.ackNow = true;
    output(tcb);
    return;
  }
  let len = segLen(seg);
  // RFC 7323 5.3 R1: PAWS, before the sequence check.
  const ts = seg.options.timestamp;
  if (tcb.tsOk && ts !== undefined && !hasRst(seg) && pawsRejects(ts.value, tcb.tsRecent)) {
    if (tcb.now - tcb.tsRecentAge > PAWS_IDLE) {
      tcb.tsRecent = ts.value;
    } else {
      drops.drop('paws');
      tcb.ackNow = true;
      output(tcb);
      return;
    }
  }
  // First: sequence number. "If the RCV.WND is zero, no segments will be acceptable, but special
  // allowance should be made to accept valid ACKs, URGs, and RSTs": a segment at RCV.NXT carrying
  // data into a zero window has its data dropped and its ACK processed.
  if (
    len > 0 &&
    seg.seq === tcb.rcvNxt &&
    tcb.rcvAdv === tcb.rcvNxt &&
    !hasSyn(seg) &&
    !hasRst(seg) &&
    tcb.state.name !== 'SYN-RECEIVED'
  ) {
    drops.drop('zero-window');
    tcb.ackNow = true;
    seg = { ...seg, payload: NO_DATA, flags: seg.flags & ~TCP_FIN };
    len = 0;
  }
  if (!acceptable(tcb, seg, len)) {
    if (hasRst(seg)) {
      drops.drop('rst-out-of-window');
      return;
    }
    if (hasSyn(seg)) {
      // RFC 5961 4.2: a SYN gets a (rate-limited) challenge ACK whatever its sequence number.
      drops.drop('syn-challenged');
      challengeAck(tcb);
      return;
    }
    drops.drop('out-of-window');
    // RFC 2883: data received again below RCV.NXT is reported in a D-SACK block.
    if (tcb.sackOk && seg.payload.length > 0 && seqLe(seqAdd(seg.seq, seg.payload.length), tcb.rcvNxt)) {
      tcb.dsack = { left: seg.seq, right: seqAdd(seg.seq, seg.payload.length) };
    }
    if (state.name === 'TIME-WAIT' && hasFin(seg)) layer.timers.startTimeWait(tcb);
    tcb.ackNow = true;
    output(tcb);
    return;
  }
  // RFC 7323 4.3: remember the timestamp the next ACK echoes.
  if (tcb.tsOk && ts !== undefined && updatesTsRecent(seg.seq, ts.value, tcb.tsRecent, tcb.lastAckSent)) {
    tcb.tsRecent = ts.value;
    tcb.tsRecentAge = tcb.now;
  }
  // Second: RST (RFC 5961 3.2: only an exact match resets; else a challenge ACK).
  if (hasRst(seg)) {
    if (seg.seq !== tcb.rcvNxt) {
      drops.drop('rst-challenged');
      challengeAck(tcb);
      return;
    }
    layer.counters.resetsReceived.value++;
    switch (state.name) {
      case 'SYN-RECEIVED':
        // Passive: back to LISTEN (the listener keeps listening); active: refused.
        tcb.destroy(state.passive ? 'ECONNRESET' : 'ECONNREFUSED');
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        tcb.destroy('ECONNRESET');
        return;
      default:
        tcb.destroy();
        return;
    }
  }
  // Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK.
  if (hasSyn(seg)) {
    drops.drop('syn-challenged');
    challengeAck(tcb);
    return;
  }
  // Fifth: ACK.
  if (!hasAck(seg)) {
    drops.drop('no-ack');
    return;
  }
  // RFC 5961 5.2: acceptable if SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
  if (seqGt(seg.ack, tcb.sndMax) || seqLt(seg.ack, seqAdd(tcb.sndUna, -Math.max(tcb.maxSndWnd, 1)))) {
    if (state.name === 'SYN-RECEIVED') {
      layer.sendReset(seg);
    } else {
      drops.drop('ack-challenged');
      challengeAck(tcb);
    }
    return;
  }
  if (state.name === 'SYN-RECEIVED') {
    if (!seqGt(seg.ack, tcb.sndUna)) {
      layer.sendReset(seg);
      return;
    }
    if (state.passive && tcb.listener?.acceptQueueFull === true) {
      // As Linux (tcp_abort_on_overflow off): the handshake's ACK is dropped while the accept
      // queue is full; the SYN-ACK is sent again later and the peer's answer completes it then.
      layer.counters.listenOverflows.value++;
      return;
    }
    establish(tcb, seg);
    if (state.passive) {
      const l = tcb.listener;
      tcb.listener = undefined;
      l?.embryonicDone(tcb, true);
    } else {
      tcb.events?.connected();
    }
  }
  if (!processAck(tcb, seg, len)) return;
  // Sixth (URG) is not implemented: urgent data is delivered inline, as the data it is.
  // Seventh and eighth: text and FIN.
  receiveText(tcb, seg);
  output(tcb);
}

/**
 * The ACK of the fifth step for ESTABLISHED and the closing states: SND.UNA and the send buffer,
 * the RTT, the send window (SND.WL1/WL2), loss recovery, and the state changes our FIN's ACK makes.
 * Returns false when the connection ended.
 */
function processAck(tcb: Tcb, seg: Segment, len: number): boolean {
  const ack = seg.ack;
  const layer = tcb.layer;
  const scaledWindow = seg.window << tcb.sndWscale;
  const duplicate = isDuplicateAck(tcb, ack, scaledWindow, len);
  let acked = 0;
  let rtt: number | undefined;
  if (seqGt(ack, tcb.sndUna)) {
    rtt = sampleRtt(tcb, seg, ack);
    acked = seqDiff(ack, tcb.sndUna);
    const data = Math.max(0, Math.min(tcb.sendBuffer.length, seqDiff(ack, tcb.sndBufSeq)));
    if (data > 0) {
      tcb.sendBuffer.consume(data);
      tcb.sndBufSeq = seqAdd(tcb.sndBufSeq, data);
      tcb.stats.bytesAcked += data;
    }
    tcb.sndUna = ack;
    if (seqLt(tcb.sndNxt, ack)) tcb.sndNxt = ack;
    tcb.backoffs = 0;
    tcb.persistBackoff = 0;
    tcb.unackedSince = tcb.flightSize > 0 ? tcb.now : undefined;
    if (data > 0) tcb.events?.writable();
  }
  // RFC 9293 3.10.7.4: update the send window from the most recent segment.
  if (updatesSendWindow(tcb.sndWl1, tcb.sndWl2, seg.seq, ack, tcb.sndUna)) {
    const opened = tcb.sndWnd === 0 && scaledWindow > 0;
    tcb.sndWnd = scaledWindow;
    tcb.maxSndWnd = Math.max(tcb.maxSndWnd, scaledWindow);
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = ack;
    if (opened && tcb.rtxMode === 'persist') {
      layer.stack.cancel(tcb.rtxTimer);
      tcb.persistBackoff = 0;
    }
  }
  onAckReceived(tcb, seg, acked, duplicate, rtt);
  layer.timers.afterAck(tcb, acked);
  const finAcked = tcb.finQueued && seqGt(tcb.sndMax, finSeq(tcb)) && tcb.sndUna === tcb.sndMax;
  switch (tcb.state.name) {
    case 'FIN-WAIT-1':
      if (finAcked) {
        tcb.setState(FIN_WAIT_2);
        layer.timers.startFinWait2(tcb);
      }
      break;
    case 'CLOSING':
      if (finAcked) {
        tcb.setState(TIME_WAIT);
        layer.timers.startTimeWait(tcb);
      }
      break;
    case 'LAST-ACK':
      if (finAcked) {
        tcb.destroy();
        return false;
      }
      break;
    default:
      break;
  }
  return true;
}

/** Seventh and eighth steps: queue the data, choose when to ACK, and act on an in-order FIN. */
function receiveText(tcb: Tcb, seg: Segment): void {
  const rq = tcb.receiveQueue;
  const fin = hasFin(seg);
  if (seg.payload.length === 0 && !fin) return;
  const state = tcb.state.name;
  if (!acceptsData(tcb.state)) {
    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's FIN is already in; nothing more comes.
    if (fin && state === 'TIME-WAIT') {
      tcb.ackNow = true;
      tcb.layer.timers.startTimeWait(tcb);
    }
    return;
  }
  if (tcb.orphaned && seg.payload.length > 0) {
    // RFC 9293 3.6 (SHLD-3), RFC 2525 2.17: data for a closed socket is lost: say so with RST.
    tcb.layer.counters.resetsSent.value++;
    tcb.layer.sendRstFor(tcb);
    tcb.destroy();
    return;
  }
  // Trim to the window (RFC 9293 3.10.7.4 first step: "only the portion within the window").
  const room = seqDiff(tcb.rcvAdv, seg.seq);
  let payload = seg.payload;
  let withFin = fin;
  if (payload.length > room) {
    payload = payload.subarray(0, Math.max(0, room));
    withFin = false;
  }
  const expected = rq.rcvNxt;
  const finBefore = rq.finReceived;
  const hadHole = rq.hasOutOfOrder;
  const readable = rq.insert(seg.seq, payload, withFin, seg.iface.link.capabilities?.keepableFrames === true);
  if (rq.duplicate !== undefined) {
    if (tcb.sackOk) tcb.dsack = rq.duplicate;
    rq.duplicate = undefined;
  }
  tcb.stats.dataSegsIn += payload.length > 0 ? 1 : 0;
  tcb.stats.bytesReceived += readable;
  if (rq.droppedSegments > 0) {
    tcb.layer.counters.oooDropped.value += rq.droppedSegments;
    rq.droppedSegments = 0;
  }
  // ACK policy (RFC 9293 3.8.6.3, RFC 5681 4.2): at once for out-of-order data or a filled hole
  // (so the sender learns fast), for the first segments (quick-ack), and after two full segments;
  // otherwise within DELAYED_ACK.
  const inOrder = seg.seq === expected;
  if (inOrder) tcb.unackedBytes += payload.length;
  const decision = ackDecision({
    inOrder,
    outOfOrderHeld: hadHole || rq.hasOutOfOrder,
    payload: payload.length,
    unackedBytes: tcb.unackedBytes,
    quickAcks: tcb.quickAcks,
    rcvMss: tcb.rcvMss,
  });
  if (decision === 'delay') {
    tcb.layer.timers.armDelayedAck(tcb);
  } else {
    tcb.ackNow = true;
    if (decision === 'at-once') tcb.ackAtOnce = true;
  }
  if (readable > 0) tcb.events?.readable();
  if (!finBefore && rq.finReceived) peerFin(tcb);
}

/** Eighth step: the peer's FIN is in sequence. */
function peerFin(tcb: Tcb): void {
  const layer = tcb.layer;
  tcb.ackNow = true;
  switch (tcb.state.name) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      tcb.setState(CLOSE_WAIT);
      break;
    case 'FIN-WAIT-1': {
      const finAcked = tcb.sndUna === tcb.sndMax;
      if (finAcked) {
        tcb.setState(TIME_WAIT);
        layer.timers.startTimeWait(tcb);
      } else {
        tcb.setState(CLOSING);
      }
      break;
    }
    case 'FIN-WAIT-2':
      tcb.setState(TIME_WAIT);
      layer.timers.startTimeWait(tcb);
      break;
    default:
      break;
  }
  tcb.events?.ended();
  if (tcb.state.name === 'TIME-WAIT') {
    // The final ACK goes now; TIME-WAIT then only answers retransmitted FINs.
    sendAck(tcb);
  }
}
