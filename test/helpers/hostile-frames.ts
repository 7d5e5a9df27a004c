/**
 * Hostile frames for whole-stack fuzz tests: checksum repair (so a mutation reaches the layers
 * behind the checksums), readdressing a captured frame to a victim, and seeded mutations (bit
 * flips, truncations, extensions, rewrites of length/offset fields).
 */
import fc from 'fast-check';
import { finishChecksum, sumBytes, sumWord } from '../../src/wire/checksum.ts';

const ETH_HEADER = 14;

/** Where the network header starts (after a VLAN tag if any) and its EtherType. */
function networkStart(frame: Uint8Array): { at: number; type: number } | undefined {
  if (frame.length < ETH_HEADER) return undefined;
  let type = (frame[12]! << 8) | frame[13]!;
  let at = ETH_HEADER;
  if (type === 0x8100 && frame.length >= 18) {
    type = (frame[16]! << 8) | frame[17]!;
    at = 18;
  }
  return { at, type };
}

/** Offset of the checksum inside an upper-layer header (TCP, UDP, ICMPv4, ICMPv6). */
const CHECKSUM_AT: Record<number, number> = { 6: 16, 17: 6, 1: 2, 58: 2 };

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}

function fixUpper(
  b: Uint8Array,
  proto: number,
  start: number,
  end: number,
  pseudo: (len: number) => number | undefined,
): void {
  const at = CHECKSUM_AT[proto];
  if (at === undefined || end - start < at + 2 || end > b.length) return;
  put16(b, start + at, 0);
  const acc = proto === 1 ? 0 : pseudo(end - start);
  if (acc === undefined) return;
  let sum = finishChecksum(sumBytes(b, start, end, acc));
  if (proto === 17 && sum === 0) sum = 0xffff; // RFC 768: zero means no checksum.
  put16(b, start + at, sum);
}

/**
 * Recomputes, in place, the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksum of the
 * first fragment-free transport header found (through IPv6 Hop-by-Hop, Routing and Destination
 * Options headers and an atomic fragment), as far as the (possibly mutated) lengths allow.
 */
export function fixChecksums(frame: Uint8Array): Uint8Array {
  const n = networkStart(frame);
  if (n === undefined) return frame;
  const ip = n.at;
  if (n.type === 0x0800 && frame.length >= ip + 20) {
    const ihl = (frame[ip]! & 0x0f) * 4;
    if (ihl < 20 || frame.length < ip + ihl) return frame;
    put16(frame, ip + 10, 0);
    put16(frame, ip + 10, finishChecksum(sumBytes(frame, ip, ip + ihl)));
    const total = Math.min((frame[ip + 2]! << 8) | frame[ip + 3]!, frame.length - ip);
    const fragmented = (((frame[ip + 6]! << 8) | frame[ip + 7]!) & 0x3fff) !== 0;
    if (fragmented || total < ihl) return frame;
    const proto = frame[ip + 9]!;
    fixUpper(frame, proto, ip + ihl, ip + total, (len) =>
      sumWord(sumWord(sumBytes(frame, ip + 12, ip + 20), proto), len),
    );
  } else if (n.type === 0x86dd && frame.length >= ip + 40) {
    const end = Math.min(ip + 40 + ((frame[ip + 4]! << 8) | frame[ip + 5]!), frame.length);
    let next = frame[ip + 6]!;
    let at = ip + 40;
    for (let hops = 0; hops < 64 && at + 8 <= end; hops++) {
      if (next === 0 || next === 43 || next === 60) {
        const len = (frame[at + 1]! + 1) * 8;
        next = frame[at]!;
        at += len;
      } else if (next === 44) {
        if ((((frame[at + 2]! << 8) | frame[at + 3]!) & 0xfff9) !== 0) return frame;
        next = frame[at]!;
        at += 8;
      } else break;
    }
    const proto = next;
    fixUpper(frame, proto, at, end, (len) =>
      sumWord(sumWord(sumWord(sumBytes(frame, ip + 8, ip + 40), len >>> 16), len & 0xffff), proto),
    );
  }
  return frame;
}

/**
 * Readdresses a copy of `frame` to a victim: its destination MAC (unless group), and the IPv4 or
 * IPv6 destination address when given (16 or 4 octets). Checksums are left for `fixChecksums`.
 */
export function readdress(
  frame: Uint8Array,
  mac: Uint8Array,
  dst4: Uint8Array | undefined,
  dst6: Uint8Array | undefined,
): Uint8Array {
  const out = frame.slice();
  const n = networkStart(out);
  if (n === undefined) return out;
  if ((out[0]! & 1) === 0) out.set(mac, 0);
  if (n.type === 0x0800 && dst4 !== undefined && out.length >= n.at + 20) out.set(dst4, n.at + 16);
  if (n.type === 0x86dd && dst6 !== undefined && out.length >= n.at + 40 && out[n.at + 24] !== 0xff) {
    out.set(dst6, n.at + 24);
  }
  return out;
}

/**
 * The offsets of the fields a mutation likes to rewrite: EtherType, IPv4 IHL/total length/flags
 * and offset/protocol, IPv6 payload length/next header, the first extension header's next header
 * and length, TCP data offset/flags/window/urgent, UDP length, and the first option bytes.
 */
export function interestingOffsets(frame: Uint8Array): number[] {
  const n = networkStart(frame);
  if (n === undefined) return [];
  const ip = n.at;
  const out = [12, 13];
  let upper = -1;
  let proto = -1;
  if (n.type === 0x0800) {
    out.push(ip, ip + 2, ip + 3, ip + 6, ip + 7, ip + 9, ip + 20, ip + 21, ip + 22);
    upper = ip + (frame[ip]! & 0x0f) * 4;
    proto = frame[ip + 9]!;
  } else if (n.type === 0x86dd) {
    out.push(ip, ip + 4, ip + 5, ip + 6, ip + 40, ip + 41, ip + 42, ip + 43, ip + 44, ip + 45);
    upper = ip + 40;
    proto = frame[ip + 6]!;
  } else if (n.type === 0x0806) {
    out.push(ip + 4, ip + 5, ip + 6, ip + 7);
  }
  if (proto === 6)
    out.push(upper + 12, upper + 13, upper + 14, upper + 18, upper + 20, upper + 21, upper + 22);
  if (proto === 17) out.push(upper + 4, upper + 5, upper + 8, upper + 9, upper + 10);
  if (proto === 58 || proto === 1) out.push(upper, upper + 1, upper + 4, upper + 8, upper + 24, upper + 25);
  return out.filter((o) => o >= 0 && o < frame.length);
}

/** One mutation of a frame; `fix` says whether checksums are recomputed afterwards. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'extend'; tail: Uint8Array }
  | { kind: 'field'; pick: number; value: number; wide: boolean }
  | { kind: 'byte'; at: number; value: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({
    kind: fc.constant('field' as const),
    pick: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fff, 0x8000, 40, 60, 64), fc.nat(0xffff)),
    wide: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
);

/** A copy of `frame` with `m` applied. */
export function mutate(frame: Uint8Array, m: Mutation): Uint8Array {
  const out = frame.slice();
  if (out.length === 0) return out;
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length]! ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.subarray(0, m.keep % out.length);
    case 'extend': {
      const longer = new Uint8Array(out.length + m.tail.length);
      longer.set(out);
      longer.set(m.tail, out.length);
      return longer;
    }
    case 'field': {
      const offsets = interestingOffsets(out);
      if (offsets.length === 0) return out;
      const at = offsets[m.pick % offsets.length]!;
      if (m.wide && at + 1 < out.length) put16(out, at, m.value);
      else out[at] = m.value & 0xff;
      return out;
    }
    case 'byte':
      out[m.at % out.length] = m.value;
      return out;
  }
}
