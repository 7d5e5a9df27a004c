/**
 * A SOCK_DGRAM descriptor over the core's `UdpSocket`: sendto/recvfrom with MSG_PEEK (the peeked
 * datagram is held here until a normal receive takes it) and truncation, connect and AF_UNSPEC
 * disconnect, shutdown flags, and the options pushed to the core socket.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Stack } from '../../core/stack.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import type { Ipv4Addr } from '../../wire/address.ts';
import {
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
import { ANY_SOCKADDR, type InetAddr, type SockAddr, toSockAddr } from './sockaddr.ts';
import { fail } from './socket-error.ts';

export class UdpEndpoint extends Endpoint {
  readonly type = SOCK_DGRAM;
  readonly protocol = IPPROTO_UDP;
  readonly core: UdpSocket;
  /** A datagram returned by MSG_PEEK, delivered again by the next receive. */
  private peeked: UdpDatagram | undefined;

  constructor(ctx: EndpointContext) {
    super(ctx);
    this.core = ctx.stack.udp.open();
    this.core.onReadable = () => ctx.wake();
    this.core.onError = (err) => {
      this.error = err.code;
      ctx.wake();
    };
  }

  get listening(): boolean {
    return false;
  }

  bind(local: InetAddr): void {
    this.core.bind(local.port, local.addr, {
      reuseAddr: this.opts.reuseAddr,
      reusePort: this.opts.reusePort,
    });
  }

  connect(remote: InetAddr | undefined): void {
    if (remote === undefined) {
      if (this.core.remoteAddress !== 0) this.core.disconnect();
      return;
    }
    this.core.connect(remote.addr, remote.port);
  }

  listen(): void {
    fail('EOPNOTSUPP', 'listen', 'datagram socket');
  }

  accept(): { ep: Endpoint; peer: SockAddr } | undefined {
    return fail('EOPNOTSUPP', 'accept', 'datagram socket');
  }

  send(data: Uint8Array, to: InetAddr | undefined): number {
    if (this.shutWr) fail('EPIPE', 'send', 'shut down for writing');
    // Linux reports a pending ICMP error to the next send of a connected socket too.
    this.throwPending('send');
    if (to === undefined) this.core.send(data);
    else this.core.send(data, to.addr, to.port);
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
      from: toSockAddr(d.address, d.port),
      flags: truncated ? MSG_TRUNC : 0,
    };
  }

  shutdown(how: number): void {
    // Linux: an unconnected datagram socket is not connected to shut down.
    if (this.core.remoteAddress === 0) fail('ENOTCONN', 'shutdown', 'socket is not connected');
    if (how !== SHUT_WR) this.shutRd = true;
    if (how !== SHUT_RD) this.shutWr = true;
  }

  close(): void {
    this.peeked = undefined;
    this.core.close();
  }

  sockname(): SockAddr {
    return this.core.localPort === 0
      ? { ...ANY_SOCKADDR }
      : toSockAddr(this.core.localAddress, this.core.localPort);
  }

  peername(): SockAddr {
    if (this.core.remoteAddress === 0) fail('ENOTCONN', 'getpeername', 'socket is not connected');
    return toSockAddr(this.core.remoteAddress, this.core.remotePort);
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
        core.setTtl(o.ttl ?? stack.ipv4.defaultTtl);
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
      // SO_REUSEADDR, SO_REUSEPORT: read by the next bind; the TCP options: no meaning here.
    }
  }

  /** IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP. */
  membership(join: boolean, group: Ipv4Addr, iface: NetworkInterface | undefined): void {
    if (join) this.core.addMembership(group, iface);
    else this.core.dropMembership(group, iface);
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
