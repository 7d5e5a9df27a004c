/**
 * `stack.dgram`: Node's `dgram` module over the stack's UDP sockets. `createSocket('udp4')` and
 * `createSocket('udp6')` give a `Socket` that behaves as `dgram.Socket` does on Linux: the same events ('listening',
 * 'message' with rinfo, 'connect', 'close', 'error'), the same argument forms and validation,
 * the same errors (Node's `ERR_*` and libuv-style system errors with `errno`, `code`, `syscall`,
 * `address`, `port`), and the same asynchrony (events and callbacks come on a later turn, here a
 * zero-delay stack timer). Host names are resolved with the stack's own resolver (`stack.dns`).
 *
 * A 'udp6' socket binds to `::` by default and is dual-stack unless `ipv6Only` (IPv4 peers are
 * `::ffff:a.b.c.d`); a zone names an interface (`fe80::1%eth0`), and link-local addresses are
 * given with their zone, as libuv gives them; `setTTL`/`setMulticastTTL` set the hop limits; an
 * interface is named by its scope (`'::%eth0'`) in `setMulticastInterface` and memberships.
 *
 * Differences, by necessity:
 * - 'udp6' throws EAFNOSUPPORT on a stack made without IPv6.
 * - `ref`/`unref` do nothing: what keeps a process alive is the environment (NodeEnvironment's
 *   `ref` option), not a socket.
 * - Options set on a closed socket throw ERR_SOCKET_DGRAM_NOT_RUNNING (Node throws a TypeError
 *   from a null handle).
 * - Buffer sizes are doubled as Linux does, but capped by the stack's bound (16 MiB), not rmem_max.
 */
import { EventEmitter } from 'node:events';
import type { NetworkInterface } from '../core/device/interface.ts';
import { errno } from '../core/errno.ts';
import { type IpAddr, type IpFamily, v4Mapped } from '../core/ip-address.ts';
import type { Stack } from '../core/stack.ts';
import type { UdpSocket } from '../core/udp/udp-socket.ts';
import { type Ipv4Addr, parseIpv4 } from '../wire/address.ts';
import { Deferred } from './deferred.ts';
import { codeOf, invalidArgType, nodeError, nodeSystemError, systemError } from './errors.ts';
import { bindScoped, formatScoped, isIpLiteral, parseScoped, type ScopedAddr } from './scoped-address.ts';

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
  private handle: UdpSocket<IpAddr> | undefined;
  private readonly family: IpFamily;
  /** The interface of a connected link-local peer (its zone). */
  private peerScope: NetworkInterface | undefined;
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
    this.family = options.type === 'udp6' ? 6 : 4;
    this.handle = stack.udp.open({ family: this.family });
    if (options.ipv6Only && this.family === 6) this.handle.setV6Only(true);
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
    const host = (address as string) || (this.family === 6 ? '::' : '0.0.0.0');
    this.resolve(host, (err, ip) => {
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
          bindScoped(this.stack, handle, p, this.parse(ip), {
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
    this.resolve(address || this.loopback, (err, ip) => {
      const handle = this.handle;
      if (handle === undefined) return;
      let ex = err;
      if (!ex) {
        try {
          const to = this.parse(ip);
          this.stack.run(() => handle.connect(to.addr, port, to.scope));
          this.peerScope = to.scope;
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
      this.peerScope = undefined;
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
    const afterLookup = (err: Error | null, ip: string) => {
      const handle = this.handle;
      if (err) {
        this.deferred.push(() => (cb ? cb(err) : this.emit('error', err)));
        return;
      }
      if (handle === undefined) return;
      const data = list.length === 1 ? list[0]! : Buffer.concat(list);
      try {
        this.stack.run(() => {
          if (port === undefined || this.connectState === 'connected') {
            handle.send(data);
          } else {
            const to = this.parse(ip);
            handle.send(data, to.addr, port, to.scope);
          }
        });
      } catch (e) {
        // As libuv reports sendmsg errors: to the callback only (none without one).
        const error = systemError(codeOf(e), 'send', address, port);
        if (cb) this.deferred.push(() => cb(error));
        return;
      }
      if (cb) this.deferred.push(() => cb(null, data.length));
    };
    if (this.connectState === 'connected') afterLookup(null, '');
    else this.resolve(address || this.loopback, afterLookup);
  }

  // ---- receive ----

  private onReadable(): void {
    const handle = this.handle;
    for (let d = handle?.recv(); d !== undefined && this.handle !== undefined; d = this.handle.recv()) {
      const msg = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
      const rinfo: RemoteInfo = {
        address: formatScoped(d.address, d.iface),
        family: this.familyName,
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
    const scope = handle.boundDevice ?? this.peerScope;
    return {
      address: formatScoped(handle.localAddress, scope),
      family: this.familyName,
      port: handle.localPort,
    };
  }

  remoteAddress(): AddressInfo {
    const handle = this.healthCheck();
    if (this.connectState !== 'connected') throw notConnected();
    const scope = this.peerScope ?? handle.boundDevice;
    return {
      address: formatScoped(handle.remoteAddress, scope),
      family: this.familyName,
      port: handle.remotePort,
    };
  }

  private get familyName(): 'IPv4' | 'IPv6' {
    return this.family === 6 ? 'IPv6' : 'IPv4';
  }

  /** Where a missing address points: the loopback address of the socket's family, as Node's lookup4/6. */
  private get loopback(): string {
    return this.family === 6 ? '::1' : '127.0.0.1';
  }

  /** An address in text as the socket's family takes it (EINVAL otherwise, as uv_ip4_addr / uv_ip6_addr). */
  private parse(text: string): ScopedAddr {
    return parseScoped(this.stack, text, this.family) ?? badAddress(text);
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
      // As libuv: IPv4 text names an interface by its address (IP_MULTICAST_IF); on a udp6
      // socket, IPv6 text names one by its zone (IPV6_MULTICAST_IF takes the scope id, 0: any).
      const addr = parseIpv4(interfaceAddress);
      if (addr !== undefined) {
        h.setMulticastInterface(addr === 0 ? undefined : this.interfaceOf(addr, 'EADDRNOTAVAIL'));
        return;
      }
      const v6 = this.family === 6 ? parseScoped(this.stack, interfaceAddress, 6) : undefined;
      h.setMulticastInterface((v6 ?? badAddress(interfaceAddress)).scope);
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
        // As libuv: an IPv4 group with an interface address (IP_ADD_MEMBERSHIP, by its mapped
        // address on a udp6 socket), or, on a udp6 socket, an IPv6 group with an interface named
        // by the zone of IPv6 text (IPV6_JOIN_GROUP's ipv6mr_interface, 0: the route's).
        const g4 = parseIpv4(group);
        const g6 = g4 === undefined && this.family === 6 ? parseScoped(this.stack, group, 6) : undefined;
        if (g4 === undefined && g6 === undefined) badAddress(group);
        // libuv binds a socket that has no port yet (uv__udp_maybe_deferred_bind).
        if (handle.localPort === 0) handle.bind(0, undefined, { reuseAddr: true });
        let g: IpAddr;
        let iface: NetworkInterface | undefined;
        if (g4 !== undefined) {
          g = this.family === 6 ? v4Mapped(g4) : g4;
          iface = ifaceAddr ? this.interfaceOf(parseIpv4(ifaceAddr) ?? -1, 'ENODEV') : undefined;
        } else {
          g = g6!.addr;
          iface = ifaceAddr
            ? (parseScoped(this.stack, ifaceAddr, 6) ?? badAddress(ifaceAddr)).scope
            : undefined;
        }
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
  private option(syscall: string, set: (h: UdpSocket<IpAddr>) => void): void {
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

  private healthCheck(): UdpSocket<IpAddr> {
    if (this.handle === undefined) throw notRunning();
    return this.handle;
  }

  /**
   * An IP literal of either family as is (on a later turn, as `dns.lookup` answers literals), or a
   * host name through the lookup function for the socket's family; the address in text, which
   * the caller parses for its family.
   */
  private resolve(host: string, callback: (err: Error | null, ip: string) => void): void {
    if (isIpLiteral(host)) {
      this.deferred.push(() => callback(null, host));
      return;
    }
    this.lookup(host, this.family, (err, address) => callback(err, address));
  }
}

/** EINVAL for text that is not an address of the socket's family. */
function badAddress(text: string): never {
  throw errno('EINVAL', `${text} is not an address of the socket's family`);
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
    if (options.type === 'udp6' && this.stack.ipv6 === undefined) throw systemError('EAFNOSUPPORT', 'socket');
    const s = new Socket(this.stack, options, this.lookup);
    if (listener) s.on('message', listener);
    return s;
  }
}
