/**
 * A listening socket (passive OPEN, RFC 9293 3.10.1): the SYN queue (connections in SYN-RECEIVED),
 * the accept queue (ESTABLISHED, not yet accepted), both bounded by the backlog, and SYN cookies
 * (RFC 4987 3.6) when the SYN queue overflows, so that a SYN flood costs no state.
 */
import type { NetworkInterface } from '../device/interface.ts';
import { errno } from '../errno.ts';
import type { IpAddr, IpFamily } from '../ip-address.ts';
import type { Timer } from '../timers.ts';
import type { Segment } from './segment.ts';
import { hasAck, hasRst, hasSyn } from './segment.ts';
import { SYN_COOKIE_PERIOD_MS } from './syn-cookies.ts';
import type { Tcb } from './tcb.ts';
import type { TcpLayer } from './tcp-layer.ts';
import { TcpSocket } from './tcp-socket.ts';

/** Linux's default listen backlog (SOMAXCONN) and the smallest SYN queue. */
export const DEFAULT_BACKLOG = 4096;
const MIN_SYN_QUEUE = 8;

export interface ListenOptions {
  port: number;
  /** Local address, in the listener's family; absent or the wildcard for every address. */
  address?: IpAddr;
  /** 4 or 6; default: the family `address` is written in, else 4. */
  family?: IpFamily;
  /** IPV6_V6ONLY: an IPv6 listener that takes no IPv4 connections (default false, as Linux). */
  v6Only?: boolean;
  /** SO_BINDTODEVICE: connections that come in on this interface only. */
  device?: NetworkInterface;
  /** Bound of the accept queue (and of the SYN queue); default 4096 (Linux SOMAXCONN). */
  backlog?: number;
}

/** Options as the layer settled them: the family and the address in it. */
export type BoundListenOptions = ListenOptions & { family: IpFamily; address: IpAddr; v6Only: boolean };

/**
 * A listener of family `A` (IPv4 numbers, or 16-byte IPv6 addresses): the connections it accepts
 * have addresses of that family, IPv4 peers of a dual-stack IPv6 listener as `::ffff:a.b.c.d`.
 */
export class TcpListener<A extends IpAddr = IpAddr> {
  readonly family: IpFamily;
  readonly address: A;
  readonly port: number;
  readonly v6Only: boolean;
  readonly device: NetworkInterface | undefined;
  readonly backlog: number;
  /** Called (from a stack entry) when connections wait in the accept queue. */
  onConnection: (() => void) | undefined;
  private readonly synQueue = new Set<Tcb>();
  private readonly acceptQueue: TcpSocket<A>[] = [];
  private open = true;
  /** When cookies were last sent: only then is a cookie ACK worth checking (as Linux). */
  private lastCookie = Number.NEGATIVE_INFINITY;
  private readonly notifyTimer: Timer;

  constructor(
    private readonly layer: TcpLayer,
    options: BoundListenOptions,
  ) {
    this.family = options.family;
    this.address = options.address as A;
    this.port = options.port;
    this.v6Only = options.v6Only;
    this.device = options.device;
    this.backlog = Math.max(1, Math.min(options.backlog ?? DEFAULT_BACKLOG, 65535));
    this.notifyTimer = layer.stack.createTimer(() => {
      if (this.open && this.acceptQueue.length > 0) this.onConnection?.();
    });
  }

  /** Connections in SYN-RECEIVED. */
  get pending(): number {
    return this.synQueue.size;
  }

  /** Connections waiting for `accept`. */
  get queued(): number {
    return this.acceptQueue.length;
  }

  /** Whether the accept queue holds `backlog` connections already. */
  get acceptQueueFull(): boolean {
    return this.acceptQueue.length >= this.backlog;
  }

  /** The next established connection, or undefined. */
  accept(): TcpSocket<A> | undefined {
    if (!this.open) throw errno('EBADF', 'listener is closed');
    return this.acceptQueue.shift();
  }

  /** Stops listening: half-open connections are dropped, unaccepted ones reset (as Linux). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.layer.stack.run(() => {
      this.layer.unlisten(this);
      for (const tcb of [...this.synQueue]) this.layer.abortTcb(tcb);
      for (const s of this.acceptQueue.splice(0)) s.abort();
      this.layer.stack.cancel(this.notifyTimer);
    });
  }

  /** A segment for this listener with no connection (RFC 9293 3.10.7.2, LISTEN). */
  input(seg: Segment): void {
    const layer = this.layer;
    const drops = layer.counters.drops;
    // "first check for an RST: An incoming RST segment could not be valid ... ignore it".
    if (hasRst(seg)) {
      drops.drop('listen-rst');
      return;
    }
    if (hasAck(seg)) {
      // "second, check for an ACK": a SYN cookie's ACK, or else answered with a reset.
      if (!hasSyn(seg) && this.cookieAck(seg)) return;
      layer.sendReset(seg);
      return;
    }
    if (!hasSyn(seg)) {
      drops.drop('listen-no-syn');
      return;
    }
    // Third: a SYN.
    if (this.acceptQueue.length >= this.backlog) {
      // Linux drops SYNs while the accept queue is full: the peer retries later.
      layer.counters.listenOverflows.value++;
      return;
    }
    if (this.synQueue.size >= Math.max(MIN_SYN_QUEUE, this.backlog)) {
      this.lastCookie = layer.stack.now();
      layer.counters.cookiesSent.value++;
      layer.sendCookieSynAck(seg, this);
      return;
    }
    const tcb = layer.acceptSyn(seg, this);
    if (tcb !== undefined) this.synQueue.add(tcb);
  }

  private cookieAck(seg: Segment): boolean {
    const layer = this.layer;
    if (layer.stack.now() - this.lastCookie > 2 * SYN_COOKIE_PERIOD_MS) return false;
    if (this.acceptQueue.length >= this.backlog) {
      layer.counters.listenOverflows.value++;
      return true;
    }
    const tcb = layer.acceptCookie(seg, this);
    if (tcb === 'full') return true;
    if (tcb === undefined) {
      layer.counters.cookiesFailed.value++;
      return false;
    }
    layer.counters.cookiesValid.value++;
    this.embryonicDone(tcb, true);
    return true;
  }

  /** A connection of ours left SYN-RECEIVED: to the accept queue when established. */
  embryonicDone(tcb: Tcb, established: boolean): void {
    this.synQueue.delete(tcb);
    if (!established) return;
    if (!this.open) {
      this.layer.abortTcb(tcb);
      return;
    }
    this.acceptQueue.push(new TcpSocket<A>(this.layer, tcb));
    if (!this.notifyTimer.scheduled) this.layer.stack.schedule(this.notifyTimer, this.layer.stack.now());
  }
}
