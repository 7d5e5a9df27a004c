import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SackScoreboard } from '../../../src/core/tcp/sack-scoreboard.ts';
import { seqAdd } from '../../../src/core/tcp/seq.ts';

const MSS = 100;
const b = (left: number, right: number) => ({ left, right });

describe('SACK scoreboard (RFC 6675)', () => {
  test('blocks are merged, sorted and trimmed by the cumulative ACK', () => {
    const sb = new SackScoreboard(1000, MSS);
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
    const sb = new SackScoreboard(0, MSS);
    let u = sb.update(500, [b(300, 400)]);
    assert.deepEqual(u.dsack, b(300, 400));
    assert.equal(sb.sackedBytes, 0);
    u = sb.update(500, [b(700, 800), b(600, 900)]);
    assert.deepEqual(u.dsack, b(700, 800));
    assert.deepEqual(sb.sackedRanges(), [b(600, 900)]);
    u = sb.update(500, [b(600, 900), b(1000, 1100)]);
    assert.equal(u.dsack, undefined);
  });

  test('IsLost: three SACKed segments above, or more than 2 MSS SACKed above', () => {
    const sb = new SackScoreboard(0, MSS);
    sb.update(0, [b(100, 200)]);
    assert.ok(!sb.isLost(0));
    sb.update(0, [b(300, 400)]);
    assert.ok(!sb.isLost(0)); // 2 segments, 200 bytes
    sb.update(0, [b(500, 501)]);
    assert.ok(sb.isLost(0)); // three discontiguous ranges
    assert.ok(!sb.isLost(200)); // only two above
    const bytes = new SackScoreboard(0, MSS);
    bytes.update(0, [b(100, 300)]);
    assert.ok(!bytes.isLost(0)); // exactly 2 MSS: not more
    bytes.update(0, [b(300, 301)]);
    assert.ok(bytes.isLost(0));
  });

  test('NextSeg: lost holes first, then new data, then other holes, then one rescue', () => {
    // Segments of 100 bytes from 0 to 1000 sent; 0 and 300 lost; 100-300 and 400-1000 SACKed.
    const sb = new SackScoreboard(0, MSS);
    sb.update(0, [b(400, 1000), b(100, 300)]);
    sb.enterRecovery(1000);
    let seg = sb.nextSeg(1000, true);
    assert.deepEqual(seg, { kind: 'lost', seq: 0, length: 100 });
    sb.onSent(seg as NonNullable<typeof seg>);
    seg = sb.nextSeg(1000, true);
    assert.deepEqual(seg, { kind: 'lost', seq: 300, length: 100 });
    sb.onSent(seg as NonNullable<typeof seg>);
    assert.deepEqual(sb.nextSeg(1000, true), { kind: 'new', seq: 1000, length: 100 });
    // No new data: both holes were retransmitted, so only the rescue (rule 4) is left.
    assert.deepEqual(sb.nextSeg(1000, false), { kind: 'rescue', seq: 300, length: 100 });
  });

  test('NextSeg rule 3 (holes not yet lost) and rule 4 (rescue once per recovery)', () => {
    const sb = new SackScoreboard(0, MSS);
    sb.update(0, [b(200, 300)]); // one segment SACKed: the hole 0-200 is not lost
    sb.enterRecovery(500);
    assert.deepEqual(sb.nextSeg(500, false), { kind: 'unsacked', seq: 0, length: 100 });
    sb.onSent({ kind: 'unsacked', seq: 0, length: 100 });
    assert.deepEqual(sb.nextSeg(500, false), { kind: 'unsacked', seq: 100, length: 100 });
    sb.onSent({ kind: 'unsacked', seq: 100, length: 100 });
    // Only data above the highest SACK is left: the rescue holds the highest unSACKed byte.
    const rescue = sb.nextSeg(500, false);
    assert.deepEqual(rescue, { kind: 'rescue', seq: 400, length: 100 });
    sb.onSent(rescue as NonNullable<typeof rescue>);
    assert.equal(sb.nextSeg(500, false), undefined);
    // Once SND.UNA passes RescueRxt (the recovery point), another rescue may go.
    sb.update(501, []);
    assert.equal(sb.nextSeg(501, false), undefined); // nothing outstanding
    const top = new SackScoreboard(0, MSS);
    top.update(0, [b(300, 500)]);
    top.enterRecovery(500);
    top.onSent({ kind: 'unsacked', seq: 0, length: 300 });
    // The highest range reaches SND.NXT: the rescue ends where it starts.
    assert.deepEqual(top.nextSeg(500, false), { kind: 'rescue', seq: 200, length: 100 });
  });

  test('SetPipe: unSACKed and not lost, plus retransmitted', () => {
    const sb = new SackScoreboard(0, MSS);
    sb.update(0, [b(400, 1000), b(100, 300)]);
    // 0-100 lost, 300-400 lost, nothing above 1000 outstanding except 1000-1200 (not lost).
    assert.equal(sb.pipe(1200), 200);
    sb.enterRecovery(1200);
    sb.onSent({ kind: 'lost', seq: 0, length: 100 });
    assert.equal(sb.pipe(1200), 300);
    sb.onSent({ kind: 'lost', seq: 300, length: 100 });
    assert.equal(sb.pipe(1200), 400);
    // Nothing SACKed: everything outstanding is in the pipe.
    assert.equal(new SackScoreboard(0, MSS).pipe(700), 700);
  });

  test('clear forgets SACK information (after an RTO)', () => {
    const sb = new SackScoreboard(0, MSS);
    sb.update(0, [b(100, 400)]);
    sb.clear();
    assert.equal(sb.sackedBytes, 0);
    assert.equal(sb.highestSacked, 0);
    assert.ok(!sb.isSacked(150));
  });

  test('flood: the number of ranges is bounded and overflows are counted', () => {
    const sb = new SackScoreboard(0, MSS, 8);
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
          const sb = new SackScoreboard(isn, MSS, 1000);
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
            // pipe never exceeds the outstanding data.
            assert.ok(sb.pipe(seqAdd(isn, size)) <= size - una + size);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('D-SACK against the ACK field (RFC 2883 4)', () => {
  test('an old ACK arriving after a newer one is not a D-SACK: its blocks lie above its own ACK field', () => {
    const sb = new SackScoreboard(1000, 100);
    // SND.UNA is already 1500; a reordered older ACK (ack 1000) SACKs [1200, 1300).
    const u = sb.update(1500, [{ left: 1200, right: 1300 }], 3000, 1000);
    assert.equal(u.dsack, undefined);
    // A real D-SACK: below the segment's own ACK field.
    const d = sb.update(1500, [{ left: 1200, right: 1300 }], 3000, 1500);
    assert.deepEqual(d.dsack, { left: 1200, right: 1300 });
  });
});
