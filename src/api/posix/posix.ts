/**
 * The POSIX socket API over one stack (`stack.posix`): integer descriptors, sockaddr objects,
 * Linux's constants and errno values. Every socket is non-blocking, as the core is sans-IO: a call
 * that would block fails with EAGAIN (EINPROGRESS for connect), and readiness is awaited with
 * `poll`, or with the `...Async` helpers, which are the blocking calls written as poll loops.
 * Failures throw `SocketError` (`code`, `errno`, `syscall`). docs/posix.md lists every call and
 * every deviation from POSIX and Linux.
 */
import type { Stack } from '../../core/stack.ts';
import { DEFAULT_BACKLOG } from '../../core/tcp/listener.ts';
import {
  AF_INET,
  AF_INET6,
  errnoName,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MSG_OOB,
  MSG_PEEK,
  MSG_WAITALL,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
} from './constants.ts';
import type { Endpoint, EndpointContext } from './endpoint.ts';
import { getOption, type OptionValue, setOption } from './options.ts';
import { Poller, type PollFd } from './poll.ts';
import { isUnspec, parseSockAddr, type SockAddr } from './sockaddr.ts';
import { fail, SocketError, syscall } from './socket-error.ts';
import { DEFAULT_MAX_FDS, SocketTable } from './socket-table.ts';
import { TcpBindTable } from './tcp-bind-table.ts';
import { TcpEndpoint } from './tcp-endpoint.ts';
import { UdpEndpoint } from './udp-endpoint.ts';

export interface PosixOptions {
  /** Descriptors are 0..maxFds-1 (RLIMIT_NOFILE); default 1024. */
  maxFds?: number;
}

/** What recvfrom returns: the data, the sender (undefined for a stream), MSG_TRUNC if cut. */
export interface RecvFromResult {
  data: Uint8Array;
  addr: SockAddr | undefined;
  flags: number;
}

export interface AcceptResult {
  fd: number;
  addr: SockAddr;
}

export class Posix {
  private readonly table: SocketTable<Endpoint>;
  private readonly poller: Poller;
  private readonly ctx: EndpointContext;

  constructor(
    readonly stack: Stack,
    options: PosixOptions = {},
  ) {
    this.table = new SocketTable(options.maxFds ?? DEFAULT_MAX_FDS);
    this.poller = new Poller(stack, (fd) => this.table.peek(fd)?.revents());
    this.ctx = { stack, tcpBindings: new TcpBindTable(), wake: () => this.poller.wake() };
  }

  /** The descriptor limit (setrlimit(RLIMIT_NOFILE)); open descriptors above it stay open. */
  get maxFds(): number {
    return this.table.limit;
  }
  set maxFds(n: number) {
    if (!Number.isInteger(n) || n < 4) throw new SocketError('EINVAL', 'setrlimit', `bad limit ${n}`);
    this.table.limit = n;
  }

  /** Sockets open, and socket() / accept() calls refused with EMFILE. */
  get openSockets(): number {
    return this.table.size;
  }
  get refusedSockets(): number {
    return this.table.refused;
  }

  // ---- creating and naming ----

  /** socket(domain, type, protocol): the lowest free descriptor. */
  socket(domain: number, type: number, protocol = 0): number {
    return syscall('socket', () => {
      if (domain !== AF_INET && domain !== AF_INET6) fail('EAFNOSUPPORT', 'socket', `family ${domain}`);
      if (domain === AF_INET6 && this.stack.ipv6 === undefined) {
        fail('EAFNOSUPPORT', 'socket', 'the stack has no IPv6');
      }
      const base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
      let make: () => Endpoint;
      if (base === SOCK_STREAM && (protocol === 0 || protocol === IPPROTO_TCP)) {
        make = () => new TcpEndpoint(this.ctx, domain);
      } else if (base === SOCK_DGRAM && (protocol === 0 || protocol === IPPROTO_UDP)) {
        make = () => new UdpEndpoint(this.ctx, domain);
      } else if (base === SOCK_STREAM || base === SOCK_DGRAM) {
        return fail('EPROTONOSUPPORT', 'socket', `protocol ${protocol}`);
      } else if (base === SOCK_RAW) {
        return fail('ESOCKTNOSUPPORT', 'socket', 'raw sockets are not available');
      } else {
        return fail('EINVAL', 'socket', `type ${type}`);
      }
      // The descriptor is checked first so that EMFILE leaks no core socket.
      this.table.checkRoom('socket');
      return this.table.alloc(make(), 'socket');
    });
  }

  bind(fd: number, addr: SockAddr): void {
    syscall('bind', () => {
      const ep = this.get(fd, 'bind');
      ep.bind(parseSockAddr(addr, 'bind', ep));
    });
  }

  getsockname(fd: number): SockAddr {
    return syscall('getsockname', () => this.get(fd, 'getsockname').sockname());
  }

  getpeername(fd: number): SockAddr {
    return syscall('getpeername', () => this.get(fd, 'getpeername').peername());
  }

  // ---- connections ----

  /** listen(fd, backlog); binds an ephemeral port first when the socket is not bound. */
  listen(fd: number, backlog = DEFAULT_BACKLOG): void {
    syscall('listen', () => this.get(fd, 'listen').listen(backlog));
  }

  /** accept(fd): EAGAIN when no connection waits; EMFILE leaves the connection queued. */
  accept(fd: number): AcceptResult {
    return syscall('accept', () => {
      const ep = this.get(fd, 'accept');
      if (ep.listening) this.table.checkRoom('accept');
      const child = ep.accept();
      if (child === undefined) return fail('EAGAIN', 'accept', 'no connection waits');
      return { fd: this.table.alloc(child.ep, 'accept'), addr: child.peer };
    });
  }

  /**
   * connect(fd, addr): TCP fails with EINPROGRESS and completes in the background (POLLOUT, then
   * SO_ERROR); UDP sets the peer at once, and AF_UNSPEC dissolves it.
   */
  connect(fd: number, addr: SockAddr): void {
    syscall('connect', () => {
      const ep = this.get(fd, 'connect');
      ep.connect(isUnspec(addr) ? undefined : parseSockAddr(addr, 'connect', ep));
    });
  }

  shutdown(fd: number, how: number): void {
    syscall('shutdown', () => {
      if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) fail('EINVAL', 'shutdown', `how ${how}`);
      this.get(fd, 'shutdown').shutdown(how);
      this.poller.wake();
    });
  }

  /** close(fd): the descriptor is free at once; a TCP connection closes in the background. */
  close(fd: number): void {
    syscall('close', () => {
      const ep = this.get(fd, 'close');
      this.table.free(fd);
      ep.close();
      this.poller.wake();
    });
  }

  // ---- data ----

  /** send(fd, data, flags): the bytes accepted (TCP may take fewer), EAGAIN when none fit. */
  send(fd: number, data: Uint8Array, flags = 0): number {
    return this.sendto(fd, data, flags);
  }

  /** sendto(fd, data, flags, addr): `addr` for unconnected datagram sockets. */
  sendto(fd: number, data: Uint8Array, flags = 0, addr?: SockAddr): number {
    const call = addr === undefined ? 'send' : 'sendto';
    return syscall(call, () => {
      const ep = this.get(fd, call);
      if (flags & MSG_OOB) fail('EOPNOTSUPP', call, 'no urgent data');
      return ep.send(data, addr === undefined ? undefined : parseSockAddr(addr, call, ep));
    });
  }

  /** recv(fd, n, flags): up to n bytes; empty at end of stream; EAGAIN when nothing waits. */
  recv(fd: number, n: number, flags = 0): Uint8Array {
    return this.receive(fd, n, flags, 'recv').data;
  }

  /** recvfrom(fd, n, flags): the data with its sender; `flags` has MSG_TRUNC if a datagram was cut. */
  recvfrom(fd: number, n: number, flags = 0): RecvFromResult {
    return this.receive(fd, n, flags, 'recvfrom');
  }

  private receive(fd: number, n: number, flags: number, call: string): RecvFromResult {
    return syscall(call, () => {
      const ep = this.get(fd, call);
      if (!Number.isInteger(n) || n < 0) fail('EINVAL', call, `bad length ${n}`);
      if (flags & MSG_OOB) fail('EOPNOTSUPP', call, 'no urgent data');
      const r = ep.recv(n, (flags & MSG_PEEK) !== 0);
      return { data: r.data, addr: r.from, flags: r.flags };
    });
  }

  // ---- options ----

  getsockopt(fd: number, level: number, name: number): OptionValue {
    return syscall('getsockopt', () => getOption(this.get(fd, 'getsockopt'), level, name));
  }

  setsockopt(fd: number, level: number, name: number, value: OptionValue): void {
    syscall('setsockopt', () => setOption(this.get(fd, 'setsockopt'), level, name, value));
  }

  // ---- readiness ----

  /** poll(fds, timeout ms): resolves with the ready count; `revents` filled; -1 waits for ever. */
  poll(fds: PollFd[], timeout: number): Promise<number> {
    return this.poller.poll(fds, timeout);
  }

  /** poll with timeout 0, synchronously. */
  pollNow(fds: PollFd[]): number {
    return this.poller.pollNow(fds);
  }

  // ---- the blocking calls, as poll loops ----

  /** accept, waiting for a connection. */
  async acceptAsync(fd: number): Promise<AcceptResult> {
    for (;;) {
      try {
        return this.accept(fd);
      } catch (e) {
        if (!wouldBlock(e)) throw e;
      }
      await this.ready(fd, POLLIN, 'accept');
    }
  }

  /** connect, waiting for the outcome: throws ECONNREFUSED, ETIMEDOUT... as a blocking connect. */
  async connectAsync(fd: number, addr: SockAddr): Promise<void> {
    try {
      this.connect(fd, addr);
      return;
    } catch (e) {
      if ((e as SocketError).code !== 'EINPROGRESS') throw e;
    }
    await this.ready(fd, POLLOUT, 'connect');
    const err = this.getsockopt(fd, SOL_SOCKET, SO_ERROR) as number;
    if (err !== 0) fail(errnoName(err) ?? 'EIO', 'connect');
  }

  /** send, waiting until every byte is taken; returns data.length. */
  async sendAsync(fd: number, data: Uint8Array, flags = 0): Promise<number> {
    let sent = 0;
    do {
      try {
        sent += this.send(fd, data.subarray(sent), flags);
        continue;
      } catch (e) {
        if (!wouldBlock(e)) throw e;
      }
      await this.ready(fd, POLLOUT, 'send');
    } while (sent < data.length);
    return sent;
  }

  /**
   * recv, waiting for data (or the end of the stream). With MSG_WAITALL on a stream, waits for n
   * bytes, returning fewer only at the end of the stream or when an error follows some data.
   */
  async recvAsync(fd: number, n: number, flags = 0): Promise<Uint8Array> {
    const waitAll = (flags & MSG_WAITALL) !== 0 && (flags & MSG_PEEK) === 0;
    const parts: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      try {
        const d = this.recv(fd, n - got, flags & ~MSG_WAITALL);
        if (!waitAll || d.length === 0 || d.length === n - got) return join(parts, d, got);
        parts.push(d);
        got += d.length;
        continue;
      } catch (e) {
        if (!wouldBlock(e)) {
          if (got > 0) return join(parts, new Uint8Array(0), got);
          throw e;
        }
      }
      await this.ready(fd, POLLIN, 'recv');
    }
  }

  /** recvfrom, waiting for a datagram. */
  async recvfromAsync(fd: number, n: number, flags = 0): Promise<RecvFromResult> {
    for (;;) {
      try {
        return this.recvfrom(fd, n, flags);
      } catch (e) {
        if (!wouldBlock(e)) throw e;
      }
      await this.ready(fd, POLLIN, 'recvfrom');
    }
  }

  private async ready(fd: number, events: number, call: string): Promise<void> {
    const p: PollFd[] = [{ fd, events }];
    await this.poll(p, -1);
    if (p[0]!.revents! & POLLNVAL) fail('EBADF', call, 'descriptor was closed');
  }

  private get(fd: number, call: string): Endpoint {
    return this.table.get(fd, call);
  }
}

function wouldBlock(e: unknown): boolean {
  return e instanceof SocketError && e.code === 'EAGAIN';
}

function join(parts: Uint8Array[], last: Uint8Array, before: number): Uint8Array {
  if (parts.length === 0) return last;
  const out = new Uint8Array(before + last.length);
  let at = 0;
  for (const p of [...parts, last]) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
