import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  finishChecksum,
  internetChecksum,
  pseudoHeaderSumV4,
  sumBytes,
  updateChecksum16,
  updateChecksum32,
} from '../../src/wire/checksum.ts';
import { emitIpv4, IP_PROTOCOL_UDP } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { fromHex } from '../helpers/fixtures.ts';
import { RUNS } from '../helpers/fuzz.ts';

/** A 20-byte IPv4 header with a valid checksum. */
function header(src: number, dst: number, ttl: number, id: number): Uint8Array {
  const pb = PacketBuffer.alloc(20, 0);
  emitIpv4(pb, { src, dst, protocol: IP_PROTOCOL_UDP, ttl, id });
  return pb.bytes();
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

describe('Internet checksum (RFC 1071, RFC 1624)', () => {
  test('RFC 1071 3: the example sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2', () => {
    const bytes = fromHex('0001f203f4f5f6f7');
    assert.equal(finishChecksum(sumBytes(bytes, 0, 8)), ~0xddf2 & 0xffff);
    assert.equal(internetChecksum(bytes), 0x220d);
    // Byte-order independence: the swapped words sum to the swapped result.
    assert.equal(internetChecksum(fromHex('0100 03f2 f5f4 f7f6')), 0x0d22);
    // Sums may be split anywhere at an even offset and carried over.
    assert.equal(finishChecksum(sumBytes(bytes, 4, 8, sumBytes(bytes, 0, 4))), 0x220d);
  });

  test('RFC 1071 4.1: an odd trailing byte is padded with zero', () => {
    assert.equal(internetChecksum(fromHex('0001f2')), internetChecksum(fromHex('0001f200')));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 101 }), (bytes) => {
        const padded = new Uint8Array(bytes.length + (bytes.length & 1));
        padded.set(bytes);
        assert.equal(internetChecksum(bytes), internetChecksum(padded));
      }),
      { numRuns: RUNS },
    );
  });

  test('a buffer with its checksum inserted sums to zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), (bytes) => {
        const data = bytes.slice();
        data[0] = 0;
        data[1] = 0;
        const sum = internetChecksum(data);
        data[0] = sum >>> 8;
        data[1] = sum & 0xff;
        assert.equal(internetChecksum(data), 0);
      }),
      { numRuns: RUNS },
    );
  });

  test('any range, aligned or not, at any byte offset of its buffer: the plain word-by-word sum', () => {
    // The reference: RFC 1071 4.1's loop over big-endian words, with the accumulator.
    const reference = (buf: Uint8Array, start: number, end: number, acc: number) => {
      let sum = acc;
      for (let i = start; i < end; i += 2) sum += (buf[i]! << 8) | (i + 1 < end ? buf[i + 1]! : 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      return sum;
    };
    const fold = (x: number) => {
      let sum = x;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      return sum;
    };
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000, size: 'max' }),
        fc.nat(3),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0x1fffe }),
        (bytes, shift, a, b, acc) => {
          // Copy at `shift` bytes into a larger buffer, so byteOffset is odd or even.
          const buf = new Uint8Array(bytes.length + shift).subarray(shift);
          buf.set(bytes);
          const start = bytes.length === 0 ? 0 : a % bytes.length;
          const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
          assert.equal(fold(sumBytes(buf, start, end, acc)), reference(buf, start, end, acc));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('RFC 1624 4: the example update gives 0000 (eqn. 3), not ffff', () => {
    assert.equal(updateChecksum16(0xdd2f, 0x5555, 0x3285), 0x0000);
  });

  test('RFC 1624: a TTL decrement updated incrementally equals a full recompute', () => {
    fc.assert(
      fc.property(
        u32,
        u32,
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 0xffff }),
        (src, dst, ttl, id) => {
          const before = header(src, dst, ttl, id);
          const after = header(src, dst, ttl - 1, id);
          const oldWord = (before[8]! << 8) | before[9]!;
          const newWord = (after[8]! << 8) | after[9]!;
          const oldSum = (before[10]! << 8) | before[11]!;
          assert.equal(updateChecksum16(oldSum, oldWord, newWord), (after[10]! << 8) | after[11]!);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('RFC 1624: an address rewrite (NAT) updated incrementally equals a full recompute', () => {
    fc.assert(
      fc.property(u32, u32, u32, (src, dst, newSrc) => {
        const before = header(src, dst, 64, 1);
        const after = header(newSrc, dst, 64, 1);
        const oldSum = (before[10]! << 8) | before[11]!;
        assert.equal(updateChecksum32(oldSum, src, newSrc), (after[10]! << 8) | after[11]!);
      }),
      { numRuns: RUNS },
    );
  });

  test('the IPv4 pseudo-header sum equals the sum of its 12 bytes', () => {
    fc.assert(
      fc.property(
        u32,
        u32,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffff }),
        (src, dst, proto, len) => {
          const bytes = new Uint8Array(12);
          const view = new DataView(bytes.buffer);
          view.setUint32(0, src);
          view.setUint32(4, dst);
          bytes[9] = proto;
          view.setUint16(10, len);
          assert.equal(finishChecksum(pseudoHeaderSumV4(src, dst, proto, len)), internetChecksum(bytes));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
