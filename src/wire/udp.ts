/**
 * UDP header (RFC 768).
 *
 *     0      7 8     15 16    23 24    31
 *    +--------+--------+--------+--------+
 *    |   Source Port   |  Destination    |
 *    +--------+--------+--------+--------+
 *    |     Length      |    Checksum     |
 *    +--------+--------+--------+--------+
 */
import type { Ipv4Addr, Ipv6Addr } from './address.ts';
import { finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sumBytes } from './checksum.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const UDP_PROTOCOL = 17;
export const UDP_HEADER_LEN = 8;

/** Field offsets. */
const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

export type UdpError = 'truncated' | 'bad-length';

/** A zero-copy view of a UDP datagram. Create with `UdpView.check` first, or trust the caller. */
export class UdpView {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks that the header fits and the length field is consistent with the bytes we have. */
  static check(bytes: Uint8Array): UdpError | undefined {
    if (bytes.length < UDP_HEADER_LEN) return 'truncated';
    const length = (bytes[LENGTH]! << 8) | bytes[LENGTH + 1]!;
    if (length < UDP_HEADER_LEN) return 'bad-length';
    if (length > bytes.length) return 'truncated';
    return undefined;
  }

  /** Source port. */
  get srcPort(): number {
    return (this.bytes[SRC_PORT]! << 8) | this.bytes[SRC_PORT + 1]!;
  }
  /** Destination port. */
  get dstPort(): number {
    return (this.bytes[DST_PORT]! << 8) | this.bytes[DST_PORT + 1]!;
  }
  /** Length of header plus payload. */
  get length(): number {
    return (this.bytes[LENGTH]! << 8) | this.bytes[LENGTH + 1]!;
  }
  /** Checksum field; 0 means "not computed" over IPv4 (RFC 768). */
  get checksum(): number {
    return (this.bytes[CHECKSUM]! << 8) | this.bytes[CHECKSUM + 1]!;
  }
  /** The payload, as a view (no copy), bounded by the length field. */
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LEN, this.length);
  }

  /** True when the checksum verifies against the IPv4 pseudo-header (or is absent: 0). */
  verifyV4(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    if (this.checksum === 0) return true;
    const len = this.length;
    return finishChecksum(sumBytes(this.bytes, 0, len, pseudoHeaderSumV4(src, dst, UDP_PROTOCOL, len))) === 0;
  }

  /** RFC 8200 8.1: over IPv6 the checksum is mandatory, so 0 never verifies. */
  verifyV6(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    if (this.checksum === 0) return false;
    const len = this.length;
    return finishChecksum(sumBytes(this.bytes, 0, len, pseudoHeaderSumV6(src, dst, UDP_PROTOCOL, len))) === 0;
  }
}

/** The parsed, owned form. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** The payload (a view into the parsed bytes). */
  payload: Uint8Array;
}

export function parseUdp(bytes: Uint8Array): Parsed<UdpRepr, UdpError> {
  const error = UdpView.check(bytes);
  if (error !== undefined) return err(error);
  const v = new UdpView(bytes);
  return ok({ srcPort: v.srcPort, dstPort: v.dstPort, payload: v.payload });
}

/** How the checksum is filled in by `emitUdp`. */
export type UdpChecksum =
  | { kind: 'v4'; src: Ipv4Addr; dst: Ipv4Addr }
  | { kind: 'v6'; src: Ipv6Addr; dst: Ipv6Addr }
  /** Leave it 0: IPv4 only, or a link that validates nothing (the receiver must skip checking). */
  | { kind: 'none' };

/** The `none` checksum, one object for every send (transports pass it per packet). */
export const NO_CHECKSUM: UdpChecksum = { kind: 'none' };

/**
 * Prepends a UDP header to the payload already in `pb` (the payload is [pb.start, pb.end)) and
 * fills in the checksum over the final bytes.
 */
export function emitUdp(pb: PacketBuffer, srcPort: number, dstPort: number, checksum: UdpChecksum): void {
  const length = pb.length + UDP_HEADER_LEN;
  const off = pb.prepend(UDP_HEADER_LEN);
  const b = pb.buf;
  b[off + SRC_PORT] = srcPort >>> 8;
  b[off + SRC_PORT + 1] = srcPort & 0xff;
  b[off + DST_PORT] = dstPort >>> 8;
  b[off + DST_PORT + 1] = dstPort & 0xff;
  b[off + LENGTH] = length >>> 8;
  b[off + LENGTH + 1] = length & 0xff;
  b[off + CHECKSUM] = 0;
  b[off + CHECKSUM + 1] = 0;
  if (checksum.kind === 'none') return;
  const pseudo =
    checksum.kind === 'v4'
      ? pseudoHeaderSumV4(checksum.src, checksum.dst, UDP_PROTOCOL, length)
      : pseudoHeaderSumV6(checksum.src, checksum.dst, UDP_PROTOCOL, length);
  let sum = finishChecksum(sumBytes(b, off, off + length, pseudo));
  // RFC 768: a computed checksum of zero is sent as all ones.
  if (sum === 0) sum = 0xffff;
  b[off + CHECKSUM] = sum >>> 8;
  b[off + CHECKSUM + 1] = sum & 0xff;
}
