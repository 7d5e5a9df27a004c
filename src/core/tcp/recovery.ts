/**
 * Loss detection and recovery on the ACK path. With SACK: the RFC 6675 scoreboard decides what is
 * lost and what to send (NextSeg, pipe), and PRR (RFC 6937) paces the sending during recovery.
 * Without SACK: duplicate ACKs and fast retransmit (RFC 5681 3.2) with NewReno partial ACKs
 * (RFC 6582). A retransmission timeout resends from SND.UNA (RFC 6298 5.4-5.6, go-back-N).
 * The congestion controller only decides window sizes.
 */
import { Prr } from './congestion/prr.ts';
import { finSeq, retransmit } from './output.ts';
import { DUP_THRESH, SackScoreboard } from './sack-scoreboard.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqGt } from './seq.ts';
import type { Tcb } from './tcb.ts';


/** Sets up the SACK scoreboard and PRR once the handshake settled the MSS and SACK. */
export function startRecoveryState(tcb: Tcb): void {
  tcb.scoreboard = tcb.sackOk ? new SackScoreboard(tcb.sndUna, tcb.mss) : undefined;
  tcb.prr = new Prr(tcb.mss);
}

/**
 * Bytes considered in the network. Outside recovery SND.NXT - SND.UNA; in recovery the RFC 6675
 * pipe with SACK, or without it one segment less per duplicate ACK (each reports a segment that
 * left the network: RFC 5681 3.2 window inflation, expressed as a smaller pipe).
 */
export function pipe(tcb: Tcb): number {
  const outstanding = Math.max(0, seqDiff(tcb.sndNxt, tcb.sndUna));
  if (tcb.recovery === undefined) return outstanding;
  if (tcb.scoreboard !== undefined) return tcb.scoreboard.pipe(tcb.sndMax);
  return Math.max(0, outstanding - tcb.dupAcks * tcb.mss);
}

/**
 * RFC 5681 2 "DUPLICATE ACKNOWLEDGMENT": data outstanding, no data or SYN/FIN in the ACK, the
 * acknowledgment number equal to SND.UNA and the window unchanged; with SACK (RFC 6675 2), an ACK
 * carrying SACK information that is new.
 */
export function isDuplicateAck(tcb: Tcb, ack: number, window: number, segmentLength: number): boolean {
  return tcb.flightSize > 0 && segmentLength === 0 && ack === tcb.sndUna && window === tcb.sndWnd;
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
  const now = tcb.now;
  const sb = tcb.scoreboard;
  let newlySacked = 0;
  if (sb !== undefined) {
    const blocks = seg.options.sackBlocks ?? [];
    if (blocks.length > 0 || acked > 0) {
      const u = sb.update(tcb.sndUna, blocks, tcb.sndMax);
      newlySacked = u.newlySacked;
      if (u.dsack !== undefined) tcb.stats.dsackDups++;
    }
  }
  const r = tcb.recovery;
  if (r !== undefined) {
    if (seqGe(tcb.sndUna, r.point)) {
      exitRecovery(tcb);
    } else if (sb !== undefined) {
      sackRecoveryStep(tcb, acked + newlySacked);
      return;
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
  if (!(duplicate || newlySacked > 0) || tcb.flightSize === 0) return;
  tcb.dupAcks++;
  const lost = tcb.dupAcks >= DUP_THRESH || sb?.isLost(tcb.sndUna) === true;
  if (!lost) return;
  // RFC 6582 3.2 step 2 / RFC 6675 5: only for a loss past the previous recovery point.
  if (tcb.lastRecoveryPoint !== undefined && !seqGt(tcb.sndUna, tcb.lastRecoveryPoint)) return;
  enterRecovery(tcb, newlySacked);
}

function enterRecovery(tcb: Tcb, delivered: number): void {
  const flight = tcb.flightSize;
  tcb.recovery = { point: tcb.sndMax };
  tcb.lastRecoveryPoint = tcb.sndMax;
  tcb.cc.onLoss(tcb.now, flight);
  tcb.stats.lost++;
  const sb = tcb.scoreboard;
  if (sb === undefined) {
    retransmit(tcb, tcb.sndUna);
    return;
  }
  sb.enterRecovery(tcb.sndMax);
  tcb.prr.start(tcb.cc.ssthresh, flight);
  // RFC 6675 5 step 4.3: the first lost segment goes at once, whatever PRR says.
  const first = retransmit(tcb, tcb.sndUna);
  sb.onSent({ kind: 'lost', seq: tcb.sndUna, length: first });
  tcb.prr.onSend(first);
  sackRecoveryStep(tcb, delivered);
}

/**
 * One ACK during SACK recovery: PRR (RFC 6937) gives sndcnt, cwnd becomes pipe + sndcnt, and
 * NextSeg (RFC 6675 4) picks retransmissions while the pipe allows; new data is left to `output`.
 */
function sackRecoveryStep(tcb: Tcb, delivered: number): void {
  const sb = tcb.scoreboard!;
  let p = sb.pipe(tcb.sndMax);
  const sndcnt = tcb.prr.onAck(delivered, p);
  tcb.cc.cwnd = Math.max(tcb.mss, p + sndcnt);
  for (let guard = 0; guard < 64 && p < tcb.cc.cwnd; guard++) {
    const next = sb.nextSeg(tcb.sndMax, canSendNew(tcb));
    if (next === undefined || next.kind === 'new') break;
    const sent = retransmit(tcb, next.seq, next.length);
    if (sent === 0) break;
    sb.onSent({ ...next, length: sent });
    tcb.prr.onSend(sent);
    p = sb.pipe(tcb.sndMax);
  }
}

/** RFC 6675 NextSeg rule 2: new data is queued and the receive window has room for it. */
function canSendNew(tcb: Tcb): boolean {
  return seqDiff(finSeq(tcb), tcb.sndMax) > 0 && seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndMax) > 0;
}

function exitRecovery(tcb: Tcb): void {
  tcb.recovery = undefined;
  tcb.dupAcks = 0;
  tcb.scoreboard?.exitRecovery();
  tcb.cc.onRecoveryEnd(tcb.now);
}

/** RFC 6298 5.5-5.6 and RFC 5681 3.1: after a timeout, resend from SND.UNA with cwnd one segment. */
export function onRetransmitTimeout(tcb: Tcb): void {
  tcb.cc.onTimeout(tcb.now, tcb.flightSize);
  tcb.recovery = undefined;
  tcb.dupAcks = 0;
  // RFC 6675 5.1: SACK information may be reneged: forget it.
  tcb.scoreboard?.exitRecovery();
  tcb.scoreboard?.clear();
  // RFC 6582 4.1: no fast retransmit for the data sent before the timeout.
  tcb.lastRecoveryPoint = tcb.sndMax;
  tcb.sndNxt = tcb.sndUna;
  tcb.stats.lost++;
}
