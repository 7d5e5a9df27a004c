/**
 * getsockopt and setsockopt: a table from (level, name) to how the option is read and written.
 * Values are JavaScript values instead of C buffers: integers (booleans accepted when setting,
 * 0/1 returned), `{ onoff, linger }` for SO_LINGER, text for addresses, interface and algorithm
 * names, `IpMreq` for memberships, the `TcpInfo` object for TCP_INFO. Each value is checked as
 * Linux checks it (EINVAL), the option must mean something for the socket's transport
 * (ENOPROTOOPT otherwise, see docs/posix.md), and read-only options refuse to be set (ENOPROTOOPT).
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import { isCongestionControlName } from '../../core/tcp/congestion/controller.ts';
import type { TcpInfo } from '../../core/tcp/tcp-info.ts';
import { ipv4IsMulticast, ipv4ToString, ipv6IsMulticast, parseIpv4, parseIpv6 } from '../../wire/address.ts';
import * as C from './constants.ts';
import type { Endpoint, Linger, OptionKey, OptionState } from './endpoint.ts';
import { fail } from './socket-error.ts';
import { TcpEndpoint } from './tcp-endpoint.ts';
import { ifaceByAddress, UdpEndpoint } from './udp-endpoint.ts';

/** IP_ADD_MEMBERSHIP's `struct ip_mreqn`: the group, and the interface by address or index. */
export interface IpMreq {
  multiaddr: string;
  /** A local address naming the interface; absent or '0.0.0.0': the route's interface. */
  interface?: string;
  /** The interface index (wins over `interface` when not 0). */
  ifindex?: number;
}

/** IPV6_JOIN_GROUP's `struct ipv6_mreq`: the group, and the interface by index (0 or absent: the route's). */
export interface Ipv6Mreq {
  multiaddr: string;
  ifindex?: number;
}

/** SO_LINGER as getsockopt returns it (C's `struct linger`). */
export interface LingerValue {
  onoff: number;
  linger: number;
}

export type OptionValue = number | boolean | string | LingerValue | Linger | IpMreq | Ipv6Mreq | TcpInfo;

type Kinds = 'any' | 'udp' | 'tcp';

interface OptionDef {
  /** The sockets the option means something for (ENOPROTOOPT for the others). */
  kinds: Kinds;
  get?(ep: Endpoint): OptionValue;
  /** Checks and stores the value (in `ep.opts`), or acts at once (memberships). */
  set?(ep: Endpoint, value: unknown): void;
}

const table = new Map<number, OptionDef>();
const id = (level: number, name: number) => level * 0x10000 + name;

function define(level: number, name: number, def: OptionDef): void {
  table.set(id(level, name), def);
}

function bad(what: string): never {
  return fail('EINVAL', 'setsockopt', what);
}

function int(value: unknown, min: number, max: number, what: string): number {
  const n = typeof value === 'boolean' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    bad(`bad ${what} ${String(value)}`);
  return n;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value !== 0;
  return bad(`bad ${what} ${String(value)}`);
}

/** Stores `value` in `ep.opts[key]` and has the endpoint apply it; the old value stays on error. */
function store<K extends OptionKey>(ep: Endpoint, key: K, value: OptionState[K]): void {
  const old = ep.opts[key];
  ep.opts[key] = value;
  try {
    ep.applyOption(key);
  } catch (e) {
    ep.opts[key] = old;
    throw e;
  }
}

type KeyOf<T> = { [K in OptionKey]: OptionState[K] extends T ? K : never }[OptionKey];

/** A boolean option kept in `key` (an int in C: 0/1 is returned, any integer accepted). */
function flag(level: number, name: number, key: KeyOf<boolean>, kinds: Kinds): void {
  define(level, name, {
    kinds,
    get: (ep) => (ep.opts[key] ? 1 : 0),
    set: (ep, v) => store(ep, key, bool(v, key)),
  });
}

/** An integer option kept in `key`, within min..max. */
function integer(
  level: number,
  name: number,
  key: KeyOf<number>,
  kinds: Kinds,
  min: number,
  max: number,
): void {
  define(level, name, {
    kinds,
    get: (ep) => ep.opts[key],
    set: (ep, v) => store(ep, key, int(v, min, max, key)),
  });
}

// ---- SOL_SOCKET (stored on every socket, as Linux does, even where they have no effect) ----
flag(C.SOL_SOCKET, C.SO_REUSEADDR, 'reuseAddr', 'any');
flag(C.SOL_SOCKET, C.SO_REUSEPORT, 'reusePort', 'any');
flag(C.SOL_SOCKET, C.SO_KEEPALIVE, 'keepAlive', 'any');
flag(C.SOL_SOCKET, C.SO_BROADCAST, 'broadcast', 'any');
define(C.SOL_SOCKET, C.SO_LINGER, {
  kinds: 'any',
  get: (ep) => ({ onoff: ep.opts.linger.onoff ? 1 : 0, linger: ep.opts.linger.linger }),
  set: (ep, v) => {
    const l = v as Partial<LingerValue> | null;
    if (l === null || typeof l !== 'object') bad('SO_LINGER takes { onoff, linger }');
    store(ep, 'linger', {
      onoff: bool(l.onoff, 'l_onoff'),
      linger: int(l.linger, 0, 0x7fffffff, 'l_linger'),
    });
  },
});
for (const [name, key] of [
  [C.SO_RCVBUF, 'rcvbuf'],
  [C.SO_SNDBUF, 'sndbuf'],
] as const) {
  define(C.SOL_SOCKET, name, {
    kinds: 'any',
    get: (ep) => ep.bufferSize(key),
    set: (ep, v) => store(ep, key, int(v, 1, 0x7fffffff, key)),
  });
}
define(C.SOL_SOCKET, C.SO_BINDTODEVICE, {
  kinds: 'udp',
  get: (ep) => ep.opts.bindToDevice,
  set: (ep, v) => store(ep, 'bindToDevice', typeof v === 'string' ? v : bad('SO_BINDTODEVICE takes a name')),
});
define(C.SOL_SOCKET, C.SO_ERROR, {
  kinds: 'any',
  get: (ep) => {
    const e = ep.takeError();
    return e === undefined ? 0 : C.errnoNumber(e);
  },
});
define(C.SOL_SOCKET, C.SO_TYPE, { kinds: 'any', get: (ep) => ep.type });
define(C.SOL_SOCKET, C.SO_DOMAIN, { kinds: 'any', get: (ep) => ep.family });
define(C.SOL_SOCKET, C.SO_PROTOCOL, { kinds: 'any', get: (ep) => ep.protocol });
define(C.SOL_SOCKET, C.SO_ACCEPTCONN, { kinds: 'any', get: (ep) => (ep.listening ? 1 : 0) });

// ---- IPPROTO_IP (datagram sockets: see docs/posix.md for stream sockets) ----
define(C.IPPROTO_IP, C.IP_TTL, {
  kinds: 'udp',
  get: (ep) => ep.opts.ttl ?? ep.stack.ipv4.defaultTtl,
  // -1 restores the default (ip(7)).
  set: (ep, v) => store(ep, 'ttl', v === -1 ? undefined : int(v, 1, 255, 'IP_TTL')),
});
integer(C.IPPROTO_IP, C.IP_TOS, 'tos', 'udp', 0, 255);
define(C.IPPROTO_IP, C.IP_MULTICAST_TTL, {
  kinds: 'udp',
  get: (ep) => ep.opts.multicastTtl,
  set: (ep, v) => store(ep, 'multicastTtl', v === -1 ? 1 : int(v, 0, 255, 'IP_MULTICAST_TTL')),
});
flag(C.IPPROTO_IP, C.IP_MULTICAST_LOOP, 'multicastLoop', 'udp');
define(C.IPPROTO_IP, C.IP_MULTICAST_IF, {
  kinds: 'udp',
  get: (ep) => ipv4ToString(ep.opts.multicastIf),
  set: (ep, v) => store(ep, 'multicastIf', address(v, 'IP_MULTICAST_IF')),
});
define(C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP, { kinds: 'udp', set: (ep, v) => membership(ep, v, true) });
define(C.IPPROTO_IP, C.IP_DROP_MEMBERSHIP, { kinds: 'udp', set: (ep, v) => membership(ep, v, false) });

// ---- IPPROTO_IPV6 (AF_INET6 sockets only: see `lookup`) ----
flag(C.IPPROTO_IPV6, C.IPV6_V6ONLY, 'v6Only', 'any');
define(C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, {
  kinds: 'udp',
  get: (ep) => ep.opts.ttl ?? (ep as UdpEndpoint).defaultTtl,
  // -1 restores the default (ipv6(7)).
  set: (ep, v) => store(ep, 'ttl', v === -1 ? undefined : int(v, 1, 255, 'IPV6_UNICAST_HOPS')),
});
define(C.IPPROTO_IPV6, C.IPV6_MULTICAST_HOPS, {
  kinds: 'udp',
  get: (ep) => ep.opts.multicastTtl,
  set: (ep, v) => store(ep, 'multicastTtl', v === -1 ? 1 : int(v, 0, 255, 'IPV6_MULTICAST_HOPS')),
});
define(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP, {
  kinds: 'udp',
  get: (ep) => (ep.opts.multicastLoop ? 1 : 0),
  // Linux takes 0 or 1 only here.
  set: (ep, v) => store(ep, 'multicastLoop', int(v, 0, 1, 'IPV6_MULTICAST_LOOP') === 1),
});
define(C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, {
  kinds: 'udp',
  get: (ep) => ep.opts.multicastIf6,
  set: (ep, v) => store(ep, 'multicastIf6', ifindex(ep, v, 'IPV6_MULTICAST_IF')),
});
define(C.IPPROTO_IPV6, C.IPV6_JOIN_GROUP, { kinds: 'udp', set: (ep, v) => membership6(ep, v, true) });
define(C.IPPROTO_IPV6, C.IPV6_LEAVE_GROUP, { kinds: 'udp', set: (ep, v) => membership6(ep, v, false) });

// ---- IPPROTO_TCP ----
flag(C.IPPROTO_TCP, C.TCP_NODELAY, 'noDelay', 'tcp');
// tcp(7) bounds: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL (32767 s), MAX_TCP_KEEPCNT (127).
integer(C.IPPROTO_TCP, C.TCP_KEEPIDLE, 'keepIdle', 'tcp', 1, 32767);
integer(C.IPPROTO_TCP, C.TCP_KEEPINTVL, 'keepIntvl', 'tcp', 1, 32767);
integer(C.IPPROTO_TCP, C.TCP_KEEPCNT, 'keepCnt', 'tcp', 1, 127);
integer(C.IPPROTO_TCP, C.TCP_USER_TIMEOUT, 'userTimeout', 'tcp', 0, 0x7fffffff);
define(C.IPPROTO_TCP, C.TCP_CONGESTION, {
  kinds: 'tcp',
  get: (ep) => (ep as TcpEndpoint).congestionName,
  set: (ep, v) => {
    if (typeof v !== 'string') bad('TCP_CONGESTION takes a name');
    // Linux answers ENOENT for an algorithm it does not have.
    if (!isCongestionControlName(v)) fail('ENOENT', 'setsockopt', `no congestion control ${v}`);
    store(ep, 'congestion', v);
  },
});
define(C.IPPROTO_TCP, C.TCP_MAXSEG, { kinds: 'tcp', get: (ep) => (ep as TcpEndpoint).maxSeg });
define(C.IPPROTO_TCP, C.TCP_INFO, { kinds: 'tcp', get: (ep) => (ep as TcpEndpoint).tcpInfo() });

function address(v: unknown, what: string): number {
  const a = typeof v === 'string' ? parseIpv4(v) : undefined;
  if (a === undefined) bad(`${what} takes an IPv4 address`);
  return a;
}

/** An interface index: 0 for none, else one the stack has (ENODEV otherwise). */
function ifindex(ep: Endpoint, v: unknown, what: string): number {
  const n = int(v, 0, 0x7fffffff, what);
  if (n !== 0 && ep.stack.getInterface(n) === undefined) fail('ENODEV', 'setsockopt', `no interface ${n}`);
  return n;
}

function membership6(ep: Endpoint, v: unknown, join: boolean): void {
  const m = v as Partial<Ipv6Mreq> | null;
  if (m === null || typeof m !== 'object') bad('takes { multiaddr, ifindex? }');
  const group = typeof m.multiaddr === 'string' ? parseIpv6(m.multiaddr) : undefined;
  if (group === undefined || !ipv6IsMulticast(group))
    bad(`${String(m.multiaddr)} is not an IPv6 multicast group`);
  const index = ifindex(ep, m.ifindex ?? 0, 'ipv6mr_interface');
  (ep as UdpEndpoint).membership(join, group, index === 0 ? undefined : ep.stack.getInterface(index));
}

function membership(ep: Endpoint, v: unknown, join: boolean): void {
  if (!(ep instanceof UdpEndpoint)) fail('ENOPROTOOPT', 'setsockopt', 'memberships are for datagram sockets');
  const m = v as Partial<IpMreq> | null;
  if (m === null || typeof m !== 'object') bad('takes { multiaddr, interface?, ifindex? }');
  const group = address(m.multiaddr, 'imr_multiaddr');
  if (!ipv4IsMulticast(group)) bad(`${m.multiaddr} is not a multicast group`);
  const stack = ep.stack;
  let iface: NetworkInterface | undefined;
  if (m.ifindex !== undefined && m.ifindex !== 0) {
    iface = stack.getInterface(int(m.ifindex, 1, 0x7fffffff, 'imr_ifindex')) ?? fail('ENODEV', 'setsockopt');
  } else if (m.interface !== undefined) {
    const local = address(m.interface, 'imr_interface');
    iface = local === 0 ? undefined : ifaceByAddress(stack, local);
  }
  ep.membership(join, group, iface);
}

/** getsockopt(fd, level, name). */
export function getOption(ep: Endpoint, level: number, name: number): OptionValue {
  const def = lookup(ep, level, name, 'getsockopt');
  if (def.get === undefined) fail('ENOPROTOOPT', 'getsockopt', 'option cannot be read');
  return def.get(ep);
}

/** setsockopt(fd, level, name, value). */
export function setOption(ep: Endpoint, level: number, name: number, value: unknown): void {
  const def = lookup(ep, level, name, 'setsockopt');
  if (def.set === undefined) fail('ENOPROTOOPT', 'setsockopt', 'option cannot be set');
  def.set(ep, value);
}

function lookup(ep: Endpoint, level: number, name: number, call: string): OptionDef {
  const def = table.get(id(level, name));
  // An AF_INET socket has no IPPROTO_IPV6 option (as Linux's ip_setsockopt answers).
  if (def === undefined || (level === C.IPPROTO_IPV6 && ep.family !== C.AF_INET6)) {
    return fail('ENOPROTOOPT', call, `no option ${name} at level ${level}`);
  }
  const kind = ep instanceof TcpEndpoint ? 'tcp' : 'udp';
  if (def.kinds !== 'any' && def.kinds !== kind)
    fail('ENOPROTOOPT', call, `not an option of ${kind} sockets`);
  return def;
}
