import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRng } from '../../../src/core/rng.ts';
import type { FourTuple } from '../../../src/core/tcp/four-tuple.ts';
import { IsnGenerator } from '../../../src/core/tcp/isn.ts';
import { seqDiff } from '../../../src/core/tcp/seq.ts';
import { sipHash24 } from '../../../src/core/tcp/siphash.ts';

const tuple: FourTuple = {
  localAddress: 0x0a000001,
  localPort: 80,
  remoteAddress: 0x0a000002,
  remotePort: 40000,
};

describe('SipHash-2-4', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const msg = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

  test('reference vectors (key 00..0f, message 00..n-1)', () => {
    // From the SipHash paper (appendix A) and the reference implementation's vectors.
    assert.deepEqual(sipHash24(key, msg(15)), [0xa129ca61, 0x49be45e5]);
    assert.deepEqual(sipHash24(key, msg(0)), [0x726fdb47, 0xdd0e0e31]);
    assert.deepEqual(sipHash24(key, msg(8)), [0x93f5f579, 0x9a932462]);
    assert.deepEqual(sipHash24(key, msg(63)), [0x958a324c, 0xeb064572]);
  });

  test('every key bit matters', () => {
    const base = sipHash24(key, msg(12));
    for (let bit = 0; bit < 128; bit++) {
      const k = key.slice();
      k[bit >> 3] = (k[bit >> 3] as number) ^ (1 << (bit & 7));
      assert.notDeepEqual(sipHash24(k, msg(12)), base, `bit ${bit}`);
    }
  });
});

describe('initial sequence numbers (RFC 6528)', () => {
  test('different tuples get unrelated ISNs at the same time', () => {
    const gen = new IsnGenerator(new SeededRng(1));
    const seen = new Set<number>();
    for (let port = 40000; port < 41000; port++) seen.add(gen.isn({ ...tuple, remotePort: port }, 5000));
    assert.ok(seen.size > 995);
    assert.notEqual(gen.isn(tuple, 0), gen.isn({ ...tuple, remoteAddress: 0x0a000003 }, 0));
    assert.notEqual(gen.isn(tuple, 0), gen.isn({ ...tuple, localPort: 81 }, 0));
  });

  test('the same tuple moves forward with M, one tick per 4 microseconds', () => {
    const gen = new IsnGenerator(new SeededRng(2));
    const a = gen.isn(tuple, 1000);
    assert.equal(seqDiff(gen.isn(tuple, 1001), a), 250);
    assert.equal(seqDiff(gen.isn(tuple, 1000.004), a), 1);
    assert.equal(gen.isn(tuple, 1000), a);
    // M wraps (2^32 ticks is about 4.77 hours) and the ISN follows modulo 2^32.
    const later = gen.isn(tuple, 1000 + 2 ** 32 / 250);
    assert.equal(later, a);
  });

  test('different keys (different Rng streams) give different ISNs', () => {
    const a = new IsnGenerator(new SeededRng(3)).isn(tuple, 0);
    const b = new IsnGenerator(new SeededRng(4)).isn(tuple, 0);
    assert.notEqual(a, b);
  });
});
