/**
 * DHCP options (RFC 2132): the TLV walker, long options (RFC 3396) and the typed options this stack
 * reads and writes, among them the domain search list (RFC 3397) in DNS name encoding.
 *
 *     +------+-----+------------------+
 *     | code | len | value (len)      |      Pad (0) and End (255) are a lone code octet.
 *     +------+-----+------------------+
 *
 * RFC 3396: an option longer than 255 octets is sent as several instances of the same code, and a
 * receiver concatenates every instance of a code in the order met (options field, then file, then
 * sname when overloaded). So the raw form here is one entry per code, already concatenated.
 */
import { type Ipv4Addr, ipv4Mask, readIpv4, writeIpv4 } from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import { NameCompressor, nameToLabels, readName } from './dns-name.ts';
import { err, ok, type Parsed } from './result.ts';

/** Option codes (RFC 2132 unless noted). */
export const DHCP_OPTION = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dnsServers: 6,
  hostName: 12,
  domainName: 15,
  interfaceMtu: 26,
  broadcastAddress: 28,
  requestedAddress: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  parameterRequestList: 55,
  message: 56,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  clientId: 61,
  /** RFC 4039. */
  rapidCommit: 80,
  /** RFC 3397. */
  domainSearch: 119,
  /** RFC 3442. */
  classlessRoutes: 121,
  end: 255,
} as const;

export type DhcpOptionError =
  /** An option's length runs past the end of its area. */
  | 'option-truncated'
  /** A typed option whose length or value breaks its definition. */
  | 'bad-option'
  /** RFC 3442: a prefix longer than 32, a truncated descriptor, or bits set past the prefix. */
  | 'bad-classless-route'
  /** RFC 3397: a name that does not decode (RFC 1035 4.1.4), a root name, or no name at all. */
  | 'bad-domain-search';

/** One option after RFC 3396 concatenation. */
export interface DhcpRawOption {
  code: number;
  data: Uint8Array;
}

/**
 * Walks the options in bytes[start, end), skipping Pad and stopping at End, calling `visit` for
 * every other option with its value (a view). Returns whether End was met, or an error.
 */
export function walkDhcpOptions(
  bytes: Uint8Array,
  start: number,
  end: number,
  visit: (code: number, data: Uint8Array) => void,
): Parsed<boolean, DhcpOptionError> {
  let p = start;
  while (p < end) {
    const code = bytes[p]!;
    if (code === DHCP_OPTION.end) return ok(true);
    if (code === DHCP_OPTION.pad) {
      p++;
      continue;
    }
    if (p + 2 > end) return err('option-truncated');
    const len = bytes[p + 1]!;
    if (p + 2 + len > end) return err('option-truncated');
    visit(code, bytes.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  return ok(false);
}

/** Collects option instances, concatenating repeated codes in order met (RFC 3396 7). */
export class DhcpOptionCollector {
  private readonly parts = new Map<number, Uint8Array[]>();

  readonly add = (code: number, data: Uint8Array): void => {
    const list = this.parts.get(code);
    if (list) list.push(data);
    else this.parts.set(code, [data]);
  };

  /** One entry per code, in order of first appearance; a lone instance is not copied. */
  result(): DhcpRawOption[] {
    return Array.from(this.parts, ([code, list]) => ({
      code,
      data: list.length === 1 ? list[0]! : concat(list),
    }));
  }
}

function concat(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
  let p = 0;
  for (const b of list) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Octets an option takes once split into instances of at most 255 octets (RFC 3396 5). */
export function dhcpOptionWireLength(o: DhcpRawOption): number {
  return Math.max(1, Math.ceil(o.data.length / 255)) * 2 + o.data.length;
}

/** Writes an option at `p`, split into as many instances as needed (RFC 3396 5); returns the end. */
export function writeDhcpOption(out: Uint8Array, p: number, o: DhcpRawOption): number {
  let off = 0;
  do {
    const n = Math.min(255, o.data.length - off);
    out[p] = o.code;
    out[p + 1] = n;
    out.set(o.data.subarray(off, off + n), p + 2);
    p += 2 + n;
    off += n;
  } while (off < o.data.length);
  return p;
}

// ---- typed values ----

/** RFC 3442: one classless static route. */
export interface DhcpClasslessRoute {
  prefixLen: number;
  destination: Ipv4Addr;
  router: Ipv4Addr;
}

/** How one typed option turns into octets and back. */
interface Codec<T> {
  code: number;
  decode(data: Uint8Array): Parsed<T, DhcpOptionError>;
  encode(value: T): Uint8Array;
}

const bad = err('bad-option' as const);

function fixed<T>(
  code: number,
  len: number,
  read: (d: Uint8Array) => T,
  write: (d: Uint8Array, v: T) => void,
  valid: (v: T) => boolean = () => true,
): Codec<T> {
  return {
    code,
    decode: (d) => {
      if (d.length !== len) return bad;
      const v = read(d);
      return valid(v) ? ok(v) : bad;
    },
    encode: (v) => {
      const d = new Uint8Array(len);
      write(d, v);
      return d;
    },
  };
}

const u8 = (code: number) =>
  fixed(
    code,
    1,
    (d) => d[0]!,
    (d, v) => {
      d[0] = v;
    },
  );
/** A 16-bit value at least `min`. */
const u16 = (code: number, min: number) =>
  fixed(
    code,
    2,
    (d) => readU16(d, 0),
    (d, v) => writeU16(d, 0, v),
    (v) => v >= min,
  );
const u32 = (code: number) =>
  fixed(
    code,
    4,
    (d) => readU32(d, 0),
    (d, v) => writeU32(d, 0, v),
  );
const ipv4 = (code: number) =>
  fixed(
    code,
    4,
    (d) => readIpv4(d, 0),
    (d, v) => writeIpv4(d, 0, v),
  );

/** One or more addresses (RFC 2132 3.5: "minimum length ... is 4 octets, and the length MUST always be a multiple of 4"). */
const ipv4List = (code: number): Codec<Ipv4Addr[]> => ({
  code,
  decode: (d) => {
    if (d.length === 0 || d.length % 4 !== 0) return bad;
    const out: Ipv4Addr[] = [];
    for (let i = 0; i < d.length; i += 4) out.push(readIpv4(d, i));
    return ok(out);
  },
  encode: (v) => {
    const d = new Uint8Array(v.length * 4);
    for (const [i, a] of v.entries()) writeIpv4(d, i * 4, a);
    return d;
  },
});

/** Octets of length at least `min` (e.g. 2 for the client identifier, RFC 2132 9.14). */
const bytes = (code: number, min: number): Codec<Uint8Array> => ({
  code,
  decode: (d) => (d.length >= min ? ok(d) : bad),
  encode: (v) => v,
});

/** NVT ASCII text, at least 1 octet (RFC 2132 3.14, 3.17, 9.9); each octet maps to one char. */
const text = (code: number): Codec<string> => ({
  code,
  decode: (d) => (d.length >= 1 ? ok(String.fromCharCode(...d)) : bad),
  encode: (v) =>
    Uint8Array.from(v, (c) => {
      const n = c.charCodeAt(0);
      if (n > 0xff) throw new RangeError(`DHCP: option ${code} text is not 8-bit`);
      return n;
    }),
});

/** A list of option codes, at least one (RFC 2132 9.8). */
const codeList = (code: number): Codec<number[]> => ({
  code,
  decode: (d) => (d.length >= 1 ? ok(Array.from(d)) : bad),
  encode: (v) => Uint8Array.from(v),
});

/** An option whose presence is its meaning: length 0 (RFC 4039 4). */
const flag = (code: number): Codec<true> => ({
  code,
  decode: (d) => (d.length === 0 ? ok(true) : bad),
  encode: () => new Uint8Array(0),
});

/**
 * RFC 3442: routes as (width, significant octets of the destination, router), where the number of
 * significant octets is ceil(width / 8). At least one route (the option's minimum length is 5).
 */
const classlessRoutes = (code: number): Codec<DhcpClasslessRoute[]> => ({
  code,
  decode: (d) => {
    const routes: DhcpClasslessRoute[] = [];
    let p = 0;
    while (p < d.length) {
      const prefixLen = d[p]!;
      if (prefixLen > 32) return err('bad-classless-route');
      const n = (prefixLen + 7) >>> 3;
      if (p + 1 + n + 4 > d.length) return err('bad-classless-route');
      let destination = 0;
      for (let i = 0; i < 4; i++) destination = destination * 256 + (i < n ? d[p + 1 + i]! : 0);
      // The descriptor is the subnet number: a bit past the prefix would make it ambiguous.
      if ((destination & ~ipv4Mask(prefixLen)) !== 0) return err('bad-classless-route');
      routes.push({ prefixLen, destination, router: readIpv4(d, p + 1 + n) });
      p += 1 + n + 4;
    }
    return routes.length > 0 ? ok(routes) : bad;
  },
  encode: (routes) => {
    const parts: number[] = [];
    for (const r of routes) {
      if (!(r.prefixLen >= 0 && r.prefixLen <= 32)) throw new RangeError(`DHCP: prefix /${r.prefixLen}`);
      const n = (r.prefixLen + 7) >>> 3;
      const dest = (r.destination & ipv4Mask(r.prefixLen)) >>> 0;
      parts.push(r.prefixLen);
      for (let i = 0; i < n; i++) parts.push((dest >>> (24 - 8 * i)) & 0xff);
      parts.push(r.router >>> 24, (r.router >>> 16) & 0xff, (r.router >>> 8) & 0xff, r.router & 0xff);
    }
    return Uint8Array.from(parts);
  },
});

/**
 * RFC 3397 2: domain names in DNS encoding (RFC 1035 3.1), one after the other, compressed with
 * pointers whose offsets count from the start of the option's data, once its instances are
 * concatenated (RFC 3396; 3397 3 splits long lists that way). Names in text form (`dns-name.ts`).
 * At least one name, and no root name, which as a search suffix means nothing.
 */
const domainSearch = (code: number): Codec<string[]> => ({
  code,
  decode: (d) => {
    const names: string[] = [];
    let p = 0;
    while (p < d.length) {
      const r = readName(d, p);
      if (!r.ok || r.value.name === '') return err('bad-domain-search');
      names.push(r.value.name);
      p = r.value.end;
    }
    return names.length > 0 ? ok(names) : err('bad-domain-search');
  },
  encode: (names) => {
    if (names.length === 0) throw new RangeError('DHCP: an empty search list');
    const lists = names.map((n) => {
      const labels = nameToLabels(n);
      if (labels === undefined || labels.length === 0) throw new RangeError(`DHCP: bad search domain ${n}`);
      return labels;
    });
    // One pass to measure (compression decides the length), one to write.
    const write = (out: Uint8Array | undefined) => {
      const names = new NameCompressor();
      return lists.reduce((p, labels) => names.write(out, 0, p, labels, true), 0);
    };
    const out = new Uint8Array(write(undefined));
    write(out);
    return out;
  },
});

/** The typed options, in the order `encodeDhcpOptions` writes them when no order is given. */
const CODECS = {
  /** RFC 2132 9.6; DHCP_MESSAGE_TYPE has the values. */
  messageType: u8(DHCP_OPTION.messageType),
  serverId: ipv4(DHCP_OPTION.serverId),
  requestedAddress: ipv4(DHCP_OPTION.requestedAddress),
  clientId: bytes(DHCP_OPTION.clientId, 2),
  leaseTime: u32(DHCP_OPTION.leaseTime),
  /** T1. */
  renewalTime: u32(DHCP_OPTION.renewalTime),
  /** T2. */
  rebindingTime: u32(DHCP_OPTION.rebindingTime),
  subnetMask: ipv4(DHCP_OPTION.subnetMask),
  broadcastAddress: ipv4(DHCP_OPTION.broadcastAddress),
  routers: ipv4List(DHCP_OPTION.router),
  dnsServers: ipv4List(DHCP_OPTION.dnsServers),
  hostName: text(DHCP_OPTION.hostName),
  domainName: text(DHCP_OPTION.domainName),
  domainSearch: domainSearch(DHCP_OPTION.domainSearch),
  /** RFC 2132 5.1: at least 68. */
  interfaceMtu: u16(DHCP_OPTION.interfaceMtu, 68),
  parameterRequestList: codeList(DHCP_OPTION.parameterRequestList),
  message: text(DHCP_OPTION.message),
  /** RFC 2132 9.10: at least 576. */
  maxMessageSize: u16(DHCP_OPTION.maxMessageSize, 576),
  rapidCommit: flag(DHCP_OPTION.rapidCommit),
  classlessRoutes: classlessRoutes(DHCP_OPTION.classlessRoutes),
};

type Codecs = typeof CODECS;
type Field = keyof Codecs;
type ValueOf<C> = C extends Codec<infer T> ? T : never;
const FIELDS = Object.keys(CODECS) as Field[];
const FIELD_OF_CODE = new Map<number, Field>(FIELDS.map((f) => [CODECS[f].code, f]));

/** The typed options (each absent when not sent). */
export type DhcpTypedOptions = { [F in Field]?: ValueOf<Codecs[F]> };

/** The parsed options of a message. */
export interface DhcpOptions extends DhcpTypedOptions {
  /** Options without a typed form, concatenated per code, in order met. */
  other?: DhcpRawOption[];
  /** The codes in the order they appeared (set by parsing; emitting follows it for codes present). */
  order?: number[];
}

/** Message types, the value of option 53 (RFC 2132 9.6, RFC 4388 6.1). */
export const DHCP_MESSAGE_TYPE = {
  discover: 1,
  offer: 2,
  request: 3,
  decline: 4,
  ack: 5,
  nak: 6,
  release: 7,
  inform: 8,
  leaseQuery: 10,
} as const;

function decodeField<F extends Field>(
  opts: DhcpOptions,
  f: F,
  data: Uint8Array,
): DhcpOptionError | undefined {
  const codec = CODECS[f] as Codec<ValueOf<Codecs[F]>>;
  const v = codec.decode(data);
  if (!v.ok) return v.error;
  opts[f] = v.value as DhcpOptions[F];
  return undefined;
}

/** Types the raw (concatenated) options. */
export function decodeDhcpOptions(raw: DhcpRawOption[]): Parsed<DhcpOptions, DhcpOptionError> {
  const opts: DhcpOptions = { order: raw.map((o) => o.code) };
  const other: DhcpRawOption[] = [];
  for (const o of raw) {
    const f = FIELD_OF_CODE.get(o.code);
    if (f === undefined) {
      other.push(o);
      continue;
    }
    const error = decodeField(opts, f, o.data);
    if (error !== undefined) return err(error);
  }
  if (other.length > 0) opts.other = other;
  return ok(opts);
}

/**
 * The raw options of `opts`: first the codes of `opts.order` that are present, then the other
 * typed options in the order of CODECS, then the untyped ones. Pad, End and Overload are never
 * written from `other` (the message builder owns the layout).
 */
export function encodeDhcpOptions(opts: DhcpOptions): DhcpRawOption[] {
  const byCode = new Map<number, Uint8Array>();
  for (const f of FIELDS) {
    const value = opts[f];
    if (value === undefined) continue;
    const codec = CODECS[f] as Codec<typeof value>;
    byCode.set(codec.code, codec.encode(value));
  }
  for (const o of opts.other ?? []) {
    if (o.code === DHCP_OPTION.pad || o.code === DHCP_OPTION.end || o.code === DHCP_OPTION.overload) continue;
    if (!byCode.has(o.code)) byCode.set(o.code, o.data);
  }
  const out: DhcpRawOption[] = [];
  for (const code of [...(opts.order ?? []), ...byCode.keys()]) {
    const data = byCode.get(code);
    if (data === undefined) continue;
    out.push({ code, data });
    byCode.delete(code);
  }
  return out;
}
