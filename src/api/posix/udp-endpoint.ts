/**
 * A SOCK_DGRAM descriptor over the core's `UdpSocket` of its family (AF_INET6 sockets are
 * dual-stack unless IPV6_V6ONLY): sendto/recvfrom with MSG_PEEK (the peeked datagram is held here
 * until a normal receive takes it) and truncation, connect and AF_UNSPEC disconnect, shutdown
 * flags, and the options pushed to the core socket.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import { type IpAddr, v4Mapped } from '../../core/ip-address.ts';
import { DEFAULT_HOP_LIMIT } from '../../core/ip6/ipv6.ts';
import type { Stack } from '../../core/stack.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import type { Ipv4Addr } from '../../wire/address.ts';
import { bindScoped } from '../scoped-address.ts';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_UDP,
  MSG_TRUNC,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_WR,
  SOCK_DGRAM,
} from './constants.ts';
import { Endpoint, type EndpointContext, type OptionKey, type Received } from './endpoint.ts';
import { anySockAddr, type IpSockAddr, type SockAddr, toSockAddr } from './sockaddr.ts';
import { fail } from './socket-error.ts';

export class UdpEndpoint extends Endpoint {
  readonly type = SOCK_DGRAM;
  readonly protocol = IPPROTO_UDP;
  readonly core: UdpSocket<IpAddr>;
  /** A datagram returned by MSG_PEEK, delivered again by the next receive. */
  private peeked: UdpDatagram<IpAddr> | undefined;
  /** The interface of a connected link-local peer (its sin6_scope_id). */
  private peerScope: NetworkInterface | undefined;

  constructor(ctx: EndpointContext, family: typeof AF_INET | typeof AF_INET6 = AF_INET) {
    super(ctx, family);
    this.core = ctx.stack.udp.open({ family: family === AF_INET6 ? 6 : 4 });
    this.core.onReadable = () => ctx.wake();
    this.core.onError = (err) => {
      this.error = err.code;
      ctx.wake();
    };
  }

  get listening(): boolean {
    return false;
  }

  /** A link-local address binds the socket to its scope's interface, as Linux's inet6_bind. */
  bind(local: IpSockAddr): void {
    bindScoped(
      this.stack,
      this.core,
      local.port,
      { addr: local.addr, scope: local.scope },
      {
        reuseAddr: this.opts.reuseAddr,
        reusePort: this.opts.reusePort,
      },
    );
  }

  connect(remote: IpSockAddr | undefined): void {
    if (remote === undefined) {
      if (this.core.remotePort !== 0) this.core.disconnect();
      this.peerScope = undefined;
      return;
    }
    this.core.connect(remote.addr, remote.port, remote.scope);
    this.peerScope = remote.scope;
  }

  listen(): void {
    fail('EOPNOTSUPP', 'listen', 'datagram socket');
  }

  accept(): { ep: Endpoint; peer: SockAddr } | undefined {
    return fail('EOPNOTSUPP', 'accept', 'datagram socket');
  }

  send(data: Uint8Array, to: IpSockAddr | undefined): number {
    if (this.shutWr) fail('EPIPE', 'send', 'shut down for writing');
    // Linux reports a pending ICMP error to the next send of a connected socket too.
    this.throwPending('send');
    if (to === undefined) this.core.send(data);
    else this.core.send(data, to.addr, to.port, to.scope);
    return data.length;
  }

  recv(max: number, peek: boolean): Received {
    this.throwPending('recv');
    const d = this.peeked ?? this.core.recv();
    if (d === undefined) {
      if (this.shutRd) return { data: new Uint8Array(0), from: undefined, flags: 0 };
      return fail('EAGAIN', 'recv', 'no datagram queued');
    }
    this.peeked = peek ? d : undefined;
    const truncated = d.data.length > max;
    return {
      data: truncated ? d.data.slice(0, max) : peek ? d.data.slice() : d.data,
      from: toSockAddr(d.address, d.port, d.iface),
      flags: truncated ? MSG_TRUNC : 0,
    };
  }

  shutdown(how: number): void {
    // Linux: an unconnected datagram socket is not connected to shut down.
    if (this.core.remotePort === 0) fail('ENOTCONN', 'shutdown', 'socket is not connected');
    if (how !== SHUT_WR) this.shutRd = true;
    if (how !== SHUT_RD) this.shutWr = true;
  }

  close(): void {
    this.peeked = undefined;
    this.core.close();
  }

  sockname(): SockAddr {
    const core = this.core;
    if (core.localPort === 0) return anySockAddr(this.family);
    return toSockAddr(core.localAddress, core.localPort, core.boundDevice ?? this.peerScope);
  }

  peername(): SockAddr {
    const core = this.core;
    if (core.remotePort === 0) fail('ENOTCONN', 'getpeername', 'socket is not connected');
    return toSockAddr(core.remoteAddress, core.remotePort, this.peerScope ?? core.boundDevice);
  }

  revents(): number {
    // A datagram socket can always send (the datagram is handed to IP at once).
    let m = POLLOUT;
    if (this.peeked !== undefined || this.core.queued > 0) m |= POLLIN;
    if (this.shutRd) m |= POLLIN | POLLRDHUP;
    if (this.shutRd && this.shutWr) m |= POLLHUP;
    if (this.error !== undefined) m |= POLLERR;
    return m;
  }

  bufferSize(which: 'rcvbuf' | 'sndbuf'): number {
    return which === 'rcvbuf' ? this.core.recvBufferSize : this.core.sendBufferSize;
  }

  applyOption(key: OptionKey): void {
    const o = this.opts;
    const core = this.core;
    const stack = this.ctx.stack;
    switch (key) {
      case 'broadcast':
        core.setBroadcast(o.broadcast);
        break;
      case 'rcvbuf':
        core.setRecvBufferSize(o.rcvbuf!);
        break;
      case 'sndbuf':
        core.setSendBufferSize(o.sndbuf!);
        break;
      case 'bindToDevice':
        core.bindToDevice(o.bindToDevice === '' ? undefined : ifaceByName(stack, o.bindToDevice));
        break;
      case 'ttl':
        core.setTtl(o.ttl ?? this.defaultTtl);
        break;
      case 'tos':
        core.setTos(o.tos);
        break;
      case 'multicastTtl':
        core.setMulticastTtl(o.multicastTtl);
        break;
      case 'multicastLoop':
        core.setMulticastLoopback(o.multicastLoop);
        break;
      case 'multicastIf':
        core.setMulticastInterface(o.multicastIf === 0 ? undefined : ifaceByAddress(stack, o.multicastIf));
        break;
      case 'multicastIf6':
        core.setMulticastInterface(o.multicastIf6 === 0 ? undefined : stack.getInterface(o.multicastIf6));
        break;
      case 'v6Only':
        core.setV6Only(o.v6Only);
        break;
      // SO_REUSEADDR, SO_REUSEPORT: read by the next bind; the TCP options: no meaning here.
    }
  }

  /** The TTL or hop limit when none is set: the stack's IPv4 default, or IPv6's. */
  get defaultTtl(): number {
    return this.family === AF_INET6
      ? (this.stack.ipv6?.defaultHopLimit ?? DEFAULT_HOP_LIMIT)
      : this.stack.ipv4.defaultTtl;
  }

  /** IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP (by the mapped group on AF_INET6), IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP. */
  membership(join: boolean, group: IpAddr, iface: NetworkInterface | undefined): void {
    const g = this.family === AF_INET6 && typeof group === 'number' ? v4Mapped(group) : group;
    if (join) this.core.addMembership(g, iface);
    else this.core.dropMembership(g, iface);
  }
}

/** The interface named `name` (ENODEV when there is none). */
export function ifaceByName(stack: Stack, name: string): NetworkInterface {
  return stack.getInterface(name) ?? fail('ENODEV', 'setsockopt', `no interface ${name}`);
}

/** The interface holding the local address `addr` (EADDRNOTAVAIL when none does). */
export function ifaceByAddress(stack: Stack, addr: Ipv4Addr): NetworkInterface {
  const a = stack.ipv4.listAddresses().find((x) => x.addr === addr);
  return a?.iface ?? fail('EADDRNOTAVAIL', 'setsockopt', 'not a local address');
}
