/**
 * NewReno congestion control: RFC 5681 (slow start, congestion avoidance, loss and timeout
 * reactions, restart after idle) with Appropriate Byte Counting (RFC 3465, L = 2) and the initial
 * window of RFC 6928. The fast-recovery part of RFC 6582 (recovery point, partial ACKs,
 * retransmitting the next hole) is the engine's: it calls `onLoss` when it enters recovery and
 * `onRecoveryEnd` when the recovery point is acknowledged, and paces recovery with PRR.
 *
 * `Cubic` extends this class: the slow start, the timeout and idle handling are shared, and the
 * two differ in `congestionAvoidance` and the reduction on a congestion event.
 */
import type { CongestionControl } from './controller.ts';

/**
 * "Arbitrarily high" initial ssthresh (RFC 5681 3.1), the value Linux uses
 * (`TCP_INFINITE_SSTHRESH`, 0x7fffffff).
 */
export const INFINITE_SSTHRESH = 0x7fff_ffff;

/** RFC 3465 2.2: in slow start, one ACK may grow cwnd by at most L * SMSS, with L = 2. */
export const ABC_LIMIT = 2;

/** RFC 6928 2: IW = min(10 * MSS, max(2 * MSS, 14600)) bytes. */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14_600));
}

/** RFC 5681 3.1: the loss window after a retransmission timeout is one full-sized segment. */
export function lossWindow(mss: number): number {
  return mss;
}

/** RFC 5681 3.1, eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
export function renoSsthresh(flightSize: number, mss: number): number {
  return Math.max(Math.floor(flightSize / 2), 2 * mss);
}

/** RFC 5681 + RFC 6582 congestion control (see the module comment). */
export class NewReno implements CongestionControl {
  readonly name: string = 'newreno';
  cwnd: number;
  ssthresh = INFINITE_SSTHRESH;
  /** The sender's maximum segment size (SMSS) in bytes. */
  protected mss: number;
  /** Bytes acknowledged in congestion avoidance not yet turned into a cwnd increase (RFC 3465 2.1). */
  protected bytesAcked = 0;
  /**
   * Set by a retransmission timeout until new data is acknowledged: a second timeout for the same
   * data holds ssthresh (RFC 5681 3.1: "the value of ssthresh is held constant").
   */
  protected afterTimeout = false;

  /** A controller for sender MSS `mss`, starting with the RFC 6928 initial window. */
  constructor(mss: number, _now: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
  }

  /** Whether the sender is in slow start (RFC 5681 3.1: cwnd < ssthresh). */
  get inSlowStart(): boolean {
    return this.cwnd < this.ssthresh;
  }

  onAck(acked: number, rtt: number | undefined, now: number, _flightSize: number): void {
    if (acked <= 0) return;
    this.afterTimeout = false;
    if (this.inSlowStart) {
      // RFC 3465 2.2: cwnd += min(N, L * SMSS) per ACK of N new bytes.
      this.cwnd += Math.min(acked, ABC_LIMIT * this.mss);
      return;
    }
    this.congestionAvoidance(acked, rtt, now);
  }

  /**
   * RFC 5681 3.1 congestion avoidance with byte counting (RFC 3465 2.1): once a whole cwnd of bytes
   * has been acknowledged, cwnd grows by one SMSS.
   */
  protected congestionAvoidance(acked: number, _rtt: number | undefined, _now: number): void {
    this.bytesAcked += acked;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  /** The ssthresh after a congestion event with `flightSize` bytes outstanding. */
  protected reducedSsthresh(flightSize: number): number {
    return renoSsthresh(flightSize, this.mss);
  }

  /** Called on every congestion event before ssthresh is lowered (CUBIC records W_max here). */
  protected onCongestionEvent(_now: number): void {}

  /** The start of a new growth epoch is due (after a congestion event or idle). */
  protected resetEpoch(): void {
    this.bytesAcked = 0;
  }

  onLoss(now: number, flightSize: number): void {
    this.onCongestionEvent(now);
    this.ssthresh = this.reducedSsthresh(flightSize);
    // RFC 6937: PRR takes cwnd down to ssthresh during recovery; start it there for an engine
    // without PRR (RFC 6582 3.2 step 3 then sets it to ssthresh on a full ACK anyway).
    this.cwnd = this.ssthresh;
    this.resetEpoch();
  }

  onRecoveryEnd(_now: number): void {
    // RFC 6937 3 / RFC 6582 3.2 step 3: deflate the window to ssthresh on leaving recovery.
    this.cwnd = this.ssthresh;
    this.resetEpoch();
  }

  onTimeout(now: number, flightSize: number): void {
    if (!this.afterTimeout) {
      this.onCongestionEvent(now);
      this.ssthresh = this.reducedSsthresh(flightSize);
    }
    this.afterTimeout = true;
    this.cwnd = lossWindow(this.mss);
    this.resetEpoch();
  }

  onIdle(_now: number, _rto: number): void {
    // RFC 5681 4.1: cwnd = RW = min(IW, cwnd) before sending after an idle period over an RTO
    // (the engine measures the idle time; `rto` is the threshold it used).
    this.cwnd = Math.min(this.cwnd, initialWindow(this.mss));
    this.resetEpoch();
  }

  setMss(mss: number): void {
    this.mss = mss;
    // Never let the window fall below one segment of the new size.
    this.cwnd = Math.max(this.cwnd, lossWindow(mss));
  }
}
