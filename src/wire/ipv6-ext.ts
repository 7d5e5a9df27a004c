/**
 * IPv6 extension headers (RFC 8200 4): Hop-by-Hop and Destination Options (4.3, 4.6) with their
 * TLV options (4.2), the Routing header (4.4), the Fragment header (4.5), and a walker over the
 * header chain up to the upper-layer protocol.
 *
 * Options headers and the Routing header share the generic layout (RFC 8200 4, RFC 6564):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |  Hdr Ext Len  |                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *    .   options, or Routing Type / Segments Left / type-specific    .
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      total length = (Hdr Ext Len + 1) * 8 octets
 *
 * Fragment header (RFC 8200 4.5), always 8 octets:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Identification                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

/** Next Header values of extension headers and of the chain's terminators (IANA protocol numbers). */
export const NH_HOP_BY_HOP = 0;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ESP = 50;
export const NH_AH = 51;
export const NH_NO_NEXT_HEADER = 59;
export const NH_DEST_OPTS = 60;
/** RFC 6275 Mobility, RFC 7401 HIP, RFC 5533 Shim6: generic-format extension headers (RFC 7045). */
export const NH_MOBILITY = 135;
export const NH_HIP = 139;
export const NH_SHIM6 = 140;
/** RFC 3692 / RFC 4727 experimental values, listed as extension headers by RFC 7045. */
export const NH_EXPERIMENT_1 = 253;
export const NH_EXPERIMENT_2 = 254;

/** Option types (RFC 8200 4.2, RFC 2711, RFC 2675). */
export const OPT_PAD1 = 0;
export const OPT_PADN = 1;
export const OPT_ROUTER_ALERT = 5;
export const OPT_JUMBO_PAYLOAD = 0xc2;

/** RFC 2711 2.1: Router Alert values. */
export const ROUTER_ALERT_MLD = 0;
export const ROUTER_ALERT_RSVP = 1;
export const ROUTER_ALERT_ACTIVE_NETWORKS = 2;

/** Routing types: 0 is deprecated and must not be processed (RFC 5095 3); 2 is Mobile IPv6; 4 SRv6. */
export const ROUTING_TYPE_0 = 0;
export const ROUTING_TYPE_2 = 2;
export const ROUTING_TYPE_SEGMENT = 4;

export const FRAGMENT_HEADER_LEN = 8;
/** Default bound on the number of extension headers the walker accepts in one packet. */
export const MAX_EXT_HEADERS = 16;
/** The largest generic-format header: Hdr Ext Len 255. */
const MAX_GENERIC_LEN = 256 * 8;

/** Field offsets shared by every extension header, then per header. */
const NEXT_HEADER = 0;
const HDR_EXT_LEN = 1;
const OPTIONS = 2;
const ROUTING_TYPE = 2;
const SEGMENTS_LEFT = 3;
const ROUTING_DATA = 4;
const FRAG_OFFSET_FLAGS = 2;
const FRAG_IDENT = 4;
const FRAG_OFFSET_MASK = 0xfff8;
const FRAG_M = 0x0001;

// ---- TLV options (Hop-by-Hop and Destination Options) ----

/**
 * What a node that does not recognise an option must do, from the top two bits of its type
 * (RFC 8200 4.2): skip it; discard the packet; discard and send ICMP Parameter Problem code 2;
 * the same but only when the destination is not multicast.
 */
export type OptionAction = 'skip' | 'discard' | 'discard-send-icmp' | 'discard-send-icmp-unicast';
const ACTIONS: readonly OptionAction[] = [
  'skip',
  'discard',
  'discard-send-icmp',
  'discard-send-icmp-unicast',
];

/** RFC 8200 4.2: the action encoded in the two high-order bits of an option type. */
export function optionAction(type: number): OptionAction {
  return ACTIONS[(type >>> 6) & 3]!;
}

/** RFC 8200 4.2: the third-highest bit says the option data may change en route. */
export function optionMayChange(type: number): boolean {
  return (type & 0x20) !== 0;
}

/** An option other than padding, as found in an options header. */
export interface Ipv6Option {
  type: number;
  /** Option data (a view into the header). */
  data: Uint8Array;
  /** Offset of the option's type octet from the start of its header (for Parameter Problem pointers). */
  offset: number;
}

/** An option to emit: padding is added by the builder. */
export interface Ipv6OptionRepr {
  type: number;
  data: Uint8Array;
}

export type OptionsError = 'truncated' | 'truncated-option' | 'bad-router-alert';

/**
 * Walks the TLV options of a Hop-by-Hop or Destination Options header (`header` is the whole
 * header, its length already checked) and returns every option except Pad1 and PadN.
 */
export function readOptions(header: Uint8Array): Parsed<Ipv6Option[], OptionsError> {
  const options: Ipv6Option[] = [];
  let i = OPTIONS;
  while (i < header.length) {
    const type = header[i]!;
    // RFC 8200 4.2: Pad1 is a lone octet with no length or data.
    if (type === OPT_PAD1) {
      i += 1;
      continue;
    }
    if (i + 2 > header.length) return err('truncated-option');
    const end = i + 2 + header[i + 1]!;
    if (end > header.length) return err('truncated-option');
    // RFC 2711 2.1: the Router Alert option carries exactly a 2-octet value.
    if (type === OPT_ROUTER_ALERT && end - i !== 4) return err('bad-router-alert');
    if (type !== OPT_PADN) options.push({ type, data: header.subarray(i + 2, end), offset: i });
    i = end;
  }
  return ok(options);
}

/** The Router Alert value (RFC 2711) among `options`, if the option is there. */
export function routerAlertValue(options: readonly Ipv6Option[]): number | undefined {
  const ra = options.find((o) => o.type === OPT_ROUTER_ALERT);
  return ra === undefined ? undefined : readU16(ra.data, 0);
}

/** Parsed form of a Hop-by-Hop or Destination Options header. */
export interface OptionsHeaderRepr {
  nextHeader: number;
  options: Ipv6Option[];
}

/** Parses a Hop-by-Hop or Destination Options header at the start of `bytes`. */
export function parseOptionsHeader(bytes: Uint8Array): Parsed<OptionsHeaderRepr, OptionsError> {
  const len = genericLength(bytes);
  if (len === undefined) return err('truncated');
  const options = readOptions(bytes.subarray(0, len));
  if (!options.ok) return options;
  return ok({ nextHeader: bytes[NEXT_HEADER]!, options: options.value });
}

/** Length of an options header holding `options` once padded to a multiple of 8 octets. */
export function optionsHeaderLength(options: readonly Ipv6OptionRepr[]): number {
  let len = OPTIONS;
  for (const o of options) len += 2 + o.data.length;
  return (len + 7) & ~7;
}

/**
 * Prepends a Hop-by-Hop or Destination Options header holding `options` in order, padded at the
 * end with Pad1 or PadN to a multiple of 8 octets (RFC 8200 4.2). Throws RangeError (caller misuse)
 * when an option's data exceeds 255 octets or the header exceeds 2048.
 */
export function emitOptionsHeader(
  pb: PacketBuffer,
  nextHeader: number,
  options: readonly Ipv6OptionRepr[],
): void {
  const len = optionsHeaderLength(options);
  if (len > MAX_GENERIC_LEN) throw new RangeError(`IPv6 options header of ${len} octets`);
  const off = pb.prepend(len);
  const b = pb.buf;
  b[off + NEXT_HEADER] = nextHeader;
  b[off + HDR_EXT_LEN] = len / 8 - 1;
  let i = off + OPTIONS;
  for (const o of options) {
    if (o.data.length > 255) throw new RangeError(`IPv6 option data of ${o.data.length} octets`);
    b[i] = o.type;
    b[i + 1] = o.data.length;
    b.set(o.data, i + 2);
    i += 2 + o.data.length;
  }
  const pad = off + len - i;
  if (pad === 1) {
    b[i] = OPT_PAD1;
  } else if (pad > 1) {
    b[i] = OPT_PADN;
    b[i + 1] = pad - 2;
    b.fill(0, i + 2, off + len);
  }
}

/** The Router Alert option (RFC 2711) with `value` (ROUTER_ALERT_MLD for MLD, RFC 3810 5). */
export function routerAlertOption(value: number): Ipv6OptionRepr {
  return { type: OPT_ROUTER_ALERT, data: Uint8Array.of(value >>> 8, value & 0xff) };
}

// ---- Routing header ----

export type RoutingError = 'truncated';

/** Parsed form of a Routing header of any type; the type-specific data is left to its user. */
export interface RoutingHeaderRepr {
  nextHeader: number;
  routingType: number;
  segmentsLeft: number;
  /** Type-specific data after the first four octets (a view). */
  data: Uint8Array;
}

export function parseRoutingHeader(bytes: Uint8Array): Parsed<RoutingHeaderRepr, RoutingError> {
  const len = genericLength(bytes);
  if (len === undefined) return err('truncated');
  return ok({
    nextHeader: bytes[NEXT_HEADER]!,
    routingType: bytes[ROUTING_TYPE]!,
    segmentsLeft: bytes[SEGMENTS_LEFT]!,
    data: bytes.subarray(ROUTING_DATA, len),
  });
}

/**
 * Prepends a Routing header. Throws RangeError (caller misuse) unless 4 + data.length is a
 * multiple of 8 no larger than 2048.
 */
export function emitRoutingHeader(pb: PacketBuffer, repr: RoutingHeaderRepr): void {
  const len = ROUTING_DATA + repr.data.length;
  if (len % 8 !== 0 || len > MAX_GENERIC_LEN) throw new RangeError(`IPv6 routing header of ${len} octets`);
  const off = pb.prepend(len);
  const b = pb.buf;
  b[off + NEXT_HEADER] = repr.nextHeader;
  b[off + HDR_EXT_LEN] = len / 8 - 1;
  b[off + ROUTING_TYPE] = repr.routingType;
  b[off + SEGMENTS_LEFT] = repr.segmentsLeft;
  b.set(repr.data, off + ROUTING_DATA);
}

// ---- Fragment header ----

export type FragmentError = 'truncated';

export interface FragmentHeaderRepr {
  nextHeader: number;
  /** Offset of this fragment's data in the original packet, in octets (a multiple of 8). */
  offset: number;
  /** The M flag: more fragments follow. */
  more: boolean;
  identification: number;
}

export function parseFragmentHeader(bytes: Uint8Array): Parsed<FragmentHeaderRepr, FragmentError> {
  if (bytes.length < FRAGMENT_HEADER_LEN) return err('truncated');
  const word = readU16(bytes, FRAG_OFFSET_FLAGS);
  return ok({
    nextHeader: bytes[NEXT_HEADER]!,
    // The 13-bit field counts 8-octet units and sits above 3 low bits, so masking gives octets.
    offset: word & FRAG_OFFSET_MASK,
    more: (word & FRAG_M) !== 0,
    identification: readU32(bytes, FRAG_IDENT),
  });
}

/** Prepends a Fragment header. Throws RangeError (caller misuse) for an offset not a multiple of 8. */
export function emitFragmentHeader(pb: PacketBuffer, repr: FragmentHeaderRepr): void {
  if ((repr.offset & ~FRAG_OFFSET_MASK) !== 0) throw new RangeError(`IPv6 fragment offset ${repr.offset}`);
  const off = pb.prepend(FRAGMENT_HEADER_LEN);
  const b = pb.buf;
  b[off + NEXT_HEADER] = repr.nextHeader;
  b[off + 1] = 0;
  writeU16(b, off + FRAG_OFFSET_FLAGS, repr.offset | (repr.more ? FRAG_M : 0));
  writeU32(b, off + FRAG_IDENT, repr.identification);
}

// ---- The header chain ----

/** One extension header found in the chain. */
export interface ExtHeader {
  /** Its own type (the Next Header value that announced it). */
  type: number;
  /** The Next Header field inside it. */
  nextHeader: number;
  /** Offset from the start of the walked bytes (the IPv6 payload). */
  offset: number;
  /** The whole header (a view). */
  bytes: Uint8Array;
}

export type ExtChainError = 'truncated' | 'too-many-headers' | 'misplaced-hop-by-hop';

/** True for Next Header values that announce an extension header the walker steps over. */
export function isExtensionHeader(nextHeader: number): boolean {
  switch (nextHeader) {
    case NH_HOP_BY_HOP:
    case NH_ROUTING:
    case NH_FRAGMENT:
    case NH_AH:
    case NH_DEST_OPTS:
    case NH_MOBILITY:
    case NH_HIP:
    case NH_SHIM6:
    case NH_EXPERIMENT_1:
    case NH_EXPERIMENT_2:
      return true;
    default:
      return false;
  }
}

/** Length of a generic-format header at the start of `bytes`, or undefined if it does not fit. */
function genericLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2) return undefined;
  const len = (bytes[HDR_EXT_LEN]! + 1) * 8;
  return len <= bytes.length ? len : undefined;
}

/**
 * One step of the walk: the extension header of type `type` at `offset` in `bytes`. `type` must
 * satisfy `isExtensionHeader`.
 */
export function extHeaderAt(type: number, bytes: Uint8Array, offset: number): Parsed<ExtHeader, 'truncated'> {
  const rest = bytes.subarray(offset);
  let len: number | undefined;
  if (type === NH_FRAGMENT) {
    len = rest.length >= FRAGMENT_HEADER_LEN ? FRAGMENT_HEADER_LEN : undefined;
  } else if (type === NH_AH) {
    // RFC 4302 2.2: the AH Payload Len counts 32-bit words, minus 2.
    len = rest.length >= 2 && (rest[1]! + 2) * 4 <= rest.length ? (rest[1]! + 2) * 4 : undefined;
  } else {
    len = genericLength(rest);
  }
  if (len === undefined) return err('truncated');
  return ok({ type, nextHeader: rest[NEXT_HEADER]!, offset, bytes: rest.subarray(0, len) });
}

/** The chain of extension headers of one packet and where the upper-layer data starts. */
export interface ExtChain {
  headers: ExtHeader[];
  /**
   * The protocol after the last extension header: an upper-layer protocol, NH_NO_NEXT_HEADER,
   * NH_ESP (whose content is opaque) or, after a non-first fragment, the fragment's Next Header.
   */
  protocol: number;
  /** Offset of the upper-layer data from the start of the walked bytes. */
  offset: number;
  /** The upper-layer data (a view). */
  payload: Uint8Array;
  /**
   * The Fragment header, when there is one: the payload is then fragment data to reassemble
   * first. The walk stops at the Fragment header of a non-first fragment, whose data holds no
   * headers (RFC 8200 4.5).
   */
  fragment: FragmentHeaderRepr | undefined;
}

/**
 * Walks the extension headers of an IPv6 payload, starting from the fixed header's Next Header
 * value, to the upper-layer protocol. Rejects a Hop-by-Hop header anywhere but first (RFC 8200
 * 4.1, 4.3) and chains longer than `maxHeaders`.
 */
export function walkExtensionHeaders(
  firstNextHeader: number,
  bytes: Uint8Array,
  maxHeaders = MAX_EXT_HEADERS,
): Parsed<ExtChain, ExtChainError> {
  const headers: ExtHeader[] = [];
  let type = firstNextHeader;
  let offset = 0;
  let fragment: FragmentHeaderRepr | undefined;
  while (isExtensionHeader(type)) {
    if (type === NH_HOP_BY_HOP && headers.length > 0) return err('misplaced-hop-by-hop');
    if (headers.length === maxHeaders) return err('too-many-headers');
    const h = extHeaderAt(type, bytes, offset);
    if (!h.ok) return h;
    headers.push(h.value);
    offset += h.value.bytes.length;
    type = h.value.nextHeader;
    if (h.value.type === NH_FRAGMENT) {
      const f = parseFragmentHeader(h.value.bytes);
      if (!f.ok) return f;
      fragment = f.value;
      if (fragment.offset !== 0) break;
    }
  }
  return ok({ headers, protocol: type, offset, payload: bytes.subarray(offset), fragment });
}
