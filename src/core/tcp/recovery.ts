/**
 * Loss detection and recovery on the ACK path.
 *
 * With SACK: the RFC 6675 scoreboard records what the receiver holds (Update(), D-SACK, reneging),
 * and RACK-TLP (RFC 8985) decides what is lost: by transmit time, with the DupThresh rule folded
 * in while no reordering has been seen (RFC 8985 6.2), the reordering timer for losses that only
 * time reveals, a tail loss probe for a silent tail (7), and the marking of RFC 8985 6.3 on a
 * timeout. Segments marked lost are sent again lowest first (RFC 6675 NextSeg rule 1), then new
 * data, while the pipe (bytes neither delivered nor lost) is below cwnd; PRR (RFC 6937) sets cwnd
 * during fast recovery, slow start after a timeout.
 *
 * Without SACK: duplicate ACKs and fast retransmit (RFC 5681 3.2) with NewReno partial ACKs
 * (RFC 6582); a timeout resends from SND.UNA (RFC 6298 5.4-5.6, go-back-N).
 *
 * The congestion controller only decides window sizes.
 */
import { Prr } from './congestion/prr.ts';
import { retransmit } from './output.ts';
import { Rack } from './rack.ts';
import { DUP_THRESH, SackScoreboard } from './sack-scoreboard.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqLe } from './seq.ts';
import type { Tcb } from './tcb.ts';

/**
 * The handshake settled SACK: loss recovery will use the scoreboard and RACK if it was
 * negotiated. They are made when the connection first sends data or FIN (`onDataSent`), PRR when
 * a first fast recovery starts: an idle connection holds none of them, and until something is
 * sent they would hold nothing (no flight, no loss, no SACK of ours to account).
 */
export function startRecoveryState(tcb: Tcb): void {
  tcb.scoreboard = undefined;
  tcb.rack = undefined;
  tcb.sackRecovery = tcb.sackOk;
}

/**
 * Bytes considered in the network. With RACK, the bytes sent and neither delivered nor deemed
 * lost (RFC 6675 SetPipe, with RACK's losses). Without SACK, SND.NXT - SND.UNA, less one segment
 * per duplicate ACK in recovery (each reports a segment that left the network: RFC 5681 3.2
 * window inflation, expressed as a smaller pipe).
 */
export function pipe(tcb: Tcb): number {
  if (tcb.rack !== undefined) return Math.max(0, tcb.rack.inFlight);
  const outstanding = Math.max(0, seqDiff(tcb.sndNxt, tcb.sndUna));
  if (tcb.recovery === undefined) return outstanding;
  return Math.max(0, outstanding - tcb.dupAcks * tcb.mss);
}

/**
 * RFC 5681 2 "DUPLICATE ACKNOWLEDGMENT": data outstanding, no data or SYN/FIN in the ACK, the
 * acknowledgment number equal to SND.UNA and the window unchanged.
 */
export function isDuplicateAck(tcb: Tcb, ack: number, window: number, segmentLength: number): boolean {
  return tcb.flightSize > 0 && segmentLength === 0 && ack === tcb.sndUna && window === tcb.sndWnd;
}

/** A segment of ours left the host: RACK tracks it, PRR counts it during fast recovery. */
export function onDataSent(tcb: Tcb, seq: number, len: number): void {
  let rack = tcb.rack;
  if (rack === undefined && tcb.sackRecovery) {
    tcb.scoreboard = new SackScoreboard(tcb.sndUna);
    rack = tcb.rack = new Rack();
  }
  if (rack !== undefined) {
    const merged = rack.coalesced;
    rack.onSend(seq, seqAdd(seq, len), tcb.now);
    if (rack.coalesced !== merged) tcb.layer.counters.rackCoalesced.value++;
  }
  if (tcb.recovery?.kind === 'fast') tcb.prr?.onSend(len);
}

/**
 * An acceptable ACK arrived (`seg`): `acked` bytes of new data (0 for none), `duplicate` per
 * RFC 5681, `rtt` when sampled. Called after SND.UNA moved.
 */
export function onAckReceived(
  tcb: Tcb,
  seg: Segment,
  acked: number,
  duplicate: boolean,
  rtt: number | undefined,
): void {
  if (tcb.rack !== undefined) sackAck(tcb, seg, acked, rtt);
  else newRenoAck(tcb, acked, duplicate, rtt);
}

/** The ACK path with SACK: scoreboard, RACK, TLP, PRR. */
function sackAck(tcb: Tcb, seg: Segment, acked: number, rtt: number | undefined): void {
  const now = tcb.now;
  const sb = tcb.scoreboard!;
  const rack = tcb.rack!;
  const blocks = seg.options.sackBlocks ?? [];
  let newlySacked = 0;
  let dsack: { left: number; right: number } | undefined;
  if (blocks.length > 0 || acked > 0) {
    const before = sb.overflows;
    const u = sb.update(tcb.sndUna, blocks, tcb.sndMax, seg.ack);
    if (sb.overflows > before) tcb.layer.counters.sackRangesDropped.value += sb.overflows - before;
    newlySacked = u.newlySacked;
    dsack = u.dsack;
    if (dsack !== undefined) tcb.stats.dsackDups++;
  }
  if (blocks.length > 0 || acked > 0 || dsack !== undefined) {
    rack.onAck({
      now,
      cumAck: tcb.sndUna,
      sacked: dsack === undefined ? blocks : blocks.slice(1),
      dsack: dsack !== undefined,
      sndNxt: tcb.sndMax,
      srtt: tcb.rtt.srtt ?? 0,
      inRecovery: tcb.recovery !== undefined,
    });
  }
  tlpOnAck(tcb, dsack);
  const r = tcb.recovery;
  if (r !== undefined && seqGe(tcb.sndUna, r.point)) exitRecovery(tcb);
  if (acked > 0 && tcb.recovery?.kind !== 'fast') tcb.cc.onAck(acked, rtt, now, tcb.flightSize);
  rackDetect(tcb);
  if (tcb.recovery?.kind === 'fast') prrStep(tcb, acked + newlySacked);
}

/**
 * RFC 8985 6.2 step 5: marks what RACK deems lost, enters fast recovery on a first loss
 * (RFC 6675 5: RecoveryPoint = HighData, ssthresh from the controller, PRR started) and notes
 * when detection must run again (the reordering timer).
 */
export function rackDetect(tcb: Tcb): void {
  const rack = tcb.rack!;
  const loss = rack.detectLoss(tcb.now);
  tcb.reorderTimeout = loss.reorderTimeout;
  if (loss.lost.length === 0) return;
  tcb.layer.counters.rackLost.value += loss.lost.length;
  if (tcb.recovery !== undefined) return;
  const flight = tcb.flightSize;
  tcb.recovery = { kind: 'fast', point: tcb.sndMax };
  tcb.lastRecoveryPoint = tcb.sndMax;
  tcb.tlp = undefined;
  tcb.cc.onLoss(tcb.now, flight);
  tcb.stats.lost++;
  tcb.prr ??= new Prr(tcb.mss);
  tcb.prr.start(tcb.cc.ssthresh, flight);
  // RFC 6675 5 step (4.3) / RFC 6937: the first lost segment goes at once, whatever PRR says.
  const first = rack.nextLost(tcb.sndUna);
  if (first !== undefined) retransmit(tcb, first.seq, first.length);
  prrStep(tcb, 0);
}

/** RFC 6937: cwnd = pipe + sndcnt for this ACK; `output` then sends up to it. */
function prrStep(tcb: Tcb, delivered: number): void {
  const p = pipe(tcb);
  const sndcnt = tcb.prr!.onAck(delivered, p);
  tcb.cc.cwnd = Math.max(tcb.mss, p + sndcnt);
}

/**
 * RFC 8985 7.4: the end of a tail loss probe episode. A D-SACK for the probe says it was not
 * needed; an ACK beyond it without one says it repaired a loss, which calls for the congestion
 * response of a fast recovery (7.4.2).
 */
function tlpOnAck(tcb: Tcb, dsack: { left: number; right: number } | undefined): void {
  const t = tcb.tlp;
  if (t === undefined) return;
  if (t.isRetrans && dsack !== undefined && seqLe(dsack.right, t.endSeq) && seqGe(dsack.left, t.start)) {
    tcb.tlp = undefined;
    return;
  }
  if (!seqGe(tcb.sndUna, t.endSeq)) return;
  tcb.tlp = undefined;
  if (t.isRetrans && tcb.recovery === undefined) {
    tcb.layer.counters.tlpRecoveries.value++;
    tcb.cc.onLoss(tcb.now, tcb.flightSize);
    tcb.cc.onRecoveryEnd(tcb.now);
  }
}

/** Retransmits the segments RACK marked lost, lowest first, while the pipe is below cwnd. */
export function retransmitLost(tcb: Tcb): boolean {
  const rack = tcb.rack;
  if (rack === undefined || rack.lostBytes === 0) return false;
  let from = tcb.sndUna;
  let sent = false;
  while (pipe(tcb) < tcb.cc.cwnd) {
    const next = rack.nextLost(from);
    if (next === undefined) break;
    const n = retransmit(tcb, next.seq, next.length);
    if (n === 0) break;
    sent = true;
    from = seqAdd(next.seq, n);
  }
  return sent;
}

/** The ACK path without SACK: RFC 5681 fast retransmit with RFC 6582 NewReno. */
function newRenoAck(tcb: Tcb, acked: number, duplicate: boolean, rtt: number | undefined): void {
  const now = tcb.now;
  const r = tcb.recovery;
  if (r !== undefined) {
    if (seqGe(tcb.sndUna, r.point)) {
      exitRecovery(tcb);
    } else if (acked > 0) {
      // RFC 6582 3.2 step 4: a partial ACK: the next hole is lost too; retransmit it at once.
      tcb.dupAcks = Math.max(0, tcb.dupAcks - Math.ceil(acked / tcb.mss));
      retransmit(tcb, tcb.sndUna);
      return;
    } else if (duplicate) {
      tcb.dupAcks++;
      return;
    }
  }
  if (acked > 0) {
    tcb.dupAcks = 0;
    if (tcb.recovery === undefined) tcb.cc.onAck(acked, rtt, now, tcb.flightSize);
    return;
  }
  if (!duplicate || tcb.flightSize === 0) return;
  tcb.dupAcks++;
  if (tcb.dupAcks < DUP_THRESH) return;
  // RFC 6582 3.2 step 2: only when the ACK covers more than "recover" (the previous recovery's
  // highest sequence number sent, SND.MAX - 1 then), so one loss event reduces the window once.
  if (tcb.lastRecoveryPoint !== undefined && !seqGe(tcb.sndUna, tcb.lastRecoveryPoint)) return;
  tcb.recovery = { kind: 'fast', point: tcb.sndMax };
  tcb.lastRecoveryPoint = tcb.sndMax;
  tcb.cc.onLoss(tcb.now, tcb.flightSize);
  tcb.stats.lost++;
  retransmit(tcb, tcb.sndUna);
}

function exitRecovery(tcb: Tcb): void {
  const kind = tcb.recovery?.kind;
  tcb.recovery = undefined;
  tcb.dupAcks = 0;
  tcb.rack?.onRecoveryEnd();
  // After a timeout the window is already growing from one segment: nothing to deflate.
  if (kind === 'fast') tcb.cc.onRecoveryEnd(tcb.now);
}

/**
 * RFC 6298 5.5-5.6 and RFC 5681 3.1: after a timeout cwnd is one segment and the earliest
 * unacknowledged segment goes again. With SACK (RFC 8985 6.3) RACK marks the first outstanding
 * segment and those sent more than RACK.rtt + reo_wnd ago as lost; they are sent again as ACKs
 * open the window, and SACKed data is not, unless the receiver reneged (the data at SND.UNA was
 * SACKed: RFC 2018 8). Without SACK: go-back-N from SND.UNA.
 */
export function onRetransmitTimeout(tcb: Tcb): void {
  tcb.cc.onTimeout(tcb.now, tcb.flightSize);
  tcb.dupAcks = 0;
  tcb.tlp = undefined;
  tcb.stats.lost++;
  tcb.stats.timeouts++;
  tcb.layer.counters.timeouts.value++;
  // RFC 6582 4.1 / RFC 6675 5.1: no new fast recovery for the data sent before the timeout.
  tcb.lastRecoveryPoint = tcb.sndMax;
  const rack = tcb.rack;
  const sb = tcb.scoreboard;
  if (rack === undefined || sb === undefined) {
    tcb.recovery = undefined;
    tcb.sndNxt = tcb.sndUna;
    return;
  }
  if (sb.isSacked(tcb.sndUna)) {
    sb.clear();
    rack.forgetSacks();
  }
  tcb.recovery = { kind: 'rto', point: tcb.sndMax };
  rack.onTimeout(tcb.now);
  const first = rack.nextLost(tcb.sndUna);
  if (first !== undefined) retransmit(tcb, first.seq, first.length);
}
