import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CryptoRng, randomBelow, randomFloat, SeededRng } from '../../src/core/rng.ts';

describe('randomness', () => {
  test('a seed gives the same stream; another seed a different one', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 8 },
        (
          (r) => () =>
            r.nextU32()
        )(new SeededRng(seed)),
      );
    assert.deepEqual(draw(1), draw(1));
    assert.notDeepEqual(draw(1), draw(2));
  });

  test('forks are independent of each other and deterministic', () => {
    const a = new SeededRng(9);
    const f1 = a.fork();
    const f2 = a.fork();
    assert.notEqual(f1.nextU32(), f2.nextU32());
    const b = new SeededRng(9);
    assert.equal(b.fork().seed, f1.seed);
  });

  test('randomBelow is in range and roughly uniform; randomFloat in [0, 1)', () => {
    const rng = new SeededRng(3);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = randomBelow(rng, 10);
      assert.ok(x >= 0 && x < 10);
      buckets[x]!++;
      const f = randomFloat(rng);
      assert.ok(f >= 0 && f < 1);
    }
    for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 600, `bucket ${count}`);
    assert.throws(() => randomBelow(rng, 0), RangeError);
  });

  test('fill covers odd lengths; CryptoRng draws from Web Crypto', () => {
    const bytes = new Uint8Array(7);
    new SeededRng(5).fill(bytes);
    assert.ok(bytes.some((b) => b !== 0));
    const crypto = new CryptoRng();
    const seen = new Set<number>();
    for (let i = 0; i < 600; i++) seen.add(crypto.nextU32());
    assert.ok(seen.size > 590);
    const big = new Uint8Array(100_000);
    crypto.fill(big);
    assert.ok(big.subarray(90_000).some((b) => b !== 0));
  });
});
