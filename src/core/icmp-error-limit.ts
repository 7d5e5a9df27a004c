/**
 * What ICMPv4 and ICMPv6 share when they send errors: a token bucket that limits their rate
 * (RFC 1812 4.3.2.8, RFC 4443 2.4 (f); Linux: icmp_msgs_per_sec 1000, icmp_msgs_burst 50) and the
 * counters `<prefix>.tx.errors`, `<prefix>.tx.rate-limited` and `<prefix>.tx.type-<T>-code-<C>`.
 * The rules that forbid an error (RFC 1122 3.2.2 and RFC 1812 4.3.2.7; RFC 4443 2.4 (e)) and how
 * much of the offending packet is quoted differ by family, and stay in icmpv4.ts and icmpv6.ts.
 */
import type { Counter } from './counters.ts';
import type { Stack } from './stack.ts';
import { TokenBucket } from './token-bucket.ts';

/** Errors per second, and the burst. */
const ERRORS_PER_SECOND = 1000;
const ERROR_BURST = 50;

export class IcmpErrorLimit {
  readonly bucket: TokenBucket;
  private readonly sentCount: Counter;
  private readonly rateLimited: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly prefix: string,
  ) {
    this.bucket = new TokenBucket(ERRORS_PER_SECOND, ERROR_BURST, stack.now());
    this.sentCount = stack.counters.get(`${prefix}.tx.errors`);
    this.rateLimited = stack.counters.get(`${prefix}.tx.rate-limited`);
  }

  /** Takes one token of the rate limit; counts the error as rate limited when none is left. */
  take(): boolean {
    if (this.bucket.take(this.stack.now())) return true;
    this.rateLimited.value++;
    return false;
  }

  /** Counts an error sent. */
  sent(type: number, code: number): void {
    this.sentCount.value++;
    this.stack.counters.add(`${this.prefix}.tx.type-${type}-code-${code}`);
  }
}
