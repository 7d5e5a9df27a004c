/**
 * Loss detection and recovery on the ACK path: duplicate ACKs and fast retransmit (RFC 5681 3.2),
 * NewReno partial ACKs (RFC 6582), and what a retransmission timeout does to the send state
 * (RFC 6298 5.4-5.6, go-back-N from SND.UNA). The congestion controller only decides window sizes.
 */
import { retransmit } from './output.ts';
import { seqDiff, seqGe, seqGt } from './seq.ts';
import type { Tcb } from './tcb.ts';

/** RFC 5681 3.2 / RFC 6675: three duplicate ACKs mean a loss. */
export const DUP_THRESH = 3;

/**
 * Bytes considered in the network: SND.NXT - SND.UNA, less one segment per duplicate ACK during
 * recovery (each one reports a segment that left the network: the window inflation of RFC 5681
 * 3.2 step 4, expressed as a smaller pipe).
 */
export function pipe(tcb: Tcb): number {
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

/**
 * An acceptable ACK arrived: `acked` bytes of new data (0 for a duplicate), `rtt` when sampled.
 * Called after SND.UNA moved.
 */
export function onAckReceived(tcb: Tcb, acked: number, duplicate: boolean, rtt: number | undefined): void {
  const now = tcb.now;
  if (acked > 0) {
    const r = tcb.recovery;
    if (r !== undefined) {
      if (seqGe(tcb.sndUna, r.point)) {
        tcb.recovery = undefined;
        tcb.dupAcks = 0;
        tcb.cc.onRecoveryEnd(now);
      } else {
        // RFC 6582 3.2 step 4: a partial ACK: the next hole is lost too; retransmit it at once.
        tcb.dupAcks = Math.max(0, tcb.dupAcks - Math.ceil(acked / tcb.mss));
        retransmit(tcb, tcb.sndUna);
      }
    } else {
      tcb.dupAcks = 0;
      tcb.cc.onAck(acked, rtt, now, tcb.flightSize);
    }
    return;
  }
  if (!duplicate) return;
  tcb.dupAcks++;
  if (tcb.recovery !== undefined || tcb.dupAcks < DUP_THRESH) return;
  // RFC 6582 3.2 step 2: only when the loss is past the previous recovery point.
  if (tcb.lastRecoveryPoint !== undefined && !seqGt(tcb.sndUna, tcb.lastRecoveryPoint)) return;
  enterRecovery(tcb);
}

function enterRecovery(tcb: Tcb): void {
  tcb.recovery = { point: tcb.sndMax };
  tcb.lastRecoveryPoint = tcb.sndMax;
  tcb.cc.onLoss(tcb.now, tcb.flightSize);
  tcb.stats.lost++;
  retransmit(tcb, tcb.sndUna);
}

/** RFC 6298 5.5-5.6 and RFC 5681 3.1: after a timeout, resend from SND.UNA with cwnd one segment. */
export function onRetransmitTimeout(tcb: Tcb): void {
  tcb.cc.onTimeout(tcb.now, tcb.flightSize);
  tcb.recovery = undefined;
  tcb.dupAcks = 0;
  // RFC 6582 4.1: no fast retransmit for the data sent before the timeout.
  tcb.lastRecoveryPoint = tcb.sndMax;
  tcb.sndNxt = tcb.sndUna;
  tcb.stats.lost++;
}
