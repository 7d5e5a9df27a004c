import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqInWindow,
  seqLe,
  seqLt,
  seqMax,
  seqMin,
} from '../../../src/core/tcp/seq.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** A distance that keeps two numbers comparable (below 2^31). */
const dist = fc.integer({ min: 1, max: 0x7fff_ffff });

describe('sequence arithmetic (RFC 9293 3.4)', () => {
  test('comparisons across the wrap', () => {
    assert.ok(seqLt(0xffff_fff0, 0x10));
    assert.ok(seqGt(0x10, 0xffff_fff0));
    assert.equal(seqDiff(0x10, 0xffff_fff0), 0x20);
    assert.equal(seqDiff(0xffff_fff0, 0x10), -0x20);
    assert.equal(seqAdd(0xffff_ffff, 1), 0);
    assert.equal(seqAdd(0, -1), 0xffff_ffff);
    assert.equal(seqMax(0xffff_fff0, 5), 5);
    assert.equal(seqMin(0xffff_fff0, 5), 0xffff_fff0);
    assert.ok(seqLe(7, 7) && seqGe(7, 7) && !seqLt(7, 7) && !seqGt(7, 7));
  });

  test('in-window checks, including a window that wraps and an empty one', () => {
    assert.ok(seqInWindow(0xffff_ffff, 0xffff_fff0, 0x20));
    assert.ok(seqInWindow(0x0f, 0xffff_fff0, 0x20));
    assert.ok(!seqInWindow(0x10, 0xffff_fff0, 0x20));
    assert.ok(!seqInWindow(0xffff_ffef, 0xffff_fff0, 0x20));
    assert.ok(!seqInWindow(5, 5, 0));
  });

  test('property: a + d is after a for 0 < d < 2^31, whatever a', () => {
    fc.assert(
      fc.property(u32, dist, (a, d) => {
        const b = seqAdd(a, d);
        assert.ok(b >= 0 && b <= 0xffff_ffff && Number.isInteger(b));
        assert.ok(seqLt(a, b) && seqLe(a, b) && seqGt(b, a) && seqGe(b, a));
        assert.ok(!seqLt(b, a) && !seqGe(a, b));
        assert.equal(seqDiff(b, a), d);
        assert.equal(seqDiff(a, b), -d);
        assert.equal(seqMax(a, b), b);
        assert.equal(seqMin(b, a), a);
        assert.equal(seqAdd(b, -d), a);
      }),
    );
  });

  test('property: seqInWindow agrees with the distance from the window start', () => {
    fc.assert(
      fc.property(
        u32,
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: 0, max: 50 }),
        (start, off, len) => {
          assert.equal(seqInWindow(seqAdd(start, off), start, len), off >= 0 && off < len);
        },
      ),
    );
  });
});
