/**
 * TCP header (RFC 9293 3.1; the AE bit of RFC 9768, formerly NS of RFC 3540).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |          Source Port          |       Destination Port        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        Sequence Number                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Acknowledgment Number                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Data |     |A|C|E|U|A|P|R|S|F|                               |
 *    | Offset| Rsv |E|W|C|R|C|S|S|Y|I|            Window             |
 *    |       |     | |R|E|G|K|H|T|N|N|                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           Checksum            |         Urgent Pointer        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Options (tcp-options.ts)                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                             data                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * TCP has no length field: a segment is exactly the payload the IP layer hands over.
 */
import type { Ipv4Addr, Ipv6Addr } from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import { finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sumBytes } from './checksum.ts';
import type { OptionLayoutError } from './kind-length-options.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';
import {
  parseTcpOptions,
  TCP_MAX_OPTIONS_LEN,
  type TcpOptions,
  tcpOptionsLength,
  writeTcpOptions,
} from './tcp-options.ts';
import type { UdpChecksum } from './udp.ts';

export const TCP_PROTOCOL = 6;
export const TCP_HEADER_LEN = 20;

/** Control bits, as the low 9 bits of the 16-bit word at offset 12. */
export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
export const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
export const TCP_ECE = 0x040;
export const TCP_CWR = 0x080;
/** AccECN (RFC 9768 3.1.1); the historic NS bit of RFC 3540. */
export const TCP_AE = 0x100;

/** Field offsets. */
const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ = 4;
const ACK = 8;
/** Data offset (high nibble), reserved bits and the AE bit. */
const DATA_OFFSET = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;

export type TcpError =
  /** Fewer than 20 bytes. */
  | 'truncated'
  /** A data offset below 5 words, or past the end of the segment. */
  | 'bad-data-offset'
  /** Malformed options (RFC 9293 MUST-7). */
  | OptionLayoutError;

/** A zero-copy view of a TCP segment. Create with `TcpView.check` first, or trust the caller. */
export class TcpView {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks that the fixed header fits and the data offset lies within the segment. */
  static check(bytes: Uint8Array): TcpError | undefined {
    if (bytes.length < TCP_HEADER_LEN) return 'truncated';
    const headerLen = (bytes[DATA_OFFSET]! >>> 4) * 4;
    if (headerLen < TCP_HEADER_LEN || headerLen > bytes.length) return 'bad-data-offset';
    return undefined;
  }

  /** Source port. */
  get srcPort(): number {
    return readU16(this.bytes, SRC_PORT);
  }
  /** Destination port. */
  get dstPort(): number {
    return readU16(this.bytes, DST_PORT);
  }
  /** Sequence number of the first data octet (or the ISN when SYN is set). */
  get seqNumber(): number {
    return readU32(this.bytes, SEQ);
  }
  /** Acknowledgment number: the next sequence number the sender expects (valid when ACK is set). */
  get ackNumber(): number {
    return readU32(this.bytes, ACK);
  }
  /** Data offset in 32-bit words (5..15). */
  get dataOffset(): number {
    return this.bytes[DATA_OFFSET]! >>> 4;
  }
  /** Header length in bytes, options included. */
  get headerLen(): number {
    return this.dataOffset * 4;
  }
  /** The three reserved bits; RFC 9293 3.1: zero when sent, ignored when received. */
  get reserved(): number {
    return (this.bytes[DATA_OFFSET]! >>> 1) & 0x7;
  }
  /** All control bits (`TCP_FIN` ... `TCP_AE`). */
  get flags(): number {
    return ((this.bytes[DATA_OFFSET]! & 1) << 8) | this.bytes[FLAGS]!;
  }
  /** AE: accurate ECN (RFC 9768), the former NS bit. */
  get ae(): boolean {
    return (this.flags & TCP_AE) !== 0;
  }
  /** CWR: congestion window reduced (RFC 3168). */
  get cwr(): boolean {
    return (this.flags & TCP_CWR) !== 0;
  }
  /** ECE: ECN-Echo (RFC 3168). */
  get ece(): boolean {
    return (this.flags & TCP_ECE) !== 0;
  }
  /** URG: the urgent pointer field is significant. */
  get urg(): boolean {
    return (this.flags & TCP_URG) !== 0;
  }
  /** ACK: the acknowledgment field is significant. */
  get ack(): boolean {
    return (this.flags & TCP_ACK) !== 0;
  }
  /** PSH: push function. */
  get psh(): boolean {
    return (this.flags & TCP_PSH) !== 0;
  }
  /** RST: reset the connection. */
  get rst(): boolean {
    return (this.flags & TCP_RST) !== 0;
  }
  /** SYN: synchronize sequence numbers. */
  get syn(): boolean {
    return (this.flags & TCP_SYN) !== 0;
  }
  /** FIN: no more data from sender. */
  get fin(): boolean {
    return (this.flags & TCP_FIN) !== 0;
  }
  /** Window, unscaled (RFC 7323 2.2: never scaled in a SYN). */
  get window(): number {
    return readU16(this.bytes, WINDOW);
  }
  /** Checksum field. */
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  /** Urgent pointer, an offset from the sequence number (valid when URG is set). */
  get urgentPointer(): number {
    return readU16(this.bytes, URGENT);
  }
  /** The option bytes, as a view (no copy); parse with `parseTcpOptions`. */
  get options(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LEN, this.headerLen);
  }
  /** The data, as a view (no copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLen);
  }

  /** True when the checksum verifies against the IPv4 pseudo-header (RFC 9293 3.1). */
  verifyV4(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    const len = this.bytes.length;
    return finishChecksum(sumBytes(this.bytes, 0, len, pseudoHeaderSumV4(src, dst, TCP_PROTOCOL, len))) === 0;
  }

  /** True when the checksum verifies against the IPv6 pseudo-header (RFC 8200 8.1). */
  verifyV6(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    const len = this.bytes.length;
    return finishChecksum(sumBytes(this.bytes, 0, len, pseudoHeaderSumV6(src, dst, TCP_PROTOCOL, len))) === 0;
  }
}

/** The header fields `emitTcp` writes. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  /** Taken modulo 2^32, so sequence arithmetic may be passed unwrapped. */
  seqNumber: number;
  /** Taken modulo 2^32. */
  ackNumber: number;
  /** Control bits (`TCP_SYN | TCP_ACK`, ...). */
  flags: number;
  window: number;
  urgentPointer: number;
  options: TcpOptions;
}

/** The parsed, owned form. */
export interface TcpRepr extends TcpHeader {
  /** The data (a view into the parsed bytes). */
  payload: Uint8Array;
}

export function parseTcp(bytes: Uint8Array): Parsed<TcpRepr, TcpError> {
  const error = TcpView.check(bytes);
  if (error !== undefined) return err(error);
  const v = new TcpView(bytes);
  const options = parseTcpOptions(v.options);
  if (!options.ok) return options;
  return ok({
    srcPort: v.srcPort,
    dstPort: v.dstPort,
    seqNumber: v.seqNumber,
    ackNumber: v.ackNumber,
    flags: v.flags,
    window: v.window,
    urgentPointer: v.urgentPointer,
    options: options.value,
    payload: v.payload,
  });
}

/** The header length `emitTcp` will prepend for these options. */
export function tcpHeaderLength(options: TcpOptions): number {
  return TCP_HEADER_LEN + tcpOptionsLength(options);
}

/**
 * Prepends a TCP header with its options to the data already in `pb` (the data is [pb.start,
 * pb.end)) and fills in the checksum over the final bytes. Throws a RangeError when the options do
 * not fit in 40 bytes (a caller bug: the options come from the stack, not the network).
 */
export function emitTcp(pb: PacketBuffer, h: TcpHeader, checksum: UdpChecksum): void {
  const optionsLen = tcpOptionsLength(h.options);
  if (optionsLen > TCP_MAX_OPTIONS_LEN) {
    throw new RangeError(`TCP options need ${optionsLen} bytes, more than ${TCP_MAX_OPTIONS_LEN}`);
  }
  const headerLen = TCP_HEADER_LEN + optionsLen;
  const length = pb.length + headerLen;
  const off = pb.prepend(headerLen);
  const b = pb.buf;
  writeU16(b, off + SRC_PORT, h.srcPort);
  writeU16(b, off + DST_PORT, h.dstPort);
  writeU32(b, off + SEQ, h.seqNumber);
  writeU32(b, off + ACK, h.ackNumber);
  // RFC 9293 3.1: the reserved bits are zero in generated segments.
  b[off + DATA_OFFSET] = ((headerLen >>> 2) << 4) | ((h.flags >>> 8) & 1);
  b[off + FLAGS] = h.flags & 0xff;
  writeU16(b, off + WINDOW, h.window);
  writeU16(b, off + CHECKSUM, 0);
  writeU16(b, off + URGENT, h.urgentPointer);
  writeTcpOptions(h.options, b, off + TCP_HEADER_LEN);
  if (checksum.kind === 'none') return;
  const pseudo =
    checksum.kind === 'v4'
      ? pseudoHeaderSumV4(checksum.src, checksum.dst, TCP_PROTOCOL, length)
      : pseudoHeaderSumV6(checksum.src, checksum.dst, TCP_PROTOCOL, length);
  writeU16(b, off + CHECKSUM, finishChecksum(sumBytes(b, off, off + length, pseudo)));
}
