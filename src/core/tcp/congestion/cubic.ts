/**
 * CUBIC congestion control (RFC 9438). In congestion avoidance the window follows
 *
 *     W_cubic(t) = C * (t - K)^3 + W_max                     (RFC 9438 4.2, eq. 1; MSS units)
 *     K = cbrt((W_max - cwnd_epoch) / C)                       (eq. 2)
 *
 * with t the time in seconds since the start of the current congestion avoidance epoch, a concave
 * region below W_max and a convex region above it, a Reno-friendly estimate W_est that dominates
 * when it is larger (4.3), fast convergence (4.7) and multiplicative decrease by beta_cubic (4.6).
 * Slow start, the loss window and restart after idle are NewReno's (RFC 9438 4.8, 4.10); HyStart
 * is not implemented. Sizes are kept in bytes; the formulas' MSS units are converted at the edges.
 */
import { NewReno } from './newreno.ts';

/** RFC 9438 5: C = 0.4 (MSS / s^3). */
export const CUBIC_C = 0.4;
/** RFC 9438 4.6: multiplicative decrease factor beta_cubic = 0.7. */
export const CUBIC_BETA = 0.7;
/** RFC 9438 4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta), the Reno-friendly additive increase. */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** RFC 9438 4.2, eq. 2: K in seconds for a window `wMax` and epoch start `cwndEpoch` (MSS units). */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt(Math.max(0, wMax - cwndEpoch) / CUBIC_C);
}

/** RFC 9438 4.2, eq. 1: W_cubic(t) in MSS units (`t` and `k` in seconds). */
export function wCubic(t: number, k: number, wMax: number): number {
  return CUBIC_C * (t - k) ** 3 + wMax;
}

/** RFC 9438 CUBIC (see the module comment). `cwnd` may hold fractions of a byte. */
export class Cubic extends NewReno {
  override readonly name: string = 'cubic';
  /** W_max in bytes: the window before the last reduction; undefined before any (or after an RTO). */
  wMax: number | undefined;
  /** cwnd_prior (RFC 9438 4.6): the window when the last congestion event happened. */
  private cwndPrior: number | undefined;
  /** Start of the current congestion avoidance epoch (ms), undefined until the first CA ACK. */
  private epochStart: number | undefined;
  /** K of the current epoch in seconds. */
  private k = 0;
  /** The plateau W_cubic returns to at t = K, in bytes (W_max, or cwnd_epoch when above it). */
  private origin = 0;
  /** W_est in bytes (RFC 9438 4.3). */
  private wEst = 0;
  /** Smoothed RTT (ms) from the samples `onAck` is given, for W_cubic(t + RTT). */
  private srtt: number | undefined;

  /** K of the current epoch in seconds (0 before the first congestion avoidance ACK). */
  get epochK(): number {
    return this.k;
  }

  protected override congestionAvoidance(acked: number, rtt: number | undefined, now: number): void {
    if (rtt !== undefined) this.srtt = this.srtt === undefined ? rtt : this.srtt + (rtt - this.srtt) / 8;
    if (this.epochStart === undefined) this.startEpoch(now);
    const mss = this.mss;
    const t = (now - (this.epochStart ?? now)) / 1000;
    // RFC 9438 4.3: W_est grows by alpha_cubic segments per RTT, i.e. by alpha * acked / cwnd
    // segments per ACK; alpha becomes 1 once W_est has reached cwnd_prior.
    const alpha = this.cwndPrior === undefined || this.wEst >= this.cwndPrior ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * acked * mss) / this.cwnd;
    const cubicNow = wCubic(t, this.k, this.origin / mss) * mss;
    if (cubicNow < this.wEst) {
      // Reno-friendly region.
      this.cwnd = this.wEst;
      return;
    }
    // RFC 9438 4.4 / 4.5: concave and convex regions, aiming at W_cubic one RTT ahead, clamped to
    // [cwnd, 1.5 cwnd]; cwnd grows by (target - cwnd) / cwnd per SMSS acknowledged.
    const rttSec = (this.srtt ?? 0) / 1000;
    const target = Math.min(
      Math.max(wCubic(t + rttSec, this.k, this.origin / mss) * mss, this.cwnd),
      1.5 * this.cwnd,
    );
    this.cwnd += ((target - this.cwnd) / this.cwnd) * acked;
  }

  /** RFC 9438 4.2 / 4.3: a new epoch starts at the first ACK in congestion avoidance. */
  private startEpoch(now: number): void {
    this.epochStart = now;
    this.wEst = this.cwnd;
    const mss = this.mss;
    if (this.wMax !== undefined && this.wMax > this.cwnd) {
      this.k = cubicK(this.wMax / mss, this.cwnd / mss);
      this.origin = this.wMax;
    } else {
      // Above any previous maximum (or none known): start on the convex part at once.
      this.k = 0;
      this.origin = this.cwnd;
    }
  }

  protected override onCongestionEvent(_now: number): void {
    this.cwndPrior = this.cwnd;
    // RFC 9438 4.7 fast convergence: a flow whose maximum shrinks releases bandwidth faster.
    this.wMax =
      this.wMax !== undefined && this.cwnd < this.wMax ? (this.cwnd * (1 + CUBIC_BETA)) / 2 : this.cwnd;
  }

  protected override reducedSsthresh(flightSize: number): number {
    // RFC 9438 4.6: ssthresh = flight_size * beta_cubic, at least 2 segments.
    return Math.max(Math.floor(flightSize * CUBIC_BETA), 2 * this.mss);
  }

  protected override resetEpoch(): void {
    super.resetEpoch();
    this.epochStart = undefined;
  }

  override onTimeout(now: number, flightSize: number): void {
    super.onTimeout(now, flightSize);
    // RFC 9438 4.8: the first congestion avoidance stage after a timeout uses K = 0 and W_max =
    // the window at its start.
    this.wMax = undefined;
  }
}
