/**
 * IPv6 fixed header (RFC 8200 3).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Traffic Class |           Flow Label                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Payload Length        |  Next Header  |   Hop Limit   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       Source Address (128 bits)               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Destination Address (128 bits)             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Extension headers live in `ipv6-ext.ts`. Jumbograms (RFC 2675, payload length 0 with a Jumbo
 * Payload option) are not supported: a payload length of 0 means an empty payload.
 */
import { type Ipv6Addr, readIpv6, writeIpv6 } from './address.ts';
import { readU16, writeU16 } from './bytes.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const IPV6_HEADER_LEN = 40;
export const IPV6_VERSION = 6;
/** RFC 8200 5: every link must carry packets of at least this size. */
export const IPV6_MIN_MTU = 1280;
/** Largest value of the 16-bit Payload Length field. */
export const IPV6_MAX_PAYLOAD = 0xffff;

/** Field offsets. */
const VERSION_TC_FLOW = 0;
const PAYLOAD_LENGTH = 4;
const NEXT_HEADER = 6;
const HOP_LIMIT = 7;
const SRC = 8;
const DST = 24;

export type Ipv6Error = 'truncated' | 'bad-version';

/** A zero-copy view of an IPv6 packet. Create with `Ipv6View.check` first, or trust the caller. */
export class Ipv6View {
  constructor(readonly bytes: Uint8Array) {}

  /**
   * Checks that the fixed header fits, the version is 6 and the payload length does not run past
   * the bytes we have (trailing bytes, such as Ethernet padding, are allowed and ignored).
   */
  static check(bytes: Uint8Array): Ipv6Error | undefined {
    if (bytes.length < IPV6_HEADER_LEN) return 'truncated';
    if (bytes[VERSION_TC_FLOW]! >>> 4 !== IPV6_VERSION) return 'bad-version';
    const payloadLength = readU16(bytes, PAYLOAD_LENGTH);
    if (IPV6_HEADER_LEN + payloadLength > bytes.length) return 'truncated';
    return undefined;
  }

  /** Version field (6 after `check`). */
  get version(): number {
    return this.bytes[VERSION_TC_FLOW]! >>> 4;
  }
  /** Traffic Class: DSCP in the upper six bits, ECN in the lower two (RFC 2474, RFC 3168). */
  get trafficClass(): number {
    return ((this.bytes[VERSION_TC_FLOW]! & 0x0f) << 4) | (this.bytes[VERSION_TC_FLOW + 1]! >>> 4);
  }
  /** Flow Label (20 bits, RFC 6437). */
  get flowLabel(): number {
    const b = this.bytes;
    return (
      ((b[VERSION_TC_FLOW + 1]! & 0x0f) << 16) | (b[VERSION_TC_FLOW + 2]! << 8) | b[VERSION_TC_FLOW + 3]!
    );
  }
  /** Length of everything after the fixed header, extension headers included. */
  get payloadLength(): number {
    return readU16(this.bytes, PAYLOAD_LENGTH);
  }
  /** Type of the header after the fixed header (an extension header or the upper-layer protocol). */
  get nextHeader(): number {
    return this.bytes[NEXT_HEADER]!;
  }
  /** Hop Limit. */
  get hopLimit(): number {
    return this.bytes[HOP_LIMIT]!;
  }
  /** Source address (a copy). */
  get src(): Ipv6Addr {
    return readIpv6(this.bytes, SRC);
  }
  /** Destination address (a copy). */
  get dst(): Ipv6Addr {
    return readIpv6(this.bytes, DST);
  }
  /** Source address as a view into the packet (no copy). */
  get srcBytes(): Uint8Array {
    return this.bytes.subarray(SRC, SRC + 16);
  }
  /** Destination address as a view into the packet (no copy). */
  get dstBytes(): Uint8Array {
    return this.bytes.subarray(DST, DST + 16);
  }
  /** Everything after the fixed header, bounded by the payload length (no copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + this.payloadLength);
  }
}

/** The parsed, owned form (the payload is still a view into the parsed bytes). */
export interface Ipv6Repr {
  src: Ipv6Addr;
  dst: Ipv6Addr;
  nextHeader: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
  /** Extension headers and upper-layer data: walk it with `walkExtensionHeaders` (ipv6-ext.ts). */
  payload: Uint8Array;
}

export function parseIpv6Packet(bytes: Uint8Array): Parsed<Ipv6Repr, Ipv6Error> {
  const error = Ipv6View.check(bytes);
  if (error !== undefined) return err(error);
  const v = new Ipv6View(bytes);
  return ok({
    src: v.src,
    dst: v.dst,
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    trafficClass: v.trafficClass,
    flowLabel: v.flowLabel,
    payload: v.payload,
  });
}

export interface Ipv6EmitParams {
  src: Ipv6Addr;
  dst: Ipv6Addr;
  nextHeader: number;
  hopLimit: number;
  trafficClass?: number;
  flowLabel?: number;
}

/**
 * Prepends the fixed header in front of the payload already in `pb` (extension headers included),
 * with the payload length set from it. Throws RangeError (caller misuse) when the payload exceeds
 * 65535 bytes.
 */
export function emitIpv6(pb: PacketBuffer, p: Ipv6EmitParams): void {
  const payloadLength = pb.length;
  if (payloadLength > IPV6_MAX_PAYLOAD) throw new RangeError(`IPv6 payload of ${payloadLength} bytes`);
  const tc = (p.trafficClass ?? 0) & 0xff;
  const flow = (p.flowLabel ?? 0) & 0xfffff;
  const off = pb.prepend(IPV6_HEADER_LEN);
  const b = pb.buf;
  b[off + VERSION_TC_FLOW] = (IPV6_VERSION << 4) | (tc >>> 4);
  b[off + VERSION_TC_FLOW + 1] = ((tc & 0x0f) << 4) | (flow >>> 16);
  b[off + VERSION_TC_FLOW + 2] = (flow >>> 8) & 0xff;
  b[off + VERSION_TC_FLOW + 3] = flow & 0xff;
  writeU16(b, off + PAYLOAD_LENGTH, payloadLength);
  b[off + NEXT_HEADER] = p.nextHeader;
  b[off + HOP_LIMIT] = p.hopLimit;
  writeIpv6(b, off + SRC, p.src);
  writeIpv6(b, off + DST, p.dst);
}
