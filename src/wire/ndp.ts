/**
 * Neighbor Discovery for IPv6 (RFC 4861 4): Router Solicitation and Advertisement, Neighbor
 * Solicitation and Advertisement, Redirect, and their options (RFC 4861 4.6, RFC 4191 2.3,
 * RFC 8106 5, RFC 3971 5.3.2). Messages are ICMPv6 (types 133-137); the common header and the
 * checksum come from `icmpv6.ts`.
 *
 * Router Advertisement after the ICMPv6 header:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | Cur Hop Limit |M|O|H|Prf|P|Rsv|       Router Lifetime         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Reachable Time                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                          Retrans Timer                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Options ...
 *
 * Neighbor Solicitation / Advertisement: 4 octets (R|S|O flags + reserved in an NA), the Target
 * Address, options. Redirect: 4 reserved octets, Target Address, Destination Address, options.
 *
 * Options are type, length in units of 8 octets (never 0: RFC 4861 4.6), value:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |    Length     |              ...              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Parsing checks what the message bytes alone can tell (RFC 4861 6.1, 7.1.1, 7.1.2, 8.1: code 0,
 * lengths, options, multicast targets); the IP-level checks (hop limit 255, source and destination
 * address rules) and the checksum (`Icmpv6View.verify`) are the caller's.
 */
import {
  type Ipv6Addr,
  ipv6IsMulticast,
  type MacAddr,
  readIpv6,
  readMac,
  writeIpv6,
  writeMac,
} from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
  prependIcmpv6,
  readIpv6List,
  writeIpv6List,
} from './icmpv6.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

/** Option types (RFC 4861 4.6, RFC 3971 5.3.2, RFC 4191 2.3, RFC 8106 5). */
export const NDP_OPT_SOURCE_LLADDR = 1;
export const NDP_OPT_TARGET_LLADDR = 2;
export const NDP_OPT_PREFIX_INFO = 3;
export const NDP_OPT_REDIRECTED_HEADER = 4;
export const NDP_OPT_MTU = 5;
export const NDP_OPT_NONCE = 14;
export const NDP_OPT_ROUTE_INFO = 24;
export const NDP_OPT_RDNSS = 25;
export const NDP_OPT_DNSSL = 31;

/** RFC 4861 6.1.1 / 7.1.1: ND messages are sent, and must be received, with hop limit 255. */
export const NDP_HOP_LIMIT = 255;
/** RFC 4861 6.2.1 / RFC 8106 5: the lifetime meaning "infinity". */
export const NDP_INFINITE_LIFETIME = 0xffff_ffff;

/** Offsets from the start of the ICMPv6 message. */
const RA_CUR_HOP_LIMIT = 4;
const RA_FLAGS = 5;
const RA_ROUTER_LIFETIME = 6;
const RA_REACHABLE_TIME = 8;
const RA_RETRANS_TIMER = 12;
const RA_OPTIONS = 16;
const RS_OPTIONS = 8;
const NA_FLAGS = 4;
const TARGET = 8;
const NS_OPTIONS = 24;
const REDIRECT_DESTINATION = 24;
const REDIRECT_OPTIONS = 40;
/** Offsets inside options. */
const OPT_TYPE = 0;
const OPT_LENGTH = 1;
const LLADDR = 2;
const PREFIX_LENGTH = 2;
const PREFIX_FLAGS = 3;
const PREFIX_VALID = 4;
const PREFIX_PREFERRED = 8;
const PREFIX_ADDR = 16;
const MTU_VALUE = 4;
const REDIRECTED_PACKET = 8;
const ROUTE_PREFIX_LENGTH = 2;
const ROUTE_FLAGS = 3;
const ROUTE_LIFETIME = 4;
const ROUTE_PREFIX = 8;
const DNS_LIFETIME = 4;
const DNS_DATA = 8;
const NONCE = 2;

/** Flag bits. RA: RFC 4861 4.2, RFC 4191 2.2 (Prf); NA: RFC 4861 4.4; prefix: RFC 4861 4.6.2. */
const RA_M = 0x80;
const RA_O = 0x40;
const PRF_SHIFT = 3;
const PRF_MASK = 0x18;
const NA_R = 0x80;
const NA_S = 0x40;
const NA_O = 0x20;
const PREFIX_L = 0x80;
const PREFIX_A = 0x40;

/**
 * RFC 4191 2.1: a router or route preference. The reserved value (binary 10) is kept as such:
 * a host treats it as medium in an RA (2.2) and ignores a Route Information option carrying it (2.3).
 */
export type RoutePreference = 'high' | 'medium' | 'low' | 'reserved';
const PREFERENCES: readonly RoutePreference[] = ['medium', 'high', 'reserved', 'low'];

function decodePreference(flags: number): RoutePreference {
  return PREFERENCES[(flags & PRF_MASK) >>> PRF_SHIFT]!;
}
function encodePreference(p: RoutePreference): number {
  return PREFERENCES.indexOf(p) << PRF_SHIFT;
}

/** Why a known option could not be decoded; the option is then kept as `malformed`. */
export type NdpOptionProblem = 'bad-length' | 'bad-prefix-length' | 'bad-domain-name';

/** An ND option. Lifetimes are in seconds; `prefix`es are 16 octets, zero beyond the prefix. */
export type NdpOption =
  | { kind: 'source-lladdr'; mac: MacAddr }
  | { kind: 'target-lladdr'; mac: MacAddr }
  | {
      kind: 'prefix-info';
      prefixLength: number;
      /** L: the prefix is on-link. */
      onLink: boolean;
      /** A: usable for stateless address autoconfiguration (RFC 4862). */
      autonomous: boolean;
      /** The other flag bits (R of RFC 6275 and reserved ones), kept for re-emission. */
      otherFlags: number;
      validLifetime: number;
      preferredLifetime: number;
      prefix: Ipv6Addr;
    }
  /** As much of the redirected packet as fits (a view; it may end with padding). */
  | { kind: 'redirected-header'; packet: Uint8Array }
  | { kind: 'mtu'; mtu: number }
  /** RFC 3971 5.3.2; also used by RFC 7527 enhanced DAD. At least 6 octets. */
  | { kind: 'nonce'; nonce: Uint8Array }
  | {
      kind: 'route-info';
      prefixLength: number;
      preference: RoutePreference;
      lifetime: number;
      prefix: Ipv6Addr;
    }
  | { kind: 'rdnss'; lifetime: number; servers: Ipv6Addr[] }
  | { kind: 'dnssl'; lifetime: number; domains: string[] }
  /** A type this module does not know; `data` is everything after the length octet (a view). */
  | { kind: 'unknown'; type: number; data: Uint8Array }
  /** A known type whose content is invalid: RFC 4191 2.3 and RFC 8106 5.3.1 say to ignore it. */
  | { kind: 'malformed'; type: number; data: Uint8Array; problem: NdpOptionProblem };

export type NdpError =
  | 'truncated'
  | 'not-ndp'
  | 'bad-code'
  | 'multicast-target'
  | 'multicast-destination'
  | 'zero-option-length'
  | 'truncated-option';

/** Decodes one option: `o` is the whole option, its length already checked. */
function decodeOption(o: Uint8Array): NdpOption {
  const type = o[OPT_TYPE]!;
  const malformed = (problem: NdpOptionProblem): NdpOption => ({
    kind: 'malformed',
    type,
    data: o.subarray(LLADDR),
    problem,
  });
  switch (type) {
    case NDP_OPT_SOURCE_LLADDR:
    case NDP_OPT_TARGET_LLADDR:
      // RFC 2464 8: over Ethernet the link-layer address option is 8 octets.
      if (o.length !== 8) return malformed('bad-length');
      return {
        kind: type === NDP_OPT_SOURCE_LLADDR ? 'source-lladdr' : 'target-lladdr',
        mac: readMac(o, LLADDR),
      };
    case NDP_OPT_PREFIX_INFO: {
      if (o.length !== 32) return malformed('bad-length');
      const prefixLength = o[PREFIX_LENGTH]!;
      if (prefixLength > 128) return malformed('bad-prefix-length');
      const flags = o[PREFIX_FLAGS]!;
      return {
        kind: 'prefix-info',
        prefixLength,
        onLink: (flags & PREFIX_L) !== 0,
        autonomous: (flags & PREFIX_A) !== 0,
        otherFlags: flags & ~(PREFIX_L | PREFIX_A),
        validLifetime: readU32(o, PREFIX_VALID),
        preferredLifetime: readU32(o, PREFIX_PREFERRED),
        prefix: readIpv6(o, PREFIX_ADDR),
      };
    }
    case NDP_OPT_REDIRECTED_HEADER:
      return { kind: 'redirected-header', packet: o.subarray(REDIRECTED_PACKET) };
    case NDP_OPT_MTU:
      if (o.length !== 8) return malformed('bad-length');
      return { kind: 'mtu', mtu: readU32(o, MTU_VALUE) };
    case NDP_OPT_NONCE:
      return { kind: 'nonce', nonce: o.subarray(NONCE) };
    case NDP_OPT_ROUTE_INFO: {
      // RFC 4191 2.3: Length 1, 2 or 3, large enough for the prefix length; else ignore the option.
      const prefixLength = o[ROUTE_PREFIX_LENGTH]!;
      if (prefixLength > 128) return malformed('bad-prefix-length');
      if (o.length > 24 || ROUTE_PREFIX + Math.ceil(prefixLength / 64) * 8 > o.length)
        return malformed('bad-length');
      const prefix = new Uint8Array(16);
      prefix.set(o.subarray(ROUTE_PREFIX));
      return {
        kind: 'route-info',
        prefixLength,
        preference: decodePreference(o[ROUTE_FLAGS]!),
        lifetime: readU32(o, ROUTE_LIFETIME),
        prefix,
      };
    }
    case NDP_OPT_RDNSS: {
      // RFC 8106 5.1: Length 3 + 2 * (addresses - 1).
      if (o.length < 24 || (o.length / 8) % 2 === 0) return malformed('bad-length');
      const servers = readIpv6List(o, DNS_DATA, (o.length - DNS_DATA) / 16);
      return { kind: 'rdnss', lifetime: readU32(o, DNS_LIFETIME), servers };
    }
    case NDP_OPT_DNSSL: {
      // RFC 8106 5.2: Length at least 2.
      if (o.length < 16) return malformed('bad-length');
      const domains = decodeDomains(o.subarray(DNS_DATA));
      if (domains === undefined) return malformed('bad-domain-name');
      return { kind: 'dnssl', lifetime: readU32(o, DNS_LIFETIME), domains };
    }
    default:
      return { kind: 'unknown', type, data: o.subarray(LLADDR) };
  }
}

/**
 * RFC 8106 5.2: domain names in uncompressed DNS encoding (RFC 1035 3.1), one after another,
 * then zero padding. Undefined when a label runs past the end or is a compression pointer.
 */
function decodeDomains(data: Uint8Array): string[] | undefined {
  const domains: string[] = [];
  let i = 0;
  while (i < data.length && data[i] !== 0) {
    const labels: string[] = [];
    while (data[i] !== 0) {
      const len = data[i]!;
      if (len > 63 || i + 1 + len >= data.length) return undefined;
      labels.push(String.fromCharCode(...data.subarray(i + 1, i + 1 + len)));
      i += 1 + len;
    }
    i += 1;
    domains.push(labels.join('.'));
  }
  // The rest must be padding.
  for (; i < data.length; i++) if (data[i] !== 0) return undefined;
  return domains;
}

/** Encoded length of `domains` (each label with its length octet, plus the root label). */
function domainsLength(domains: readonly string[]): number {
  let len = 0;
  for (const d of domains) len += d.length + 2;
  return len;
}

/** Writes `domains` in DNS encoding at `off`; throws RangeError (caller misuse) on a bad name. */
function writeDomains(b: Uint8Array, off: number, domains: readonly string[]): void {
  let i = off;
  for (const d of domains) {
    for (const label of d.split('.')) {
      if (label.length === 0 || label.length > 63) throw new RangeError(`DNSSL domain ${JSON.stringify(d)}`);
      b[i++] = label.length;
      for (let k = 0; k < label.length; k++) b[i++] = label.charCodeAt(k) & 0xff;
    }
    b[i++] = 0;
  }
}

/**
 * Walks the options after a message's fixed part. RFC 4861 4.6: a zero Length makes the whole
 * message invalid; so does an option running past the end.
 */
export function parseNdpOptions(bytes: Uint8Array): Parsed<NdpOption[], NdpError> {
  const options: NdpOption[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (i + 2 > bytes.length) return err('truncated-option');
    const len = bytes[i + OPT_LENGTH]! * 8;
    if (len === 0) return err('zero-option-length');
    if (i + len > bytes.length) return err('truncated-option');
    options.push(decodeOption(bytes.subarray(i, i + len)));
    i += len;
  }
  return ok(options);
}

/** The first option of the given kind, typed (RFC 4861 says which may appear more than once). */
export function findNdpOption<K extends NdpOption['kind']>(
  options: readonly NdpOption[],
  kind: K,
): Extract<NdpOption, { kind: K }> | undefined {
  return options.find((o): o is Extract<NdpOption, { kind: K }> => o.kind === kind);
}

/** Padded length of the value bytes that follow the first two octets of an option. */
function padded(valueLength: number): number {
  return (2 + valueLength + 7) & ~7;
}

/** Wire length of one option. Throws RangeError (caller misuse) if it would exceed 2040 octets. */
function optionLength(o: NdpOption): number {
  let len: number;
  switch (o.kind) {
    case 'source-lladdr':
    case 'target-lladdr':
    case 'mtu':
      len = 8;
      break;
    case 'prefix-info':
      len = 32;
      break;
    case 'redirected-header':
      len = padded(6 + o.packet.length);
      break;
    case 'nonce':
      len = padded(o.nonce.length);
      break;
    case 'route-info':
      // Always the full prefix (Length 3), as radvd sends it.
      len = 24;
      break;
    case 'rdnss':
      len = DNS_DATA + 16 * o.servers.length;
      break;
    case 'dnssl':
      len = padded(6 + domainsLength(o.domains));
      break;
    case 'unknown':
    case 'malformed':
      len = padded(o.data.length);
      break;
  }
  if (len > 255 * 8) throw new RangeError(`ND option of ${len} octets`);
  return len;
}

/** Total wire length of `options`. */
export function ndpOptionsLength(options: readonly NdpOption[]): number {
  let len = 0;
  for (const o of options) len += optionLength(o);
  return len;
}

/** Writes one option at `off` (its bytes, padding included, are zeroed first). */
function writeOption(b: Uint8Array, off: number, o: NdpOption): number {
  const len = optionLength(o);
  b.fill(0, off, off + len);
  b[off + OPT_LENGTH] = len / 8;
  switch (o.kind) {
    case 'source-lladdr':
    case 'target-lladdr':
      b[off] = o.kind === 'source-lladdr' ? NDP_OPT_SOURCE_LLADDR : NDP_OPT_TARGET_LLADDR;
      writeMac(b, off + LLADDR, o.mac);
      break;
    case 'prefix-info':
      b[off] = NDP_OPT_PREFIX_INFO;
      b[off + PREFIX_LENGTH] = o.prefixLength;
      b[off + PREFIX_FLAGS] = (o.onLink ? PREFIX_L : 0) | (o.autonomous ? PREFIX_A : 0) | o.otherFlags;
      writeU32(b, off + PREFIX_VALID, o.validLifetime);
      writeU32(b, off + PREFIX_PREFERRED, o.preferredLifetime);
      writeIpv6(b, off + PREFIX_ADDR, o.prefix);
      break;
    case 'redirected-header':
      b[off] = NDP_OPT_REDIRECTED_HEADER;
      b.set(o.packet, off + REDIRECTED_PACKET);
      break;
    case 'mtu':
      b[off] = NDP_OPT_MTU;
      writeU32(b, off + MTU_VALUE, o.mtu);
      break;
    case 'nonce':
      b[off] = NDP_OPT_NONCE;
      b.set(o.nonce, off + NONCE);
      break;
    case 'route-info':
      b[off] = NDP_OPT_ROUTE_INFO;
      b[off + ROUTE_PREFIX_LENGTH] = o.prefixLength;
      b[off + ROUTE_FLAGS] = encodePreference(o.preference);
      writeU32(b, off + ROUTE_LIFETIME, o.lifetime);
      writeIpv6(b, off + ROUTE_PREFIX, o.prefix);
      break;
    case 'rdnss':
      b[off] = NDP_OPT_RDNSS;
      writeU32(b, off + DNS_LIFETIME, o.lifetime);
      writeIpv6List(b, off + DNS_DATA, o.servers);
      break;
    case 'dnssl':
      b[off] = NDP_OPT_DNSSL;
      writeU32(b, off + DNS_LIFETIME, o.lifetime);
      writeDomains(b, off + DNS_DATA, o.domains);
      break;
    case 'unknown':
    case 'malformed':
      b[off] = o.type;
      b.set(o.data, off + LLADDR);
      break;
  }
  return off + len;
}

/** Writes `options` in order at `off`; returns the offset after them. */
export function writeNdpOptions(b: Uint8Array, off: number, options: readonly NdpOption[]): number {
  let i = off;
  for (const o of options) i = writeOption(b, i, o);
  return i;
}

/** The ND messages. Times: router lifetime in seconds, reachable time and retrans timer in ms. */
export type NdpRepr =
  | { kind: 'router-solicitation'; options: NdpOption[] }
  | {
      kind: 'router-advertisement';
      /** 0 means unspecified by this router. */
      curHopLimit: number;
      /** M: addresses are available via DHCPv6. */
      managed: boolean;
      /** O: other configuration is available via DHCPv6. */
      other: boolean;
      /** RFC 4191 2.2 Default Router Preference. */
      preference: RoutePreference;
      /** The remaining flag bits (H of RFC 6275, P of RFC 4389, reserved), kept for re-emission. */
      otherFlags: number;
      routerLifetime: number;
      reachableTime: number;
      retransTimer: number;
      options: NdpOption[];
    }
  | { kind: 'neighbor-solicitation'; target: Ipv6Addr; options: NdpOption[] }
  | {
      kind: 'neighbor-advertisement';
      router: boolean;
      solicited: boolean;
      override: boolean;
      target: Ipv6Addr;
      options: NdpOption[];
    }
  | { kind: 'redirect'; target: Ipv6Addr; destination: Ipv6Addr; options: NdpOption[] };

/** Where each message's options start (its minimum length), by ICMPv6 type. */
const OPTIONS_AT: Record<number, number> = {
  [ICMPV6_ROUTER_SOLICITATION]: RS_OPTIONS,
  [ICMPV6_ROUTER_ADVERTISEMENT]: RA_OPTIONS,
  [ICMPV6_NEIGHBOR_SOLICITATION]: NS_OPTIONS,
  [ICMPV6_NEIGHBOR_ADVERTISEMENT]: NS_OPTIONS,
  [ICMPV6_REDIRECT]: REDIRECT_OPTIONS,
};

/** Parses an ND message: `bytes` is the whole ICMPv6 message (type 133 to 137). */
export function parseNdp(bytes: Uint8Array): Parsed<NdpRepr, NdpError> {
  if (bytes.length < 4) return err('truncated');
  const type = bytes[0]!;
  const optionsAt = OPTIONS_AT[type];
  if (optionsAt === undefined) return err('not-ndp');
  if (bytes.length < optionsAt) return err('truncated');
  // RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1: ICMP Code is 0.
  if (bytes[1] !== 0) return err('bad-code');
  const parsed = parseNdpOptions(bytes.subarray(optionsAt));
  if (!parsed.ok) return parsed;
  const options = parsed.value;
  switch (type) {
    case ICMPV6_ROUTER_SOLICITATION:
      return ok({ kind: 'router-solicitation', options });
    case ICMPV6_ROUTER_ADVERTISEMENT: {
      const flags = bytes[RA_FLAGS]!;
      return ok({
        kind: 'router-advertisement',
        curHopLimit: bytes[RA_CUR_HOP_LIMIT]!,
        managed: (flags & RA_M) !== 0,
        other: (flags & RA_O) !== 0,
        preference: decodePreference(flags),
        otherFlags: flags & ~(RA_M | RA_O | PRF_MASK),
        routerLifetime: readU16(bytes, RA_ROUTER_LIFETIME),
        reachableTime: readU32(bytes, RA_REACHABLE_TIME),
        retransTimer: readU32(bytes, RA_RETRANS_TIMER),
        options,
      });
    }
    case ICMPV6_NEIGHBOR_SOLICITATION:
    case ICMPV6_NEIGHBOR_ADVERTISEMENT: {
      const target = readIpv6(bytes, TARGET);
      // RFC 4861 7.1.1, 7.1.2: the Target Address is not a multicast address.
      if (ipv6IsMulticast(target)) return err('multicast-target');
      if (type === ICMPV6_NEIGHBOR_SOLICITATION)
        return ok({ kind: 'neighbor-solicitation', target, options });
      const flags = bytes[NA_FLAGS]!;
      return ok({
        kind: 'neighbor-advertisement',
        router: (flags & NA_R) !== 0,
        solicited: (flags & NA_S) !== 0,
        override: (flags & NA_O) !== 0,
        target,
        options,
      });
    }
    default: {
      const destination = readIpv6(bytes, REDIRECT_DESTINATION);
      // RFC 4861 8.1: the Destination Address is not a multicast address.
      if (ipv6IsMulticast(destination)) return err('multicast-destination');
      return ok({ kind: 'redirect', target: readIpv6(bytes, TARGET), destination, options });
    }
  }
}

const TYPES: Record<NdpRepr['kind'], number> = {
  'router-solicitation': ICMPV6_ROUTER_SOLICITATION,
  'router-advertisement': ICMPV6_ROUTER_ADVERTISEMENT,
  'neighbor-solicitation': ICMPV6_NEIGHBOR_SOLICITATION,
  'neighbor-advertisement': ICMPV6_NEIGHBOR_ADVERTISEMENT,
  redirect: ICMPV6_REDIRECT,
};

/** Wire length of the whole ICMPv6 message. */
export function ndpLength(repr: NdpRepr): number {
  return OPTIONS_AT[TYPES[repr.kind]]! + ndpOptionsLength(repr.options);
}

/** Prepends the ND message `repr` to `pb` (normally empty) with its checksum for `src` -> `dst`. */
export function emitNdp(pb: PacketBuffer, repr: NdpRepr, src: Ipv6Addr, dst: Ipv6Addr): void {
  const type = TYPES[repr.kind];
  const optionsAt = OPTIONS_AT[type]!;
  prependIcmpv6(pb, type, 0, ndpLength(repr), src, dst, (b, off) => {
    b.fill(0, off + 4, off + optionsAt);
    switch (repr.kind) {
      case 'router-solicitation':
        break;
      case 'router-advertisement':
        b[off + RA_CUR_HOP_LIMIT] = repr.curHopLimit;
        b[off + RA_FLAGS] =
          (repr.managed ? RA_M : 0) |
          (repr.other ? RA_O : 0) |
          encodePreference(repr.preference) |
          repr.otherFlags;
        writeU16(b, off + RA_ROUTER_LIFETIME, repr.routerLifetime);
        writeU32(b, off + RA_REACHABLE_TIME, repr.reachableTime);
        writeU32(b, off + RA_RETRANS_TIMER, repr.retransTimer);
        break;
      case 'neighbor-advertisement':
        b[off + NA_FLAGS] =
          (repr.router ? NA_R : 0) | (repr.solicited ? NA_S : 0) | (repr.override ? NA_O : 0);
        writeIpv6(b, off + TARGET, repr.target);
        break;
      case 'neighbor-solicitation':
        writeIpv6(b, off + TARGET, repr.target);
        break;
      case 'redirect':
        writeIpv6(b, off + TARGET, repr.target);
        writeIpv6(b, off + REDIRECT_DESTINATION, repr.destination);
        break;
    }
    writeNdpOptions(b, off + optionsAt, repr.options);
  });
}
