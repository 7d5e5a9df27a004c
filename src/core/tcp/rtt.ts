/**
 * The retransmission timer's estimator (RFC 6298): SRTT and RTTVAR from round-trip samples, the
 * RTO derived from them, exponential backoff on expiry.
 *
 * Karn's algorithm (RFC 6298 3) is the caller's: `sample` must only be given RTTs measured on
 * segments that were not retransmitted (or measured with timestamps, RFC 7323 4).
 *
 * Deviation, as Linux: the minimum RTO is 200 ms, not the 1 s RFC 6298 2.4 SHOULDs.
 */

/** RFC 6298 2.1: RTO before the first sample, 1 s. */
export const INITIAL_RTO = 1000;
/** Lower bound of the RTO: 200 ms as Linux's `TCP_RTO_MIN` (RFC 6298 2.4 says 1 s SHOULD). */
export const MIN_RTO = 200;
/** RFC 6298 2.5 allows an upper bound of at least 60 s; 120 s as Linux's `TCP_RTO_MAX`. */
export const MAX_RTO = 120_000;
/** RFC 6298 5.7: the RTO after a handshake that needed a SYN retransmission and gave no sample. */
export const SYN_FALLBACK_RTO = 3000;
/** Clock granularity G of RFC 6298 2 (the stack's clock counts milliseconds). */
export const CLOCK_GRANULARITY = 1;
/** RFC 6298 2.3: alpha = 1/8, beta = 1/4, K = 4. */
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;

/** Bounds of one estimator (the defaults are the constants above). */
export interface RttOptions {
  minRto?: number;
  maxRto?: number;
  initialRto?: number;
}

/** One connection's RFC 6298 estimator. Times in milliseconds. */
export class RttEstimator {
  /** Smoothed RTT, undefined before the first sample. */
  srtt: number | undefined;
  /** RTT variation, undefined before the first sample. */
  rttvar: number | undefined;
  /** The most recent sample. */
  latest: number | undefined;
  private current: number;
  private backoffs = 0;
  private readonly minRto: number;
  private readonly maxRto: number;

  /** A fresh estimator (RTO = initial RTO until a sample arrives). */
  constructor(options: RttOptions = {}) {
    this.minRto = options.minRto ?? MIN_RTO;
    this.maxRto = options.maxRto ?? MAX_RTO;
    this.current = this.clamp(options.initialRto ?? INITIAL_RTO);
  }

  /** The current retransmission timeout, backoff included. */
  get rto(): number {
    return this.current;
  }

  /** How many times the RTO was doubled since the last sample. */
  get backoffCount(): number {
    return this.backoffs;
  }

  /** A round-trip sample `rtt` from a segment that was not retransmitted (Karn). */
  sample(rtt: number): void {
    const r = Math.max(0, rtt);
    this.latest = r;
    if (this.srtt === undefined || this.rttvar === undefined) {
      // RFC 6298 2.2: SRTT <- R, RTTVAR <- R/2.
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      // RFC 6298 2.3: RTTVAR first (with the old SRTT), then SRTT.
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    // RFC 6298 2.2/2.3: RTO <- SRTT + max(G, K * RTTVAR); a new sample ends any backoff (5.7).
    this.backoffs = 0;
    this.current = this.clamp(this.srtt + Math.max(CLOCK_GRANULARITY, K * this.rttvar));
  }

  /**
   * RFC 6298 5.7: the SYN (or SYN-ACK) was retransmitted and no sample was taken: the RTO is
   * re-initialised to `rto` (3 s, `SYN_FALLBACK_RTO`) when data transmission begins.
   */
  fallback(rto = SYN_FALLBACK_RTO): void {
    if (this.srtt !== undefined) return;
    this.backoffs = 0;
    this.current = this.clamp(rto);
  }

  /** RFC 6298 5.5: the timer expired, double the RTO (up to the maximum). */
  backoff(): void {
    this.backoffs++;
    this.current = Math.min(this.current * 2, this.maxRto);
  }

  private clamp(rto: number): number {
    return Math.min(Math.max(rto, this.minRto), this.maxRto);
  }
}
