/**
 * Initial sequence numbers (RFC 6528 3): ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), where M is a timer ticking every 4 microseconds (RFC 9293 3.4.1) and F a keyed
 * pseudorandom function (SipHash-2-4 with a 128-bit key drawn from the stack's Rng). A new
 * incarnation of the same connection thus starts above the old one's sequence numbers, while an
 * off-path attacker cannot guess the ISN of a connection it is not part of.
 */
import type { Rng } from '../rng.ts';
import { type FourTuple, fourTupleBytes } from './four-tuple.ts';
import type { Seq } from './seq.ts';
import { randomSipKey, type SipKey, sipHash24 } from './siphash.ts';

/** RFC 9293 3.4.1: M ticks every 4 microseconds, i.e. 250 times per millisecond. */
export const ISN_TICKS_PER_MS = 250;

/** The ISN generator of one stack (one secret key for its lifetime). */
export class IsnGenerator {
  private readonly key: SipKey;

  /** A generator whose secret key comes from `rng`. */
  constructor(rng: Rng) {
    this.key = randomSipKey(rng);
  }

  /** The ISN for a connection `tuple` opened at `now` (the stack's clock, ms). */
  isn(tuple: FourTuple, now: number): Seq {
    const m = Math.floor(now * ISN_TICKS_PER_MS) % 0x1_0000_0000;
    const f = sipHash24(this.key, fourTupleBytes(tuple))[1];
    return (m + f) >>> 0;
  }
}
