import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SendBuffer } from '../../../src/core/tcp/send-buffer.ts';

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('send buffer', () => {
  test('append keeps the caller chunk (no copy) and respects the limit', () => {
    const sb = new SendBuffer(10);
    const chunk = bytes(0, 6);
    assert.equal(sb.append(chunk), 6);
    chunk[0] = 99; // the buffer sees the caller's bytes: nothing was copied
    const out = new Uint8Array(1);
    sb.copyOut(0, 1, out, 0);
    assert.equal(out[0], 99);
    assert.equal(sb.space, 4);
    assert.equal(sb.append(bytes(6, 6)), 4);
    assert.equal(sb.length, 10);
    assert.equal(sb.space, 0);
    assert.equal(sb.append(bytes(0, 1)), 0);
    sb.limit = 5;
    assert.equal(sb.space, 0);
  });

  test('copyOut spans chunks, into an offset of the packet buffer', () => {
    const sb = new SendBuffer(100);
    sb.append(bytes(0, 3));
    sb.append(bytes(3, 1));
    sb.append(bytes(4, 10));
    const pkt = new Uint8Array(20).fill(0xee);
    assert.equal(sb.copyOut(2, 9, pkt, 5), 9);
    assert.deepEqual([...pkt.subarray(5, 14)], [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(pkt[4], 0xee);
    assert.equal(pkt[14], 0xee);
    // Past the end: only what is there.
    assert.equal(sb.copyOut(10, 10, pkt, 0), 4);
    assert.equal(sb.copyOut(14, 1, pkt, 0), 0);
    assert.equal(sb.copyOut(0, 0, pkt, 0), 0);
  });

  test('consume drops whole chunks and keeps an offset into the first', () => {
    const sb = new SendBuffer(100);
    sb.append(bytes(0, 4));
    sb.append(bytes(4, 4));
    sb.append(bytes(8, 4));
    sb.consume(5);
    assert.equal(sb.length, 7);
    const out = new Uint8Array(7);
    assert.equal(sb.copyOut(0, 7, out, 0), 7);
    assert.deepEqual([...out], [5, 6, 7, 8, 9, 10, 11]);
    sb.consume(2);
    assert.equal(sb.copyOut(0, 1, out, 0), 1);
    assert.equal(out[0], 7);
    sb.consume(100);
    assert.equal(sb.length, 0);
    assert.equal(sb.space, 100);
    sb.append(bytes(50, 2));
    assert.equal(sb.copyOut(0, 2, out, 0), 2);
    assert.deepEqual([...out.subarray(0, 2)], [50, 51]);
  });

  test('segmenting a long stream of small chunks while ACKs consume it', () => {
    const sb = new SendBuffer(1 << 20);
    let written = 0;
    for (let i = 0; i < 5000; i++) {
      const n = 1 + (i % 37);
      sb.append(bytes(written, n));
      written += n;
    }
    const mss = 536;
    const seg = new Uint8Array(mss);
    let acked = 0;
    let sent = 0;
    while (acked < written) {
      while (sent - acked < 8 * mss && sent < written) {
        const n = sb.copyOut(sent - acked, mss, seg, 0);
        for (let i = 0; i < n; i++) assert.equal(seg[i], (sent + i) & 0xff);
        sent += n;
      }
      const ack = Math.min(sent - acked, 3 * mss + 7);
      sb.consume(ack);
      acked += ack;
      assert.equal(sb.length, written - acked);
    }
  });

  test('property: copyOut after any appends and consumes returns the stream bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(200), fc.nat(60), fc.nat(30)), { maxLength: 30 }),
        (sizes, ops) => {
          const sb = new SendBuffer(10_000);
          let total = 0;
          for (const n of sizes) {
            sb.append(bytes(total, n));
            total += n;
          }
          let base = 0;
          for (const [offset, len, consume] of ops) {
            const out = new Uint8Array(len);
            const n = sb.copyOut(offset, len, out, 0);
            assert.equal(n, Math.max(0, Math.min(len, total - base - offset)));
            for (let i = 0; i < n; i++) assert.equal(out[i], (base + offset + i) & 0xff);
            const c = Math.min(consume, total - base);
            sb.consume(consume);
            base += c;
            assert.equal(sb.length, total - base);
          }
        },
      ),
    );
  });
});
