/**
 * IPv6 address arithmetic the layer needs: prefixes, scopes (RFC 4291 2.7, RFC 4007), and the
 * well-known groups.
 */
import { type Ipv6Addr, ipv6IsLinkLocal, ipv6IsMulticast, parseIpv6 } from '../../wire/address.ts';

/** RFC 4291 2.7.1: all nodes and all routers, link scope; RFC 3810 5.2.14: MLDv2 routers. */
export const ALL_NODES = parseIpv6('ff02::1')!;
export const ALL_ROUTERS = parseIpv6('ff02::2')!;
export const MLDV2_ROUTERS = parseIpv6('ff02::16')!;
export const LOOPBACK6 = parseIpv6('::1')!;
export const LINK_LOCAL_PREFIX = parseIpv6('fe80::')!;

/** RFC 4291 2.7 / RFC 7346 scope values (multicast) and their unicast equivalents (RFC 6724 3.1). */
export const SCOPE_INTERFACE = 0x1;
export const SCOPE_LINK = 0x2;
export const SCOPE_GLOBAL = 0xe;

/** True when the first `len` bits of `a` and `b` are equal. */
export function prefixMatches(a: Ipv6Addr, b: Ipv6Addr, len: number): boolean {
  const whole = len >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}

/** Number of leading bits `a` and `b` share (RFC 6724 2.2 CommonPrefixLen). */
export function commonPrefixLength(a: Ipv6Addr, b: Ipv6Addr): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** `addr` with every bit past `len` cleared (a copy). */
export function maskPrefix(addr: Ipv6Addr, len: number): Ipv6Addr {
  const out = new Uint8Array(16);
  const whole = len >>> 3;
  out.set(addr.subarray(0, whole));
  if (len & 7) out[whole] = addr[whole]! & ((0xff << (8 - (len & 7))) & 0xff);
  return out;
}

export function ipv6Equal(a: Ipv6Addr, b: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function ipv6IsLoopback(addr: Ipv6Addr): boolean {
  return ipv6Equal(addr, LOOPBACK6);
}

/** RFC 4291 2.5.5.2: ::ffff:0:0/96. */
export function ipv6IsV4Mapped(addr: Ipv6Addr): boolean {
  for (let i = 0; i < 10; i++) if (addr[i] !== 0) return false;
  return addr[10] === 0xff && addr[11] === 0xff;
}

/** The multicast scope nibble (RFC 4291 2.7). */
export function multicastScope(addr: Ipv6Addr): number {
  return addr[1]! & 0x0f;
}

/**
 * RFC 6724 3.1: the scope of any address. Loopback and link-local unicast are link scope;
 * everything else unicast (ULAs included) is global; multicast carries its own.
 */
export function addressScope(addr: Ipv6Addr): number {
  if (ipv6IsMulticast(addr)) return multicastScope(addr);
  if (ipv6IsLinkLocal(addr) || ipv6IsLoopback(addr)) return SCOPE_LINK;
  // Deprecated site-local fec0::/10 (RFC 3879) is site scope for selection purposes.
  if (addr[0] === 0xfe && (addr[1]! & 0xc0) === 0xc0) return 0x5;
  return SCOPE_GLOBAL;
}

/** A prefix and an interface identifier (the low 64 bits) made into one address. */
export function withInterfaceId(prefix: Ipv6Addr, iid: Uint8Array): Ipv6Addr {
  const out = new Uint8Array(16);
  out.set(prefix.subarray(0, 8));
  out.set(iid.subarray(0, 8), 8);
  return out;
}

/** Link-scope multicast groups are never routed, so they need an interface to go out of. */
export function needsInterface(addr: Ipv6Addr): boolean {
  return ipv6IsLinkLocal(addr) || (ipv6IsMulticast(addr) && multicastScope(addr) <= SCOPE_LINK);
}
