/**
 * Socket addresses: C's `struct sockaddr_in` as a plain object `{ family, address, port }` with the
 * address as text, and the conversions to and from the core's numeric IPv4 addresses.
 */
import { type Ipv4Addr, ipv4ToString, parseIpv4 } from '../../wire/address.ts';
import { AF_INET, AF_INET6, AF_UNSPEC } from './constants.ts';
import { fail } from './socket-error.ts';

export interface SockAddr {
  /** AF_INET (AF_INET6 is refused for now; AF_UNSPEC only to dissolve a UDP association). */
  family: number;
  /** Dotted-quad text; '0.0.0.0' is INADDR_ANY. */
  address: string;
  /** Host byte order: no htons here. */
  port: number;
}

/** The core form of an AF_INET address. */
export interface InetAddr {
  addr: Ipv4Addr;
  port: number;
}

/** `{ family: AF_INET, address, port }`. */
export function sockaddrIn(address: string, port: number): SockAddr {
  return { family: AF_INET, address, port };
}

/** The sockaddr of a core address and port. */
export function toSockAddr(addr: Ipv4Addr, port: number): SockAddr {
  return sockaddrIn(ipv4ToString(addr), port);
}

/** The unbound address 0.0.0.0:0, what getsockname reports before bind. */
export const ANY_SOCKADDR: Readonly<SockAddr> = Object.freeze(sockaddrIn('0.0.0.0', 0));

/**
 * Parses `sa` for `call`: EAFNOSUPPORT for another family (AF_INET6 included, until the core's
 * transports speak IPv6), EINVAL for a malformed address or a port outside 0..65535.
 */
export function parseSockAddr(sa: SockAddr, call: string): InetAddr {
  if (sa === null || typeof sa !== 'object') fail('EFAULT', call, 'no address');
  if (sa.family !== AF_INET) {
    fail('EAFNOSUPPORT', call, sa.family === AF_INET6 ? 'IPv6 sockets are not available' : 'family');
  }
  const addr = typeof sa.address === 'string' ? parseIpv4(sa.address) : undefined;
  if (addr === undefined) fail('EINVAL', call, `bad address ${String(sa.address)}`);
  const port = sa.port;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) fail('EINVAL', call, `bad port ${port}`);
  return { addr, port };
}

/** Whether `sa` is AF_UNSPEC (connect's way of dissolving a datagram association). */
export function isUnspec(sa: SockAddr): boolean {
  return sa !== null && typeof sa === 'object' && sa.family === AF_UNSPEC;
}
