/**
 * A UDP socket (RFC 768, RFC 1122 4.1), with the options of a BSD/Linux datagram socket. It is
 * sans-IO: `send` hands the datagram to IP at once; received datagrams wait in a queue bounded in
 * bytes, and `onReadable` is told (after the entry that queued them) that there is something to
 * `recv`. Addresses are IPv4 numbers for now; 0 means "unset" (the wildcard).
 */
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4ToString,
} from '../../wire/address.ts';
import { ICMPV4_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED } from '../../wire/icmpv4.ts';
import { IP_PROTOCOL_UDP, type Ipv4View } from '../../wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../wire/packet-buffer.ts';
import { emitUdp, type UdpView } from '../../wire/udp.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { type ErrnoError, errno, icmpv4Errno } from '../errno.ts';
import type { Ipv4ErrorReport, Ipv4Path } from '../ip/ipv4-types.ts';
import type { PortBinding } from './port-table.ts';
import type { UdpLayer } from './udp-layer.ts';

/** RFC 768 over IPv4: 65535 minus the IPv4 (20) and UDP (8) headers. */
export const MAX_UDP_PAYLOAD = 65507;
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

/** A received datagram. */
export interface UdpDatagram {
  /** The payload, an owned copy. */
  data: Uint8Array;
  /** The sender's address and port. */
  address: Ipv4Addr;
  port: number;
  /** The interface it came in on, and the address it was sent to (IP_PKTINFO). */
  iface: NetworkInterface;
  dst: Ipv4Addr;
  /** The IP TTL it arrived with (IP_RECVTTL). */
  ttl: number;
}

export class UdpSocket implements PortBinding {
  /** The bound address (0: any) and port (0: not bound yet). */
  localAddress: Ipv4Addr = 0;
  localPort = 0;
  /** The peer of a connected socket (0 when not connected). */
  remoteAddress: Ipv4Addr = 0;
  remotePort = 0;
  /** SO_BINDTODEVICE. */
  boundDevice: NetworkInterface | undefined;
  reuseAddr = false;
  reusePort = false;
  /** Called after an entry that queued datagrams (once per entry). */
  onReadable: (() => void) | undefined;
  /** ICMP errors about datagrams of a connected socket (Linux reports none to unconnected ones). */
  onError: ((err: ErrnoError) => void) | undefined;
  /** The path MTU last reported by "fragmentation needed" (RFC 1191), 0 when none was. */
  pathMtu = 0;
  /** Datagrams dropped because the receive queue was full. */
  drops = 0;
  /** The ICMP error waiting to be reported (like Linux's sk_err). */
  pendingError: ErrnoError | undefined;

  private queue: UdpDatagram[] = [];
  private head = 0;
  private queuedCost = 0;
  private rcvbuf = DEFAULT_SOCKET_BUFFER;
  private sndbuf = DEFAULT_SOCKET_BUFFER;
  private broadcast = false;
  private ttl: number | undefined;
  private tos = 0;
  private multicastTtl = 1;
  private multicastLoop = true;
  private multicastIf: NetworkInterface | undefined;
  private readonly memberships: Array<{ iface: NetworkInterface; group: Ipv4Addr }> = [];
  /** Whether the address and the port were chosen by `bind` (kept by `disconnect`) or implicitly. */
  private addrByUser = false;
  private portByUser = false;
  private closed = false;

  constructor(private readonly layer: UdpLayer) {}

  // ---- addressing ----

  /**
   * Binds to `port` (0: an ephemeral one, RFC 6056 3.3.1) on `addr` (0: every address). The address
   * must be ours, loopback, multicast or broadcast (EADDRNOTAVAIL); the port must not clash with
   * another socket's binding (EADDRINUSE, see `PortTable.conflicts`).
   */
  bind(port = 0, addr: Ipv4Addr = 0, options: UdpBindOptions = {}): void {
    this.checkOpen();
    if (this.localPort !== 0) throw errno('EINVAL', 'socket is already bound');
    checkPort(port, true);
    if (addr !== 0 && !this.bindable(addr)) {
      throw errno('EADDRNOTAVAIL', `${ipv4ToString(addr)} is not a local address`);
    }
    this.reuseAddr = options.reuseAddr ?? false;
    this.reusePort = options.reusePort ?? false;
    this.claim(addr, port);
    this.addrByUser = addr !== 0;
    this.portByUser = port !== 0;
  }

  /**
   * Sets the peer: only its datagrams are received, and `send` needs no address. Binds first when
   * needed, to the source address of the route and a port from RFC 6056 Algorithm 3.
   */
  connect(addr: Ipv4Addr, port: number): void {
    this.checkOpen();
    checkPort(port, false);
    if (addr === 0) throw errno('EINVAL', 'cannot connect to 0.0.0.0');
    const path = this.route(addr);
    if (this.localPort === 0) this.claim(this.localAddress || path.src, 0, addr, port);
    else if (this.localAddress === 0) this.localAddress = path.src;
    this.remoteAddress = addr;
    this.remotePort = port;
  }

  /** Forgets the peer; an address or port bound implicitly by `connect` is released too. */
  disconnect(): void {
    this.checkOpen();
    if (this.remoteAddress === 0) throw errno('ENOTCONN', 'socket is not connected');
    this.remoteAddress = 0;
    this.remotePort = 0;
    if (!this.addrByUser) this.localAddress = 0;
    if (!this.portByUser) this.unbind();
  }

  /** SO_BINDTODEVICE: send and receive on `iface` only (undefined: any). */
  bindToDevice(iface: NetworkInterface | undefined): void {
    this.checkOpen();
    this.boundDevice = iface;
  }

  // ---- sending ----

  /**
   * Sends one datagram to `addr`:`port`, or to the peer of a connected socket. Binds to an
   * ephemeral port first when needed. Errors: EDESTADDRREQ (no address, not connected), EISCONN
   * (an address on a connected socket), EMSGSIZE (over 65507 bytes), ENOBUFS (over the send
   * buffer), EACCES (broadcast without `setBroadcast(true)`), and the route's errors.
   */
  send(data: Uint8Array, addr?: Ipv4Addr, port?: number): void {
    this.checkOpen();
    let dst: Ipv4Addr;
    let dstPort: number;
    if (addr === undefined) {
      if (this.remoteAddress === 0) throw errno('EDESTADDRREQ', 'no destination address');
      dst = this.remoteAddress;
      dstPort = this.remotePort;
    } else {
      if (this.remoteAddress !== 0) throw errno('EISCONN', 'socket is connected: send without an address');
      if (port === undefined) throw errno('EINVAL', 'no destination port');
      checkPort(port, false);
      dst = addr;
      dstPort = port;
    }
    if (data.length > MAX_UDP_PAYLOAD) throw errno('EMSGSIZE', `${data.length} bytes > ${MAX_UDP_PAYLOAD}`);
    if (data.length > this.sndbuf)
      throw errno('ENOBUFS', `${data.length} bytes > send buffer ${this.sndbuf}`);
    const stack = this.layer.stack;
    stack.run(() => {
      if (this.localPort === 0) this.claim(this.localAddress, 0);
      const path = this.route(dst);
      const pb = PacketBuffer.from(data, MAX_HEADROOM);
      emitUdp(
        pb,
        this.localPort,
        dstPort,
        path.iface.link.capabilities?.noChecksums ? { kind: 'none' } : { kind: 'v4', src: path.src, dst },
      );
      const multicast = ipv4IsMulticast(dst);
      // RFC 1122 4.1.4: UDP passes TTL and TOS through to IP; UDP datagrams may fragment (no DF).
      const error = stack.ipv4.send(
        path,
        {
          dst,
          protocol: IP_PROTOCOL_UDP,
          tos: this.tos,
          ...(multicast ? { ttl: this.multicastTtl, multicastLoop: this.multicastLoop } : {}),
          ...(!multicast && this.ttl !== undefined ? { ttl: this.ttl } : {}),
        },
        pb,
      );
      if (error !== undefined) throw errno(error, `send to ${ipv4ToString(dst)}`);
      this.layer.txDatagrams.value++;
    });
  }

  /** The route to `dst` from this socket (bound device, multicast interface, bound address). */
  private route(dst: Ipv4Addr): Ipv4Path {
    const iface = this.boundDevice ?? (ipv4IsMulticast(dst) ? this.multicastIf : undefined);
    // A socket bound to a multicast or broadcast address sends from the route's address.
    const src = this.bindableUnicast(this.localAddress) ? this.localAddress : undefined;
    const path = this.layer.stack.ipv4.route(dst, { ...(iface ? { iface } : {}), ...(src ? { src } : {}) });
    if (typeof path === 'string') throw errno(path, `no route to ${ipv4ToString(dst)}`);
    // RFC 1122 4.1.3.5 leaves broadcast to the application; like BSD and Linux, it must ask (SO_BROADCAST).
    if ((path.broadcast || dst === IPV4_BROADCAST) && !this.broadcast) {
      throw errno('EACCES', `${ipv4ToString(dst)} is a broadcast address`);
    }
    return path;
  }

  // ---- receiving ----

  /** The oldest queued datagram, or undefined when none is. */
  recv(): UdpDatagram | undefined {
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

  /** Queues a received datagram (called by the layer); false when the queue is full. */
  enqueue(ip: Ipv4View, udp: UdpView, iface: NetworkInterface): boolean {
    const payload = udp.payload;
    const cost = payload.length + DATAGRAM_OVERHEAD;
    if (this.queuedCost + cost > this.rcvbuf) {
      this.drops++;
      return false;
    }
    this.queuedCost += cost;
    this.queue.push({
      data: payload.slice(),
      address: ip.src,
      port: udp.srcPort,
      iface,
      dst: ip.dst,
      ttl: ip.ttl,
    });
    return true;
  }

  /**
   * An ICMP error about a datagram this socket sent (called by the layer). The MTU of
   * "fragmentation needed" is kept; the error is reported to a connected socket only, as Linux
   * does without IP_RECVERR. Returns true when it is reported.
   */
  icmpError(report: Ipv4ErrorReport): boolean {
    const fragNeeded = report.type === ICMPV4_DEST_UNREACHABLE && report.code === UNREACH_FRAG_NEEDED;
    if (fragNeeded && report.mtu > 0) this.pathMtu = report.mtu;
    if (this.remoteAddress === 0) return false;
    const code = icmpv4Errno(report.type, report.code);
    const err = errno(
      code,
      `ICMP type ${report.type} code ${report.code} from ${ipv4ToString(report.reporter)}`,
    );
    this.pendingError = fragNeeded ? Object.assign(err, { mtu: report.mtu }) : err;
    return true;
  }

  // ---- options ----

  /** SO_BROADCAST: allow sending to broadcast addresses. */
  setBroadcast(on: boolean): void {
    this.checkOpen();
    this.broadcast = on;
  }

  /** IP_TTL for unicast (1..255). */
  setTtl(ttl: number): void {
    this.checkOpen();
    this.ttl = checkByte(ttl, 1, 'TTL');
  }

  /** IP_TOS. */
  setTos(tos: number): void {
    this.checkOpen();
    this.tos = checkByte(tos, 0, 'TOS');
  }

  /** IP_MULTICAST_TTL (0..255, default 1: the local network only). */
  setMulticastTtl(ttl: number): void {
    this.checkOpen();
    this.multicastTtl = checkByte(ttl, 0, 'multicast TTL');
  }

  /** IP_MULTICAST_LOOP: deliver our own multicast to this host's sockets too (default on). */
  setMulticastLoopback(on: boolean): void {
    this.checkOpen();
    this.multicastLoop = on;
  }

  /** IP_MULTICAST_IF: the interface multicast leaves from (undefined: the route's). */
  setMulticastInterface(iface: NetworkInterface | undefined): void {
    this.checkOpen();
    this.multicastIf = iface;
  }

  /**
   * IP_ADD_MEMBERSHIP: joins `group` on `iface`, or on the interface of the route to the group.
   * EADDRINUSE when already joined there, ENOBUFS past MAX_MEMBERSHIPS.
   */
  addMembership(group: Ipv4Addr, iface?: NetworkInterface): void {
    this.checkOpen();
    if (!ipv4IsMulticast(group)) throw errno('EINVAL', `${ipv4ToString(group)} is not multicast`);
    const on = iface ?? this.groupInterface(group);
    if (this.memberships.some((m) => m.iface === on && m.group === group)) {
      throw errno('EADDRINUSE', `already a member of ${ipv4ToString(group)} on ${on.name}`);
    }
    if (this.memberships.length >= MAX_MEMBERSHIPS) throw errno('ENOBUFS', 'too many memberships');
    this.layer.stack.run(() => this.layer.stack.ipv4.joinGroup(on, group));
    this.memberships.push({ iface: on, group });
  }

  /** IP_DROP_MEMBERSHIP: leaves a group joined with `addMembership` (EADDRNOTAVAIL otherwise). */
  dropMembership(group: Ipv4Addr, iface?: NetworkInterface): void {
    this.checkOpen();
    const i = this.memberships.findIndex(
      (m) => m.group === group && (iface === undefined || m.iface === iface),
    );
    if (i < 0) throw errno('EADDRNOTAVAIL', `not a member of ${ipv4ToString(group)}`);
    const [m] = this.memberships.splice(i, 1);
    this.layer.stack.run(() => this.layer.stack.ipv4.leaveGroup(m!.iface, group));
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
    const stack = this.layer.stack;
    stack.run(() => {
      for (const m of this.memberships) stack.ipv4.leaveGroup(m.iface, m.group);
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

  /** Takes `port` (0: an ephemeral one, by Algorithm 3 when `peer` is given) on `addr`. */
  private claim(addr: Ipv4Addr, port: number, peer?: Ipv4Addr, peerPort = 0): void {
    const table = this.layer.table;
    const candidate = {
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
    this.localAddress = 0;
  }

  private bindable(addr: Ipv4Addr): boolean {
    const ipv4 = this.layer.stack.ipv4;
    return (
      this.bindableUnicast(addr) ||
      ipv4IsMulticast(addr) ||
      addr === IPV4_BROADCAST ||
      ipv4.isDirectedBroadcast(addr)
    );
  }

  private bindableUnicast(addr: Ipv4Addr): boolean {
    return addr !== 0 && (this.layer.stack.ipv4.isLocal(addr) || ipv4IsLoopback(addr));
  }

  /** Like Linux's ip_mc_find_dev: the interface of the route to the group. */
  private groupInterface(group: Ipv4Addr): NetworkInterface {
    const path = this.layer.stack.ipv4.route(group);
    if (typeof path === 'string') throw errno('ENODEV', `no interface for ${ipv4ToString(group)}`);
    return path.iface;
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
