/**
 * IPv6 addresses with a scope, as the socket APIs take and give them: `fe80::1%eth0` in
 * `stack.dgram` (the zone is an interface name, RFC 4007 11), `sin6_scope_id` (an interface index)
 * in `stack.posix`. Also the Linux rules for binding a UDP socket to a link-local address, which
 * both APIs share.
 */
import type { NetworkInterface } from '../core/device/interface.ts';
import { errno } from '../core/errno.ts';
import { type IpAddr, type IpFamily, ipEqual, ipToString, parseIp } from '../core/ip-address.ts';
import type { Stack } from '../core/stack.ts';
import type { UdpBindOptions, UdpSocket } from '../core/udp/udp-socket.ts';
import { type Ipv6Addr, ipv6IsLinkLocal, parseIpv4, parseIpv6 } from '../wire/address.ts';

/** An address of a socket's family, with the interface its scope names (undefined: none). */
export interface ScopedAddr {
  addr: IpAddr;
  scope: NetworkInterface | undefined;
}

/** `text` without its `%zone`, and the zone ('' when there is none). */
function splitZone(text: string): [string, string] {
  const i = text.indexOf('%');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

/** True for an IPv4 or IPv6 literal, with or without a zone (Node's `net.isIP`, so no lookup). */
export function isIpLiteral(text: string): boolean {
  return parseIp(splitZone(text)[0]) !== undefined;
}

/**
 * Parses `text` as an address of `family` as libuv's uv_ip4_addr / uv_ip6_addr do: IPv4 text for
 * family 4; IPv6 text with an optional zone for family 6, the zone being an interface name (an
 * unknown name gives no scope, as if_nametoindex's 0 does). Undefined when it is not such text.
 */
export function parseScoped(stack: Stack, text: string, family: IpFamily): ScopedAddr | undefined {
  if (family === 4) {
    const a = parseIpv4(text);
    return a === undefined ? undefined : { addr: a, scope: undefined };
  }
  const [ip, zone] = splitZone(text);
  const addr = parseIpv6(ip);
  if (addr === undefined) return undefined;
  return { addr, scope: zone === '' ? undefined : stack.getInterface(zone) };
}

/** Whether an address carries a scope in its text (Node appends the zone to link-local ones only). */
export function isScopedUnicast(addr: IpAddr): addr is Ipv6Addr {
  return typeof addr !== 'number' && ipv6IsLinkLocal(addr);
}

/** The text of an address, `%name` appended to a link-local address when `scope` is known. */
export function formatScoped(addr: IpAddr, scope: NetworkInterface | undefined): string {
  const text = ipToString(addr);
  return scope !== undefined && isScopedUnicast(addr) ? `${text}%${scope.name}` : text;
}

/**
 * Binds a UDP socket as Linux's inet6_bind does with a scope: a scope on a link-local address
 * binds the socket to that interface (SO_BINDTODEVICE) and a link-local address needs one (EINVAL),
 * and must be an address of that interface (EADDRNOTAVAIL). The device binding is undone if the
 * bind fails.
 */
export function bindScoped(
  stack: Stack,
  socket: UdpSocket<IpAddr>,
  port: number,
  at: ScopedAddr,
  options: UdpBindOptions,
): void {
  const { addr, scope } = at;
  const before = socket.boundDevice;
  if (isScopedUnicast(addr)) {
    const dev = scope ?? before;
    if (dev === undefined) throw errno('EINVAL', `${ipToString(addr)} needs a scope`);
    if (socket.localPort !== 0) throw errno('EINVAL', 'socket is already bound');
    const ours = stack.ipv6?.listAddresses(dev).some((a) => ipEqual(a.addr, addr));
    if (!ours) throw errno('EADDRNOTAVAIL', `${ipToString(addr)} is not an address of ${dev.name}`);
    socket.bindToDevice(dev);
  }
  try {
    socket.bind(port, addr, options);
  } catch (e) {
    socket.bindToDevice(before);
    throw e;
  }
}
