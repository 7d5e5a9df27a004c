/**
 * A UDP socket (RFC 768, RFC 1122 4.1), with the options of a BSD/Linux datagram socket. It is
 * sans-IO: `send` hands the datagram to IP at once; received datagrams wait in a queue bounded in
 * bytes, and `onReadable` is told (after the entry that queued them) that there is something to
 * `recv`.
 *
 * A socket has a family, fixed at `open`, and its addresses are of that family (`IpAddr`: numbers
 * for IPv4, 16 bytes for IPv6); the wildcard means "unset". An IPv6 socket is dual-stack unless
 * IPV6_V6ONLY is set (Linux's default, bindv6only=0): bound to `::` it also receives IPv4
 * datagrams, whose addresses it sees as IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2), and it
 * sends to a mapped address over IPv4 (RFC 3493 3.7).
 */
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  type Ipv6Addr,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv6IsMulticast,
} from '../../wire/address.ts';
import type { UdpView } from '../../wire/udp.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { KEEP_MIN_BYTES } from '../device/link.ts';
import { type ErrnoError, errno } from '../errno.ts';
import {
  type IpAddr,
  type IpFamily,
  ipAny,
  ipAsV4,
  ipEqual,
  ipForFamily,
  ipIsMulticast,
  ipIsUnspecified,
  ipToString,
  isV4Mapped,
  v4Unmapped,
} from '../ip-address.ts';
import type { PortBinding } from './port-table.ts';
import type { UdpLayer } from './udp-layer.ts';
import {
  MAX_UDP_PAYLOAD,
  MAX_UDP6_PAYLOAD,
  routeUdp,
  sendUdp,
  type UdpRoute,
  type UdpSendSettings,
} from './udp-output.ts';

export { MAX_UDP_PAYLOAD, MAX_UDP6_PAYLOAD } from './udp-output.ts';

/** Linux's default SO_RCVBUF and SO_SNDBUF (net.core.rmem_default, wmem_default). */
export const DEFAULT_SOCKET_BUFFER = 212992;
/** The largest buffer a socket may ask for (like net.core.rmem_max); larger requests are clamped. */
export const MAX_SOCKET_BUFFER = 16 << 20;
/**
 * Bookkeeping charged to the receive queue per datagram besides its bytes, so that a flood of
 * empty datagrams is bounded too (Linux charges each datagram's skb truesize, several hundred bytes).
 */
export const DATAGRAM_OVERHEAD = 256;
/** Groups one socket may join (Linux's net.ipv4.igmp_max_memberships). */
export const MAX_MEMBERSHIPS = 20;

export interface UdpBindOptions {
  /** SO_REUSEADDR: share the port with other sockets that set it (every one gets multicast). */
  reuseAddr?: boolean;
  /** SO_REUSEPORT: share the port; unicast is spread over the group by a hash of the 4-tuple. */
  reusePort?: boolean;
}

/** A received datagram, its addresses in the socket's family. */
export interface UdpDatagram<A extends IpAddr = Ipv4Addr> {
  /**
   * The payload: a copy, or on a link that leaves its frames alone (`keepableFrames`) a view of
   * the frame when it is at least KEEP_MIN_BYTES long and went to this socket alone. Either way
   * the stack never touches these bytes again.
   */
  data: Uint8Array;
  /** The sender's address (IPv4-mapped on an IPv6 socket when it came over IPv4) and port. */
  address: A;
  port: number;
  /** The interface it came in on (the scope of a link-local sender), and the address it was sent to (IP_PKTINFO). */
  iface: NetworkInterface;
  dst: A;
  /** The IPv4 TTL or IPv6 hop limit it arrived with (IP_RECVTTL, IPV6_RECVHOPLIMIT). */
  ttl: number;
}

export class UdpSocket<A extends IpAddr = Ipv4Addr> implements PortBinding {
  /** The bound address (the wildcard: any) and port (0: not bound yet). */
  localAddress: A;
  localPort = 0;
  /** The peer of a connected socket (the wildcard and 0 when not connected). */
  remoteAddress: A;
  remotePort = 0;
  /** SO_BINDTODEVICE. */
  boundDevice: NetworkInterface | undefined;
  reuseAddr = false;
  reusePort = false;
  /** IPV6_V6ONLY (IPv6 sockets; default false, as Linux's bindv6only). */
  v6Only = false;
  /** Called after an entry that queued datagrams (once per entry). */
  onReadable: (() => void) | undefined;
  /** ICMP errors about datagrams of a connected socket (Linux reports none to unconnected ones). */
  onError: ((err: ErrnoError) => void) | undefined;
  /** The path MTU last reported by "fragmentation needed" (RFC 1191) or "packet too big" (RFC 8201), 0 when none was. */
  pathMtu = 0;
  /** Datagrams dropped because the receive queue was full. */
  drops = 0;
  /** The ICMP error waiting to be reported (like Linux's sk_err). */
  pendingError: ErrnoError | undefined;

  private queue: UdpDatagram<A>[] = [];
  private head = 0;
  private queuedCost = 0;
  private rcvbuf = DEFAULT_SOCKET_BUFFER;
  private sndbuf = DEFAULT_SOCKET_BUFFER;
  private broadcast = false;
  /** IP_TTL, IP_TOS, IP_MULTICAST_TTL, IP_MULTICAST_LOOP and the ports, handed to `sendUdp` as is (no object per datagram). */
  private readonly settings: UdpSendSettings = {
    srcPort: 0,
    dstPort: 0,
    ttl: undefined,
    tos: 0,
    multicastTtl: 1,
    multicastLoop: true,
  };
  private multicastIf: NetworkInterface | undefined;
  /** The interface of a connected link-local peer (its scope id). */
  private remoteScope: NetworkInterface | undefined;
  /** Groups joined, each in its own family (an IPv6 socket may join IPv4 groups by mapped address). */
  private readonly memberships: Array<{ iface: NetworkInterface; group: Ipv4Addr | Ipv6Addr }> = [];
  /** Whether the address and the port were chosen by `bind` (kept by `disconnect`) or implicitly. */
  private addrByUser = false;
  private portByUser = false;
  private closed = false;

  constructor(
    private readonly layer: UdpLayer,
    readonly family: IpFamily,
  ) {
    this.localAddress = ipAny(family) as A;
    this.remoteAddress = ipAny(family) as A;
  }

  // ---- addressing ----

  /**
   * Binds to `port` (0: an ephemeral one, RFC 6056 3.3.1) on `addr` (default: the wildcard). The
   * address must be of the socket's family and ours, loopback, multicast or broadcast
   * (EADDRNOTAVAIL); the port must not clash with another socket's binding (EADDRINUSE, see
   * `PortTable.conflicts`). An IPv6 socket bound to a mapped address is an IPv4 binding.
   */
  bind(port = 0, addr?: A, options: UdpBindOptions = {}): void {
    this.checkOpen();
    if (this.localPort !== 0) throw errno('EINVAL', 'socket is already bound');
    checkPort(port, true);
    const at = addr ?? this.localAddress;
    this.checkFamily(at);
    if (this.v6Only && isV4Mapped(at as Ipv6Addr)) {
      throw errno('EINVAL', 'an IPV6_V6ONLY socket cannot bind an IPv4-mapped address');
    }
    if (!ipIsUnspecified(at) && !this.bindable(at)) {
      throw errno('EADDRNOTAVAIL', `${ipToString(at)} is not a local address`);
    }
    this.reuseAddr = options.reuseAddr ?? false;
    this.reusePort = options.reusePort ?? false;
    this.claim(at, port);
    this.addrByUser = !ipIsUnspecified(at);
    this.portByUser = port !== 0;
  }

  /**
   * Sets the peer: only its datagrams are received, and `send` needs no address. Binds first when
   * needed, to the source address of the route and a port from RFC 6056 Algorithm 3. `scope` is
   * the interface of a link-local peer (its scope id).
   */
  connect(addr: A, port: number, scope?: NetworkInterface): void {
    this.checkOpen();
    checkPort(port, false);
    this.checkFamily(addr);
    if (ipIsUnspecified(addr)) throw errno('EINVAL', `cannot connect to ${ipToString(addr)}`);
    const route = this.route(addr, scope);
    const src = ipForFamily(route.path.src, this.family) as A;
    if (this.localPort === 0) {
      this.claim(ipIsUnspecified(this.localAddress) ? src : this.localAddress, 0, addr, port);
    } else if (ipIsUnspecified(this.localAddress)) {
      this.localAddress = src;
    }
    this.remoteAddress = addr;
    this.remotePort = port;
    this.remoteScope = scope;
  }

  /** Forgets the peer; an address or port bound implicitly by `connect` is released too. */
  disconnect(): void {
    this.checkOpen();
    if (this.remotePort === 0) throw errno('ENOTCONN', 'socket is not connected');
    this.remoteAddress = ipAny(this.family) as A;
    this.remotePort = 0;
    this.remoteScope = undefined;
    if (!this.addrByUser) this.localAddress = ipAny(this.family) as A;
    if (!this.portByUser) this.unbind();
  }

  /** SO_BINDTODEVICE: send and receive on `iface` only (undefined: any). */
  bindToDevice(iface: NetworkInterface | undefined): void {
    this.checkOpen();
    this.boundDevice = iface;
  }

  /** IPV6_V6ONLY: an IPv6 socket takes no IPv4 (EINVAL on IPv4 sockets and once bound, as Linux). */
  setV6Only(on: boolean): void {
    this.checkOpen();
    if (this.family !== 6) throw errno('EINVAL', 'IPV6_V6ONLY on an IPv4 socket');
    if (this.localPort !== 0) throw errno('EINVAL', 'socket is already bound');
    this.v6Only = on;
  }

  // ---- sending ----

  /**
   * Sends one datagram to `addr`:`port`, or to the peer of a connected socket; `scope` is the
   * interface of a link-local destination. Binds to an ephemeral port first when needed. Errors:
   * EDESTADDRREQ (no address, not connected), EISCONN (an address on a connected socket),
   * EMSGSIZE (over 65507 bytes over IPv4, 65527 over IPv6), ENOBUFS (over the send buffer),
   * EACCES (broadcast without `setBroadcast(true)`), ENETUNREACH (a family the socket's binding
   * cannot reach), and the route's errors.
   */
  send(data: Uint8Array, addr?: A, port?: number, scope?: NetworkInterface): void {
    this.checkOpen();
    let dst: A;
    let dstPort: number;
    let dstScope = scope;
    if (addr === undefined) {
      if (this.remotePort === 0) throw errno('EDESTADDRREQ', 'no destination address');
      dst = this.remoteAddress;
      dstPort = this.remotePort;
      dstScope = this.remoteScope;
    } else {
      if (this.remotePort !== 0) throw errno('EISCONN', 'socket is connected: send without an address');
      if (port === undefined) throw errno('EINVAL', 'no destination port');
      checkPort(port, false);
      this.checkFamily(addr);
      dst = addr;
      dstPort = port;
    }
    const max = typeof dst === 'number' || isV4Mapped(dst) ? MAX_UDP_PAYLOAD : MAX_UDP6_PAYLOAD;
    if (data.length > max) throw errno('EMSGSIZE', `${data.length} bytes > ${max}`);
    if (data.length > this.sndbuf)
      throw errno('ENOBUFS', `${data.length} bytes > send buffer ${this.sndbuf}`);
    const stack = this.layer.stack;
    stack.run(() => {
      if (this.localPort === 0) this.claim(this.localAddress, 0);
      const route = this.route(dst, dstScope);
      const settings = this.settings;
      settings.srcPort = this.localPort;
      settings.dstPort = dstPort;
      sendUdp(stack, route, data, settings);
      this.layer.txDatagrams.value++;
    });
  }

  /**
   * The route to `dst` from this socket (bound device, scope, multicast interface, bound
   * address), over IPv4 for IPv4 and IPv4-mapped destinations, else over IPv6.
   */
  private route(dst: A, scope: NetworkInterface | undefined): UdpRoute {
    const target = this.familyTarget(dst);
    const multicast = typeof target === 'number' ? ipv4IsMulticast(target) : ipv6IsMulticast(target);
    if (this.boundDevice !== undefined && scope !== undefined && scope !== this.boundDevice) {
      throw errno('EINVAL', `scope ${scope.name} is not the bound device ${this.boundDevice.name}`);
    }
    const iface = this.boundDevice ?? scope ?? (multicast ? this.multicastIf : undefined);
    // A socket bound to a multicast or broadcast address sends from the route's address.
    const local = typeof target === 'number' ? ipAsV4(this.localAddress) : this.localAddress;
    const src = local !== undefined && this.bindableUnicast(local) ? local : undefined;
    const route = routeUdp(this.layer.stack, target, src, iface);
    // RFC 1122 4.1.3.5 leaves broadcast to the application; like BSD and Linux, it must ask (SO_BROADCAST).
    if (route.family === 4 && (route.path.broadcast || target === IPV4_BROADCAST) && !this.broadcast) {
      throw errno('EACCES', `${ipToString(target)} is a broadcast address`);
    }
    return route;
  }

  /**
   * `dst` in the family it travels in: IPv4-mapped destinations of an IPv6 socket go over IPv4
   * (unless IPV6_V6ONLY), and each family needs a binding that can send in it.
   */
  private familyTarget(dst: A): Ipv4Addr | Ipv6Addr {
    if (typeof dst === 'number') return dst;
    const local = this.localAddress as Ipv6Addr;
    if (isV4Mapped(dst)) {
      if (this.v6Only) throw errno('ENETUNREACH', `${ipToString(dst)}: the socket is IPv6-only`);
      if (ipAsV4(local) === undefined)
        throw errno('ENETUNREACH', `${ipToString(dst)}: bound to the IPv6 address ${ipToString(local)}`);
      return v4Unmapped(dst);
    }
    if (isV4Mapped(local))
      throw errno('ENETUNREACH', `${ipToString(dst)}: bound to the IPv4 address ${ipToString(local)}`);
    return dst;
  }

  // ---- receiving ----

  /** The oldest queued datagram, or undefined when none is. */
  recv(): UdpDatagram<A> | undefined {
    this.checkOpen();
    if (this.head >= this.queue.length) return undefined;
    const d = this.queue[this.head++]!;
    this.queuedCost -= d.data.length + DATAGRAM_OVERHEAD;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return d;
  }

  /** Datagrams waiting in the receive queue. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues a received datagram (called by the layer) whose addresses are of the packet's family;
   * they are given in the socket's. `keepable`: the frame may be kept (see `UdpDatagram.data`).
   * False when the queue is full.
   */
  enqueue(
    udp: UdpView,
    src: IpAddr,
    dst: IpAddr,
    iface: NetworkInterface,
    ttl: number,
    keepable: boolean,
  ): boolean {
    const payload = udp.payload;
    const cost = payload.length + DATAGRAM_OVERHEAD;
    if (this.queuedCost + cost > this.rcvbuf) {
      this.drops++;
      return false;
    }
    this.queuedCost += cost;
    this.queue.push({
      // Small payloads are copied even so: a few bytes held unread would pin a frame's 64 KiB slab.
      data: keepable && payload.length >= KEEP_MIN_BYTES ? payload : payload.slice(),
      address: ipForFamily(src, this.family) as A,
      port: udp.srcPort,
      iface,
      dst: ipForFamily(dst, this.family) as A,
      ttl,
    });
    return true;
  }

  /**
   * An ICMP or ICMPv6 error about a datagram this socket sent (called by the layer), as the errno
   * it stands for. The MTU of "fragmentation needed" and "packet too big" is kept; the error is
   * reported to a connected socket only, as Linux does without IP_RECVERR. True when reported.
   */
  icmpError(code: string, description: string, mtu: number | undefined): boolean {
    if (mtu !== undefined && mtu > 0) this.pathMtu = mtu;
    if (this.remotePort === 0) return false;
    const err = errno(code, description);
    this.pendingError = mtu !== undefined ? Object.assign(err, { mtu }) : err;
    return true;
  }

  // ---- options ----

  /** SO_BROADCAST: allow sending to broadcast addresses. */
  setBroadcast(on: boolean): void {
    this.checkOpen();
    this.broadcast = on;
  }

  /** IP_TTL, and IPV6_UNICAST_HOPS on IPv6 sockets (1..255). */
  setTtl(ttl: number): void {
    this.checkOpen();
    this.settings.ttl = checkByte(ttl, 1, 'TTL');
  }

  /** IP_TOS, and IPV6_TCLASS on IPv6 sockets. */
  setTos(tos: number): void {
    this.checkOpen();
    this.settings.tos = checkByte(tos, 0, 'TOS');
  }

  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS (0..255, default 1: the local network only). */
  setMulticastTtl(ttl: number): void {
    this.checkOpen();
    this.settings.multicastTtl = checkByte(ttl, 0, 'multicast TTL');
  }

  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: deliver our own multicast to this host's sockets too (default on). */
  setMulticastLoopback(on: boolean): void {
    this.checkOpen();
    this.settings.multicastLoop = on;
  }

  /** IP_MULTICAST_IF / IPV6_MULTICAST_IF: the interface multicast leaves from (undefined: the route's). */
  setMulticastInterface(iface: NetworkInterface | undefined): void {
    this.checkOpen();
    this.multicastIf = iface;
  }

  /**
   * IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP: joins `group` on `iface`, or on the interface of the
   * route to the group (an IPv6 socket joins IPv4 groups by their mapped address). EADDRINUSE
   * when already joined there, ENOBUFS past MAX_MEMBERSHIPS.
   */
  addMembership(group: A, iface?: NetworkInterface): void {
    this.checkOpen();
    this.checkFamily(group);
    const g = this.nativeGroup(group);
    const on = iface ?? this.groupInterface(g);
    if (this.memberships.some((m) => m.iface === on && ipEqual(m.group, g))) {
      throw errno('EADDRINUSE', `already a member of ${ipToString(group)} on ${on.name}`);
    }
    if (this.memberships.length >= MAX_MEMBERSHIPS) throw errno('ENOBUFS', 'too many memberships');
    this.layer.stack.run(() => this.joinOrLeave(on, g, true));
    this.memberships.push({ iface: on, group: g });
  }

  /** IP_DROP_MEMBERSHIP / IPV6_LEAVE_GROUP: leaves a group joined with `addMembership` (EADDRNOTAVAIL otherwise). */
  dropMembership(group: A, iface?: NetworkInterface): void {
    this.checkOpen();
    this.checkFamily(group);
    const g = typeof group === 'number' || !isV4Mapped(group) ? (group as IpAddr) : v4Unmapped(group);
    const i = this.memberships.findIndex(
      (m) => ipEqual(m.group, g) && (iface === undefined || m.iface === iface),
    );
    if (i < 0) throw errno('EADDRNOTAVAIL', `not a member of ${ipToString(group)}`);
    const [m] = this.memberships.splice(i, 1);
    this.layer.stack.run(() => this.joinOrLeave(m!.iface, m!.group, false));
  }

  /** SO_RCVBUF in bytes (clamped to MAX_SOCKET_BUFFER); datagrams already queued stay. */
  setRecvBufferSize(bytes: number): void {
    this.checkOpen();
    this.rcvbuf = checkBufferSize(bytes);
  }

  /** SO_SNDBUF in bytes: no datagram may be larger (clamped to MAX_SOCKET_BUFFER). */
  setSendBufferSize(bytes: number): void {
    this.checkOpen();
    this.sndbuf = checkBufferSize(bytes);
  }

  get recvBufferSize(): number {
    return this.rcvbuf;
  }

  get sendBufferSize(): number {
    return this.sndbuf;
  }

  /** Releases the port and the memberships and discards queued datagrams. EBADF when closed. */
  close(): void {
    this.checkOpen();
    this.closed = true;
    this.unbind();
    this.layer.stack.run(() => {
      for (const m of this.memberships) this.joinOrLeave(m.iface, m.group, false);
    });
    this.memberships.length = 0;
    this.queue = [];
    this.head = 0;
    this.queuedCost = 0;
    this.layer.forget(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- helpers ----

  /**
   * Takes `port` (0: an ephemeral one, by Algorithm 3 when `peer` is given) on `addr`. The port
   * table is one for both families, so an IPv6 wildcard clashes with IPv4 bindings unless v6only.
   */
  private claim(addr: A, port: number, peer?: A, peerPort = 0): void {
    const table = this.layer.table;
    const candidate = {
      family: this.family,
      v6Only: this.v6Only,
      localAddress: addr,
      boundDevice: this.boundDevice,
      reuseAddr: this.reuseAddr,
      reusePort: this.reusePort,
    };
    const free = (p: number) => !table.conflicts(p, candidate);
    let chosen: number | undefined = port;
    if (port !== 0) {
      if (!free(port)) throw errno('EADDRINUSE', `port ${port} is in use`);
    } else {
      const ports = this.layer.ports;
      chosen = peer !== undefined ? ports.forConnection(addr, peer, peerPort, free) : ports.random(free);
      if (chosen === undefined) throw errno('EADDRNOTAVAIL', 'no free ephemeral port');
    }
    this.localAddress = addr;
    this.localPort = chosen;
    table.add(this);
  }

  private unbind(): void {
    if (this.localPort === 0) return;
    this.layer.table.remove(this);
    this.localPort = 0;
    this.localAddress = ipAny(this.family) as A;
  }

  private checkFamily(addr: IpAddr): void {
    if (
      (typeof addr === 'number' ? 4 : 6) !== this.family ||
      (typeof addr !== 'number' && addr.length !== 16)
    ) {
      throw errno('EINVAL', `${ipToString(addr)} is not an IPv${this.family} address`);
    }
  }

  private bindable(addr: IpAddr): boolean {
    const v4 = ipAsV4(addr);
    if (v4 !== undefined) {
      const ipv4 = this.layer.stack.ipv4;
      return (
        v4 === 0 ||
        this.bindableUnicast(v4) ||
        ipv4IsMulticast(v4) ||
        v4 === IPV4_BROADCAST ||
        ipv4.isDirectedBroadcast(v4)
      );
    }
    return this.bindableUnicast(addr) || ipIsMulticast(addr);
  }

  /** One of our unicast addresses (or loopback) of the address's own family. */
  private bindableUnicast(addr: IpAddr): boolean {
    if (ipIsUnspecified(addr)) return false;
    if (typeof addr === 'number') return this.layer.stack.ipv4.isLocal(addr) || ipv4IsLoopback(addr);
    return this.layer.stack.ipv6?.isLocal(addr) ?? false;
  }

  /** A group as its family's IP layer takes it: mapped IPv4 groups unmapped. */
  private nativeGroup(group: A): Ipv4Addr | Ipv6Addr {
    const g = typeof group === 'number' || !isV4Mapped(group) ? group : v4Unmapped(group);
    if (!ipIsMulticast(g)) throw errno('EINVAL', `${ipToString(group)} is not multicast`);
    return g;
  }

  private joinOrLeave(iface: NetworkInterface, group: Ipv4Addr | Ipv6Addr, join: boolean): void {
    const stack = this.layer.stack;
    if (typeof group === 'number') {
      if (join) stack.ipv4.joinGroup(iface, group);
      else stack.ipv4.leaveGroup(iface, group);
    } else if (join) stack.ipv6!.joinGroup(iface, group);
    else stack.ipv6!.leaveGroup(iface, group);
  }

  /** Like Linux's ip_mc_find_dev: the interface of the route to the group. */
  private groupInterface(group: Ipv4Addr | Ipv6Addr): NetworkInterface {
    try {
      return routeUdp(this.layer.stack, group, undefined, undefined).path.iface;
    } catch {
      throw errno('ENODEV', `no interface for ${ipToString(group)}`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw errno('EBADF', 'socket is closed');
  }
}

function checkPort(port: number, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 0xffff) {
    throw errno('EINVAL', `bad port ${port}`);
  }
}

function checkByte(value: number, min: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > 255) throw errno('EINVAL', `bad ${what} ${value}`);
  return value;
}

function checkBufferSize(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes <= 0) throw errno('EINVAL', `bad buffer size ${bytes}`);
  return Math.min(bytes, MAX_SOCKET_BUFFER);
}
