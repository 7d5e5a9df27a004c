import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SackScoreboard } from '../../../src/core/tcp/sack-scoreboard.ts';
import { seqAdd } from '../../../src/core/tcp/seq.ts';

const b = (left: number, right: number) => ({ left, right });

describe('SACK scoreboard (RFC 6675)', () => {
  test('blocks are merged, sorted and trimmed by the cumulative ACK', () => {
    const sb = new SackScoreboard(1000);
    let u = sb.update(1000, [b(1300, 1400)]);
    assert.equal(u.newlySacked, 100);
    assert.equal(u.dsack, undefined);
    u = sb.update(1000, [b(1100, 1200), b(1300, 1400)]);
    assert.equal(u.newlySacked, 100);
    sb.update(1000, [b(1200, 1300)]);
    assert.deepEqual(sb.sackedRanges(), [b(1100, 1400)]);
    assert.equal(sb.sackedBytes, 300);
    assert.equal(sb.highestSacked, 1400);
    sb.update(1150, []);
    assert.deepEqual(sb.sackedRanges(), [b(1150, 1400)]);
    assert.equal(sb.sackedBytes, 250);
    sb.update(1500, []);
    assert.equal(sb.sackedBytes, 0);
    assert.equal(sb.highestSacked, 1500);
    // Invalid blocks: empty, reversed, beyond SND.NXT.
    assert.equal(sb.update(1500, [b(1600, 1600), b(1700, 1650), b(1600, 1900)], 1800).newlySacked, 0);
  });

  test('D-SACK (RFC 2883): first block below the cumulative ACK, or inside the second block', () => {
    const sb = new SackScoreboard(0);
    let u = sb.update(500, [b(300, 400)]);
    assert.deepEqual(u.dsack, b(300, 400));
    assert.equal(sb.sackedBytes, 0);
    u = sb.update(500, [b(700, 800), b(600, 900)]);
    assert.deepEqual(u.dsack, b(700, 800));
    assert.deepEqual(sb.sackedRanges(), [b(600, 900)]);
    u = sb.update(500, [b(600, 900), b(1000, 1100)]);
    assert.equal(u.dsack, undefined);
  });

  test('clear forgets SACK information (after an RTO)', () => {
    const sb = new SackScoreboard(0);
    sb.update(0, [b(100, 400)]);
    sb.clear();
    assert.equal(sb.sackedBytes, 0);
    assert.equal(sb.highestSacked, 0);
    assert.ok(!sb.isSacked(150));
  });

  test('flood: the number of ranges is bounded and overflows are counted', () => {
    const sb = new SackScoreboard(0, 8);
    for (let i = 0; i < 50; i++) sb.update(0, [b(i * 20 + 10, i * 20 + 15)]);
    assert.equal(sb.sackedRanges().length, 8);
    assert.equal(sb.overflows, 42);
    assert.equal(sb.sackedBytes, 40);
  });

  test('property: the scoreboard matches a byte map under random ACKs, across the wrap', () => {
    const size = 2000;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.array(
          fc.tuple(
            fc.nat(size),
            fc.array(fc.tuple(fc.nat(size), fc.integer({ min: 1, max: 300 })), { maxLength: 4 }),
          ),
          { maxLength: 30 },
        ),
        (isn, acks) => {
          const sb = new SackScoreboard(isn, 1000);
          const sacked = new Uint8Array(size);
          let una = 0;
          for (const [ack, blocks] of acks) {
            una = Math.max(una, ack);
            const wire = blocks.map(([l, len]) => b(seqAdd(isn, l), seqAdd(isn, Math.min(size, l + len))));
            const u = sb.update(seqAdd(isn, ack), wire, seqAdd(isn, size));
            blocks.forEach(([l, len], i) => {
              if (i === 0 && u.dsack !== undefined) return;
              for (let x = Math.max(l, una); x < Math.min(size, l + len); x++) sacked[x] = 1;
            });
            let bytes = 0;
            for (let x = una; x < size; x++) bytes += sacked[x] as number;
            assert.equal(sb.sackedBytes, bytes);
            // Ranges are sorted, disjoint, not touching, and all above SND.UNA.
            let prev = una - 1;
            for (const r of sb.sackedRanges()) {
              const l = (r.left - isn) >>> 0;
              const rr = (r.right - isn) >>> 0;
              assert.ok(l > prev && rr > l && l >= una);
              for (let x = l; x < rr; x++) assert.equal(sacked[x], 1);
              prev = rr;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('D-SACK against the ACK field (RFC 2883 4)', () => {
  test('an old ACK arriving after a newer one is not a D-SACK: its blocks lie above its own ACK field', () => {
    const sb = new SackScoreboard(1000);
    // SND.UNA is already 1500; a reordered older ACK (ack 1000) SACKs [1200, 1300).
    const u = sb.update(1500, [{ left: 1200, right: 1300 }], 3000, 1000);
    assert.equal(u.dsack, undefined);
    // A real D-SACK: below the segment's own ACK field.
    const d = sb.update(1500, [{ left: 1200, right: 1300 }], 3000, 1500);
    assert.deepEqual(d.dsack, { left: 1200, right: 1300 });
  });
});
