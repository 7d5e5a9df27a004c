/**
 * The timers of a connection: retransmission (RFC 6298) and zero-window probes (RFC 9293 3.8.6.1,
 * the persist timer, sharing the retransmission timer as in Linux), delayed ACK (RFC 9293 3.8.6.3:
 * 40 ms, well under the 500 ms of MUST-40), keepalive (3.8.4), TIME-WAIT (2 MSL, MUST-13) and the
 * FIN-WAIT-2 timeout of orphaned connections, and the user timeout (RFC 5482).
 */
import { SECOND } from '../time.ts';
import { finSeq, output, retransmit, sendAck, sendNew, sendSegment, sendSyn } from './output.ts';
import { tlpTimeout } from './rack.ts';
import { onRetransmitTimeout, rackDetect } from './recovery.ts';
import { seqAdd, seqDiff } from './seq.ts';
import type { Tcb } from './tcb.ts';
import type { TcpLayer } from './tcp-layer.ts';

/** The delayed-ACK bound (Linux's TCP_DELACK_MAX is 200 ms, its minimum 40 ms; we use 40 ms). */
export const DELAYED_ACK = 40;
/** SYN retransmissions: 7 (255 s) so that R2 for a SYN is at least 3 minutes (MUST-23; Linux's
 * tcp_syn_retries 6 gives 127 s); tcp_synack_retries 5 for our SYN-ACKs. */
export const SYN_RETRIES = 7;
export const SYNACK_RETRIES = 5;
/** Linux tcp_retries2: 15 retransmissions (about 15 minutes), R2 of RFC 9293 3.8.3. */
export const DATA_RETRIES = 15;
/** The largest gap between zero-window probes (Linux TCP_RTO_MAX). */
export const MAX_PERSIST = 120 * SECOND;
/** Linux tcp_fin_timeout: how long an orphaned connection stays in FIN-WAIT-2. */
export const FIN_TIMEOUT = 60 * SECOND;

/**
 * RFC 8985 7.2: a probe timer may replace the RTO when SACK (and so RACK) is on, no recovery or
 * probe is under way, nothing is SACKed above SND.UNA, and the connection can carry data.
 */
export function tlpAllowed(tcb: Tcb): boolean {
  if (tcb.rack === undefined || tcb.recovery !== undefined || tcb.tlp !== undefined) return false;
  if ((tcb.scoreboard?.sackedBytes ?? 0) > 0) return false;
  const s = tcb.state.name;
  return (
    s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK'
  );
}

export class TcpTimers {
  constructor(private readonly layer: TcpLayer) {}

  /**
   * RFC 6298 5.1: when a segment with data (or SYN/FIN) is sent and the timer is not running,
   * start it to expire after RTO; with nothing in flight, stop it. After new data, a tail loss
   * probe is (re)armed instead when RFC 8985 7.2 allows one.
   */
  armRetransmit(tcb: Tcb, newData = false): void {
    const stack = this.layer.stack;
    if (tcb.flightSize === 0) {
      if (tcb.rtxMode !== 'persist') stack.cancel(tcb.rtxTimer);
      return;
    }
    const running = tcb.rtxTimer.scheduled && tcb.rtxMode !== 'persist';
    if (newData && tlpAllowed(tcb) && !(running && tcb.rtxMode === 'reorder')) {
      this.armTlp(tcb);
      return;
    }
    if (running) return;
    this.restartRetransmit(tcb);
  }

  /** RFC 6298 5.3: new data acknowledged: restart the timer (or stop it when nothing is in flight). */
  restartRetransmit(tcb: Tcb): void {
    const stack = this.layer.stack;
    if (tcb.flightSize === 0) {
      stack.cancel(tcb.rtxTimer);
      return;
    }
    tcb.rtxMode = 'rto';
    let deadline = stack.now() + tcb.rtt.rto;
    // RFC 5482: never wait past the user timeout.
    if (tcb.userTimeout > 0 && tcb.unackedSince !== undefined) {
      deadline = Math.min(deadline, Math.max(stack.now(), tcb.unackedSince + tcb.userTimeout));
    }
    stack.schedule(tcb.rtxTimer, deadline);
  }

  /**
   * The timer after an ACK (`acked` bytes of new data) or a reordering timeout: RACK's reordering
   * timer when it waits to decide (RFC 8985 6.2), else a tail loss probe after new data was
   * acknowledged (7.2), else the RTO (restarted when data was acknowledged, RFC 6298 5.3).
   */
  afterAck(tcb: Tcb, acked: number): void {
    const stack = this.layer.stack;
    if (tcb.flightSize === 0) {
      if (tcb.rtxMode !== 'persist') stack.cancel(tcb.rtxTimer);
      return;
    }
    if (tcb.reorderTimeout !== undefined) {
      tcb.rtxMode = 'reorder';
      stack.schedule(tcb.rtxTimer, stack.now() + tcb.reorderTimeout);
      return;
    }
    if (acked > 0) {
      if (tlpAllowed(tcb)) this.armTlp(tcb);
      else this.restartRetransmit(tcb);
      return;
    }
    const m = tcb.rtxMode;
    if (!tcb.rtxTimer.scheduled || m === 'reorder' || (m === 'tlp' && !tlpAllowed(tcb))) {
      this.restartRetransmit(tcb);
    }
  }

  /** RFC 8985 7.2: the probe timeout, never later than the RTO would be. */
  private armTlp(tcb: Tcb): void {
    tcb.rtxMode = 'tlp';
    const pto = tlpTimeout(tcb.rtt.srtt, tcb.flightSize, tcb.mss, tcb.rtt.rto);
    this.layer.stack.schedule(tcb.rtxTimer, this.layer.stack.now() + pto);
  }

  /** Zero-window probing: the first probe after one RTO, then doubling (SHLD-29, SHLD-30). */
  armPersist(tcb: Tcb): void {
    if (tcb.rtxTimer.scheduled) return;
    tcb.rtxMode = 'persist';
    const interval = Math.min(MAX_PERSIST, tcb.rtt.rto * 2 ** tcb.persistBackoff);
    this.layer.stack.schedule(tcb.rtxTimer, this.layer.stack.now() + interval);
  }

  onRetransmit(tcb: Tcb): void {
    const s = tcb.state.name;
    if (s === 'CLOSED' || s === 'TIME-WAIT') return;
    const now = this.layer.stack.now();
    if (tcb.rtxMode === 'persist') {
      tcb.persistBackoff++;
      const waiting = seqDiff(finSeq(tcb), tcb.sndNxt);
      if (tcb.flightSize > 0 || waiting <= 0) return;
      const usable = seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt);
      if (usable <= 0) {
        // Zero window (RFC 9293 3.8.6.1): a probe the peer must answer with its window. As Linux,
        // it carries SND.UNA - 1 and no data, so it takes no sequence space and never times the
        // connection out while the peer answers (MUST-37).
        sendSegment(tcb, seqAdd(tcb.sndUna, -1), 0, 0);
        this.layer.counters.windowProbes.value++;
        this.armPersist(tcb);
        return;
      }
      // A window too small for the sender's SWS rule is used after the override timeout
      // (RFC 9293 3.8.6.2.1).
      const len = Math.min(usable, waiting, tcb.mss);
      sendSegment(tcb, tcb.sndNxt, len, 0);
      tcb.sndNxt = seqAdd(tcb.sndNxt, len);
      tcb.sndMax = tcb.sndNxt;
      tcb.unackedSince ??= now;
      this.restartRetransmit(tcb);
      return;
    }
    if (tcb.flightSize === 0) return;
    if (tcb.rtxMode === 'tlp') {
      this.lossProbe(tcb);
      this.restartRetransmit(tcb);
      return;
    }
    if (tcb.rtxMode === 'reorder') {
      this.layer.counters.reorderTimeouts.value++;
      if (tcb.rack !== undefined) rackDetect(tcb);
      output(tcb);
      this.afterAck(tcb, 0);
      return;
    }
    const limit = s === 'SYN-SENT' ? SYN_RETRIES : s === 'SYN-RECEIVED' ? SYNACK_RETRIES : DATA_RETRIES;
    const timedOut =
      tcb.userTimeout > 0
        ? tcb.unackedSince !== undefined && now - tcb.unackedSince >= tcb.userTimeout
        : tcb.backoffs >= limit;
    if (timedOut) {
      // RFC 1122 4.2.3.9: a soft error seen meanwhile is what the user hears.
      tcb.destroy(tcb.softError ?? 'ETIMEDOUT');
      return;
    }
    tcb.backoffs++;
    tcb.rtt.backoff();
    tcb.rttSeq = undefined;
    if (s === 'SYN-SENT' || s === 'SYN-RECEIVED') {
      sendSyn(tcb);
      this.restartRetransmit(tcb);
      return;
    }
    onRetransmitTimeout(tcb);
    output(tcb);
    this.restartRetransmit(tcb);
  }

  /**
   * RFC 8985 7.3: the PTO expired: one probe per episode, new data if the receive window allows
   * it (whatever cwnd says), else the last segment sent again. The caller re-arms the RTO.
   */
  private lossProbe(tcb: Tcb): void {
    const rack = tcb.rack;
    if (rack === undefined || tcb.tlp !== undefined || tcb.recovery !== undefined) return;
    const start = tcb.sndMax;
    const waiting = seqDiff(finSeq(tcb), tcb.sndNxt);
    const usable = seqDiff(seqAdd(tcb.sndUna, tcb.sndWnd), tcb.sndNxt);
    let isRetrans = false;
    if (waiting > 0 && usable > 0 && tcb.sndNxt === tcb.sndMax) {
      sendNew(tcb, Math.min(tcb.mss, waiting, usable));
    } else {
      const last = rack.lastOutstanding();
      if (last === undefined) return;
      retransmit(tcb, last.left, seqDiff(last.right, last.left));
      isRetrans = true;
    }
    tcb.tlp = { start, endSeq: tcb.sndMax, isRetrans };
    tcb.stats.tlpProbes++;
    this.layer.counters.tlpProbes.value++;
  }

  /** Delayed ACK expired (RFC 9293 3.8.6.3). */
  onDelayedAck(tcb: Tcb): void {
    if (tcb.state.name === 'CLOSED') return;
    if (tcb.unackedBytes > 0 || tcb.ackNow) sendAck(tcb);
  }

  /** Schedules an ACK within the delayed-ACK bound. */
  armDelayedAck(tcb: Tcb): void {
    if (!tcb.delackTimer.scheduled)
      this.layer.stack.schedule(tcb.delackTimer, this.layer.stack.now() + DELAYED_ACK);
  }

  /**
   * Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): after `idle` without a received segment, probes
   * every `interval`; `count` unanswered probes end the connection with ETIMEDOUT. The probe is
   * SEG.SEQ = SND.NXT - 1 with no data (SHLD-12), which the peer answers with an ACK.
   */
  armKeepalive(tcb: Tcb): void {
    const stack = this.layer.stack;
    if (!tcb.keepalive.enabled) {
      if (tcb.keepaliveTimer !== undefined) stack.cancel(tcb.keepaliveTimer);
      return;
    }
    stack.schedule(tcb.keepaliveTimerMade(), tcb.lastReceive + tcb.keepalive.idle);
  }

  onKeepalive(tcb: Tcb): void {
    const k = tcb.keepalive;
    const s = tcb.state.name;
    if (!k.enabled || s === 'CLOSED' || s === 'SYN-SENT' || s === 'SYN-RECEIVED' || s === 'TIME-WAIT') return;
    const stack = this.layer.stack;
    const now = stack.now();
    const idleFor = now - tcb.lastReceive;
    if (tcb.keepaliveProbes === 0 && idleFor < k.idle) {
      stack.schedule(tcb.keepaliveTimerMade(), tcb.lastReceive + k.idle);
      return;
    }
    // MUST-29: one lost probe does not kill the connection; only `count` in a row do.
    if (tcb.keepaliveProbes >= k.count) {
      tcb.destroy(tcb.softError ?? 'ETIMEDOUT');
      return;
    }
    // Data in flight has its own timer; a probe is only for an idle connection (MUST-26).
    if (tcb.flightSize === 0) {
      sendSegment(tcb, seqAdd(tcb.sndMax, -1), 0, 0);
      tcb.keepaliveProbes++;
      this.layer.counters.keepalives.value++;
    }
    stack.schedule(tcb.keepaliveTimerMade(), now + k.interval);
  }

  /** TIME-WAIT for 2 MSL (MUST-13), restarted by a retransmitted FIN (RFC 9293 3.10.7.4). */
  startTimeWait(tcb: Tcb): void {
    const stack = this.layer.stack;
    stack.cancel(tcb.rtxTimer);
    if (tcb.keepaliveTimer !== undefined) stack.cancel(tcb.keepaliveTimer);
    stack.cancel(tcb.delackTimer);
    // Beyond the TIME-WAIT bound the connection ends as soon as this entry (and its ACK) is done.
    const wait = this.layer.enterTimeWait(tcb) ? 2 * this.layer.msl : 0;
    stack.schedule(tcb.waitTimerMade(), stack.now() + wait);
  }

  /** An orphaned connection in FIN-WAIT-2 waits `FIN_TIMEOUT` for the peer's FIN (as Linux). */
  startFinWait2(tcb: Tcb): void {
    if (tcb.orphaned) this.layer.stack.schedule(tcb.waitTimerMade(), this.layer.stack.now() + FIN_TIMEOUT);
  }

  onWait(tcb: Tcb): void {
    if (tcb.state.name === 'TIME-WAIT' || tcb.state.name === 'FIN-WAIT-2') tcb.destroy();
  }
}
