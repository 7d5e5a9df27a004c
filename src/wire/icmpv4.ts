/**
 * ICMP for IPv4 (RFC 792).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |            rest of header (meaning depends on the type)       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      body: echo data, or the original datagram's IP header     |
 *    |      and at least the first 64 bits of its payload (errors)    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Rest of header: echo: identifier, sequence number; destination unreachable code 4: unused,
 * next-hop MTU (RFC 1191 4); parameter problem: pointer, unused; redirect: gateway address.
 * The checksum covers the whole message, with no pseudo-header.
 */
import { type Ipv4Addr, readIpv4 } from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import { internetChecksum } from './checksum.ts';
import { Ipv4View } from './ipv4.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const ICMPV4_HEADER_LEN = 8;

/** Message types (RFC 792; IANA "ICMP Type Numbers"). */
export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DEST_UNREACHABLE = 3;
export const ICMPV4_REDIRECT = 5;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_PARAMETER_PROBLEM = 12;

/** Destination Unreachable codes (RFC 792; RFC 1122 3.2.2.1; RFC 1812 5.2.7.1). */
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
export const UNREACH_FRAG_NEEDED = 4;
export const UNREACH_SOURCE_ROUTE_FAILED = 5;
export const UNREACH_ADMIN_PROHIBITED = 13;
/** Time Exceeded codes. */
export const TIME_EXCEEDED_TTL = 0;
export const TIME_EXCEEDED_REASSEMBLY = 1;

/** Field offsets. */
const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;
const ECHO_ID = 4;
const ECHO_SEQ = 6;
const NEXT_HOP_MTU = 6;
const POINTER = 4;
const GATEWAY = 4;

export type Icmpv4Error = 'truncated' | 'bad-checksum';

/** A zero-copy view of an ICMPv4 message. Create after `Icmpv4View.check` passes. */
export class Icmpv4View {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks that the fixed header fits and that the checksum over the whole message verifies. */
  static check(bytes: Uint8Array): Icmpv4Error | undefined {
    if (bytes.length < ICMPV4_HEADER_LEN) return 'truncated';
    if (internetChecksum(bytes) !== 0) return 'bad-checksum';
    return undefined;
  }

  /** Message type. */
  get type(): number {
    return this.bytes[TYPE]!;
  }
  /** Message code. */
  get code(): number {
    return this.bytes[CODE]!;
  }
  /** Checksum field. */
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  /** The 4 octets after the checksum, as one number. */
  get rest(): number {
    return readU32(this.bytes, REST);
  }
  /** Echo identifier. */
  get echoId(): number {
    return readU16(this.bytes, ECHO_ID);
  }
  /** Echo sequence number. */
  get echoSeq(): number {
    return readU16(this.bytes, ECHO_SEQ);
  }
  /** Next-hop MTU of a "fragmentation needed" (RFC 1191 4); 0 from routers predating it. */
  get nextHopMtu(): number {
    return readU16(this.bytes, NEXT_HOP_MTU);
  }
  /** Parameter Problem pointer: the octet of the original header in error. */
  get pointer(): number {
    return this.bytes[POINTER]!;
  }
  /** Redirect gateway address. */
  get gateway(): Ipv4Addr {
    return readIpv4(this.bytes, GATEWAY);
  }
  /** The body (a view): echo data, or the original datagram quoted by an error. */
  get body(): Uint8Array {
    return this.bytes.subarray(ICMPV4_HEADER_LEN);
  }
  /** True for the error messages, whose body quotes an original datagram. */
  get isError(): boolean {
    return icmpv4IsError(this.type);
  }
  /**
   * The quoted original datagram's IP header as a view, for an error message whose body holds one
   * (its payload is the quoted part only, at least 8 octets per RFC 792); undefined otherwise.
   */
  get original(): Ipv4View | undefined {
    if (!this.isError || Ipv4View.checkHeader(this.body) !== undefined) return undefined;
    return new Ipv4View(this.body);
  }
}

/** The error types, which quote the original datagram (RFC 792). */
export function icmpv4IsError(type: number): boolean {
  return (
    type === ICMPV4_DEST_UNREACHABLE ||
    type === ICMPV4_REDIRECT ||
    type === ICMPV4_TIME_EXCEEDED ||
    type === ICMPV4_PARAMETER_PROBLEM
  );
}

/** The parsed form, one variant per message kind; `body` and `data` are views. */
export type Icmpv4Repr =
  | { type: 'echo-request' | 'echo-reply'; id: number; seq: number; data: Uint8Array }
  | { type: 'dest-unreachable'; code: number; nextHopMtu: number; original: Uint8Array }
  | { type: 'time-exceeded'; code: number; original: Uint8Array }
  | { type: 'parameter-problem'; code: number; pointer: number; original: Uint8Array }
  | { type: 'redirect'; code: number; gateway: Ipv4Addr; original: Uint8Array }
  /** Any other type (timestamp, source quench, ...), kept raw. */
  | { type: 'other'; icmpType: number; code: number; rest: number; body: Uint8Array };

export function parseIcmpv4(bytes: Uint8Array): Parsed<Icmpv4Repr, Icmpv4Error> {
  const error = Icmpv4View.check(bytes);
  if (error !== undefined) return err(error);
  const v = new Icmpv4View(bytes);
  const original = v.body;
  switch (v.type) {
    case ICMPV4_ECHO_REQUEST:
    case ICMPV4_ECHO_REPLY: {
      const type = v.type === ICMPV4_ECHO_REQUEST ? 'echo-request' : 'echo-reply';
      return ok({ type, id: v.echoId, seq: v.echoSeq, data: v.body });
    }
    case ICMPV4_DEST_UNREACHABLE:
      return ok({ type: 'dest-unreachable', code: v.code, nextHopMtu: v.nextHopMtu, original });
    case ICMPV4_TIME_EXCEEDED:
      return ok({ type: 'time-exceeded', code: v.code, original });
    case ICMPV4_PARAMETER_PROBLEM:
      return ok({ type: 'parameter-problem', code: v.code, pointer: v.pointer, original });
    case ICMPV4_REDIRECT:
      return ok({ type: 'redirect', code: v.code, gateway: v.gateway, original });
    default:
      return ok({ type: 'other', icmpType: v.type, code: v.code, rest: v.rest, body: v.body });
  }
}

/** Type, code, rest-of-header word and body of a repr: what goes on the wire. */
function fields(repr: Icmpv4Repr): [type: number, code: number, rest: number, body: Uint8Array] {
  switch (repr.type) {
    case 'echo-request':
    case 'echo-reply': {
      const type = repr.type === 'echo-request' ? ICMPV4_ECHO_REQUEST : ICMPV4_ECHO_REPLY;
      return [type, 0, ((repr.id & 0xffff) * 0x10000 + (repr.seq & 0xffff)) >>> 0, repr.data];
    }
    // RFC 1191 4: the MTU is the low 16 bits; the high 16 are unused (zero).
    case 'dest-unreachable':
      return [ICMPV4_DEST_UNREACHABLE, repr.code, repr.nextHopMtu & 0xffff, repr.original];
    case 'time-exceeded':
      return [ICMPV4_TIME_EXCEEDED, repr.code, 0, repr.original];
    case 'parameter-problem':
      return [ICMPV4_PARAMETER_PROBLEM, repr.code, ((repr.pointer & 0xff) << 24) >>> 0, repr.original];
    case 'redirect':
      return [ICMPV4_REDIRECT, repr.code, repr.gateway, repr.original];
    default:
      return [repr.icmpType, repr.code, repr.rest, repr.body];
  }
}

/** Length of the whole message `emitIcmpv4` writes for `repr`. */
export function icmpv4Length(repr: Icmpv4Repr): number {
  return ICMPV4_HEADER_LEN + fields(repr)[3].length;
}

/**
 * Prepends the whole message (header and body, copied) to `pb`, normally empty with headroom for
 * IPv4 and Ethernet, and computes the checksum over it.
 */
export function emitIcmpv4(pb: PacketBuffer, repr: Icmpv4Repr): void {
  const [type, code, rest, body] = fields(repr);
  const len = ICMPV4_HEADER_LEN + body.length;
  const off = pb.prepend(len);
  const b = pb.buf;
  b[off + TYPE] = type;
  b[off + CODE] = code;
  writeU16(b, off + CHECKSUM, 0);
  writeU32(b, off + REST, rest);
  b.set(body, off + ICMPV4_HEADER_LEN);
  writeU16(b, off + CHECKSUM, internetChecksum(b, off, off + len));
}
