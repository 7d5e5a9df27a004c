/**
 * `stack.net.Socket`: Node's `net.Socket` over a connection of the stack (a `TcpSocket`). It is a
 * real `stream.Duplex`, so code written for Node (http, tls, http2, undici, ws) runs over it:
 *
 * - writes go to the connection's send buffer (one copy, made when the stream hands the chunk
 *   over: the core keeps what it sends until the peer acknowledges it, while a Node caller may
 *   reuse a buffer once its callback ran); a write's callback runs once the stack took all of it,
 *   so the stream's own buffering and `'drain'` give backpressure;
 * - reads pull slices from the connection (up to 64 KiB at a time, as Node's reads): a single
 *   queued segment is pushed as a Buffer viewing it, without a copy; the stack's receive window
 *   follows what was pulled, so a paused stream slows the peer down;
 * - `end()` sends a FIN after the queued data (`_final`), `destroy()` closes (a RST when unread
 *   data is left, as Linux), `resetAndDestroy()` sends a RST;
 * - the peer's FIN ends the readable side; without `allowHalfOpen` our side ends too, and a later
 *   write fails with EPIPE, as Node;
 * - errors are Node's: `connect ECONNREFUSED 10.0.0.2:80` with `syscall`, `address`, `port`,
 *   `read ECONNRESET`, `write EPIPE`, getaddrinfo errors from the lookup.
 *
 * IPv4 and IPv6 as Node: `connect({ host: '2001:db8::1' })`, a link-local peer with its zone
 * (`fe80::1%eth0`, the zone an interface name), `localAddress` of either family, `family: 4 | 6`
 * for the lookup; addresses and families as strings ('IPv6'; a link-local one with its zone; an
 * IPv4 peer of a dual-stack server is `::ffff:a.b.c.d`, 'IPv6').
 *
 * Connecting by name is Happy Eyeballs v2 (RFC 8305, ./happy-eyeballs.ts) when `autoSelectFamily`
 * is on (the default): with the stack's resolver, AAAA and A are asked at once (with a custom
 * `lookup`, it is asked once for both, as Node does); the addresses alternate by family; attempts
 * start `autoSelectFamilyAttemptTimeout` apart (or at once after a failure) and overlap; the first
 * connection wins, the others are cancelled; `connectionAttempt`, `connectionAttemptFailed`,
 * `connectionAttemptTimeout` (the delay passed: the next attempt starts, this one goes on) and
 * `autoSelectFamilyAttemptedAddresses` as Node's; every attempt failing gives Node's
 * AggregateError (`code` of the first, `errors` in the order they started).
 *
 * Differences, by necessity: no `_handle`, so tls and http2 wrap the socket as any JS stream
 * (Node's take over a net.Socket's handle instead). A socket given to tls should then be made with
 * `allowHalfOpen: true`, or its stream ends our side at the peer's FIN, before TLS wrote what it
 * still had to send (close_notify included): TLS ends the socket itself when it is done;
 * `ref`/`unref` do nothing (what keeps a process alive is the stack's environment); no local
 * (Unix) sockets; IPv6 on a stack made without it fails with EAFNOSUPPORT.
 */
import { isIP } from 'node:net';
import { addAbortSignal, Duplex } from 'node:stream';
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { IpAddr } from '../../core/ip-address.ts';
import type { Stack } from '../../core/stack.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Timer } from '../../core/timers.ts';
import type { Ipv6Addr } from '../../wire/address.ts';
import { codeOf, invalidArgType, invalidArgValue, nodeError, systemError } from '../errors.ts';
import { formatScoped, parseScoped } from '../scoped-address.ts';
import {
  type ConnectOptions,
  type LookupAddress,
  type LookupFunction,
  normalizeArgs,
  type SocketOptions,
  validateAttemptTimeout,
  validatePort,
} from './args.ts';
import { ConnectionRace, resolveBoth } from './happy-eyeballs.ts';
import { connectionTimeout, endedByPeer, invalidIpAddress, missingConnectArgs } from './net-errors.ts';

/** What a socket needs from its `stack.net`. */
export interface NetContext {
  readonly stack: Stack;
  /** The default `lookup` (the stack's resolver). */
  readonly lookup: LookupFunction;
  /** Whether connecting tries every address of the lookup (`net.getDefaultAutoSelectFamily()`). */
  readonly autoSelectFamily: boolean;
  /** RFC 8305's Connection Attempt Delay (`net.getDefaultAutoSelectFamilyAttemptTimeout()`). */
  readonly autoSelectFamilyAttemptTimeout: number;
}

/** Node's reads take up to 64 KiB at a time. */
const READ_SIZE = 64 * 1024;

/** Takes a connection accepted by a server (internal to `stack.net`). */
export const kAdopt = Symbol('adopt');

export interface Endpoint {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

interface PendingWrite {
  data: Uint8Array;
  /** Bytes of this write the stack has taken already. */
  taken: number;
  callback: (error?: Error | null) => void;
}

/** A connect in progress: the race of its attempts, and the resolution still feeding it. */
interface Attempts {
  readonly race: ConnectionRace<TcpSocket<IpAddr>>;
  /** Cancels the resolution (when AAAA and A are asked apart). */
  stopResolving: (() => void) | undefined;
  /**
   * Node's connect to multiple addresses (attempt events, `autoSelectFamilyAttemptedAddresses`):
   * a lookup that gave several, or AAAA and A asked apart.
   */
  multiple: boolean;
  readonly tried: string[];
}

/** Where and how a connect goes (the options that every attempt shares). */
interface Target {
  readonly port: number;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

export class Socket extends Duplex {
  /** True from `connect()` until 'connect' (or the failure). */
  connecting = false;
  bytesRead = 0;
  /** The `setTimeout` value, as Node keeps it. */
  timeout: number | undefined;
  /** Node sets these on a server's sockets; http's server looks at them. */
  server: unknown = null;
  _server: unknown = null;
  /** The `ip:port` of every attempt when connecting went through a list of addresses. */
  autoSelectFamilyAttemptedAddresses: string[] | undefined;
  private readonly ctx: NetContext;
  private handle: TcpSocket<IpAddr> | undefined;
  /** The interface of a link-local connection's scope (for the `%zone` of its addresses). */
  private scope: NetworkInterface | undefined;
  private peer: Endpoint | undefined;
  private local: Endpoint | undefined;
  private attempts: Attempts | undefined;
  // Reading.
  private wantRead = false;
  private pulling = false;
  private eofPushed = false;
  // Writing.
  private pendingWrite: PendingWrite | undefined;
  private pendingFinal: (() => void) | undefined;
  private dispatched = 0;
  private resetting = false;
  // Options set before there is a connection.
  private noDelay: boolean | undefined;
  private keepAlive: { enable: boolean; delayMs: number } | undefined;
  // setTimeout: an idle timer, re-armed lazily from the time of the last activity.
  private idleMs = 0;
  private lastActive = 0;
  private idleTimer: Timer | undefined;

  constructor(ctx: NetContext, options: SocketOptions = {}) {
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      emitClose: false,
      autoDestroy: true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
    });
    this.ctx = ctx;
    if (options.noDelay) this.noDelay = true;
    if (options.keepAlive) this.setKeepAlive(true, options.keepAliveInitialDelay);
    if (options.signal) addAbortSignal(options.signal, this);
    this.on('end', () => {
      // Node: once the peer ended a socket that is not half-open, writes fail with EPIPE.
      if (!this.allowHalfOpen) this.write = writeAfterFin;
    });
  }

  // ---- addresses and state ----

  get remoteAddress(): string | undefined {
    return this.peer?.address;
  }
  get remotePort(): number | undefined {
    return this.peer?.port;
  }
  get remoteFamily(): string | undefined {
    return this.peer?.family;
  }
  get localAddress(): string | undefined {
    return this.local?.address;
  }
  get localPort(): number | undefined {
    return this.local?.port;
  }
  get localFamily(): string | undefined {
    return this.local?.family;
  }

  /** `{ address, family, port }` of our end, or `{}` before there is one. */
  address(): Endpoint | Record<string, never> {
    return this.local ? { ...this.local } : {};
  }

  /** True before the socket is connected (no connection yet, or still connecting). */
  get pending(): boolean {
    return this.handle === undefined || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Bytes handed to the stack plus the bytes still buffered in the stream, as Node counts them. */
  get bytesWritten(): number {
    return this.dispatched + this.writableLength - (this.pendingWrite?.taken ?? 0);
  }

  /** Deprecated in Node: the bytes buffered for writing. */
  get bufferSize(): number {
    return this.writableLength;
  }

  // ---- connect ----

  connect(options: ConnectOptions, connectListener?: () => void): this;
  connect(port: number, host?: string, connectListener?: () => void): this;
  connect(port: number, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const [options, cb] = normalizeArgs<ConnectOptions>(args);
    if (options.port === undefined && options.path == null) throw missingConnectArgs();
    if (options.path != null) {
      throw invalidArgValue('options.path', options.path, 'is not supported: the stack has no local sockets');
    }
    if (this.destroyed) throw nodeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed');
    const { localAddress, localPort } = options;
    if (localAddress !== undefined && !isIP(localAddress)) throw invalidIpAddress(localAddress);
    if (localPort !== undefined && typeof localPort !== 'number') {
      throw invalidArgType('options.localPort', 'of type number', localPort);
    }
    if (typeof options.port !== 'number' && typeof options.port !== 'string') {
      throw invalidArgType('options.port', 'one of type number or string', options.port);
    }
    const port = validatePort(options.port);
    const lookup = options.lookup ?? this.ctx.lookup;
    if (typeof lookup !== 'function') throw invalidArgType('options.lookup', 'of type function', lookup);
    const family = options.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6) {
      throw invalidArgValue('options.family', family, 'must be one of: 0, 4, 6');
    }
    const delay =
      options.autoSelectFamilyAttemptTimeout === undefined
        ? this.ctx.autoSelectFamilyAttemptTimeout
        : validateAttemptTimeout(
            options.autoSelectFamilyAttemptTimeout,
            'options.autoSelectFamilyAttemptTimeout',
          );
    if (cb) this.once('connect', cb);
    if (options.noDelay !== undefined) this.setNoDelay(options.noDelay);
    if (options.keepAlive) this.setKeepAlive(true, options.keepAliveInitialDelay);
    this.connecting = true;
    const host = options.host || 'localhost';
    const a = this.startRace({ port, localAddress, localPort }, delay, options.firstAddressFamilyCount ?? 1);
    if (isIP(host)) {
      // An address: no lookup, no 'lookup' event (as Node), but still not inside this call.
      process.nextTick(() => {
        if (!this.connecting) return;
        a.race.add([{ address: host, family: isIP(host) }]);
        a.race.resolved();
      });
      return this;
    }
    const hints = options.hints ?? 0;
    const autoSelect =
      (options.autoSelectFamily ?? this.ctx.autoSelectFamily) && family === 0 && !localAddress;
    const found = (list: readonly LookupAddress[]): boolean => {
      for (const x of list) {
        this.emit('lookup', null, x.address, x.family, host);
        if (!this.connecting) return false;
        if (!isIP(x.address)) {
          this.destroy(invalidIpAddress(x.address));
          return false;
        }
      }
      return true;
    };
    const failed = (err: Error) => {
      this.emit('lookup', err, undefined, undefined, host);
      this.destroy(err);
    };
    if (autoSelect && options.lookup === undefined && this.ctx.stack.ipv6 !== undefined) {
      // RFC 8305 3: AAAA and A at once through the stack's resolver.
      a.multiple = true;
      a.stopResolving = resolveBoth(this.ctx.stack, lookup, host, hints, {
        addresses: (list) => {
          if (found(list)) a.race.add(list);
        },
        done: (err) => {
          a.stopResolving = undefined;
          if (!this.connecting) return;
          if (err) failed(err);
          else a.race.resolved();
        },
      });
      return this;
    }
    lookup(host, { family, hints, all: true }, (err, result, resultFamily) => {
      if (!this.connecting) return;
      if (err) return failed(err);
      const list =
        typeof result === 'string' ? [{ address: result, family: resultFamily ?? isIP(result) }] : result;
      if (!found(list)) return;
      const addresses = autoSelect ? list : list.slice(0, 1);
      a.multiple = addresses.length > 1;
      a.race.add(addresses);
      a.race.resolved();
    });
    return this;
  }

  /** The race of this connect's attempts (RFC 8305 5), its outcome going to the socket. */
  private startRace(target: Target, delay: number, firstCount: number): Attempts {
    const { port } = target;
    const a: Attempts = {
      multiple: false,
      tried: [],
      stopResolving: undefined,
      race: new ConnectionRace<TcpSocket<IpAddr>>(this.ctx.stack, delay, firstCount, {
        start: (x) => {
          a.tried.push(`${x.address}:${port}`);
          if (a.multiple) this.autoSelectFamilyAttemptedAddresses = a.tried;
          if (a.multiple) this.emit('connectionAttempt', x.address, port, x.family);
          return this.attempt(x, target);
        },
        cancel: (h) => {
          h.onConnect = h.onClose = undefined;
          h.abort();
        },
        delayPassed: (x) => this.emit('connectionAttemptTimeout', x.address, port, x.family),
        failedOne: (x, error) => {
          if (a.multiple) this.emit('connectionAttemptFailed', x.address, port, x.family, error);
        },
        won: (h, x) => {
          this.endAttempts();
          this.scope = x.family === 6 ? parseScoped(this.ctx.stack, x.address, 6)?.scope : undefined;
          this.attach(h);
          this.onConnected();
        },
        lost: (errors) => {
          this.endAttempts();
          // No address to try (a lookup that answered an empty list): Node's error for a race without errors.
          if (errors.length === 0) this.destroy(connectionTimeout());
          else if (errors.length === 1) this.destroy(errors[0]);
          else this.destroy(Object.assign(new AggregateError(errors, ''), { code: codeOf(errors[0]) }));
        },
      }),
    };
    this.attempts = a;
    return a;
  }

  /** Stops the resolution and the attempts still running. */
  private endAttempts(): void {
    const a = this.attempts;
    if (a === undefined) return;
    this.attempts = undefined;
    a.stopResolving?.();
    a.race.abort();
  }

  /** One connection attempt: its connection, or the error it failed with at once. */
  private attempt(x: LookupAddress, target: Target): TcpSocket<IpAddr> | Error {
    const { port, localAddress, localPort } = target;
    const stack = this.ctx.stack;
    const family = x.family === 6 ? 6 : 4;
    const remote = parseScoped(stack, x.address, family);
    if (remote === undefined) return systemError('EINVAL', 'connect', x.address, port);
    let local: IpAddr | undefined;
    if (localAddress !== undefined) {
      const at = parseScoped(stack, localAddress, isIP(localAddress) === 6 ? 6 : 4);
      if (at === undefined || isIP(localAddress) !== family) {
        return systemError('EINVAL', 'bind', localAddress, localPort);
      }
      const ours =
        typeof at.addr === 'number'
          ? stack.ipv4.isLocal(at.addr) || at.addr >>> 24 === 127
          : stack.ipv6?.isLocal(at.addr as Ipv6Addr) === true;
      if (!ours) return systemError('EADDRNOTAVAIL', 'bind', localAddress, localPort);
      local = at.addr;
    }
    let handle: TcpSocket<IpAddr>;
    try {
      handle = stack.tcp.connect({
        address: remote.addr,
        port,
        family,
        ...(remote.scope !== undefined ? { scope: remote.scope } : {}),
        ...(local !== undefined ? { localAddress: local } : {}),
        ...(localPort ? { localPort } : {}),
        noDelay: this.noDelay ?? false,
      });
    } catch (e) {
      const code = codeOf(e);
      return code === 'EADDRINUSE' && localPort
        ? systemError(code, 'bind', localAddress ?? (family === 6 ? '::' : '0.0.0.0'), localPort)
        : systemError(code, 'connect', x.address, port);
    }
    const race = this.attempts!.race;
    handle.onConnect = () => race.succeeded(handle);
    handle.onClose = (e) =>
      race.failed(
        handle,
        systemError(e === undefined ? 'ECONNRESET' : codeOf(e), 'connect', x.address, port),
      );
    return handle;
  }

  private attach(handle: TcpSocket<IpAddr>): void {
    this.handle = handle;
    this.local = endpoint(handle, 'local', this.scope);
    handle.onConnect = () => this.onConnected();
    handle.onReadable = () => this.pull();
    handle.onEnd = () => this.pull();
    handle.onWritable = () => this.flushWrite();
    handle.onClose = (e) => this.onHandleClosed(e);
    if (this.noDelay) handle.setNoDelay(true);
    if (this.keepAlive) this.applyKeepAlive(handle, this.keepAlive);
  }

  private detach(): void {
    const h = this.handle;
    if (h === undefined) return;
    h.onConnect = h.onReadable = h.onEnd = h.onWritable = h.onClose = undefined;
    this.handle = undefined;
  }

  private onConnected(): void {
    const h = this.handle!;
    this.connecting = false;
    this.peer = endpoint(h, 'remote', this.scope);
    this.local = endpoint(h, 'local', this.scope);
    this.active();
    this.emit('connect');
    this.emit('ready');
    if (this.destroyed) return;
    this.flushWrite();
    const final = this.pendingFinal;
    this.pendingFinal = undefined;
    final?.();
    if (this.readableFlowing !== false && !this.isPaused()) this.read(0);
    this.pull();
  }

  private onHandleClosed(e: Error | undefined): void {
    if (this.destroyed) return;
    const code = e === undefined ? undefined : codeOf(e);
    if (code !== undefined) {
      this.destroy(systemError(code, 'read'));
      return;
    }
    // Closed in order: what is left to read still goes to the reader.
    this.pull();
  }

  /** A connection a server accepted. */
  [kAdopt](handle: TcpSocket<IpAddr>, pauseOnCreate: boolean, scope: NetworkInterface | undefined): void {
    this.scope = scope;
    this.attach(handle);
    this.peer = endpoint(handle, 'remote', scope);
    this.active();
    if (handle.state === 'CLOSED' && !handle.readableEnded) {
      // Reset before it was accepted: the error went to no one yet.
      process.nextTick(() => this.destroy(systemError('ECONNRESET', 'read')));
      return;
    }
    if (pauseOnCreate) this.pause();
    else this.read(0);
  }

  // ---- reading ----

  override _read(): void {
    this.wantRead = true;
    this.pull();
  }

  /** Moves received data from the connection into the stream while the stream wants more. */
  private pull(): void {
    const h = this.handle;
    if (h === undefined || this.pulling || this.destroyed) return;
    this.pulling = true;
    try {
      while (this.wantRead) {
        const data = h.read(READ_SIZE);
        if (data === undefined) break;
        this.bytesRead += data.length;
        this.active();
        this.wantRead = this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        if (this.destroyed) return;
      }
      if (!this.eofPushed && h.readableEnded && !this.connecting) {
        this.eofPushed = true;
        this.push(null);
        // As Node: 'end' comes even when nothing reads (the buffer is empty).
        this.read(0);
      }
    } finally {
      this.pulling = false;
    }
  }

  // ---- writing ----

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.startWrite(Uint8Array.prototype.slice.call(chunk), callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.startWrite(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private startWrite(data: Uint8Array, callback: (error?: Error | null) => void): void {
    this.pendingWrite = { data, taken: 0, callback };
    if (!this.connecting) this.flushWrite();
  }

  /** Hands the pending write to the stack; its callback runs once the stack took all of it. */
  private flushWrite(): void {
    const w = this.pendingWrite;
    const h = this.handle;
    if (w === undefined || this.connecting) return;
    let n: number;
    try {
      if (h === undefined) throw Object.assign(new Error('not connected'), { code: 'EPIPE' });
      n = h.write(w.data.subarray(w.taken));
    } catch (e) {
      this.pendingWrite = undefined;
      w.callback(systemError(codeOf(e) === 'EBADF' ? 'EPIPE' : codeOf(e), 'write'));
      return;
    }
    w.taken += n;
    this.dispatched += n;
    if (n > 0) this.active();
    if (w.taken < w.data.length) return;
    this.pendingWrite = undefined;
    w.callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.pendingFinal = () => this._final(callback);
      return;
    }
    this.handle?.shutdown();
    // As libuv's shutdown request, which completes on a later turn of the loop.
    setImmediate(callback);
  }

  // ---- closing ----

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connecting = false;
    this.endAttempts();
    if (this.idleTimer !== undefined) this.ctx.stack.cancel(this.idleTimer);
    const h = this.handle;
    this.detach();
    if (h !== undefined) {
      if (this.resetting) h.abort();
      else h.close();
    }
    const w = this.pendingWrite;
    this.pendingWrite = undefined;
    callback(error);
    // As libuv cancels the writes of a closed handle.
    w?.callback(systemError('ECANCELED', 'write'));
    // Node emits 'close' itself, once the handle closed (after 'error').
    setImmediate(() => this.emit('close', error != null));
  }

  /** Ends our side, then destroys the socket once everything was written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes the connection with a RST (SO_LINGER 0), then destroys the socket. */
  resetAndDestroy(): this {
    if (this.handle === undefined) {
      this.destroy(nodeError(Error, 'ERR_SOCKET_CLOSED', 'Socket is closed'));
    } else if (this.connecting) {
      this.once('connect', () => this.resetAndDestroy());
    } else {
      this.resetting = true;
      this.destroy();
    }
    return this;
  }

  // ---- options ----

  setNoDelay(noDelay = true): this {
    this.noDelay = Boolean(noDelay);
    this.handle?.setNoDelay(this.noDelay);
    return this;
  }

  /** SO_KEEPALIVE; `initialDelay` (ms, whole seconds used as Node does) sets the idle time before probes. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = { enable: Boolean(enable), delayMs: Math.trunc(initialDelay / 1000) * 1000 };
    if (this.handle) this.applyKeepAlive(this.handle, this.keepAlive);
    return this;
  }

  private applyKeepAlive(handle: TcpSocket<IpAddr>, k: { enable: boolean; delayMs: number }): void {
    handle.setKeepAlive(k.enable, k.delayMs > 0 ? k.delayMs : undefined);
  }

  /** Emits 'timeout' after `ms` without reads or writes (0 turns it off); nothing else happens. */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number') throw invalidArgType('msecs', 'of type number', ms);
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw nodeError(
        RangeError,
        'ERR_OUT_OF_RANGE',
        `The value of "msecs" is out of range. It must be a non-negative finite number. Received ${ms}`,
      );
    }
    if (callback !== undefined && typeof callback !== 'function') {
      throw invalidArgType('callback', 'of type function', callback);
    }
    this.timeout = ms;
    this.idleMs = ms;
    const stack = this.ctx.stack;
    if (ms === 0) {
      if (this.idleTimer !== undefined) stack.cancel(this.idleTimer);
      if (callback) this.removeListener('timeout', callback);
      return this;
    }
    this.idleTimer ??= stack.createTimer((now) => {
      const due = this.lastActive + this.idleMs;
      if (this.idleMs === 0 || this.destroyed) return;
      if (now < due) stack.schedule(this.idleTimer!, due);
      else this.emit('timeout');
    });
    this.lastActive = stack.now();
    stack.schedule(this.idleTimer, this.lastActive + ms);
    if (callback) this.once('timeout', callback);
    return this;
  }

  /** Activity for `setTimeout`: the timer is re-armed from now (lazily, when it fires). */
  private active(): void {
    if (this.idleMs === 0) return;
    const stack = this.ctx.stack;
    this.lastActive = stack.now();
    if (!this.idleTimer!.scheduled) stack.schedule(this.idleTimer!, this.lastActive + this.idleMs);
  }

  /** Does nothing: the stack's environment, not a socket, keeps the process alive. */
  ref(): this {
    return this;
  }

  /** Does nothing (see `ref`). */
  unref(): this {
    return this;
  }
}

/** One end of a connection as Node shows it (a link-local address with the zone of `scope`). */
export function endpoint(h: TcpSocket<IpAddr>, end: 'local' | 'remote', scope?: NetworkInterface): Endpoint {
  const address = end === 'local' ? h.localAddress : h.remoteAddress;
  return {
    address: formatScoped(address, scope),
    family: h.family === 6 ? 'IPv6' : 'IPv4',
    port: end === 'local' ? h.localPort : h.remotePort,
  };
}

/** Node's writeAfterFIN: a write after the peer's FIN fails with EPIPE and destroys the socket. */
function writeAfterFin(
  this: Socket,
  chunk: unknown,
  encoding?: BufferEncoding | ((error?: Error | null) => void),
  cb?: (error?: Error | null) => void,
): boolean {
  if (!this.writableEnded) {
    return Duplex.prototype.write.call(this, chunk, encoding as BufferEncoding, cb);
  }
  const callback = typeof encoding === 'function' ? encoding : cb;
  const error = endedByPeer();
  if (typeof callback === 'function') process.nextTick(callback, error);
  this.destroy(error);
  return false;
}
