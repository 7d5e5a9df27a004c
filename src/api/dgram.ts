/**
 * `stack.dgram`: Node's `dgram` module over the stack's UDP sockets. `createSocket('udp4')` gives
 * a `Socket` that behaves as `dgram.Socket` does on Linux: the same events ('listening',
 * 'message' with rinfo, 'connect', 'close', 'error'), the same argument forms and validation,
 * the same errors (Node's `ERR_*` and libuv-style system errors with `errno`, `code`, `syscall`,
 * `address`, `port`), and the same asynchrony (events and callbacks come on a later turn, here a
 * zero-delay stack timer). Host names are resolved with the stack's own resolver (`stack.dns`).
 *
 * Differences, by necessity:
 * - 'udp6' throws EAFNOSUPPORT until the stack has IPv6 UDP.
 * - `ref`/`unref` do nothing: what keeps a process alive is the environment (NodeEnvironment's
 *   `ref` option), not a socket.
 * - Options set on a closed socket throw ERR_SOCKET_DGRAM_NOT_RUNNING (Node throws a TypeError
 *   from a null handle).
 * - Buffer sizes are doubled as Linux does, but capped by the stack's bound (16 MiB), not rmem_max.
 */
import { EventEmitter } from 'node:events';
import type { NetworkInterface } from '../core/device/interface.ts';
import type { Stack } from '../core/stack.ts';
import type { UdpSocket } from '../core/udp/udp-socket.ts';
import { type Ipv4Addr, ipv4ToString, parseIpv4 } from '../wire/address.ts';
import { Deferred } from './deferred.ts';
import { codeOf, invalidArgType, nodeError, nodeSystemError, systemError } from './errors.ts';

export type SocketType = 'udp4' | 'udp6';

/** `(hostname, family, callback)` as `dns.lookup` is called by Node's dgram. */
export type LookupFunction = (
  hostname: string,
  family: number,
  callback: (err: Error | null, address: string, family: number) => void,
) => void;

export interface SocketOptions {
  type: SocketType;
  reuseAddr?: boolean;
  reusePort?: boolean;
  ipv6Only?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  lookup?: LookupFunction;
  signal?: AbortSignal;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** Called once connected, or with the error (Node calls it with the error instead of emitting it). */
type ConnectCallback = (error?: Error) => void;
type SendCallback = (error: Error | null, bytes?: number) => void;
type Message = string | ArrayBufferView | ReadonlyArray<string | ArrayBufferView>;

const notRunning = () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
const notConnected = () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
const isConnected = () => nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');

/** Node's validatePort(port, 'Port', allowZero = false). */
function validatePort(port: unknown): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > 0xffff) {
    const received =
      port === undefined || port === null
        ? String(port)
        : `type ${typeof port} (${typeof port === 'string' ? `'${port}'` : String(port)})`;
    throw nodeError(
      RangeError,
      'ERR_SOCKET_BAD_PORT',
      `Port should be > 0 and < 65536. Received ${received}.`,
    );
  }
  return n;
}

function toBuffer(chunk: unknown, what: string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalidArgType(what, 'of type string or an instance of Buffer, TypedArray, or DataView', chunk);
}

/** Node's sliceBuffer: `length` bytes of `buffer` from `offset`. */
function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Buffer {
  const b = toBuffer(buffer, 'buffer');
  const off = Number(offset) >>> 0;
  const len = Number(length) >>> 0;
  if (off > b.length) {
    throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"offset" is outside of buffer bounds');
  }
  if (off + len > b.length) {
    throw nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', '"length" is outside of buffer bounds');
  }
  return b.subarray(off, off + len);
}

export class Socket extends EventEmitter {
  readonly type: SocketType;
  /** The stack's socket; undefined once closed (Node's null handle). */
  private handle: UdpSocket | undefined;
  private bindState: 'unbound' | 'binding' | 'bound' = 'unbound';
  private connectState: 'disconnected' | 'connecting' | 'connected' = 'disconnected';
  /** Calls made while binding, run once bound (Node's state.queue). */
  private queue: Array<() => void> | undefined;
  private readonly deferred: Deferred;
  private readonly lookup: LookupFunction;

  constructor(
    private readonly stack: Stack,
    private readonly options: SocketOptions,
    defaultLookup: LookupFunction,
  ) {
    super();
    this.type = options.type;
    this.lookup = options.lookup ?? defaultLookup;
    this.deferred = new Deferred(stack);
    this.handle = stack.udp.open();
    this.handle.onReadable = () => this.onReadable();
    this.handle.onError = (e) => this.emit('error', systemError(codeOf(e), 'recvmsg'));
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) this.deferred.push(() => this.handle && this.close());
      else signal.addEventListener('abort', () => this.handle && this.close(), { once: true });
    }
  }

  // ---- bind ----

  bind(port?: number | BindOptions | null, address?: string | (() => void), callback?: () => void): this;
  bind(...args: unknown[]): this {
    this.healthCheck();
    if (this.bindState !== 'unbound')
      throw nodeError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    this.bindState = 'binding';
    const cb = args[args.length - 1];
    if (typeof cb === 'function') {
      const onListening = () => {
        this.removeListener('error', removeListeners);
        cb.call(this);
      };
      const removeListeners = () => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    let port = args[0];
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const o = port as BindOptions;
      address = o.address || '';
      port = o.port;
    } else {
      address = typeof args[1] === 'function' ? '' : args[1];
    }
    const host = (address as string) || '0.0.0.0';
    this.resolve(host, (err, ip, addr) => {
      const handle = this.handle;
      if (handle === undefined) return;
      if (err) {
        this.bindState = 'unbound';
        this.emit('error', err);
        return;
      }
      // As the C++ binding does, the port is taken as a 16-bit unsigned number.
      const p = port ? (Number(port) >>> 0) & 0xffff : 0;
      try {
        this.stack.run(() =>
          handle.bind(p, addr, {
            reuseAddr: this.options.reuseAddr ?? false,
            reusePort: this.options.reusePort ?? false,
          }),
        );
      } catch (e) {
        this.bindState = 'unbound';
        this.emit('error', systemError(codeOf(e), 'bind', ip, p));
        return;
      }
      this.startListening();
    });
    return this;
  }

  private startListening(): void {
    const handle = this.handle!;
    this.bindState = 'bound';
    if (this.options.recvBufferSize !== undefined) handle.setRecvBufferSize(2 * this.options.recvBufferSize);
    if (this.options.sendBufferSize !== undefined) handle.setSendBufferSize(2 * this.options.sendBufferSize);
    this.emit('listening');
    const queue = this.queue;
    this.queue = undefined;
    for (const fn of queue ?? []) fn();
  }

  /** Binds to an ephemeral port on every address, as Node does before a send or connect. */
  private autoBind(): void {
    if (this.bindState === 'unbound') this.bind({ port: 0, exclusive: true }, null as unknown as string);
  }

  private enqueue(fn: () => void): void {
    if (this.queue === undefined) {
      this.queue = [];
      this.once('error', () => {
        this.queue = undefined;
      });
    }
    this.queue.push(fn);
  }

  // ---- connect ----

  connect(port: number, address?: string | ConnectCallback, callback?: ConnectCallback): void {
    const p = validatePort(port);
    let cb = callback;
    let addr = address;
    if (typeof addr === 'function') {
      cb = addr;
      addr = '';
    } else if (addr === undefined) {
      addr = '';
    }
    if (typeof addr !== 'string') throw invalidArgType('address', 'of type string', addr);
    if (this.connectState !== 'disconnected') throw isConnected();
    this.connectState = 'connecting';
    this.autoBind();
    const run = () => this.doConnect(p, addr as string, cb);
    if (this.bindState !== 'bound') this.enqueue(run);
    else run();
  }

  private doConnect(port: number, address: string, callback: ConnectCallback | undefined): void {
    if (callback) this.once('connect', callback);
    this.resolve(address || '127.0.0.1', (err, _ip, addr) => {
      const handle = this.handle;
      if (handle === undefined) return;
      let ex = err;
      if (!ex) {
        try {
          this.stack.run(() => handle.connect(addr, port));
        } catch (e) {
          ex = systemError(codeOf(e), 'connect', address, port);
        }
      }
      if (ex) {
        this.connectState = 'disconnected';
        const error = ex;
        this.deferred.push(() => {
          if (callback) {
            this.removeListener('connect', callback);
            callback.call(this, error);
          } else {
            this.emit('error', error);
          }
        });
        return;
      }
      this.connectState = 'connected';
      this.deferred.push(() => this.emit('connect'));
    });
  }

  disconnect(): void {
    if (this.connectState !== 'connected') throw notConnected();
    const handle = this.healthCheck();
    try {
      handle.disconnect();
    } catch (e) {
      throw systemError(codeOf(e), 'connect');
    }
    this.connectState = 'disconnected';
  }

  // ---- send ----

  send(
    msg: Message,
    port?: number | SendCallback,
    address?: string | SendCallback,
    callback?: SendCallback,
  ): void;
  send(
    msg: ArrayBufferView | string,
    offset: number,
    length: number,
    port?: number | SendCallback,
    address?: string | SendCallback,
    callback?: SendCallback,
  ): void;
  send(...args: unknown[]): void {
    let [buffer, offset, length, port, address, callback] = args;
    let list: Buffer[];
    const connected = this.connectState === 'connected';
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw isConnected();
    }
    if (!Array.isArray(buffer)) {
      list = [toBuffer(buffer, 'buffer')];
    } else {
      list = buffer.map((b) => {
        if (typeof b !== 'string' && !ArrayBuffer.isView(b)) {
          throw invalidArgType(
            'buffer list arguments',
            'of type string or an instance of Buffer, TypedArray, or DataView',
            buffer,
          );
        }
        return toBuffer(b, 'buffer list arguments');
      });
    }
    if (!connected) port = validatePort(port);
    let cb = typeof callback === 'function' ? (callback as SendCallback) : undefined;
    if (typeof address === 'function') {
      cb = address as SendCallback;
      address = undefined;
    } else if (address !== undefined && address !== null && typeof address !== 'string') {
      throw invalidArgType('address', 'of type string', address);
    }
    this.healthCheck();
    this.autoBind();
    if (list.length === 0) list.push(Buffer.alloc(0));
    const doSend = () => this.doSend(list, port as number | undefined, address as string | undefined, cb);
    if (this.bindState !== 'bound') this.enqueue(doSend);
    else doSend();
  }

  private doSend(
    list: Buffer[],
    port: number | undefined,
    address: string | undefined,
    cb: SendCallback | undefined,
  ): void {
    const afterLookup = (err: Error | null, addr: Ipv4Addr) => {
      const handle = this.handle;
      if (err) {
        this.deferred.push(() => (cb ? cb(err) : this.emit('error', err)));
        return;
      }
      if (handle === undefined) return;
      const data = list.length === 1 ? list[0]! : Buffer.concat(list);
      try {
        this.stack.run(() =>
          port === undefined || this.connectState === 'connected'
            ? handle.send(data)
            : handle.send(data, addr, port),
        );
      } catch (e) {
        // As libuv reports sendmsg errors: to the callback only (none without one).
        const error = systemError(codeOf(e), 'send', address, port);
        if (cb) this.deferred.push(() => cb(error));
        return;
      }
      if (cb) this.deferred.push(() => cb(null, data.length));
    };
    if (this.connectState === 'connected') afterLookup(null, 0);
    else this.resolve(address || '127.0.0.1', (err, _ip, addr) => afterLookup(err, addr));
  }

  // ---- receive ----

  private onReadable(): void {
    const handle = this.handle;
    for (let d = handle?.recv(); d !== undefined && this.handle !== undefined; d = this.handle.recv()) {
      const msg = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
      const rinfo: RemoteInfo = {
        address: ipv4ToString(d.address),
        family: 'IPv4',
        port: d.port,
        size: msg.length,
      };
      this.emit('message', msg, rinfo);
    }
  }

  // ---- addresses ----

  address(): AddressInfo {
    const handle = this.healthCheck();
    if (handle.localPort === 0) throw systemError('EBADF', 'getsockname');
    return { address: ipv4ToString(handle.localAddress), family: 'IPv4', port: handle.localPort };
  }

  remoteAddress(): AddressInfo {
    const handle = this.healthCheck();
    if (this.connectState !== 'connected') throw notConnected();
    return { address: ipv4ToString(handle.remoteAddress), family: 'IPv4', port: handle.remotePort };
  }

  // ---- options ----

  setBroadcast(flag: boolean): void {
    this.option('setBroadcast', (h) => h.setBroadcast(!!flag));
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'of type number', ttl);
    this.option('setTTL', (h) => h.setTtl(ttl));
    return ttl;
  }

  setMulticastTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw invalidArgType('ttl', 'of type number', ttl);
    this.option('setMulticastTTL', (h) => h.setMulticastTtl(ttl));
    return ttl;
  }

  setMulticastLoopback<T>(flag: T): T {
    this.option('setMulticastLoopback', (h) => h.setMulticastLoopback(!!flag));
    return flag;
  }

  setMulticastInterface(interfaceAddress: string): void {
    this.healthCheck();
    if (typeof interfaceAddress !== 'string') {
      throw invalidArgType('interfaceAddress', 'of type string', interfaceAddress);
    }
    this.option('setMulticastInterface', (h) => {
      const addr = parseIpv4(interfaceAddress);
      if (addr === undefined) throw Object.assign(new Error('bad address'), { code: 'EINVAL' });
      h.setMulticastInterface(addr === 0 ? undefined : this.interfaceOf(addr, 'EADDRNOTAVAIL'));
    });
  }

  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.membership('addMembership', multicastAddress, interfaceAddress);
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.membership('dropMembership', multicastAddress, interfaceAddress);
  }

  private membership(syscall: 'addMembership' | 'dropMembership', group: string, ifaceAddr?: string): void {
    const handle = this.healthCheck();
    if (!group) {
      throw nodeError(TypeError, 'ERR_MISSING_ARGS', 'The "multicastAddress" argument must be specified');
    }
    try {
      this.stack.run(() => {
        const g = parseIpv4(group);
        if (g === undefined) throw Object.assign(new Error('bad group'), { code: 'EINVAL' });
        // libuv binds a socket that has no port yet (uv__udp_maybe_deferred_bind).
        if (handle.localPort === 0) handle.bind(0, 0, { reuseAddr: true });
        const iface = ifaceAddr ? this.interfaceOf(parseIpv4(ifaceAddr) ?? -1, 'ENODEV') : undefined;
        if (syscall === 'addMembership') handle.addMembership(g, iface);
        else handle.dropMembership(g, iface);
      });
    } catch (e) {
      throw systemError(codeOf(e), syscall);
    }
  }

  /** The interface that has `addr` (`code` when none has). */
  private interfaceOf(addr: Ipv4Addr, code: string): NetworkInterface {
    const a = this.stack.ipv4.listAddresses().find((x) => x.addr === addr);
    if (a === undefined) throw Object.assign(new Error('no interface'), { code });
    return a.iface;
  }

  setRecvBufferSize(size: number): void {
    this.bufferSize('recv', size);
  }

  setSendBufferSize(size: number): void {
    this.bufferSize('send', size);
  }

  getRecvBufferSize(): number {
    return this.bufferSize('recv');
  }

  getSendBufferSize(): number {
    return this.bufferSize('send');
  }

  /** Bytes and datagrams waiting to be sent: the stack sends at once, so none. */
  getSendQueueSize(): number {
    return 0;
  }

  getSendQueueCount(): number {
    return 0;
  }

  private bufferSize(which: 'recv' | 'send', size?: number): number {
    if (size !== undefined && size >>> 0 !== size) {
      throw nodeError(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE', 'Buffer size must be a positive integer');
    }
    const handle = this.healthCheck();
    const fail = (code: 'EBADF' | 'EINVAL') =>
      nodeSystemError(
        'ERR_SOCKET_BUFFER_SIZE',
        'Could not get or set buffer size',
        code,
        code === 'EBADF' ? 'bad file descriptor' : 'invalid argument',
        `uv_${which}_buffer_size`,
      );
    if (handle.localPort === 0) throw fail('EBADF');
    if (size === undefined) return which === 'recv' ? handle.recvBufferSize : handle.sendBufferSize;
    // Linux doubles the value asked for, to leave room for its bookkeeping (socket(7)).
    if (size === 0) throw fail('EINVAL');
    if (which === 'recv') handle.setRecvBufferSize(2 * size);
    else handle.setSendBufferSize(2 * size);
    return 2 * size;
  }

  /** Runs a socket option on the stack socket; EBADF before it has a port (libuv's fd -1). */
  private option(syscall: string, set: (h: UdpSocket) => void): void {
    const handle = this.healthCheck();
    if (handle.localPort === 0) throw systemError('EBADF', syscall);
    try {
      this.stack.run(() => set(handle));
    } catch (e) {
      throw systemError(codeOf(e), syscall);
    }
  }

  // ---- lifetime ----

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.queue !== undefined) {
      this.queue.push(() => this.close());
      return this;
    }
    const handle = this.healthCheck();
    this.handle = undefined;
    handle.close();
    this.deferred.push(() => this.emit('close'));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (this.handle === undefined) return Promise.resolve();
    return new Promise((resolve) => this.close(() => resolve()));
  }

  private healthCheck(): UdpSocket {
    if (this.handle === undefined) throw notRunning();
    return this.handle;
  }

  /**
   * An IPv4 literal as is (on a later turn), or a host name through the lookup function; the
   * address in text and as a number.
   */
  private resolve(host: string, callback: (err: Error | null, ip: string, addr: Ipv4Addr) => void): void {
    const literal = parseIpv4(host);
    if (literal !== undefined) {
      this.deferred.push(() => callback(null, host, literal));
      return;
    }
    this.lookup(host, 4, (err, address) => {
      const addr = err ? undefined : parseIpv4(address);
      if (err || addr === undefined) callback(err ?? systemError('EAFNOSUPPORT', 'getaddrinfo'), address, 0);
      else callback(null, address, addr);
    });
  }
}

/** What `stack.dgram` is: Node's `dgram` module bound to one stack. */
export class DgramModule {
  constructor(
    private readonly stack: Stack,
    private readonly lookup: LookupFunction,
  ) {}

  createSocket(
    type: SocketType | SocketOptions,
    listener?: (msg: Buffer, rinfo: RemoteInfo) => void,
  ): Socket {
    const options: SocketOptions = typeof type === 'string' ? { type } : type;
    if (options === null || typeof options !== 'object')
      throw invalidArgType('options', 'of type object', options);
    if (options.type !== 'udp4' && options.type !== 'udp6') {
      throw nodeError(
        TypeError,
        'ERR_SOCKET_BAD_TYPE',
        'Bad socket type specified. Valid types are: udp4, udp6',
      );
    }
    if (options.type === 'udp6') throw systemError('EAFNOSUPPORT', 'socket');
    const s = new Socket(this.stack, options, this.lookup);
    if (listener) s.on('message', listener);
    return s;
  }
}
