/**
 * ICMPv6 (RFC 4443): the common header, the checksum over the IPv6 pseudo-header, and the error
 * and echo messages. Neighbor Discovery (types 133-137) is in `ndp.ts`, MLD (130-132, 143) in
 * `mld.ts`; both use `prependIcmpv6` from here.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Identifier / Sequence, MTU, Pointer or unused (4 octets)     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  echo data, or as much of the invoking packet as fits         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { type Ipv6Addr, readIpv6, writeIpv6 } from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import { finishChecksum, pseudoHeaderSumV6, sumBytes } from './checksum.ts';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU } from './ipv6.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

/** The Next Header value of ICMPv6 (RFC 4443 1). */
export const IP_PROTOCOL_ICMPV6 = 58;

/** Message types (RFC 4443 2.1, RFC 4861 4, RFC 2710 3, RFC 3810 5). */
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_MLD_QUERY = 130;
export const ICMPV6_MLDV1_REPORT = 131;
export const ICMPV6_MLDV1_DONE = 132;
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const ICMPV6_REDIRECT = 137;
export const ICMPV6_MLDV2_REPORT = 143;

/** Destination Unreachable codes (RFC 4443 3.1). */
export const UNREACH_NO_ROUTE = 0;
export const UNREACH_ADMIN_PROHIBITED = 1;
export const UNREACH_BEYOND_SCOPE = 2;
export const UNREACH_ADDRESS = 3;
export const UNREACH_PORT = 4;
export const UNREACH_SOURCE_POLICY = 5;
export const UNREACH_REJECT_ROUTE = 6;
/** Time Exceeded codes (RFC 4443 3.3). */
export const TIME_EXCEEDED_HOP_LIMIT = 0;
export const TIME_EXCEEDED_REASSEMBLY = 1;
/** Parameter Problem codes (RFC 4443 3.4, RFC 7112 3 for code 3). */
export const PARAM_ERRONEOUS_FIELD = 0;
export const PARAM_UNRECOGNIZED_NEXT_HEADER = 1;
export const PARAM_UNRECOGNIZED_OPTION = 2;
export const PARAM_INCOMPLETE_CHAIN = 3;

export const ICMPV6_HEADER_LEN = 8;
/**
 * RFC 4443 2.4 (c): an error message carries as much of the invoking packet as fits without the
 * whole IPv6 packet exceeding the minimum MTU.
 */
export const ICMPV6_ERROR_MAX_INVOKING = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN;

/** Field offsets. */
const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
/** The 4 octets after the checksum: identifier/sequence, MTU, pointer, or unused. */
const REST = 4;
const SEQUENCE = 6;
/** Message body after the 4-octet common header (NDP and MLD lay out their fields from here). */
const BODY = 4;

export type Icmpv6Error = 'truncated';

/** RFC 4443 2.1: error messages have types 0-127, informational messages 128-255. */
export function icmpv6IsError(type: number): boolean {
  return type < 128;
}

/** A zero-copy view of any ICMPv6 message. Create after `Icmpv6View.check` passes. */
export class Icmpv6View {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks that the 4-octet common header fits (each message kind checks its own length). */
  static check(bytes: Uint8Array): Icmpv6Error | undefined {
    return bytes.length < BODY ? 'truncated' : undefined;
  }

  /** Message type. */
  get type(): number {
    return this.bytes[TYPE]!;
  }
  /** Code, whose meaning depends on the type. */
  get code(): number {
    return this.bytes[CODE]!;
  }
  /** Checksum field. */
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  /** Everything after type, code and checksum (a view). */
  get body(): Uint8Array {
    return this.bytes.subarray(BODY);
  }

  /** RFC 4443 2.3: true when the checksum verifies over the IPv6 pseudo-header and the message. */
  verify(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    return icmpv6ChecksumOf(this.bytes, 0, this.bytes.length, src, dst) === 0;
  }
}

/** The checksum over [start, end) of `buf` with the pseudo-header (RFC 4443 2.3, RFC 8200 8.1). */
function icmpv6ChecksumOf(buf: Uint8Array, start: number, end: number, src: Ipv6Addr, dst: Ipv6Addr): number {
  return finishChecksum(
    sumBytes(buf, start, end, pseudoHeaderSumV6(src, dst, IP_PROTOCOL_ICMPV6, end - start)),
  );
}

/**
 * Prepends an ICMPv6 message of `length` octets to `pb` (normally empty): writes type and code,
 * lets `write(buf, off)` fill the octets from `off + 4` to `off + length`, then sets the checksum
 * over everything from the message to the end of `pb`.
 */
export function prependIcmpv6(
  pb: PacketBuffer,
  type: number,
  code: number,
  length: number,
  src: Ipv6Addr,
  dst: Ipv6Addr,
  write: (buf: Uint8Array, off: number) => void,
): void {
  const off = pb.prepend(length);
  const b = pb.buf;
  b[off + TYPE] = type;
  b[off + CODE] = code;
  writeU16(b, off + CHECKSUM, 0);
  write(b, off);
  writeU16(b, off + CHECKSUM, icmpv6ChecksumOf(b, off, pb.end, src, dst));
}

/** The messages of RFC 4443; other types come back as `other` for `ndp.ts` and `mld.ts`. */
export type Icmpv6Repr =
  | { kind: 'echo-request' | 'echo-reply'; identifier: number; sequence: number; data: Uint8Array }
  | { kind: 'destination-unreachable'; code: number; invoking: Uint8Array }
  | { kind: 'packet-too-big'; mtu: number; invoking: Uint8Array }
  | { kind: 'time-exceeded'; code: number; invoking: Uint8Array }
  | { kind: 'parameter-problem'; code: number; pointer: number; invoking: Uint8Array }
  /** Any other type: `body` is everything after the checksum. */
  | { kind: 'other'; type: number; code: number; body: Uint8Array };

/**
 * Parses an ICMPv6 message (the checksum is verified separately with `Icmpv6View.verify`, which
 * needs the addresses). Variable parts are views into `bytes`.
 */
export function parseIcmpv6(bytes: Uint8Array): Parsed<Icmpv6Repr, Icmpv6Error> {
  const error = Icmpv6View.check(bytes);
  if (error !== undefined) return err(error);
  const type = bytes[TYPE]!;
  const code = bytes[CODE]!;
  const known = type === ICMPV6_ECHO_REQUEST || type === ICMPV6_ECHO_REPLY || (type >= 1 && type <= 4);
  if (!known) return ok({ kind: 'other', type, code, body: bytes.subarray(BODY) });
  if (bytes.length < ICMPV6_HEADER_LEN) return err('truncated');
  const rest = readU32(bytes, REST);
  const tail = bytes.subarray(ICMPV6_HEADER_LEN);
  switch (type) {
    case ICMPV6_ECHO_REQUEST:
    case ICMPV6_ECHO_REPLY:
      return ok({
        kind: type === ICMPV6_ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        identifier: readU16(bytes, REST),
        sequence: readU16(bytes, SEQUENCE),
        data: tail,
      });
    case ICMPV6_DEST_UNREACHABLE:
      return ok({ kind: 'destination-unreachable', code, invoking: tail });
    case ICMPV6_PACKET_TOO_BIG:
      return ok({ kind: 'packet-too-big', mtu: rest, invoking: tail });
    case ICMPV6_TIME_EXCEEDED:
      return ok({ kind: 'time-exceeded', code, invoking: tail });
    default:
      return ok({ kind: 'parameter-problem', code, pointer: rest, invoking: tail });
  }
}

/** Type, code, the 4-octet field after the checksum, and the trailing data of a message. */
function layout(repr: Icmpv6Repr): {
  type: number;
  code: number;
  rest: number | undefined;
  data: Uint8Array;
} {
  // RFC 4443 2.4 (c): error messages carry at most ICMPV6_ERROR_MAX_INVOKING octets of the packet.
  const clip = (p: Uint8Array) => p.subarray(0, ICMPV6_ERROR_MAX_INVOKING);
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      return {
        type: repr.kind === 'echo-request' ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY,
        code: 0,
        rest: ((repr.identifier & 0xffff) << 16) | (repr.sequence & 0xffff),
        data: repr.data,
      };
    case 'destination-unreachable':
      return { type: ICMPV6_DEST_UNREACHABLE, code: repr.code, rest: 0, data: clip(repr.invoking) };
    case 'packet-too-big':
      return { type: ICMPV6_PACKET_TOO_BIG, code: 0, rest: repr.mtu, data: clip(repr.invoking) };
    case 'time-exceeded':
      return { type: ICMPV6_TIME_EXCEEDED, code: repr.code, rest: 0, data: clip(repr.invoking) };
    case 'parameter-problem':
      return {
        type: ICMPV6_PARAMETER_PROBLEM,
        code: repr.code,
        rest: repr.pointer,
        data: clip(repr.invoking),
      };
    case 'other':
      return { type: repr.type, code: repr.code, rest: undefined, data: repr.body };
  }
}

/** Prepends the message `repr` to `pb` (normally empty) with its checksum for `src` -> `dst`. */
export function emitIcmpv6(pb: PacketBuffer, repr: Icmpv6Repr, src: Ipv6Addr, dst: Ipv6Addr): void {
  const { type, code, rest, data } = layout(repr);
  // `other` has no fixed 4-octet field: its body follows the checksum directly.
  const dataAt = rest === undefined ? BODY : ICMPV6_HEADER_LEN;
  prependIcmpv6(pb, type, code, dataAt + data.length, src, dst, (b, off) => {
    if (rest !== undefined) writeU32(b, off + REST, rest);
    b.set(data, off + dataAt);
  });
}

/** Reads `count` consecutive addresses at `off` (copies); NDP and MLD carry such lists. */
export function readIpv6List(bytes: Uint8Array, off: number, count: number): Ipv6Addr[] {
  const out: Ipv6Addr[] = [];
  for (let i = 0; i < count; i++) out.push(readIpv6(bytes, off + 16 * i));
  return out;
}

/** Writes `addrs` one after another at `off`. */
export function writeIpv6List(b: Uint8Array, off: number, addrs: readonly Ipv6Addr[]): void {
  for (let i = 0; i < addrs.length; i++) writeIpv6(b, off + 16 * i, addrs[i]!);
}
