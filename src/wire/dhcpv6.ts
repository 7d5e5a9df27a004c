/**
 * DHCPv6 client/server messages (RFC 8415 8) and the options a client needs (RFC 8415 21, DNS
 * options of RFC 3646). Relay messages (RFC 8415 9) are not parsed: a client never receives one.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |    msg-type   |               transaction-id                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    .            options (option-code 16, option-len 16, data)     .
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Options keep their order in the parsed form (a list of tagged options), so a message re-emits
 * to the same bytes; options this module does not know are kept as `unknown`.
 */
import { type Ipv6Addr, readIpv6 } from './address.ts';
import { labelsToName, nameToLabels } from './dns-name.ts';
import { MAX_HEADROOM, PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const DHCPV6_CLIENT_PORT = 546;
export const DHCPV6_SERVER_PORT = 547;

/** RFC 8415 7.3 message types (client/server ones). */
export const DHCPV6_MSG = {
  solicit: 1,
  advertise: 2,
  request: 3,
  confirm: 4,
  renew: 5,
  rebind: 6,
  reply: 7,
  release: 8,
  decline: 9,
  reconfigure: 10,
  informationRequest: 11,
  relayForw: 12,
  relayRepl: 13,
} as const;

/** RFC 8415 21 / RFC 3646 option codes. */
export const DHCPV6_OPTION = {
  clientId: 1,
  serverId: 2,
  iaNa: 3,
  iaAddr: 5,
  oro: 6,
  preference: 7,
  elapsedTime: 8,
  statusCode: 13,
  rapidCommit: 14,
  dnsServers: 23,
  domainList: 24,
  informationRefreshTime: 32,
} as const;

/** RFC 8415 21.13 status codes. */
export const DHCPV6_STATUS = {
  success: 0,
  unspecFail: 1,
  noAddrsAvail: 2,
  noBinding: 3,
  notOnLink: 4,
  useMulticast: 5,
  noPrefixAvail: 6,
} as const;

/** RFC 8415 7.6: an "infinite" lifetime or T1/T2. */
export const DHCPV6_INFINITY = 0xffff_ffff;

/** Field offsets of the message header. */
const MSG_TYPE = 0;
const TRANSACTION_ID = 1;
const OPTIONS = 4;
/** Option header: code and length. */
const OPTION_HEADER_LEN = 4;

export type Dhcpv6Error =
  | 'truncated'
  | 'relay-message'
  /** An option's length runs past its container. */
  | 'bad-option-length'
  /** A known option whose content does not fit its format (e.g. DNS servers not a multiple of 16). */
  | 'bad-option';

export interface Dhcpv6Status {
  code: number;
  message: string;
}

/** One option, tagged by kind; IA_NA and IA Address carry options of their own. */
export type Dhcpv6Option =
  | { kind: 'client-id'; duid: Uint8Array }
  | { kind: 'server-id'; duid: Uint8Array }
  | { kind: 'ia-na'; iaid: number; t1: number; t2: number; options: Dhcpv6Option[] }
  | {
      kind: 'ia-addr';
      address: Ipv6Addr;
      preferredLifetime: number;
      validLifetime: number;
      options: Dhcpv6Option[];
    }
  | { kind: 'oro'; codes: number[] }
  | { kind: 'preference'; value: number }
  /** Hundredths of a second since the client began the exchange (RFC 8415 21.9). */
  | { kind: 'elapsed-time'; value: number }
  | ({ kind: 'status-code' } & Dhcpv6Status)
  | { kind: 'rapid-commit' }
  | { kind: 'dns-servers'; servers: Ipv6Addr[] }
  | { kind: 'domain-list'; domains: string[] }
  /** Seconds (RFC 8415 21.23). */
  | { kind: 'information-refresh-time'; seconds: number }
  | { kind: 'unknown'; code: number; data: Uint8Array };

export interface Dhcpv6Repr {
  type: number;
  /** 24 bits. */
  transactionId: number;
  options: Dhcpv6Option[];
}

/** A zero-copy view of the message header. */
export class Dhcpv6View {
  constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): Dhcpv6Error | undefined {
    if (bytes.length < OPTIONS) return 'truncated';
    const type = bytes[MSG_TYPE]!;
    if (type === DHCPV6_MSG.relayForw || type === DHCPV6_MSG.relayRepl) return 'relay-message';
    return undefined;
  }

  /** Message type. */
  get type(): number {
    return this.bytes[MSG_TYPE]!;
  }
  /** Transaction ID (24 bits). */
  get transactionId(): number {
    const b = this.bytes;
    return (b[TRANSACTION_ID]! << 16) | (b[TRANSACTION_ID + 1]! << 8) | b[TRANSACTION_ID + 2]!;
  }
  /** The options area, as a view. */
  get options(): Uint8Array {
    return this.bytes.subarray(OPTIONS);
  }
}

export function parseDhcpv6(bytes: Uint8Array): Parsed<Dhcpv6Repr, Dhcpv6Error> {
  const error = Dhcpv6View.check(bytes);
  if (error !== undefined) return err(error);
  const v = new Dhcpv6View(bytes);
  const options = parseOptions(v.options);
  if (!options.ok) return options;
  return ok({ type: v.type, transactionId: v.transactionId, options: options.value });
}

/** Every option in `bytes` (an options area), in order. */
export function parseOptions(bytes: Uint8Array): Parsed<Dhcpv6Option[], Dhcpv6Error> {
  const out: Dhcpv6Option[] = [];
  let p = 0;
  while (p < bytes.length) {
    if (p + OPTION_HEADER_LEN > bytes.length) return err('bad-option-length');
    const code = u16(bytes, p);
    const len = u16(bytes, p + 2);
    const start = p + OPTION_HEADER_LEN;
    if (start + len > bytes.length) return err('bad-option-length');
    const option = parseOption(code, bytes.subarray(start, start + len));
    if (!option.ok) return option;
    out.push(option.value);
    p = start + len;
  }
  return ok(out);
}

function parseOption(code: number, d: Uint8Array): Parsed<Dhcpv6Option, Dhcpv6Error> {
  const bad = err('bad-option' as const);
  switch (code) {
    case DHCPV6_OPTION.clientId:
    case DHCPV6_OPTION.serverId:
      // RFC 8415 11.1: a DUID is 2 to 130 octets.
      if (d.length < 2 || d.length > 130) return bad;
      return ok({ kind: code === DHCPV6_OPTION.clientId ? 'client-id' : 'server-id', duid: d.slice() });
    case DHCPV6_OPTION.iaNa: {
      if (d.length < 12) return bad;
      const inner = parseOptions(d.subarray(12));
      if (!inner.ok) return inner;
      return ok({ kind: 'ia-na', iaid: u32(d, 0), t1: u32(d, 4), t2: u32(d, 8), options: inner.value });
    }
    case DHCPV6_OPTION.iaAddr: {
      if (d.length < 24) return bad;
      const inner = parseOptions(d.subarray(24));
      if (!inner.ok) return inner;
      return ok({
        kind: 'ia-addr',
        address: readIpv6(d, 0),
        preferredLifetime: u32(d, 16),
        validLifetime: u32(d, 20),
        options: inner.value,
      });
    }
    case DHCPV6_OPTION.oro: {
      if (d.length % 2 !== 0) return bad;
      const codes: number[] = [];
      for (let i = 0; i < d.length; i += 2) codes.push(u16(d, i));
      return ok({ kind: 'oro', codes });
    }
    case DHCPV6_OPTION.preference:
      return d.length === 1 ? ok({ kind: 'preference', value: d[0]! }) : bad;
    case DHCPV6_OPTION.elapsedTime:
      return d.length === 2 ? ok({ kind: 'elapsed-time', value: u16(d, 0) }) : bad;
    case DHCPV6_OPTION.statusCode:
      if (d.length < 2) return bad;
      return ok({ kind: 'status-code', code: u16(d, 0), message: new TextDecoder().decode(d.subarray(2)) });
    case DHCPV6_OPTION.rapidCommit:
      return d.length === 0 ? ok({ kind: 'rapid-commit' }) : bad;
    case DHCPV6_OPTION.dnsServers: {
      if (d.length % 16 !== 0) return bad;
      const servers: Ipv6Addr[] = [];
      for (let i = 0; i < d.length; i += 16) servers.push(readIpv6(d, i));
      return ok({ kind: 'dns-servers', servers });
    }
    case DHCPV6_OPTION.domainList: {
      const domains = readNames(d);
      return domains === undefined ? bad : ok({ kind: 'domain-list', domains });
    }
    case DHCPV6_OPTION.informationRefreshTime:
      return d.length === 4 ? ok({ kind: 'information-refresh-time', seconds: u32(d, 0) }) : bad;
    default:
      return ok({ kind: 'unknown', code, data: d.slice() });
  }
}

/** RFC 8415 10: a list of uncompressed, fully qualified DNS names. */
function readNames(d: Uint8Array): string[] | undefined {
  const names: string[] = [];
  let p = 0;
  while (p < d.length) {
    const labels: Uint8Array[] = [];
    let total = 1;
    for (;;) {
      if (p >= d.length) return undefined;
      const len = d[p++]!;
      if (len === 0) break;
      // No compression (RFC 8415 10), labels of at most 63 octets, names of at most 255.
      if (len > 63 || p + len > d.length) return undefined;
      total += len + 1;
      if (total > 255) return undefined;
      labels.push(d.subarray(p, p + len));
      p += len;
    }
    names.push(labelsToName(labels));
  }
  return names;
}

/** The first option of `kind` in `options`, narrowed. */
export function findOption<K extends Dhcpv6Option['kind']>(
  options: readonly Dhcpv6Option[],
  kind: K,
): Extract<Dhcpv6Option, { kind: K }> | undefined {
  return options.find((o) => o.kind === kind) as Extract<Dhcpv6Option, { kind: K }> | undefined;
}

// ---- emit ----

/**
 * A PacketBuffer holding the whole message as its payload, with `headroom` for UDP/IPv6/link
 * headers. Throws RangeError on a repr that cannot be encoded (a name that is not valid, an
 * option over 65535 octets).
 */
export function emitDhcpv6(repr: Dhcpv6Repr, headroom = MAX_HEADROOM): PacketBuffer {
  const body = encodeOptions(repr.options);
  const pb = PacketBuffer.alloc(headroom, OPTIONS + body.length);
  const b = pb.buf.subarray(pb.start, pb.end);
  b[MSG_TYPE] = repr.type;
  b[TRANSACTION_ID] = (repr.transactionId >>> 16) & 0xff;
  b[TRANSACTION_ID + 1] = (repr.transactionId >>> 8) & 0xff;
  b[TRANSACTION_ID + 2] = repr.transactionId & 0xff;
  b.set(body, OPTIONS);
  return pb;
}

function encodeOptions(options: readonly Dhcpv6Option[]): Uint8Array {
  return concat(...options.map(encodeOption));
}

function encodeOption(o: Dhcpv6Option): Uint8Array {
  switch (o.kind) {
    case 'client-id':
      return option(DHCPV6_OPTION.clientId, o.duid);
    case 'server-id':
      return option(DHCPV6_OPTION.serverId, o.duid);
    case 'ia-na':
      return option(DHCPV6_OPTION.iaNa, concat(words32(o.iaid, o.t1, o.t2), encodeOptions(o.options)));
    case 'ia-addr':
      return option(
        DHCPV6_OPTION.iaAddr,
        concat(o.address, words32(o.preferredLifetime, o.validLifetime), encodeOptions(o.options)),
      );
    case 'oro': {
      const d = new Uint8Array(o.codes.length * 2);
      o.codes.forEach((c, i) => {
        d[2 * i] = c >>> 8;
        d[2 * i + 1] = c & 0xff;
      });
      return option(DHCPV6_OPTION.oro, d);
    }
    case 'preference':
      return option(DHCPV6_OPTION.preference, Uint8Array.of(o.value));
    case 'elapsed-time':
      return option(DHCPV6_OPTION.elapsedTime, Uint8Array.of(o.value >>> 8, o.value & 0xff));
    case 'status-code':
      return option(
        DHCPV6_OPTION.statusCode,
        concat(Uint8Array.of(o.code >>> 8, o.code & 0xff), new TextEncoder().encode(o.message)),
      );
    case 'rapid-commit':
      return option(DHCPV6_OPTION.rapidCommit, new Uint8Array(0));
    case 'dns-servers':
      return option(DHCPV6_OPTION.dnsServers, concat(...o.servers));
    case 'domain-list':
      return option(DHCPV6_OPTION.domainList, concat(...o.domains.map(encodeName)));
    case 'information-refresh-time':
      return option(DHCPV6_OPTION.informationRefreshTime, words32(o.seconds));
    case 'unknown':
      return option(o.code, o.data);
  }
}

function encodeName(name: string): Uint8Array {
  const labels = nameToLabels(name);
  if (labels === undefined) throw new RangeError(`DHCPv6: bad domain name ${name}`);
  const out = new Uint8Array(labels.reduce((n, l) => n + l.length + 1, 1));
  let p = 0;
  for (const l of labels) {
    out[p++] = l.length;
    out.set(l, p);
    p += l.length;
  }
  return out;
}

function option(code: number, data: Uint8Array): Uint8Array {
  if (data.length > 0xffff) throw new RangeError(`DHCPv6: option ${code} of ${data.length} octets`);
  const out = new Uint8Array(OPTION_HEADER_LEN + data.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out[2] = data.length >>> 8;
  out[3] = data.length & 0xff;
  out.set(data, OPTION_HEADER_LEN);
  return out;
}

function words32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => {
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  });
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}
