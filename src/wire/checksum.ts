/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * A checksum is computed as a running 32-bit one's-complement accumulator (`sum*` functions return
 * an unfolded partial sum that can be fed into the next call), then folded and complemented once by
 * `finishChecksum`.
 */
import type { Ipv4Addr, Ipv6Addr } from './address.ts';

/** True on little-endian hosts (all that run Node.js and browsers today, but checked). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Adds the bytes [start, end) as big-endian 16-bit words to `acc`. An odd trailing byte is padded
 * with zero (RFC 1071 4.1). The result is folded to at most 17 bits, so it never overflows.
 *
 * When the range starts at an even address, it is read as native 16-bit words, one load per word.
 * RFC 1071 2(B): the sum is independent of byte order, so on a little-endian host the sum of the
 * byte-swapped words, folded to 16 bits, is the byte-swapped sum.
 */
export function sumBytes(buf: Uint8Array, start: number, end: number, acc = 0): number {
  const even = end - ((end - start) & 1);
  let sum = 0;
  if (((buf.byteOffset + start) & 1) === 0 && even - start >= 64) {
    const words = new Uint16Array(buf.buffer, buf.byteOffset + start, (even - start) >>> 1);
    const n = words.length;
    let i = 0;
    // Unrolled by 4 words; folding every iteration keeps the value in small-integer range.
    for (; i + 4 <= n; i += 4) {
      sum += words[i]! + words[i + 1]! + words[i + 2]! + words[i + 3]!;
      sum = (sum & 0xffff) + (sum >>> 16);
    }
    for (; i < n; i++) sum += words[i]!;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    if (LITTLE_ENDIAN) sum = ((sum & 0xff) << 8) | (sum >>> 8);
  } else {
    let i = start;
    for (; i + 8 <= even; i += 8) {
      sum +=
        ((buf[i]! << 8) | buf[i + 1]!) +
        ((buf[i + 2]! << 8) | buf[i + 3]!) +
        ((buf[i + 4]! << 8) | buf[i + 5]!) +
        ((buf[i + 6]! << 8) | buf[i + 7]!);
      sum = (sum & 0xffff) + (sum >>> 16);
    }
    for (; i < even; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  }
  sum += acc;
  if (even < end) sum += buf[even]! << 8;
  return (sum & 0xffff) + (sum >>> 16);
}

/** Adds a 16-bit value to the accumulator. */
export function sumWord(acc: number, word: number): number {
  const sum = acc + (word & 0xffff);
  return (sum & 0xffff) + (sum >>> 16);
}

/** Adds a 32-bit value (as two 16-bit words) to the accumulator. */
export function sumU32(acc: number, value: number): number {
  return sumWord(sumWord(acc, value >>> 16), value & 0xffff);
}

/** Folds the accumulator to 16 bits and returns its one's complement: the value to put on the wire. */
export function finishChecksum(acc: number): number {
  let sum = acc;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The checksum of a whole buffer range. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return finishChecksum(sumBytes(buf, start, end));
}

/** RFC 768 / RFC 9293 3.1: the IPv4 pseudo-header (source, destination, zero, protocol, length). */
export function pseudoHeaderSumV4(src: Ipv4Addr, dst: Ipv4Addr, protocol: number, length: number): number {
  return sumWord(sumWord(sumU32(sumU32(0, src), dst), protocol), length);
}

/** RFC 8200 8.1: the IPv6 pseudo-header (source, destination, 32-bit length, next header). */
export function pseudoHeaderSumV6(src: Ipv6Addr, dst: Ipv6Addr, nextHeader: number, length: number): number {
  return sumWord(sumU32(sumBytes(dst, 0, 16, sumBytes(src, 0, 16)), length), nextHeader);
}

/**
 * RFC 1624 3 (eqn. 3): the new checksum after one 16-bit field changed from `oldWord` to `newWord`:
 * HC' = ~(~HC + ~m + m').
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** RFC 1624 for a 32-bit field (for example an IPv4 address rewritten by NAT). */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const c = updateChecksum16(checksum, oldValue >>> 16, newValue >>> 16);
  return updateChecksum16(c, oldValue & 0xffff, newValue & 0xffff);
}
