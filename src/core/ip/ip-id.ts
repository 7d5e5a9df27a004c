/**
 * IPv4 Identification values that do not leak a global counter (RFC 7739 5.3, and RFC 6864 for
 * atomic datagrams): a table of counters indexed by a keyed hash of (source, destination,
 * protocol), each starting at a random value and advancing per datagram by a random odd stride of
 * its own. An observer of one flow learns nothing about the traffic of others; an odd stride
 * visits all 65536 values before repeating one, and flows of different buckets do not advance in
 * lockstep (with a common stride of 1, every flow would be an offset copy of every other).
 */

import type { Ipv4Addr } from '../../wire/address.ts';
import type { Rng } from '../rng.ts';

const BUCKETS = 2048;

export class Ipv4IdGenerator {
  private readonly counters = new Uint16Array(BUCKETS);
  private readonly strides = new Uint16Array(BUCKETS);
  private readonly key0: number;
  private readonly key1: number;

  constructor(rng: Rng) {
    const init = new Uint8Array(BUCKETS * 2);
    rng.fill(init);
    this.counters.set(new Uint16Array(init.buffer));
    rng.fill(init);
    this.strides.set(new Uint16Array(init.buffer).map((s) => s | 1));
    this.key0 = rng.nextU32();
    this.key1 = rng.nextU32();
  }

  next(src: Ipv4Addr, dst: Ipv4Addr, protocol: number): number {
    const i = mix(src ^ this.key0, dst ^ this.key1, protocol) & (BUCKETS - 1);
    const id = this.counters[i]!;
    this.counters[i] = id + this.strides[i]!;
    return id;
  }
}

/** A 32-bit keyed mix (murmur3 finalizer steps over the three words). */
export function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ c;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
