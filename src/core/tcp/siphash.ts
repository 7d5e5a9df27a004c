/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) with its 128-bit
 * key, computed with 32-bit operations (each 64-bit word held as a high and a low half). It is the
 * keyed function F of RFC 6528 ISNs and of SYN cookies (RFC 4987 3.6): without the key an
 * off-path attacker cannot predict or forge its output.
 */
import type { Rng } from '../rng.ts';

/** A 128-bit SipHash key (16 bytes). */
export type SipKey = Uint8Array;

/** A fresh key from the stack's `rng`. */
export function randomSipKey(rng: Rng): SipKey {
  const key = new Uint8Array(16);
  rng.fill(key);
  return key;
}

// The state v0..v3 as [hi, lo] halves: v[0]=v0.hi, v[1]=v0.lo, ... v[6]=v3.hi, v[7]=v3.lo.
const v = new Uint32Array(8);

/** v[a] += v[b] (64-bit). */
function add(a: number, b: number): void {
  const lo = (v[a + 1] as number) + (v[b + 1] as number);
  v[a] = (v[a] as number) + (v[b] as number) + (lo > 0xffff_ffff ? 1 : 0);
  v[a + 1] = lo;
}

/** v[a] = rotl(v[a], n) for 0 < n < 32, or n = 32 (swap halves). */
function rotl(a: number, n: number): void {
  const hi = v[a] as number;
  const lo = v[a + 1] as number;
  if (n === 32) {
    v[a] = lo;
    v[a + 1] = hi;
    return;
  }
  v[a] = (hi << n) | (lo >>> (32 - n));
  v[a + 1] = (lo << n) | (hi >>> (32 - n));
}

/** v[a] ^= v[b]. */
function xor(a: number, b: number): void {
  v[a] = (v[a] as number) ^ (v[b] as number);
  v[a + 1] = (v[a + 1] as number) ^ (v[b + 1] as number);
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  rotl(V2, 32);
}

function le32(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

function compress(hi: number, lo: number): void {
  v[V3] = (v[V3] as number) ^ hi;
  v[V3 + 1] = (v[V3 + 1] as number) ^ lo;
  sipRound();
  sipRound();
  v[V0] = (v[V0] as number) ^ hi;
  v[V0 + 1] = (v[V0 + 1] as number) ^ lo;
}

/**
 * SipHash-2-4 of `message` under `key`; returns the 64-bit result as `[hi, lo]` unsigned 32-bit
 * halves (the reference implementation's output is this value in little-endian byte order).
 */
export function sipHash24(key: SipKey, message: Uint8Array): [number, number] {
  const k0lo = le32(key, 0);
  const k0hi = le32(key, 4);
  const k1lo = le32(key, 8);
  const k1hi = le32(key, 12);
  // "somepseudorandomlygeneratedbytes"
  v[0] = k0hi ^ 0x736f6d65;
  v[1] = k0lo ^ 0x70736575;
  v[2] = k1hi ^ 0x646f7261;
  v[3] = k1lo ^ 0x6e646f6d;
  v[4] = k0hi ^ 0x6c796765;
  v[5] = k0lo ^ 0x6e657261;
  v[6] = k1hi ^ 0x74656462;
  v[7] = k1lo ^ 0x79746573;
  const whole = message.length - (message.length % 8);
  for (let i = 0; i < whole; i += 8) compress(le32(message, i + 4), le32(message, i));
  // The last block: the remaining bytes, and the length (mod 256) in the top byte.
  const tail = new Uint8Array(8);
  tail.set(message.subarray(whole));
  tail[7] = message.length & 0xff;
  compress(le32(tail, 4), le32(tail, 0));
  v[V2 + 1] = (v[V2 + 1] as number) ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  const hi = ((v[0] as number) ^ (v[2] as number) ^ (v[4] as number) ^ (v[6] as number)) >>> 0;
  const lo = ((v[1] as number) ^ (v[3] as number) ^ (v[5] as number) ^ (v[7] as number)) >>> 0;
  return [hi, lo];
}
