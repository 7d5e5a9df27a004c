/**
 * A SOCK_STREAM descriptor over the core's TCP: nothing but options and a binding until `listen`
 * makes a `TcpListener` or `connect` a `TcpSocket`. Non-blocking like every socket of this API:
 * connect answers EINPROGRESS and its outcome is seen through POLLOUT and SO_ERROR (or by calling
 * connect again), send accepts what fits in the send buffer, recv returns what has arrived.
 */
import type { TcpListener } from '../../core/tcp/listener.ts';
import { DEFAULT_MSS, DEFAULT_RECEIVE_BUFFER, DEFAULT_SEND_BUFFER } from '../../core/tcp/tcb.ts';
import type { TcpInfo } from '../../core/tcp/tcp-info.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import { ipv4IsLoopback } from '../../wire/address.ts';
import {
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
import { ANY_SOCKADDR, type InetAddr, type SockAddr, toSockAddr } from './sockaddr.ts';
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
  /** The local address and port, once bound (bind, listen's implicit bind, or connect). */
  localAddr = 0;
  localPort = 0;
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

  constructor(ctx: EndpointContext, accepted?: { conn: TcpSocket; opts: Endpoint['opts'] }) {
    super(ctx);
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

  bind(local: InetAddr): void {
    if (this.localPort !== 0 || this.conn !== undefined) fail('EINVAL', 'bind', 'socket is already bound');
    const stack = this.ctx.stack;
    if (local.addr !== 0 && !stack.ipv4.isLocal(local.addr) && !ipv4IsLoopback(local.addr)) {
      fail('EADDRNOTAVAIL', 'bind', 'not a local address');
    }
    this.claim(local.addr, local.port, 'bind');
  }

  private claim(addr: number, port: number, call: string): void {
    const table = this.ctx.tcpBindings;
    const { reuseAddr, reusePort } = this.opts;
    let chosen: number | undefined = port;
    if (port === 0) {
      chosen = table.ephemeral(this.ctx.stack.tcp.ports, addr, reuseAddr, reusePort);
      if (chosen === undefined) fail('EADDRINUSE', call, 'no free ephemeral port');
    } else if (table.conflicts(addr, port, reuseAddr, reusePort)) {
      fail('EADDRINUSE', call, `port ${port} is in use`);
    }
    this.localAddr = addr;
    this.localPort = chosen;
    table.add(this);
    this.inTable = true;
  }

  connect(remote: InetAddr | undefined): void {
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
      ...(this.localAddr !== 0 ? { localAddress: this.localAddr } : {}),
      ...(this.localPort !== 0 ? { localPort: this.localPort } : {}),
      noDelay: o.noDelay,
      ...(o.congestion !== undefined ? { congestionControl: o.congestion } : {}),
    });
    this.adopt(conn);
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
    if (this.localPort === 0) this.claim(0, 0, 'listen');
    else if (
      this.ctx.tcpBindings.conflicts(
        this.localAddr,
        this.localPort,
        this.opts.reuseAddr,
        this.opts.reusePort,
        this,
      )
    ) {
      // Sockets sharing a port through SO_REUSEADDR: one of them may listen (as Linux).
      fail('EADDRINUSE', 'listen', `port ${this.localPort} is in use`);
    }
    const l = this.ctx.stack.tcp.listen({ port: this.localPort, address: this.localAddr, backlog });
    l.onConnection = () => this.ctx.wake();
    this.listener = l;
  }

  accept(): { ep: Endpoint; peer: SockAddr } | undefined {
    if (this.listener === undefined) fail('EINVAL', 'accept', 'socket is not listening');
    const conn = this.listener.accept();
    if (conn === undefined) return undefined;
    // The peer is known even if the connection was reset while it waited (as Linux's accept).
    const peer = toSockAddr(conn.remoteAddress, conn.remotePort);
    return { ep: new TcpEndpoint(this.ctx, { conn, opts: this.opts }), peer };
  }

  send(data: Uint8Array, to: InetAddr | undefined): number {
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
    if (conn !== undefined && !this.finished) return toSockAddr(conn.localAddress, conn.localPort);
    return this.localPort === 0 ? { ...ANY_SOCKADDR } : toSockAddr(this.localAddr, this.localPort);
  }

  peername(): SockAddr {
    const conn = this.conn;
    const s = conn?.state;
    if (conn === undefined || this.finished || s === 'CLOSED' || s === 'SYN-SENT') {
      fail('ENOTCONN', 'getpeername', 'socket is not connected');
    }
    return toSockAddr(conn.remoteAddress, conn.remotePort);
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
