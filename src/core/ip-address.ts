/**
 * An address of either IP family, for transports that serve both (UDP now, TCP next): IPv4 as a
 * number, IPv6 as 16 bytes (the representations of `wire/address.ts`), so a value's family is its
 * JavaScript type. Dual-stack sockets see IPv4 peers as IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2); the helpers here convert both ways, compare, format,
 * parse, and give keys for Maps and words for keyed hashes.
 */
import {
  type Ipv4Addr,
  type Ipv6Addr,
  ipv4IsMulticast,
  ipv4ToString,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  ipv6ToString,
  parseIpv4,
  parseIpv6,
} from '../wire/address.ts';

export type IpAddr = Ipv4Addr | Ipv6Addr;
export type IpFamily = 4 | 6;

/** The unspecified address of each family (the wildcard of a bind). */
export const IPV4_ANY: Ipv4Addr = 0;
export const IPV6_ANY: Ipv6Addr = new Uint8Array(16);

export function ipFamily(a: IpAddr): IpFamily {
  return typeof a === 'number' ? 4 : 6;
}

/** The wildcard of `family`. A fresh array for IPv6, so callers may keep it. */
export function ipAny(family: IpFamily): IpAddr {
  return family === 4 ? IPV4_ANY : new Uint8Array(16);
}

/** True for 0.0.0.0 and `::`. */
export function ipIsUnspecified(a: IpAddr): boolean {
  return typeof a === 'number' ? a === 0 : ipv6IsUnspecified(a);
}

export function ipIsMulticast(a: IpAddr): boolean {
  return typeof a === 'number' ? ipv4IsMulticast(a) : ipv6IsMulticast(a);
}

export function ipEqual(a: IpAddr, b: IpAddr): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** RFC 4291 2.5.5.2: `::ffff:0:0/96`. */
export function isV4Mapped(a: Ipv6Addr): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

/** `::ffff:a.b.c.d` for an IPv4 address (RFC 4291 2.5.5.2). */
export function v4Mapped(a: Ipv4Addr): Ipv6Addr {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out[12] = a >>> 24;
  out[13] = (a >>> 16) & 0xff;
  out[14] = (a >>> 8) & 0xff;
  out[15] = a & 0xff;
  return out;
}

/** The IPv4 address inside an IPv4-mapped address (the caller checked `isV4Mapped`). */
export function v4Unmapped(a: Ipv6Addr): Ipv4Addr {
  return ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
}

/**
 * What an address means on the IPv4 side: itself for IPv4, the embedded address of a mapped
 * IPv6 address, 0 for `::` (the wildcard of both families), undefined for any other IPv6 address.
 */
export function ipAsV4(a: IpAddr): Ipv4Addr | undefined {
  if (typeof a === 'number') return a;
  if (isV4Mapped(a)) return v4Unmapped(a);
  return ipv6IsUnspecified(a) ? 0 : undefined;
}

/** An address in a socket of `family`: IPv4 addresses become mapped on IPv6 sockets. */
export function ipForFamily(a: IpAddr, family: IpFamily): IpAddr | undefined {
  if (family === 6) return typeof a === 'number' ? v4Mapped(a) : a;
  return typeof a === 'number' ? a : isV4Mapped(a) ? v4Unmapped(a) : undefined;
}

/** A Map key: the number itself for IPv4, the RFC 5952 text for IPv6 (never equal to each other). */
export function ipKey(a: IpAddr): number | string {
  return typeof a === 'number' ? a : ipv6ToString(a);
}

/** The address as 32-bit words, for keyed hashes (RFC 6056, SO_REUSEPORT). */
export function ipWords(a: IpAddr): number[] {
  if (typeof a === 'number') return [a];
  const out: number[] = [];
  for (let i = 0; i < 16; i += 4)
    out.push(((a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!) >>> 0);
  return out;
}

/** Dotted quad or RFC 5952 text (mapped addresses as `::ffff:a.b.c.d`). */
export function ipToString(a: IpAddr): string {
  return typeof a === 'number' ? ipv4ToString(a) : ipv6ToString(a);
}

/** An IPv4 dotted quad or an IPv6 text form, as the family it is written in; undefined if neither. */
export function parseIp(text: string): IpAddr | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}
