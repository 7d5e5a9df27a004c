import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { keyedHash } from '../../src/core/keyed-hash.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { DEFAULT_EPHEMERAL_RANGE, EphemeralPorts } from '../../src/core/udp/ephemeral-ports.ts';

const A = 0x0a000001;
const B = 0x0a000002;
const C = 0x0a000003;

/** A port allocator whose suitability test marks ports used, as binding them would. */
function allocator(seed: number, range = DEFAULT_EPHEMERAL_RANGE) {
  const ports = new EphemeralPorts(new SeededRng(seed), range);
  const used = new Set<number>();
  const take = (port: number | undefined) => {
    if (port !== undefined) used.add(port);
    return port;
  };
  const free = (p: number) => !used.has(p);
  return {
    ports,
    used,
    random: () => take(ports.random(free)),
    connect: (local: number, remote: number, remotePort: number) =>
      take(ports.forConnection(local, remote, remotePort, free)),
  };
}

describe('ephemeral ports (RFC 6056)', () => {
  test('the keyed hash is HalfSipHash-2-4: the reference vectors for 0, 4 and 8 bytes', () => {
    // Key 00..07 and messages 00 01 02 ..., as the reference implementation's vectors_hsip32.
    const key = [0x03020100, 0x07060504] as const;
    assert.equal(keyedHash(key, []), 0x5b9f35a9);
    assert.equal(keyedHash(key, [0x03020100]), 0x89466e2a);
    assert.equal(keyedHash(key, [0x03020100, 0x07060504]), 0x8f84b8d0);
  });

  test('random ports (Algorithm 1) are in 32768..60999, distinct while in use, and spread out', () => {
    const a = allocator(1);
    const got: number[] = [];
    for (let i = 0; i < 2000; i++) got.push(a.random()!);
    assert.equal(new Set(got).size, 2000);
    assert.ok(got.every((p) => p >= 32768 && p <= 60999));
    // Not sequential: the first few are far apart.
    assert.ok(Math.abs(got[1]! - got[0]!) > 1 || Math.abs(got[2]! - got[1]!) > 1);
    const low = got.filter((p) => p < 46884).length;
    assert.ok(low > 800 && low < 1200, `${low} of 2000 in the lower half`);
  });

  test('Algorithm 3: one peer gets successive ports, another peer an unrelated offset, one counter', () => {
    const a = allocator(2);
    const b1 = a.connect(A, B, 53)!;
    const b2 = a.connect(A, B, 53)!;
    const c1 = a.connect(A, C, 53)!;
    const b3 = a.connect(A, B, 53)!;
    const span = 60999 - 32768 + 1;
    const step = (from: number, to: number) => (to - from + span) % span;
    assert.equal(step(b1, b2), 1);
    // The counter is shared: the connection to C advanced it, so B's next port skips one.
    assert.equal(step(b2, b3), 2);
    assert.notEqual(step(b2, c1), 1);
    // Another remote port is another offset too.
    const d1 = a.connect(A, B, 80)!;
    assert.ok(d1 !== b3 + 1 && d1 >= 32768 && d1 <= 60999);
  });

  test('Algorithm 3: the secret key makes the offsets differ between stacks', () => {
    const offsets = new Set<number>();
    for (let seed = 1; seed <= 8; seed++) offsets.add(allocator(seed).connect(A, B, 53)!);
    assert.ok(offsets.size >= 7, `${offsets.size} distinct first ports for 8 keys`);
  });

  test('ports in use are skipped, and an exhausted range gives none', () => {
    const a = allocator(3, { min: 40000, max: 40003 });
    const got = [a.random(), a.random(), a.connect(A, B, 53), a.connect(A, B, 53)];
    assert.deepEqual([...got].sort(), [40000, 40001, 40002, 40003]);
    assert.equal(a.random(), undefined);
    assert.equal(a.connect(A, C, 9), undefined);
    a.used.delete(40002);
    assert.equal(a.connect(A, C, 9), 40002);
  });

  test('a bad range is refused with EINVAL', () => {
    const ports = new EphemeralPorts(new SeededRng(1));
    for (const range of [
      { min: 0, max: 10 },
      { min: 100, max: 99 },
      { min: 1, max: 65536 },
      { min: 1.5, max: 3 },
    ]) {
      assert.throws(
        () => {
          ports.range = range;
        },
        { code: 'EINVAL' },
      );
    }
    ports.range = { min: 1024, max: 1024 };
    assert.equal(
      ports.random(() => true),
      1024,
    );
  });
});
