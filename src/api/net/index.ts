/**
 * `stack.net`: Node's `net` module over the stack's TCP. The same shape as `node:net`:
 * `createServer`, `connect`/`createConnection`, the `Socket` and `Server` classes (bound to this
 * stack: `new stack.net.Socket()`), `isIP`/`isIPv4`/`isIPv6`, `BlockList`, `SocketAddress`, and
 * `get/setDefaultAutoSelectFamily`, `get/setDefaultAutoSelectFamilyAttemptTimeout`. Host names go through the stack's own resolver (`stack.dns`).
 *
 * ```ts
 * const server = stack.net.createServer((socket) => socket.pipe(socket)).listen(7);
 * const socket = stack.net.connect(7, '10.0.0.2', () => socket.end('hello'));
 * // Unchanged Node code runs over it:
 * http.get({ host: '10.0.0.2', createConnection: (o) => stack.net.connect(o) }, ...);
 * ```
 */
import { BlockList, isIP, isIPv4, isIPv6, SocketAddress } from 'node:net';
import type { Stack } from '../../core/stack.ts';
import type { DnsPromises } from '../dns.ts';
import {
  type ConnectOptions,
  type LookupFunction,
  type ServerOptions,
  type SocketOptions,
  validateAttemptTimeout,
} from './args.ts';
import { DEFAULT_ATTEMPT_DELAY } from './happy-eyeballs.ts';
import { Server } from './server.ts';
import { type NetContext, Socket } from './socket.ts';

export type { ConnectOptions, ListenOptions, LookupFunction, ServerOptions, SocketOptions } from './args.ts';
export { Server } from './server.ts';
export { Socket } from './socket.ts';

/** `dns.lookup` (callback form, `all: true`) over `stack.dns`. */
function stackLookup(dns: () => DnsPromises): LookupFunction {
  return (hostname, options, callback) => {
    dns()
      .lookup(hostname, { family: options.family ?? 0, all: true })
      .then(
        (list) => callback(null, list),
        (e: Error) => callback(e, []),
      );
  };
}

export class NetModule implements NetContext {
  /** `new stack.net.Socket(options)`: a socket of this stack, to `connect()` later. */
  readonly Socket: new (
    options?: SocketOptions,
  ) => Socket;
  /** `new stack.net.Server(options, listener)`. */
  readonly Server: new (
    options?: ServerOptions | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) => Server;
  readonly lookup: LookupFunction;
  readonly isIP = isIP;
  readonly isIPv4 = isIPv4;
  readonly isIPv6 = isIPv6;
  readonly BlockList = BlockList;
  readonly SocketAddress = SocketAddress;
  autoSelectFamily = true;
  autoSelectFamilyAttemptTimeout = DEFAULT_ATTEMPT_DELAY;

  constructor(readonly stack: Stack) {
    const ctx: NetContext = this;
    // Usable as plain functions, as Node's are (`{ createConnection: stack.net.createConnection }`).
    this.connect = this.connect.bind(this);
    this.createConnection = this.createConnection.bind(this);
    this.createServer = this.createServer.bind(this);
    this.lookup = stackLookup(() => stack.dns);
    this.Socket = class extends Socket {
      constructor(options?: SocketOptions) {
        super(ctx, options);
      }
    };
    const makeSocket = (options: ServerOptions) => new this.Socket(options);
    this.Server = class extends Server {
      constructor(
        options?: ServerOptions | ((socket: Socket) => void),
        connectionListener?: (socket: Socket) => void,
      ) {
        super(ctx, makeSocket, options, connectionListener);
      }
    };
  }

  createServer(
    options?: ServerOptions | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ): Server {
    return new this.Server(options, connectionListener);
  }

  /** `connect(options[, cb])` or `connect(port[, host][, cb])`: a new socket, connecting. */
  connect(options: ConnectOptions, connectListener?: () => void): Socket;
  connect(port: number, host?: string, connectListener?: () => void): Socket;
  connect(port: number, connectListener?: () => void): Socket;
  connect(...args: unknown[]): Socket {
    const first = args[0];
    const options: ConnectOptions =
      typeof first === 'object' && first !== null ? (first as ConnectOptions) : {};
    const socket = new this.Socket(options);
    if (options.timeout) socket.setTimeout(options.timeout);
    return (socket.connect as (...a: unknown[]) => Socket)(...args);
  }

  /** The same as `connect`. */
  createConnection(options: ConnectOptions, connectListener?: () => void): Socket;
  createConnection(port: number, host?: string, connectListener?: () => void): Socket;
  createConnection(port: number, connectListener?: () => void): Socket;
  createConnection(...args: unknown[]): Socket {
    return (this.connect as (...a: unknown[]) => Socket)(...args);
  }

  getDefaultAutoSelectFamily(): boolean {
    return this.autoSelectFamily;
  }

  setDefaultAutoSelectFamily(value: boolean): void {
    this.autoSelectFamily = Boolean(value);
  }

  getDefaultAutoSelectFamilyAttemptTimeout(): number {
    return this.autoSelectFamilyAttemptTimeout;
  }

  /** RFC 8305's Connection Attempt Delay for new connects, in ms (values under 10 become 10, as Node). */
  setDefaultAutoSelectFamilyAttemptTimeout(value: number): void {
    this.autoSelectFamilyAttemptTimeout = validateAttemptTimeout(value, 'value');
  }
}
