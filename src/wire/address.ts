/**
 * Link and network addresses.
 *
 * - A MAC address is a number holding the 48-bit value (exact in a double), so it can key a Map.
 * - An IPv4 address is an unsigned 32-bit number (host order value of the network-order bytes).
 * - An IPv6 address is a 16-byte Uint8Array; `ipv6Key` gives a string usable as a Map key.
 */

export type MacAddr = number;
export type Ipv4Addr = number;
export type Ipv6Addr = Uint8Array;

const TWO_32 = 0x1_0000_0000;

export const MAC_BROADCAST: MacAddr = 0xffff_ffff_ffff;
export const MAC_ZERO: MacAddr = 0;

/** Reads a MAC address from 6 bytes at `offset`. */
export function readMac(buf: Uint8Array, offset: number): MacAddr {
  const hi = buf[offset]! * 0x100 + buf[offset + 1]!;
  const lo =
    ((buf[offset + 2]! << 24) | (buf[offset + 3]! << 16) | (buf[offset + 4]! << 8) | buf[offset + 5]!) >>> 0;
  return hi * TWO_32 + lo;
}

/** Writes a MAC address as 6 bytes at `offset`. */
export function writeMac(buf: Uint8Array, offset: number, mac: MacAddr): void {
  const hi = Math.floor(mac / TWO_32);
  const lo = mac >>> 0;
  buf[offset] = hi >>> 8;
  buf[offset + 1] = hi & 0xff;
  buf[offset + 2] = lo >>> 24;
  buf[offset + 3] = (lo >>> 16) & 0xff;
  buf[offset + 4] = (lo >>> 8) & 0xff;
  buf[offset + 5] = lo & 0xff;
}

/** IEEE 802: the individual/group bit is the least significant bit of the first octet. */
export function macIsMulticast(mac: MacAddr): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 1) === 1;
}

export function macToString(mac: MacAddr): string {
  const bytes = new Uint8Array(6);
  writeMac(bytes, 0, mac);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-`); returns undefined when malformed. */
export function parseMac(text: string): MacAddr | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) return undefined;
  let mac = 0;
  for (const part of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(part)) return undefined;
    mac = mac * 256 + Number.parseInt(part, 16);
  }
  return mac;
}

/** RFC 1112 6.4: IPv4 multicast group to 01:00:5e + low 23 bits. */
export function ipv4MulticastMac(group: Ipv4Addr): MacAddr {
  return 0x01_00_5e_00_00_00 + (group & 0x7f_ffff);
}

/** RFC 2464 7: IPv6 multicast to 33:33 + low 32 bits. */
export function ipv6MulticastMac(group: Ipv6Addr): MacAddr {
  return 0x3333 * TWO_32 + readU32(group, 12);
}

function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

// ---- IPv4 ----

export const IPV4_ANY: Ipv4Addr = 0;
export const IPV4_BROADCAST: Ipv4Addr = 0xffff_ffff;

export function readIpv4(buf: Uint8Array, offset: number): Ipv4Addr {
  return readU32(buf, offset);
}

export function writeIpv4(buf: Uint8Array, offset: number, addr: Ipv4Addr): void {
  buf[offset] = addr >>> 24;
  buf[offset + 1] = (addr >>> 16) & 0xff;
  buf[offset + 2] = (addr >>> 8) & 0xff;
  buf[offset + 3] = addr & 0xff;
}

export function ipv4ToString(addr: Ipv4Addr): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Parses dotted-quad notation strictly (four decimal octets, no leading zeros); undefined if malformed. */
export function parseIpv4(text: string): Ipv4Addr | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let addr = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    addr = addr * 256 + n;
  }
  return addr;
}

/** Netmask for a prefix length 0..32. */
export function ipv4Mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffff_ffff << (32 - prefixLen)) >>> 0;
}

export function ipv4IsMulticast(addr: Ipv4Addr): boolean {
  return addr >>> 28 === 0xe;
}

export function ipv4IsLoopback(addr: Ipv4Addr): boolean {
  return addr >>> 24 === 127;
}

/** Parses `a.b.c.d/len`; undefined if malformed. */
export function parseIpv4Cidr(text: string): { addr: Ipv4Addr; prefixLen: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^[0-9]{1,2}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  return prefixLen <= 32 ? { addr, prefixLen } : undefined;
}

// ---- IPv6 ----

export const IPV6_UNSPECIFIED: Ipv6Addr = new Uint8Array(16);

export function readIpv6(buf: Uint8Array, offset: number): Ipv6Addr {
  return buf.slice(offset, offset + 16);
}

export function writeIpv6(buf: Uint8Array, offset: number, addr: Ipv6Addr): void {
  buf.set(addr, offset);
}

export function ipv6Equal(a: Ipv6Addr, b: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A compact string key for Maps (the canonical text form). */
export function ipv6Key(addr: Ipv6Addr): string {
  return ipv6ToString(addr);
}

export function ipv6IsMulticast(addr: Ipv6Addr): boolean {
  return addr[0] === 0xff;
}

export function ipv6IsLinkLocal(addr: Ipv6Addr): boolean {
  return addr[0] === 0xfe && (addr[1]! & 0xc0) === 0x80;
}

export function ipv6IsUnspecified(addr: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (addr[i] !== 0) return false;
  return true;
}

/** RFC 5952 text form: lowercase, leading zeros dropped, the longest run of 2+ zero groups as `::`. */
export function ipv6ToString(addr: Ipv6Addr): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((addr[i]! << 8) | addr[i + 1]!);
  // RFC 5952 4.2.3: the longest run, the first one on a tie; a single zero group is not shortened.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // RFC 5952 5: IPv4-mapped addresses keep the dotted quad.
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return `::ffff:${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses RFC 4291 2.2 text forms, including `::` and a trailing dotted quad; undefined if malformed. */
export function parseIpv6(text: string): Ipv6Addr | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  let tail4: Ipv4Addr | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail4 !== undefined) writeIpv4(out, 12, tail4);
  return out;
}

/** RFC 4291 2.7.1: the solicited-node multicast address ff02::1:ffXX:XXXX of a unicast address. */
export function ipv6SolicitedNode(addr: Ipv6Addr): Ipv6Addr {
  const out = new Uint8Array(16);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = addr[13]!;
  out[14] = addr[14]!;
  out[15] = addr[15]!;
  return out;
}
