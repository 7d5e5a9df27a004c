/**
 * What a descriptor refers to: an endpoint of one transport (UDP or TCP) with the state a POSIX
 * socket has beyond the core's object: its option values (the core applies them; the endpoint
 * remembers them so getsockopt can report them and, for TCP, so they exist before there is a
 * connection), the pending error (SO_ERROR), and the shutdown flags.
 */

import type { Stack } from '../../core/stack.ts';
import type { Ipv4Addr } from '../../wire/address.ts';
import { AF_INET, type AF_INET6 } from './constants.ts';
import type { AddrContext, IpSockAddr, SockAddr } from './sockaddr.ts';
import { fail } from './socket-error.ts';
import type { TcpBindTable } from './tcp-bind-table.ts';

/** SO_LINGER's `struct linger` (seconds). */
export interface Linger {
  onoff: boolean;
  linger: number;
}

/** Every option value a socket keeps; Linux's defaults. Times in Linux's units. */
export interface OptionState {
  reuseAddr: boolean;
  reusePort: boolean;
  keepAlive: boolean;
  linger: Linger;
  broadcast: boolean;
  /** SO_RCVBUF / SO_SNDBUF as set; undefined: the core's default (or auto-tuned) size. */
  rcvbuf: number | undefined;
  sndbuf: number | undefined;
  /** SO_BINDTODEVICE: an interface name, '' for none. */
  bindToDevice: string;
  /** IP_TTL; undefined: the stack's default TTL. */
  ttl: number | undefined;
  tos: number;
  multicastTtl: number;
  multicastLoop: boolean;
  /** IP_MULTICAST_IF as an address of ours; 0: the route's interface. */
  multicastIf: Ipv4Addr;
  /** IPV6_MULTICAST_IF as an interface index; 0: the route's interface. */
  multicastIf6: number;
  /** IPV6_V6ONLY (AF_INET6 sockets; Linux's default, net.ipv6.bindv6only, is 0). */
  v6Only: boolean;
  noDelay: boolean;
  /** TCP_KEEPIDLE and TCP_KEEPINTVL in seconds, TCP_KEEPCNT in probes (tcp(7) defaults). */
  keepIdle: number;
  keepIntvl: number;
  keepCnt: number;
  /** TCP_USER_TIMEOUT in ms; 0: the retry counts decide. */
  userTimeout: number;
  /** TCP_CONGESTION; undefined: the stack's default. */
  congestion: string | undefined;
}

export type OptionKey = keyof OptionState;

export function defaultOptions(): OptionState {
  return {
    reuseAddr: false,
    reusePort: false,
    keepAlive: false,
    linger: { onoff: false, linger: 0 },
    broadcast: false,
    rcvbuf: undefined,
    sndbuf: undefined,
    bindToDevice: '',
    ttl: undefined,
    tos: 0,
    multicastTtl: 1,
    multicastLoop: true,
    multicastIf: 0,
    multicastIf6: 0,
    v6Only: false,
    noDelay: false,
    keepIdle: 7200,
    keepIntvl: 75,
    keepCnt: 9,
    userTimeout: 0,
    congestion: undefined,
  };
}

/** What recv and recvfrom return. */
export interface Received {
  data: Uint8Array;
  /** The sender (datagrams), or undefined (streams, where it is the peer). */
  from: SockAddr | undefined;
  /** MSG_TRUNC when a datagram was longer than asked for. */
  flags: number;
}

/** What an endpoint needs from the API around it. */
export interface EndpointContext {
  readonly stack: Stack;
  /** Ports bound by this API's stream sockets. */
  readonly tcpBindings: TcpBindTable;
  /** Readiness of some endpoint may have changed: pollers look again. */
  wake(): void;
}

export abstract class Endpoint implements AddrContext {
  abstract readonly type: number;
  abstract readonly protocol: number;
  opts: OptionState = defaultOptions();
  /** SO_ERROR: an asynchronous error not yet reported (an errno name). */
  error: string | undefined;
  shutRd = false;
  shutWr = false;

  /** AF_INET or AF_INET6. */
  constructor(
    protected readonly ctx: EndpointContext,
    readonly family: typeof AF_INET | typeof AF_INET6 = AF_INET,
  ) {}

  get stack(): Stack {
    return this.ctx.stack;
  }

  get v6Only(): boolean {
    return this.opts.v6Only;
  }

  /** The pending error, cleared (as Linux's sock_error). */
  takeError(): string | undefined {
    const e = this.error;
    this.error = undefined;
    return e;
  }

  /** Throws the pending error for `call`, if there is one. */
  throwPending(call: string): void {
    const e = this.takeError();
    if (e !== undefined) fail(e, call, 'pending socket error');
  }

  abstract bind(local: IpSockAddr): void;
  /** `undefined` is AF_UNSPEC: dissolve the association. */
  abstract connect(remote: IpSockAddr | undefined): void;
  abstract listen(backlog: number): void;
  /** A new endpoint from the accept queue with its peer, or undefined when the queue is empty. */
  abstract accept(): { ep: Endpoint; peer: SockAddr } | undefined;
  abstract send(data: Uint8Array, to: IpSockAddr | undefined): number;
  abstract recv(max: number, peek: boolean): Received;
  abstract shutdown(how: number): void;
  abstract close(): void;
  abstract sockname(): SockAddr;
  abstract peername(): SockAddr;
  /** poll(2)'s revents for this endpoint (POLLERR and POLLHUP included, unmasked). */
  abstract revents(): number;
  /** Whether the endpoint listens (SO_ACCEPTCONN). */
  abstract get listening(): boolean;
  /** SO_RCVBUF / SO_SNDBUF as the core has them. */
  abstract bufferSize(which: 'rcvbuf' | 'sndbuf'): number;
  /** Pushes option `key` (already stored in `opts`) to the core object, if there is one. */
  abstract applyOption(key: OptionKey): void;
}
