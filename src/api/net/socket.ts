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
 * Connecting takes a list of addresses (each one the lookup gave, tried in turn after a failure):
 * the shape Happy Eyeballs (RFC 8305) will fill in once TCP runs over IPv6.
 *
 * Differences, by necessity: no `_handle`, so tls and http2 wrap the socket as any JS stream
 * (Node's take over a net.Socket's handle instead). A socket given to tls should then be made with
 * `allowHalfOpen: true`, or its stream ends our side at the peer's FIN, before TLS wrote what it
 * still had to send (close_notify included): TLS ends the socket itself when it is done;
 * `ref`/`unref` do nothing (what keeps a process alive is the stack's environment); no local
 * (Unix) sockets; IPv6 addresses fail with EAFNOSUPPORT until TCP has IPv6.
 */
import { isIP, isIPv4 } from 'node:net';
import { addAbortSignal, Duplex } from 'node:stream';
import type { Stack } from '../../core/stack.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Timer } from '../../core/timers.ts';
import { type Ipv4Addr, ipv4ToString, parseIpv4 } from '../../wire/address.ts';
import { codeOf, invalidArgType, invalidArgValue, nodeError, systemError } from '../errors.ts';
import {
  type ConnectOptions,
  type LookupAddress,
  type LookupFunction,
  normalizeArgs,
  type SocketOptions,
  validatePort,
} from './args.ts';
import { endedByPeer, invalidIpAddress, missingConnectArgs } from './net-errors.ts';

/** What a socket needs from its `stack.net`. */
export interface NetContext {
  readonly stack: Stack;
  /** The default `lookup` (the stack's resolver). */
  readonly lookup: LookupFunction;
  /** Whether connecting tries every address of the lookup (`net.getDefaultAutoSelectFamily()`). */
  readonly autoSelectFamily: boolean;
}

/** Node's reads take up to 64 KiB at a time. */
const READ_SIZE = 64 * 1024;

/** Takes a connection accepted by a server (internal to `stack.net`). */
export const kAdopt = Symbol('adopt');

interface Endpoint {
  address: string;
  family: 'IPv4';
  port: number;
}

interface PendingWrite {
  data: Uint8Array;
  /** Bytes of this write the stack has taken already. */
  taken: number;
  callback: (error?: Error | null) => void;
}

interface Attempts {
  readonly host: string;
  readonly addresses: readonly LookupAddress[];
  readonly port: number;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  next: number;
  readonly errors: Error[];
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
  private handle: TcpSocket<Ipv4Addr> | undefined;
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
    if (cb) this.once('connect', cb);
    if (options.noDelay !== undefined) this.setNoDelay(options.noDelay);
    if (options.keepAlive) this.setKeepAlive(true, options.keepAliveInitialDelay);
    this.connecting = true;
    const host = options.host || 'localhost';
    const start = (addresses: readonly LookupAddress[]) => {
      this.attempts = { host, addresses, port, localAddress, localPort, next: 0, errors: [] };
      if (addresses.length > 1) this.autoSelectFamilyAttemptedAddresses = [];
      this.attemptNext();
    };
    if (isIP(host)) {
      // An address: no lookup, no 'lookup' event (as Node), but still not inside this call.
      process.nextTick(() => this.connecting && start([{ address: host, family: isIP(host) }]));
      return this;
    }
    const family = options.family ?? 0;
    lookup(host, { family, hints: options.hints ?? 0, all: true }, (err, result, resultFamily) => {
      if (!this.connecting) return;
      if (err) {
        this.emit('lookup', err, undefined, undefined, host);
        this.destroy(err);
        return;
      }
      const list =
        typeof result === 'string' ? [{ address: result, family: resultFamily ?? isIP(result) }] : result;
      for (const a of list) {
        this.emit('lookup', null, a.address, a.family, host);
        if (!isIP(a.address)) {
          this.destroy(invalidIpAddress(a.address));
          return;
        }
      }
      const autoSelect = options.autoSelectFamily ?? this.ctx.autoSelectFamily;
      start(autoSelect ? list : list.slice(0, 1));
    });
    return this;
  }

  /** Tries the next address of the list; fails with the error(s) once none is left. */
  private attemptNext(): void {
    const a = this.attempts!;
    const next = a.addresses[a.next++];
    if (next === undefined) {
      const [first] = a.errors;
      this.destroy(
        a.errors.length === 1
          ? first!
          : Object.assign(new AggregateError(a.errors, 'All attempts failed'), {
              code: (first as { code?: string } | undefined)?.code,
            }),
      );
      return;
    }
    const { address, family } = next;
    const { port } = a;
    if (a.addresses.length > 1) {
      this.autoSelectFamilyAttemptedAddresses?.push(`${address}:${port}`);
      this.emit('connectionAttempt', address, port, family);
    }
    const remote = isIPv4(address) ? parseIpv4(address) : undefined;
    if (remote === undefined) {
      this.attemptFailed(systemError('EAFNOSUPPORT', 'connect', address, port));
      return;
    }
    const stack = this.ctx.stack;
    let local: number | undefined;
    if (a.localAddress !== undefined) {
      local = isIPv4(a.localAddress) ? parseIpv4(a.localAddress) : undefined;
      if (local === undefined || !(stack.ipv4.isLocal(local) || local >>> 24 === 127)) {
        const code = local === undefined ? 'EAFNOSUPPORT' : 'EADDRNOTAVAIL';
        this.attemptFailed(systemError(code, 'bind', a.localAddress, a.localPort));
        return;
      }
    }
    let handle: TcpSocket<Ipv4Addr>;
    try {
      handle = stack.tcp.connect({
        address: remote,
        port,
        ...(local !== undefined ? { localAddress: local } : {}),
        ...(a.localPort ? { localPort: a.localPort } : {}),
        noDelay: this.noDelay ?? false,
      });
    } catch (e) {
      const code = codeOf(e);
      const bindError = code === 'EADDRINUSE' && a.localPort;
      this.attemptFailed(
        bindError
          ? systemError(code, 'bind', a.localAddress ?? '0.0.0.0', a.localPort)
          : systemError(code, 'connect', address, port),
      );
      return;
    }
    this.attach(handle);
  }

  private attemptFailed(error: Error): void {
    const a = this.attempts!;
    const tried = a.addresses[a.next - 1]!;
    a.errors.push(error);
    if (a.addresses.length > 1)
      this.emit('connectionAttemptFailed', tried.address, a.port, tried.family, error);
    this.detach();
    // Not inside the call or the stack event that failed, as Node reports connect errors.
    process.nextTick(() => this.connecting && this.attemptNext());
  }

  private attach(handle: TcpSocket<Ipv4Addr>): void {
    this.handle = handle;
    this.local = endpoint(handle.localAddress, handle.localPort);
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
    this.attempts = undefined;
    this.peer = endpoint(h.remoteAddress, h.remotePort);
    this.local = endpoint(h.localAddress, h.localPort);
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
    if (this.connecting) {
      const a = this.attempts!;
      this.attemptFailed(
        systemError(code ?? 'ECONNRESET', 'connect', a.addresses[a.next - 1]!.address, a.port),
      );
      return;
    }
    if (code !== undefined) {
      this.destroy(systemError(code, 'read'));
      return;
    }
    // Closed in order: what is left to read still goes to the reader.
    this.pull();
  }

  /** A connection a server accepted. */
  [kAdopt](handle: TcpSocket<Ipv4Addr>, pauseOnCreate: boolean): void {
    this.attach(handle);
    this.peer = endpoint(handle.remoteAddress, handle.remotePort);
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

  private applyKeepAlive(handle: TcpSocket<Ipv4Addr>, k: { enable: boolean; delayMs: number }): void {
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

function endpoint(address: number, port: number): Endpoint {
  return { address: ipv4ToString(address), family: 'IPv4', port };
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
