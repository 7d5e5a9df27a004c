/**
 * A token bucket for rate limits (ICMP errors, RFC 5961 challenge ACKs): `rate` tokens per second
 * up to `burst`, refilled lazily from the clock when asked, so it costs nothing while idle.
 */
import type { Instant } from './time.ts';

export class TokenBucket {
  private tokens: number;
  private last: Instant;

  constructor(
    /** Tokens added per second. */
    public rate: number,
    /** Most tokens held at once. */
    public burst: number,
    now: Instant,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token if there is one. */
  take(now: Instant): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
