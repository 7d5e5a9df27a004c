/**
 * IPv4 header (RFC 791 3.1).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version|  IHL  |Type of Service|          Total Length         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Identification        |Flags|      Fragment Offset    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Time to Live |    Protocol   |         Header Checksum       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       Source Address                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Destination Address                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Options                    |    Padding    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The Type of Service octet is DSCP (6 bits, RFC 2474) and ECN (2 bits, RFC 3168). Options are
 * walked by `src/wire/ipv4-options.ts`.
 */
import { type Ipv4Addr, readIpv4, writeIpv4 } from './address.ts';
import { readU16, writeU16 } from './bytes.ts';
import { internetChecksum, updateChecksum16 } from './checksum.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const IPV4_HEADER_LEN = 20;
/** The IHL field is 4 bits of 32-bit words: at most 60 bytes of header, 40 of options. */
export const IPV4_MAX_HEADER_LEN = 60;
export const IPV4_MAX_OPTIONS_LEN = IPV4_MAX_HEADER_LEN - IPV4_HEADER_LEN;

/** Protocol numbers (IANA "Assigned Internet Protocol Numbers") carried by this stack. */
export const IP_PROTOCOL_ICMP = 1;
export const IP_PROTOCOL_IGMP = 2;
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;

/** Field offsets. */
const VERSION_IHL = 0;
const TOS = 1;
const TOTAL_LENGTH = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC = 12;
const DST = 16;

/** Flag bits of the 16-bit flags/fragment-offset word (RFC 791 3.1 "Flags"). */
const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

export type Ipv4Error =
  | 'truncated'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-total-length'
  | 'bad-checksum';

/** A zero-copy view of an IPv4 packet. Create after `Ipv4View.check` (or `checkHeader`) passes. */
export class Ipv4View {
  constructor(readonly bytes: Uint8Array) {}

  /**
   * Checks version, IHL, total length against the bytes we have (bytes past it, such as Ethernet
   * padding, are ignored) and the header checksum (RFC 791 3.1 "Header Checksum").
   */
  static check(bytes: Uint8Array): Ipv4Error | undefined {
    const error = Ipv4View.checkHeader(bytes);
    if (error !== undefined) return error;
    const headerLen = (bytes[VERSION_IHL]! & 0x0f) * 4;
    const totalLen = readU16(bytes, TOTAL_LENGTH);
    if (totalLen < headerLen) return 'bad-total-length';
    if (totalLen > bytes.length) return 'truncated';
    if (internetChecksum(bytes, 0, headerLen) !== 0) return 'bad-checksum';
    return undefined;
  }

  /**
   * Checks only that a whole header with a sane version and IHL is there: enough to read the
   * fields of the truncated "original datagram" quoted in an ICMP error (RFC 792), whose total
   * length exceeds the bytes quoted. `payload` is then whatever part of the payload is present.
   */
  static checkHeader(bytes: Uint8Array): Ipv4Error | undefined {
    if (bytes.length < IPV4_HEADER_LEN) return 'truncated';
    if (bytes[VERSION_IHL]! >>> 4 !== 4) return 'bad-version';
    const headerLen = (bytes[VERSION_IHL]! & 0x0f) * 4;
    if (headerLen < IPV4_HEADER_LEN) return 'bad-header-length';
    if (headerLen > bytes.length) return 'truncated';
    return undefined;
  }

  /** Version field (4). */
  get version(): number {
    return this.bytes[VERSION_IHL]! >>> 4;
  }
  /** Header length in bytes (IHL * 4), options included. */
  get headerLength(): number {
    return (this.bytes[VERSION_IHL]! & 0x0f) * 4;
  }
  /** The whole Type of Service octet (DSCP << 2 | ECN). */
  get tos(): number {
    return this.bytes[TOS]!;
  }
  /** Differentiated Services Code Point (RFC 2474). */
  get dscp(): number {
    return this.bytes[TOS]! >>> 2;
  }
  /** Explicit Congestion Notification bits (RFC 3168). */
  get ecn(): number {
    return this.bytes[TOS]! & 3;
  }
  /** Total length of header and payload. */
  get totalLength(): number {
    return readU16(this.bytes, TOTAL_LENGTH);
  }
  /** Identification, shared by the fragments of one datagram. */
  get id(): number {
    return readU16(this.bytes, IDENT);
  }
  /** The reserved flag bit, which must be zero (RFC 791 3.1). */
  get reservedFlag(): boolean {
    return (readU16(this.bytes, FLAGS_FRAG) & FLAG_RESERVED) !== 0;
  }
  /** Don't Fragment. */
  get dontFragment(): boolean {
    return (readU16(this.bytes, FLAGS_FRAG) & FLAG_DF) !== 0;
  }
  /** More Fragments. */
  get moreFragments(): boolean {
    return (readU16(this.bytes, FLAGS_FRAG) & FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragmentOffset(): number {
    return (readU16(this.bytes, FLAGS_FRAG) & FRAG_OFFSET_MASK) * 8;
  }
  /** True when this packet is a fragment (not the whole datagram). */
  get isFragment(): boolean {
    return this.moreFragments || this.fragmentOffset !== 0;
  }
  /** Time to live. */
  get ttl(): number {
    return this.bytes[TTL]!;
  }
  /** Protocol of the payload. */
  get protocol(): number {
    return this.bytes[PROTOCOL]!;
  }
  /** Header checksum field. */
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  /** Source address. */
  get src(): Ipv4Addr {
    return readIpv4(this.bytes, SRC);
  }
  /** Destination address. */
  get dst(): Ipv4Addr {
    return readIpv4(this.bytes, DST);
  }
  /** The options and their padding (a view; empty without options). */
  get options(): Uint8Array {
    return this.bytes.subarray(IPV4_HEADER_LEN, this.headerLength);
  }
  /** The payload (a view), bounded by the total length and by the bytes present. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength, this.totalLength);
  }
}

/** The parsed form; it has every field `emitIpv4` takes, so a parsed packet can be re-emitted. */
export interface Ipv4Repr {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  protocol: number;
  ttl: number;
  id: number;
  tos: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes. */
  fragmentOffset: number;
  /** Raw options with their padding (a view; empty without options). */
  options: Uint8Array;
  /** The payload (a view). */
  payload: Uint8Array;
}

export function parseIpv4Packet(bytes: Uint8Array): Parsed<Ipv4Repr, Ipv4Error> {
  const error = Ipv4View.check(bytes);
  if (error !== undefined) return err(error);
  const v = new Ipv4View(bytes);
  return ok({
    src: v.src,
    dst: v.dst,
    protocol: v.protocol,
    ttl: v.ttl,
    id: v.id,
    tos: v.tos,
    dontFragment: v.dontFragment,
    moreFragments: v.moreFragments,
    fragmentOffset: v.fragmentOffset,
    options: v.options,
    payload: v.payload,
  });
}

export interface Ipv4EmitParams {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  protocol: number;
  ttl: number;
  /** Identification; 0 when absent. */
  id?: number;
  /** The Type of Service octet (DSCP << 2 | ECN); 0 when absent. */
  tos?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In bytes; a multiple of 8. */
  fragmentOffset?: number;
  /** Raw options (build them with `buildIpv4Options`); padded with zeros (End of Option List) to 4 bytes. */
  options?: Uint8Array;
}

/**
 * Prepends an IPv4 header to the payload already in `pb`, computing total length and the header
 * checksum. Throws a RangeError on misuse (options over 40 bytes, a packet over 65535 bytes, a
 * fragment offset that is not a multiple of 8 or too large): these are caller bugs, not network input.
 */
export function emitIpv4(pb: PacketBuffer, p: Ipv4EmitParams): void {
  const options = p.options;
  const optionsLen = options === undefined ? 0 : (options.length + 3) & ~3;
  if (optionsLen > IPV4_MAX_OPTIONS_LEN) throw new RangeError(`IPv4 options of ${options?.length} bytes`);
  const fragmentOffset = p.fragmentOffset ?? 0;
  if (fragmentOffset % 8 !== 0 || fragmentOffset / 8 > FRAG_OFFSET_MASK) {
    throw new RangeError(`IPv4 fragment offset ${fragmentOffset}`);
  }
  const headerLen = IPV4_HEADER_LEN + optionsLen;
  const totalLen = headerLen + pb.length;
  if (totalLen > 0xffff) throw new RangeError(`IPv4 packet of ${totalLen} bytes`);
  const off = pb.prepend(headerLen);
  const b = pb.buf;
  b[off + VERSION_IHL] = 0x40 | (headerLen / 4);
  b[off + TOS] = p.tos ?? 0;
  writeU16(b, off + TOTAL_LENGTH, totalLen);
  writeU16(b, off + IDENT, p.id ?? 0);
  const flags = (p.dontFragment ? FLAG_DF : 0) | (p.moreFragments ? FLAG_MF : 0);
  writeU16(b, off + FLAGS_FRAG, flags | (fragmentOffset / 8));
  b[off + TTL] = p.ttl;
  b[off + PROTOCOL] = p.protocol;
  writeU16(b, off + CHECKSUM, 0);
  writeIpv4(b, off + SRC, p.src);
  writeIpv4(b, off + DST, p.dst);
  // Most packets carry no options: no empty array nor builtin calls for them.
  if (options !== undefined && options.length > 0) {
    b.set(options, off + IPV4_HEADER_LEN);
    b.fill(0, off + IPV4_HEADER_LEN + options.length, off + headerLen);
  }
  writeU16(b, off + CHECKSUM, internetChecksum(b, off, off + headerLen));
}

/**
 * Decrements the TTL of a checked packet in place for forwarding (RFC 1812 5.3.1) and patches the
 * header checksum incrementally (RFC 1624 3) instead of recomputing it. The caller must not forward
 * a packet whose TTL is already 0 or 1.
 */
export function decrementIpv4Ttl(bytes: Uint8Array): void {
  const oldWord = readU16(bytes, TTL);
  bytes[TTL] = bytes[TTL]! - 1;
  writeU16(bytes, CHECKSUM, updateChecksum16(readU16(bytes, CHECKSUM), oldWord, readU16(bytes, TTL)));
}
