/**
 * Socket addresses: C's `struct sockaddr_in` and `struct sockaddr_in6` as plain objects
 * (`{ family, address, port }`, plus `flowinfo` and `scopeId` for AF_INET6) with the address as
 * text, and their conversions to and from the core's addresses for a socket of either family.
 * An AF_INET6 socket takes AF_INET addresses where Linux does (connect, sendto: the peer is then
 * the IPv4-mapped address, RFC 3493 3.7) and reports IPv4 peers as `::ffff:a.b.c.d`.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import { type IpAddr, ipToString, v4Mapped } from '../../core/ip-address.ts';
import { needsInterface } from '../../core/ip6/ipv6-addr.ts';
import type { Stack } from '../../core/stack.ts';
import { type Ipv6Addr, parseIpv4, parseIpv6 } from '../../wire/address.ts';
import { AF_INET, AF_INET6, AF_UNSPEC, SOCK_STREAM } from './constants.ts';
import { fail } from './socket-error.ts';

export interface SockAddr {
  /** AF_INET or AF_INET6 (AF_UNSPEC only to dissolve a UDP association). */
  family: number;
  /** Dotted-quad or IPv6 text; '0.0.0.0' is INADDR_ANY, '::' in6addr_any. */
  address: string;
  /** Host byte order: no htons here. */
  port: number;
  /** AF_INET6: sin6_flowinfo (0 when absent; taken and ignored, as Linux without IPV6_FLOWINFO_SEND). */
  flowinfo?: number;
  /** AF_INET6: sin6_scope_id, an interface index (0 or absent: none). */
  scopeId?: number;
}

/** The core form of an address for a socket of either family: its address in the socket's family, port, scope. */
export interface IpSockAddr {
  addr: IpAddr;
  port: number;
  /** The interface a link-local address is scoped to (sin6_scope_id). */
  scope?: NetworkInterface;
}

/** What parsing needs to know of the socket. */
export interface AddrContext {
  /** AF_INET or AF_INET6. */
  readonly family: number;
  /** SOCK_STREAM or SOCK_DGRAM. */
  readonly type: number;
  readonly stack: Stack;
  /** IPV6_V6ONLY. */
  readonly v6Only: boolean;
}

/** `{ family: AF_INET, address, port }`. */
export function sockaddrIn(address: string, port: number): SockAddr {
  return { family: AF_INET, address, port };
}

/** `{ family: AF_INET6, address, port, flowinfo, scopeId }`. */
export function sockaddrIn6(address: string, port: number, scopeId = 0, flowinfo = 0): SockAddr {
  return { family: AF_INET6, address, port, flowinfo, scopeId };
}

/** RFC 4007 6: addresses whose scope is a link (link-local unicast, link- and interface-local multicast). */
export function needsScope(addr: IpAddr): addr is Ipv6Addr {
  return typeof addr !== 'number' && needsInterface(addr);
}

/** The sockaddr of a core address: AF_INET6 for 16-byte addresses, with the scope's index when scoped. */
export function toSockAddr(addr: IpAddr, port: number, scope?: NetworkInterface): SockAddr {
  if (typeof addr === 'number') return sockaddrIn(ipToString(addr), port);
  return sockaddrIn6(ipToString(addr), port, needsScope(addr) ? (scope?.index ?? 0) : 0);
}

/** The unbound address of a socket of `family`, what getsockname reports before bind. */
export function anySockAddr(family: number): SockAddr {
  return family === AF_INET6 ? sockaddrIn6('::', 0) : sockaddrIn('0.0.0.0', 0);
}

/**
 * Parses `sa` for `call` on a socket described by `ctx`. An AF_INET socket takes AF_INET only
 * (EAFNOSUPPORT). An AF_INET6 socket takes AF_INET6 (a scope id naming no interface: ENODEV) and,
 * for a datagram socket's connect and sendto, AF_INET as the mapped address (Linux's ip6_datagram_connect and
 * udpv6_sendmsg; on an IPV6_V6ONLY socket EAFNOSUPPORT and ENETUNREACH); bind takes AF_INET6
 * only. EINVAL for a malformed address or a port outside 0..65535, and for an unknown family in
 * an AF_INET6 sendto.
 */
export function parseSockAddr(sa: SockAddr, call: string, ctx: AddrContext): IpSockAddr {
  if (sa === null || typeof sa !== 'object') fail('EFAULT', call, 'no address');
  const port = sa.port;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) fail('EINVAL', call, `bad port ${port}`);
  if (sa.family === AF_INET) {
    const addr = typeof sa.address === 'string' ? parseIpv4(sa.address) : undefined;
    if (addr === undefined) fail('EINVAL', call, `bad address ${String(sa.address)}`);
    if (ctx.family === AF_INET) return { addr, port };
    // tcp_v6_connect takes AF_INET6 only (IPv4 peers as mapped addresses).
    if (call === 'bind' || ctx.type === SOCK_STREAM)
      fail('EAFNOSUPPORT', call, 'an AF_INET address on an AF_INET6 socket');
    if (ctx.v6Only)
      fail(call === 'connect' ? 'EAFNOSUPPORT' : 'ENETUNREACH', call, 'the socket is IPv6-only');
    return { addr: v4Mapped(addr), port };
  }
  // udpv6_sendmsg answers EINVAL for a family it does not know, the other calls EAFNOSUPPORT.
  if (sa.family !== AF_INET6 && ctx.family === AF_INET6 && call === 'sendto')
    fail('EINVAL', call, `family ${sa.family}`);
  if (sa.family !== AF_INET6 || ctx.family !== AF_INET6) fail('EAFNOSUPPORT', call, `family ${sa.family}`);
  const addr = typeof sa.address === 'string' ? parseIpv6(sa.address) : undefined;
  if (addr === undefined) fail('EINVAL', call, `bad address ${String(sa.address)}`);
  const flow = sa.flowinfo ?? 0;
  if (!Number.isInteger(flow) || flow < 0 || flow > 0xffffffff) fail('EINVAL', call, `bad flowinfo ${flow}`);
  const id = sa.scopeId ?? 0;
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) fail('EINVAL', call, `bad scope id ${id}`);
  // Linux reads sin6_scope_id only for addresses that need one.
  if (id === 0 || !needsScope(addr)) return { addr, port };
  return { addr, port, scope: ctx.stack.getInterface(id) ?? fail('ENODEV', call, `no interface ${id}`) };
}

/** Whether `sa` is AF_UNSPEC (connect's way of dissolving a datagram association). */
export function isUnspec(sa: SockAddr): boolean {
  return sa !== null && typeof sa === 'object' && sa.family === AF_UNSPEC;
}
