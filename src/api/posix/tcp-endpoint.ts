/**
 * A SOCK_STREAM descriptor over the core's TCP: nothing but options and a binding until `listen`
 * makes a `TcpListener` or `connect` a `TcpSocket`. Non-blocking like every socket of this API:
 * connect answers EINPROGRESS and its outcome is seen through POLLOUT and SO_ERROR (or by calling
 * connect again), send accepts what fits in the send buffer, recv returns what has arrived.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import { type IpAddr, ipAny, ipAsV4, ipEqual, ipIsUnspecified, isV4Mapped } from '../../core/ip-address.ts';
import type { TcpListener } from '../../core/tcp/listener.ts';
import { DEFAULT_MSS, DEFAULT_RECEIVE_BUFFER, DEFAULT_SEND_BUFFER } from '../../core/tcp/tcb.ts';
import type { TcpInfo } from '../../core/tcp/tcp-info.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import { type Ipv6Addr, ipv4IsLoopback } from '../../wire/address.ts';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_TCP,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SHUT_RD,
  SHUT_WR,
  SOCK_STREAM,
} from './constants.ts';
import { Endpoint, type EndpointContext, type OptionKey, type Received } from './endpoint.ts';
import { anySockAddr, type IpSockAddr, needsScope, type SockAddr, toSockAddr } from './sockaddr.ts';
import { fail } from './socket-error.ts';
import type { TcpBinding } from './tcp-bind-table.ts';

/** The options a connection is given when it is made (connect, accept). */
const CONNECTION_OPTIONS: readonly OptionKey[] = [
  'keepAlive',
  'linger',
  'rcvbuf',
  'sndbuf',
  'noDelay',
  'userTimeout',
  'congestion',
];

const NO_DATA = new Uint8Array(0);

export class TcpEndpoint extends Endpoint implements TcpBinding {
  readonly type = SOCK_STREAM;
  readonly protocol = IPPROTO_TCP;
  /** The local address (in the socket's family) and port, once bound (bind, listen's implicit bind, or connect). */
  localAddress: IpAddr;
  localPort = 0;
  /** The interface a link-local bind or connect scoped the socket to. */
  private scope: NetworkInterface | undefined;
  listener: TcpListener | undefined;
  conn: TcpSocket | undefined;
  /** connect was called and its outcome not yet taken by a second connect. */
  private connecting = false;
  /** The connection is gone (the core's onClose ran). */
  private finished = false;
  /** Bytes read from the core by MSG_PEEK, returned first by the next receive. */
  private peeked: Uint8Array | undefined;
  /** Whether this socket holds an entry of the bind table. */
  private inTable = false;

  constructor(
    ctx: EndpointContext,
    family: typeof AF_INET | typeof AF_INET6 = AF_INET,
    accepted?: { conn: TcpSocket; opts: Endpoint['opts'] },
  ) {
    super(ctx, family);
    this.localAddress = ipAny(family === AF_INET6 ? 6 : 4);
    if (accepted !== undefined) {
      // Like Linux, an accepted socket inherits the listener's options.
      this.opts = structuredClone(accepted.opts);
      this.adopt(accepted.conn);
      for (const key of CONNECTION_OPTIONS) this.applyOption(key);
    }
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }
  get reuseAddr(): boolean {
    return this.opts.reuseAddr;
  }
  get reusePort(): boolean {
    return this.opts.reusePort;
  }

  /** A link-local address needs a scope and scopes the socket to it (as Linux's inet6_bind). */
  bind(local: IpSockAddr): void {
    if (this.localPort !== 0 || this.conn !== undefined) fail('EINVAL', 'bind', 'socket is already bound');
    const addr = local.addr;
    if (this.v6Only && typeof addr !== 'number' && isV4Mapped(addr)) {
      fail('EINVAL', 'bind', 'an IPV6_V6ONLY socket cannot bind an IPv4-mapped address');
    }
    if (needsScope(addr) && local.scope === undefined)
      fail('EINVAL', 'bind', 'a link-local address needs a scope');
    if (!ipIsUnspecified(addr) && !this.isLocal(addr, local.scope)) {
      fail('EADDRNOTAVAIL', 'bind', 'not a local address');
    }
    this.claim(addr, local.port, 'bind');
    if (needsScope(addr)) this.scope = local.scope;
  }

  /** One of our addresses (IPv4 ones as themselves or mapped), on `scope` when given. */
  private isLocal(addr: IpAddr, scope: NetworkInterface | undefined): boolean {
    const stack = this.ctx.stack;
    const v4 = ipAsV4(addr);
    if (v4 !== undefined) return stack.ipv4.isLocal(v4) || ipv4IsLoopback(v4);
    const a = addr as Ipv6Addr;
    if (scope === undefined) return stack.ipv6?.isLocal(a) ?? false;
    return stack.ipv6?.listAddresses(scope).some((x) => ipEqual(x.addr, a)) ?? false;
  }

  private claim(addr: IpAddr, port: number, call: string): void {
    const table = this.ctx.tcpBindings;
    const { reuseAddr, reusePort, v6Only } = this.opts;
    let chosen: number | undefined = port;
    if (port === 0) {
      chosen = table.ephemeral(this.ctx.stack.tcp.ports, addr, v6Only, reuseAddr, reusePort);
      if (chosen === undefined) fail('EADDRINUSE', call, 'no free ephemeral port');
    } else if (table.conflicts(addr, v6Only, port, reuseAddr, reusePort)) {
      fail('EADDRINUSE', call, `port ${port} is in use`);
    }
    this.localAddress = addr;
    this.localPort = chosen;
    table.add(this);
    this.inTable = true;
  }

  connect(remote: IpSockAddr | undefined): void {
    if (this.listener !== undefined) fail('EISCONN', 'connect', 'socket is listening');
    if (remote === undefined) fail('EAFNOSUPPORT', 'connect', 'AF_UNSPEC on a stream socket');
    if (this.conn !== undefined) {
      if (!this.connecting) fail('EISCONN', 'connect', 'socket is connected');
      // The outcome of the connect in progress (Linux's __inet_stream_connect).
      if (this.finished) {
        this.reset();
        fail(this.takeError() ?? 'ECONNABORTED', 'connect');
      }
      if (this.conn.state === 'SYN-SENT') fail('EALREADY', 'connect', 'connection in progress');
      this.connecting = false;
      return;
    }
    const o = this.opts;
    const conn = this.ctx.stack.tcp.connect({
      address: remote.addr,
      port: remote.port,
      family: this.family === AF_INET6 ? 6 : 4,
      v6Only: this.v6Only,
      ...(this.scope !== undefined ? { device: this.scope } : {}),
      ...(remote.scope !== undefined ? { scope: remote.scope } : {}),
      ...(!ipIsUnspecified(this.localAddress) ? { localAddress: this.localAddress } : {}),
      ...(this.localPort !== 0 ? { localPort: this.localPort } : {}),
      noDelay: o.noDelay,
      ...(o.congestion !== undefined ? { congestionControl: o.congestion } : {}),
    });
    this.adopt(conn);
    this.scope ??= remote.scope;
    for (const key of CONNECTION_OPTIONS)
      if (key !== 'noDelay' && key !== 'congestion') this.applyOption(key);
    this.connecting = true;
    fail('EINPROGRESS', 'connect', 'connection in progress');
  }

  /** Forgets a failed connection so that connect may start another. */
  private reset(): void {
    this.conn = undefined;
    this.connecting = false;
    this.finished = false;
    this.peeked = undefined;
    this.shutRd = false;
    this.shutWr = false;
  }

  private adopt(conn: TcpSocket): void {
    const wake = () => this.ctx.wake();
    this.conn = conn;
    conn.onConnect = wake;
    conn.onReadable = wake;
    conn.onWritable = wake;
    conn.onEnd = wake;
    conn.onClose = (err) => {
      this.finished = true;
      if (err !== undefined) this.error = (err as Error & { code: string }).code;
      wake();
    };
    if (conn.state === 'CLOSED') {
      // Gone before it was accepted: its onClose has run already. A write on a closed connection
      // throws the error it ended with (EPIPE when it ended normally), without side effects.
      this.finished = true;
      try {
        conn.write(NO_DATA);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== undefined && code !== 'EPIPE') this.error = code;
      }
    }
  }

  listen(backlog: number): void {
    if (this.conn !== undefined) fail('EINVAL', 'listen', 'socket is connected');
    if (this.listener !== undefined) return;
    if (this.localPort === 0) this.claim(this.localAddress, 0, 'listen');
    else if (
      this.ctx.tcpBindings.conflicts(
        this.localAddress,
        this.opts.v6Only,
        this.localPort,
        this.opts.reuseAddr,
        this.opts.reusePort,
        this,
      )
    ) {
      // Sockets sharing a port through SO_REUSEADDR: one of them may listen (as Linux).
      fail('EADDRINUSE', 'listen', `port ${this.localPort} is in use`);
    }
    const l = this.ctx.stack.tcp.listen({
      port: this.localPort,
      address: this.localAddress,
      family: this.family === AF_INET6 ? 6 : 4,
      v6Only: this.v6Only,
      ...(this.scope !== undefined ? { device: this.scope } : {}),
      backlog,
    });
    l.onConnection = () => this.ctx.wake();
    this.listener = l;
  }

  accept(): { ep: Endpoint; peer: SockAddr } | undefined {
    if (this.listener === undefined) fail('EINVAL', 'accept', 'socket is not listening');
    const conn = this.listener.accept();
    if (conn === undefined) return undefined;
    // The peer is known even if the connection was reset while it waited (as Linux's accept).
    const peer = toSockAddr(conn.remoteAddress, conn.remotePort, this.scope);
    const ep = new TcpEndpoint(this.ctx, this.family, { conn, opts: this.opts });
    ep.scope = this.scope;
    return { ep, peer };
  }

  send(data: Uint8Array, to: IpSockAddr | undefined): number {
    const conn = this.conn;
    if (conn === undefined) fail('ENOTCONN', 'send', 'socket is not connected');
    if (to !== undefined) fail('EISCONN', 'sendto', 'stream socket: no address');
    this.throwPending('send');
    if (this.shutWr || this.finished || conn.state === 'CLOSED')
      fail('EPIPE', 'send', 'cannot send any more');
    if (conn.state === 'SYN-SENT' || conn.state === 'SYN-RECEIVED')
      fail('EAGAIN', 'send', 'not connected yet');
    if (data.length === 0) return 0;
    const room = conn.writableLength;
    if (room === 0) {
      // A write the core refuses makes it report the next free space (onWritable): poll needs it.
      conn.write(data.subarray(0, 1));
      fail('EAGAIN', 'send', 'send buffer is full');
    }
    // The core keeps the chunk until acknowledged: it gets a copy. A chunk that would fill the
    // buffer exactly is given one byte more than fits, so that the core reports the space freed.
    if (data.length < room) return conn.write(data.slice());
    const chunk = new Uint8Array(room + 1);
    chunk.set(data.subarray(0, room));
    return conn.write(chunk);
  }

  recv(max: number, peek: boolean): Received {
    const conn = this.conn;
    if (conn === undefined) fail('ENOTCONN', 'recv', 'socket is not connected');
    const data = max === 0 ? NO_DATA : this.take(conn, max, peek);
    if (data !== undefined) return { data, from: undefined, flags: 0 };
    this.throwPending('recv');
    if (this.shutRd || this.finished || conn.readableEnded)
      return { data: NO_DATA, from: undefined, flags: 0 };
    return fail('EAGAIN', 'recv', 'no data');
  }

  /** Up to `max` bytes: the peeked ones first, then the core's. */
  private take(conn: TcpSocket, max: number, peek: boolean): Uint8Array | undefined {
    const held = this.peeked;
    if (peek) {
      const want = max - (held?.length ?? 0);
      const more = want > 0 ? conn.read(want) : undefined;
      this.peeked = more === undefined ? held : held === undefined ? more : concat(held, more);
      return this.peeked?.slice(0, max);
    }
    if (held === undefined) return conn.read(max);
    this.peeked = held.length > max ? held.subarray(max) : undefined;
    const first = held.subarray(0, max);
    const more = first.length < max ? conn.read(max - first.length) : undefined;
    return more === undefined ? first : concat(first, more);
  }

  shutdown(how: number): void {
    if (this.listener !== undefined) {
      // Linux: shutting down a listener's receive side stops it listening.
      if (how !== SHUT_WR) {
        this.listener.close();
        this.listener = undefined;
      }
      return;
    }
    const conn = this.conn;
    if (conn === undefined || this.finished || conn.state === 'CLOSED') {
      fail('ENOTCONN', 'shutdown', 'socket is not connected');
    }
    if (how !== SHUT_WR) this.shutRd = true;
    if (how !== SHUT_RD && !this.shutWr) {
      this.shutWr = true;
      conn.shutdown();
    }
  }

  close(): void {
    this.listener?.close();
    this.listener = undefined;
    this.conn?.close();
    this.peeked = undefined;
    if (this.inTable) this.ctx.tcpBindings.remove(this);
    this.inTable = false;
  }

  sockname(): SockAddr {
    const conn = this.conn;
    if (conn !== undefined && !this.finished)
      return toSockAddr(conn.localAddress, conn.localPort, this.scope);
    if (this.localPort === 0) return anySockAddr(this.family);
    return toSockAddr(this.localAddress, this.localPort, this.scope);
  }

  peername(): SockAddr {
    const conn = this.conn;
    const s = conn?.state;
    if (conn === undefined || this.finished || s === 'CLOSED' || s === 'SYN-SENT') {
      fail('ENOTCONN', 'getpeername', 'socket is not connected');
    }
    return toSockAddr(conn.remoteAddress, conn.remotePort, this.scope);
  }

  revents(): number {
    let m = this.error !== undefined ? POLLERR : 0;
    if (this.listener !== undefined) return m | (this.listener.queued > 0 ? POLLIN : 0);
    const conn = this.conn;
    // Linux reports a socket with no connection as writable and hung up (tcp_poll, TCP_CLOSE).
    if (conn === undefined) return m | POLLOUT | POLLHUP;
    const s = conn.state;
    if (s === 'SYN-SENT' || s === 'SYN-RECEIVED') return m;
    if (this.finished || s === 'CLOSED') return m | POLLIN | POLLRDHUP | POLLOUT | POLLHUP;
    const eof = this.shutRd || (conn.readableEnded && this.peeked === undefined);
    if (eof || this.peeked !== undefined || conn.readableLength > 0) m |= POLLIN;
    if (eof) m |= POLLRDHUP;
    // After SHUT_WR a send fails at once (EPIPE), so it does not block: POLLOUT, as Linux.
    if (this.shutWr || conn.writableLength > 0) m |= POLLOUT;
    if (this.shutWr && eof) m |= POLLHUP;
    return m;
  }

  bufferSize(which: 'rcvbuf' | 'sndbuf'): number {
    const o = this.opts;
    if (which === 'sndbuf') return o.sndbuf ?? DEFAULT_SEND_BUFFER;
    if (o.rcvbuf !== undefined) return o.rcvbuf;
    return this.conn?.info().rcvSpace ?? DEFAULT_RECEIVE_BUFFER;
  }

  /** TCP_CONGESTION: the connection's algorithm, else the one it will get. */
  get congestionName(): string {
    const conn = this.conn;
    if (conn !== undefined && !this.finished) return conn.info().congestionControl;
    return this.opts.congestion ?? this.ctx.stack.tcp.congestionControl;
  }

  /** TCP_MAXSEG: the connection's send MSS, else the RFC 9293 default (as Linux's TCP_MSS_DEFAULT). */
  get maxSeg(): number {
    return this.conn?.info().sndMss ?? DEFAULT_MSS;
  }

  /** TCP_INFO: the connection's `info()` (ENOTCONN without one, see docs/posix.md). */
  tcpInfo(): TcpInfo {
    return this.conn?.info() ?? fail('ENOTCONN', 'getsockopt', 'TCP_INFO needs a connection');
  }

  applyOption(key: OptionKey): void {
    // IPV6_V6ONLY cannot change once the socket has a port (Linux's do_ipv6_setsockopt).
    if (key === 'v6Only' && (this.localPort !== 0 || this.conn !== undefined)) {
      fail('EINVAL', 'setsockopt', 'socket is already bound');
    }
    const conn = this.conn;
    if (conn === undefined || this.finished) return;
    const o = this.opts;
    switch (key) {
      case 'noDelay':
        conn.setNoDelay(o.noDelay);
        break;
      case 'keepAlive':
      case 'keepIdle':
      case 'keepIntvl':
      case 'keepCnt':
        conn.setKeepAlive(o.keepAlive, o.keepIdle * 1000, o.keepIntvl * 1000, o.keepCnt);
        break;
      case 'userTimeout':
        conn.setUserTimeout(o.userTimeout);
        break;
      case 'linger':
        conn.setLinger(o.linger.onoff ? o.linger.linger : undefined);
        break;
      case 'congestion':
        if (o.congestion !== undefined) conn.setCongestionControl(o.congestion);
        break;
      case 'rcvbuf':
        if (o.rcvbuf !== undefined) conn.setReceiveBufferSize(o.rcvbuf);
        break;
      case 'sndbuf':
        if (o.sndbuf !== undefined) conn.setSendBufferSize(o.sndbuf);
        break;
      // SO_REUSEADDR, SO_REUSEPORT: read by bind; SO_BROADCAST: kept, no meaning for TCP.
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
