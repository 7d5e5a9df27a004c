/**
 * `stack.net.Server`: Node's `net.Server` over a listener of the stack. `listen(port[, host]
 * [, backlog][, cb])` or `listen({ port, host, backlog }[, cb])`, port 0 (or none) for an ephemeral
 * port, 'listening' and 'error' (EADDRINUSE, EADDRNOTAVAIL as Node words them) on a later tick,
 * 'connection' with a `Socket` for each accepted connection, `maxConnections` (connections beyond
 * it are closed, with a 'drop' event), `getConnections`, and `close()` that stops listening at once
 * and emits 'close' when the last connection is gone.
 *
 * IPv6 as Node: without a host it listens on `::` dual-stack when the stack has IPv6 (IPv4 clients
 * appear as `::ffff:a.b.c.d`, family 'IPv6'), on '0.0.0.0' otherwise; `ipv6Only: true` makes `::`
 * IPv6 only (IPV6_V6ONLY); a link-local host takes its zone (`fe80::1%eth0`) and listens on that
 * interface only.
 *
 * Differences: `ref`/`unref` do nothing (see Socket); no local (Unix) sockets, no handles or file
 * descriptors to listen on.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { IpAddr } from '../../core/ip-address.ts';
import type { TcpListener } from '../../core/tcp/listener.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import { codeOf, invalidArgValue } from '../errors.ts';
import { formatScoped, isScopedUnicast, parseScoped } from '../scoped-address.ts';
import { type ListenOptions, normalizeArgs, type ServerOptions, toNumber, validatePort } from './args.ts';
import { serverAlreadyListening, serverNotRunning, uvErrorWithHostPort } from './net-errors.ts';
import { type Endpoint, endpoint, kAdopt, type NetContext, type Socket } from './socket.ts';

/** Makes the sockets of accepted connections (the `Socket` class of the server's `stack.net`). */
export type SocketFactory = (options: ServerOptions) => Socket;

export class Server extends EventEmitter {
  /** Connections beyond this many are closed as they arrive (undefined: no limit). */
  maxConnections: number | undefined;
  private listener: TcpListener<IpAddr> | undefined;
  private connections = 0;
  private readonly options: ServerOptions;

  constructor(
    private readonly ctx: NetContext,
    private readonly makeSocket: SocketFactory,
    options?: ServerOptions | ((socket: Socket) => void),
    connectionListener?: (socket: Socket) => void,
  ) {
    super();
    let listener = connectionListener;
    if (typeof options === 'function') {
      listener = options;
      this.options = {};
    } else {
      this.options = options ?? {};
    }
    if (listener) this.on('connection', listener);
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** `{ address, family, port }` while listening, else null. */
  address(): Endpoint | null {
    const l = this.listener;
    if (l === undefined) return null;
    return {
      address: formatScoped(l.address, l.device),
      family: l.family === 6 ? 'IPv6' : 'IPv4',
      port: l.port,
    };
  }

  listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  listen(options: ListenOptions, listeningListener?: () => void): this;
  listen(listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const [options, cb] = normalizeArgs<ListenOptions>(args);
    if (this.listener) throw serverAlreadyListening();
    if (cb) this.once('listening', cb);
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    if (options.path != null) {
      throw invalidArgValue(
        'options',
        options,
        'must have the property "port": local sockets are not supported',
      );
    }
    if (
      args.length === 0 ||
      typeof args[0] === 'function' ||
      (options.port === undefined && 'port' in options) ||
      options.port === null
    ) {
      options.port = 0;
    }
    if (typeof options.port !== 'number' && typeof options.port !== 'string') {
      throw invalidArgValue('options', options, 'must have the property "port" or "path"');
    }
    const port = validatePort(options.port, 'options.port');
    const backlog = options.backlog || backlogFromArgs || undefined;
    const host = options.host;
    const v6Only = Boolean(options.ipv6Only);
    if (!host || isIP(host)) {
      // As Node: `::` when IPv6 is there, else 0.0.0.0.
      this.bind(host || (this.ctx.stack.ipv6 !== undefined ? '::' : '0.0.0.0'), port, backlog, v6Only);
      return this;
    }
    this.ctx.lookup(host, { family: 0, all: true }, (err, result) => {
      if (err) {
        this.emit('error', err);
        return;
      }
      const first = typeof result === 'string' ? result : result[0]?.address;
      this.bind(first ?? host, port, backlog, v6Only);
    });
    return this;
  }

  /** Opens the listener (an ephemeral port for 0); 'listening' or 'error' follow on a later tick. */
  private bind(host: string, port: number, backlog: number | undefined, v6Only: boolean): void {
    const family = isIP(host) === 6 ? 6 : 4;
    const at = parseScoped(this.ctx.stack, host, family);
    if (at === undefined) {
      process.nextTick(() => this.emit('error', uvErrorWithHostPort('EINVAL', 'listen', host, port)));
      return;
    }
    if (isScopedUnicast(at.addr) && at.scope === undefined) {
      // Linux: a link-local address needs its interface.
      process.nextTick(() => this.emit('error', uvErrorWithHostPort('EINVAL', 'listen', host, port)));
      return;
    }
    const tcp = this.ctx.stack.tcp;
    const open = (p: number) =>
      tcp.listen({
        port: p,
        address: at.addr,
        family,
        ...(family === 6 ? { v6Only } : {}),
        ...(at.scope !== undefined ? { device: at.scope } : {}),
        ...(backlog !== undefined ? { backlog } : {}),
      });
    let listener: TcpListener<IpAddr> | undefined;
    try {
      if (port !== 0) listener = open(port);
      else {
        // Port 0: a free port of the ephemeral range (RFC 6056 3.3.1), as the kernel picks one.
        tcp.ports.random((p) => {
          try {
            listener = open(p);
            return true;
          } catch (e) {
            if (codeOf(e) === 'EADDRINUSE') return false;
            throw e;
          }
        });
        if (listener === undefined) throw Object.assign(new Error('no free port'), { code: 'EADDRINUSE' });
      }
    } catch (e) {
      process.nextTick(() => this.emit('error', uvErrorWithHostPort(codeOf(e), 'listen', host, port)));
      return;
    }
    const l: TcpListener<IpAddr> = listener;
    this.listener = l;
    l.onConnection = () => {
      for (let c = l.accept(); c !== undefined; c = this.listener === l ? l.accept() : undefined) {
        this.onConnection(c, l.device);
      }
    };
    process.nextTick(() => this.listener === l && this.emit('listening'));
  }

  private onConnection(handle: TcpSocket<IpAddr>, scope: TcpListener<IpAddr>['device']): void {
    if (this.maxConnections !== undefined && this.connections >= this.maxConnections) {
      const local = endpoint(handle, 'local', scope);
      const remote = endpoint(handle, 'remote', scope);
      const drop = {
        localAddress: local.address,
        localPort: local.port,
        localFamily: local.family,
        remoteAddress: remote.address,
        remotePort: remote.port,
        remoteFamily: remote.family,
      };
      handle.close();
      this.emit('drop', drop);
      return;
    }
    const o = this.options;
    const socket = this.makeSocket({
      allowHalfOpen: Boolean(o.allowHalfOpen),
      ...(o.noDelay ? { noDelay: true } : {}),
      ...(o.keepAlive ? { keepAlive: true, keepAliveInitialDelay: o.keepAliveInitialDelay ?? 0 } : {}),
      ...(o.highWaterMark !== undefined ? { highWaterMark: o.highWaterMark } : {}),
    });
    socket[kAdopt](handle, Boolean(o.pauseOnConnect), scope);
    socket.server = this;
    socket._server = this;
    this.connections++;
    socket.once('close', () => {
      this.connections--;
      this.emitCloseIfDrained();
    });
    this.emit('connection', socket);
  }

  /** The number of open connections, to `callback(null, n)` on a later tick. */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    const n = this.connections;
    process.nextTick(() => callback(null, n));
    return this;
  }

  /**
   * Stops accepting connections now; 'close' (and `callback`) follow once every connection is
   * gone. Not listening: `callback` gets ERR_SERVER_NOT_RUNNING.
   */
  close(callback?: (error?: Error) => void): this {
    if (typeof callback === 'function') {
      if (this.listener === undefined) this.once('close', () => callback(serverNotRunning()));
      else this.once('close', callback);
    }
    if (this.listener !== undefined) {
      this.listener.onConnection = undefined;
      this.listener.close();
      this.listener = undefined;
    }
    this.emitCloseIfDrained();
    return this;
  }

  private emitCloseIfDrained(): void {
    if (this.listener !== undefined || this.connections > 0) return;
    process.nextTick(() => this.emit('close'));
  }

  /** Does nothing (see Socket's `ref`). */
  ref(): this {
    return this;
  }

  /** Does nothing. */
  unref(): this {
    return this;
  }
}
