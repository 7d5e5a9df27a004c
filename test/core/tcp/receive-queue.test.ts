import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KEEP_MIN_BYTES } from '../../../src/core/device/link.ts';
import { MAX_OUT_OF_ORDER_RANGES, ReceiveQueue } from '../../../src/core/tcp/receive-queue.ts';
import { seqAdd } from '../../../src/core/tcp/seq.ts';

const stream = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

function readAll(q: ReceiveQueue): number[] {
  const out: number[] = [];
  for (let c = q.read(); c; c = q.read()) out.push(...c);
  return out;
}

describe('receive queue', () => {
  test('in-order data is copied once and read back as the chunk itself', () => {
    const q = new ReceiveQueue(1000, 1 << 16);
    const wire = stream(10);
    assert.equal(q.insert(1000, wire.subarray(0, 4)), 4);
    wire[0] = 0xaa; // the binding reuses its buffer: the queue must have copied
    assert.equal(q.rcvNxt, 1004);
    assert.equal(q.readable, 4);
    const got = q.read();
    assert.deepEqual([...(got ?? [])], [...stream(4)]);
    assert.equal(q.read(), undefined);
  });

  test('keepable frames: payloads are kept as views (in order and out of order), small ones copied', () => {
    const q = new ReceiveQueue(0, 1 << 20);
    const s = stream(4 * KEEP_MIN_BYTES);
    const big = s.subarray(0, KEEP_MIN_BYTES);
    const later = s.subarray(2 * KEEP_MIN_BYTES, 3 * KEEP_MIN_BYTES);
    q.insert(2 * KEEP_MIN_BYTES, later, false, true);
    q.insert(0, big, false, true);
    const first = q.read();
    assert.equal(first?.buffer, s.buffer, 'in order: a view of the frame');
    assert.equal(first?.byteOffset, 0);
    const small = s.subarray(KEEP_MIN_BYTES, KEEP_MIN_BYTES + 10);
    q.insert(KEEP_MIN_BYTES, small, false, true);
    assert.notEqual(q.read()?.buffer, s.buffer, 'below KEEP_MIN_BYTES: copied');
    q.insert(KEEP_MIN_BYTES + 10, s.subarray(KEEP_MIN_BYTES + 10, 2 * KEEP_MIN_BYTES), false, true);
    q.read(2 * KEEP_MIN_BYTES - KEEP_MIN_BYTES - 10);
    const held = q.read();
    assert.equal(held?.buffer, s.buffer, 'out of order, released by the fill: still the view');
    assert.deepEqual([...(held ?? [])], [...later]);
  });

  test('read(max) slices one chunk or joins several into one copy', () => {
    const q = new ReceiveQueue(0, 1 << 16);
    const s = stream(12);
    q.insert(0, s.subarray(0, 4));
    q.insert(4, s.subarray(4, 8));
    q.insert(8, s.subarray(8, 12));
    assert.deepEqual([...(q.read(3) ?? [])], [...s.subarray(0, 3)]);
    assert.deepEqual([...(q.read(6) ?? [])], [...s.subarray(3, 9)]);
    assert.equal(q.readable, 3);
    assert.deepEqual([...(q.read() ?? [])], [...s.subarray(9, 12)]);
    assert.equal(q.read(0), undefined);
  });

  test('out-of-order data waits, SACK blocks list the latest first, the gap fill releases it', () => {
    const q = new ReceiveQueue(0, 1 << 16);
    const s = stream(100);
    assert.equal(q.insert(20, s.subarray(20, 30)), 0);
    assert.equal(q.insert(50, s.subarray(50, 60)), 0);
    assert.equal(q.insert(40, s.subarray(40, 45)), 0);
    assert.ok(q.hasOutOfOrder);
    assert.equal(q.outOfOrderBytes, 25);
    assert.deepEqual(q.sackBlocks(4), [
      { left: 40, right: 45 },
      { left: 50, right: 60 },
      { left: 20, right: 30 },
    ]);
    // Adjacent data merges; the merged block becomes the first one.
    q.insert(45, s.subarray(45, 50));
    assert.deepEqual(q.sackBlocks(2), [
      { left: 40, right: 60 },
      { left: 20, right: 30 },
    ]);
    // A duplicate of held data moves its block to the front (RFC 2018 4).
    q.insert(22, s.subarray(22, 25));
    assert.deepEqual(q.sackBlocks(1), [{ left: 20, right: 30 }]);
    // Filling the first gap releases up to the next hole.
    assert.equal(q.insert(0, s.subarray(0, 20)), 30);
    assert.equal(q.rcvNxt, 30);
    assert.deepEqual(q.sackBlocks(4), [{ left: 40, right: 60 }]);
    assert.equal(q.insert(30, s.subarray(30, 42)), 30);
    assert.equal(q.rcvNxt, 60);
    assert.ok(!q.hasOutOfOrder);
    assert.equal(q.buffered, 60);
    assert.deepEqual(readAll(q), [...s.subarray(0, 60)]);
  });

  test('retransmissions overlapping RCV.NXT are trimmed; old ones ignored', () => {
    const q = new ReceiveQueue(0xffff_fff0, 1 << 16); // across the wrap
    const s = stream(64);
    q.insert(0xffff_fff0, s.subarray(0, 32));
    assert.equal(q.rcvNxt, 0x10);
    assert.equal(q.insert(0xffff_fff0, s.subarray(0, 16)), 0);
    assert.equal(q.insert(0x08, s.subarray(24, 40)), 8);
    assert.equal(q.rcvNxt, 0x18);
    assert.deepEqual(readAll(q), [...s.subarray(0, 40)]);
  });

  test('FIN: in order, out of order, and data beyond it dropped', () => {
    const q = new ReceiveQueue(100, 1 << 16);
    const s = stream(20);
    assert.equal(q.insert(110, s.subarray(10, 20), true), 0);
    assert.ok(!q.finReceived);
    assert.equal(q.insert(115, s.subarray(0, 20)), 0); // beyond the FIN: only up to it is kept
    assert.equal(q.outOfOrderBytes, 10);
    assert.equal(q.insert(100, s.subarray(0, 10)), 20);
    assert.ok(q.finReceived);
    assert.equal(q.rcvNxt, 121); // the FIN counts
    assert.equal(q.insert(121, s.subarray(0, 5)), 0);
    assert.equal(q.readable, 20);
    const bare = new ReceiveQueue(7, 100);
    bare.insert(7, new Uint8Array(0), true);
    assert.ok(bare.finReceived);
    assert.equal(bare.rcvNxt, 8);
    bare.reset(50);
    assert.ok(!bare.finReceived);
    assert.equal(bare.rcvNxt, 50);
  });

  test('flood: out-of-order bytes and ranges are bounded, and what was dropped is counted', () => {
    const q = new ReceiveQueue(0, 1000);
    const s = stream(4000);
    for (let off = 10; off < 4000; off += 20) q.insert(off, s.subarray(off, off + 10));
    assert.ok(q.outOfOrderBytes <= 1000);
    assert.equal(q.outOfOrderBytes, 1000);
    assert.ok(q.droppedSegments > 0);
    assert.equal(q.droppedBytes, q.droppedSegments * 10);
    const many = new ReceiveQueue(0, 1 << 20);
    for (let off = 2; off < 4 * MAX_OUT_OF_ORDER_RANGES; off += 2) many.insert(off, s.subarray(0, 1));
    assert.equal(many.sackBlocks(10_000).length, MAX_OUT_OF_ORDER_RANGES);
    assert.ok(many.droppedSegments > 0);
    // In-order data is never refused by the out-of-order bound (the window bounds it).
    assert.equal(q.insert(0, s.subarray(0, 10)), 20); // and releases the range at 10..20
  });

  test('property: any arrival order with duplicates and overlaps reproduces the stream', () => {
    const total = 300;
    const data = stream(total);
    const segment = fc.tuple(fc.nat(total - 1), fc.integer({ min: 1, max: 60 }));
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 60 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 60 }),
        (extra, isn, mss) => {
          const q = new ReceiveQueue(isn, 1 << 16);
          // The random segments, then a full in-order pass so the stream always completes.
          const segs: Array<[number, number]> = [...extra];
          for (let off = 0; off < total; off += mss) segs.push([off, Math.min(mss, total - off)]);
          const out: number[] = [];
          for (const [off, len] of segs) {
            const end = Math.min(total, off + len);
            q.insert(seqAdd(isn, off), data.subarray(off, end), end === total);
            if ((off & 3) === 0) out.push(...readAll(q));
            // SACK blocks never cover data below RCV.NXT and never overlap.
            const blocks = q.sackBlocks(100).sort((a, b) => ((a.left - isn) >>> 0) - ((b.left - isn) >>> 0));
            let prev = (q.rcvNxt - isn) >>> 0;
            for (const b of blocks) {
              const l = (b.left - isn) >>> 0;
              assert.ok(l > prev, 'block above RCV.NXT and disjoint, not touching');
              prev = (b.right - isn) >>> 0;
            }
          }
          out.push(...readAll(q));
          assert.deepEqual(out, [...data]);
          assert.ok(q.finReceived);
          assert.equal(q.rcvNxt, seqAdd(isn, total + 1));
          assert.equal(q.buffered, 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
