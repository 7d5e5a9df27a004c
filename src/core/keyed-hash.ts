/**
 * A keyed hash for values an off-path attacker must not predict (RFC 6056 ephemeral port offsets,
 * SO_REUSEPORT selection, later TCP initial sequence numbers per RFC 6528): HalfSipHash-2-4
 * (Aumasson and Bernstein's reduced-width SipHash, the `hsiphash` of Linux) with a 64-bit key and
 * a 32-bit result, over whole 32-bit words (each word is absorbed as its 4 little-endian bytes).
 */
import type { Rng } from './rng.ts';

/** A 64-bit secret key as two 32-bit words. */
export type HashKey = readonly [number, number];

/** A fresh key from `rng`. */
export function randomHashKey(rng: Rng): HashKey {
  return [rng.nextU32(), rng.nextU32()];
}

const rotl = (x: number, b: number): number => ((x << b) | (x >>> (32 - b))) >>> 0;

/** HalfSipHash-2-4 of `words` (each taken as 4 little-endian bytes) under `key`. */
export function keyedHash(key: HashKey, words: readonly number[]): number {
  let v0 = key[0] >>> 0;
  let v1 = key[1] >>> 0;
  let v2 = (0x6c796765 ^ key[0]) >>> 0;
  let v3 = (0x74656462 ^ key[1]) >>> 0;
  const round = (): void => {
    v0 = (v0 + v1) >>> 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) >>> 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) >>> 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) >>> 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  };
  const absorb = (m: number): void => {
    v3 = (v3 ^ m) >>> 0;
    round();
    round();
    v0 = (v0 ^ m) >>> 0;
  };
  for (const w of words) absorb(w >>> 0);
  // The final block holds the message length in bytes in its top byte (no tail: whole words).
  absorb(((words.length * 4) & 0xff) << 24);
  v2 = (v2 ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}
