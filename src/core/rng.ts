/**
 * Randomness is injected (ARCHITECTURE principle 2): ISNs, ephemeral ports, interface identifiers,
 * DHCP transaction IDs and timer jitter all come from an `Rng` the environment provides.
 * Production uses `CryptoRng`; tests use `SeededRng` and print the seed on failure.
 */
export interface Rng {
  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** Fills `bytes` with random bytes. */
  fill(bytes: Uint8Array): void;
}

/** A uniform float in [0, 1). */
export function randomFloat(rng: Rng): number {
  // 53 random bits: 21 from one draw, 32 from another.
  return ((rng.nextU32() >>> 11) * 0x1_0000_0000 + rng.nextU32()) / 2 ** 53;
}

/** A uniform integer in [0, n) without modulo bias, for 0 < n <= 2^32. */
export function randomBelow(rng: Rng, n: number): number {
  if (n <= 0 || n > 0x1_0000_0000) throw new RangeError(`randomBelow: n=${n}`);
  const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
  for (;;) {
    const x = rng.nextU32();
    if (x < limit) return x % n;
  }
}

/** Uniform in [lo, hi]. */
export function randomBetween(rng: Rng, lo: number, hi: number): number {
  return lo + randomBelow(rng, hi - lo + 1);
}

/**
 * xoshiro128** (Blackman and Vigna): small, fast, and good enough for simulation; seeded through
 * splitmix32 so that nearby seeds give unrelated streams. NOT for production secrets.
 */
export class SeededRng implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let x = this.seed;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      const r = this.nextU32();
      for (let j = 0; j < 4 && i + j < bytes.length; j++) bytes[i + j] = (r >>> (8 * j)) & 0xff;
    }
  }

  /** A new independent generator, for giving each component of a simulation its own stream. */
  fork(): SeededRng {
    return new SeededRng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Cryptographic randomness from the Web Crypto API (present in Node.js 20+ and browsers). */
export class CryptoRng implements Rng {
  private readonly pool = new Uint32Array(256);
  private index = 256;

  nextU32(): number {
    if (this.index === this.pool.length) {
      globalThis.crypto.getRandomValues(this.pool);
      this.index = 0;
    }
    return this.pool[this.index++]!;
  }

  fill(bytes: Uint8Array): void {
    // getRandomValues takes at most 65536 bytes per call.
    for (let i = 0; i < bytes.length; i += 65536) {
      globalThis.crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
    }
  }
}
