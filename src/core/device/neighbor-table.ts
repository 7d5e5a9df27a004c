/**
 * A neighbor cache with unreachability detection (RFC 4861 7.3, applied to ARP as Linux does):
 * entries move through INCOMPLETE, REACHABLE, STALE, DELAY, PROBE and FAILED; packets wait in a
 * bounded queue while their next hop is resolved; the table is bounded and evicts the least useful
 * entries first. The protocol (ARP, later NDP) supplies how to solicit and how to send.
 *
 * Counters (with the protocol's prefix, e.g. `arp`): `tx.drop.<reason>` for packets dropped on
 * the way out, `tx.solicitations`, `evicted`, and `rx.not-learned` for neighbor information the
 * full table could not record.
 */
import { type MacAddr, macIsMulticast } from '../../wire/address.ts';
import type { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import type { Timer } from '../timers.ts';
import type { NetworkInterface } from './interface.ts';
import type { NeighborParams } from './neighbor-params.ts';

export type NeighborState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'static';

export interface NeighborEntry<A> {
  readonly addr: A;
  readonly iface: NetworkInterface;
  mac: MacAddr | undefined;
  state: NeighborState;
  /** Solicitations sent in the current INCOMPLETE or PROBE phase. */
  probes: number;
  queue: PacketBuffer[];
  /** Bytes in `queue`. */
  queuedBytes: number;
  /** When the entry last changed state, or was used while STALE. */
  updated: number;
  timer: Timer;
}

/** What the protocol (ARP or NDP) does for the table. */
export interface NeighborProtocol<A> {
  /** A Map key for an address. */
  key(addr: A): number | string;
  /** Sends a solicitation for `target`: broadcast/multicast when `unicastTo` is absent (RFC 4861 7.2.2). */
  solicit(iface: NetworkInterface, target: A, unicastTo: MacAddr | undefined): void;
  /** Sends a network-layer packet to a resolved link address. */
  transmit(iface: NetworkInterface, mac: MacAddr, pb: PacketBuffer): void;
  /** Resolution failed: the queued packets are dropped (the protocol reports host unreachable). */
  failed(iface: NetworkInterface, target: A, dropped: PacketBuffer[]): void;
}

export type NeighborDropReason = 'queue-full' | 'resolution-failed' | 'table-full';

export interface NeighborUpdate {
  /** A reply to our solicitation (confirms reachability). */
  solicited: boolean;
  /** Create an entry (STALE) when there is none. */
  create: boolean;
}

export class NeighborTable<A> {
  private readonly byIface = new Map<number, Map<number | string, NeighborEntry<A>>>();
  private count = 0;
  /** Bytes queued across the table. */
  private queued = 0;
  private readonly drops: DropCounters<NeighborDropReason>;
  private readonly evictions: Counter;
  private readonly solicitations: Counter;
  private readonly notLearned: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly protocol: NeighborProtocol<A>,
    readonly params: NeighborParams,
    counterPrefix: string,
  ) {
    this.drops = stack.counters.drops(`${counterPrefix}.tx.drop`);
    this.evictions = stack.counters.get(`${counterPrefix}.evicted`);
    this.solicitations = stack.counters.get(`${counterPrefix}.tx.solicitations`);
    this.notLearned = stack.counters.get(`${counterPrefix}.rx.not-learned`);
  }

  get size(): number {
    return this.count;
  }

  lookup(iface: NetworkInterface, addr: A): NeighborEntry<A> | undefined {
    return this.byIface.get(iface.index)?.get(this.protocol.key(addr));
  }

  /** Every entry (like `ip neigh`). */
  list(): NeighborEntry<A>[] {
    const out: NeighborEntry<A>[] = [];
    for (const m of this.byIface.values()) out.push(...m.values());
    return out;
  }

  /** Sends `pb` to the neighbor `addr`, resolving its link address first if needed. */
  output(iface: NetworkInterface, addr: A, pb: PacketBuffer): void {
    let e = this.lookup(iface, addr);
    if (e === undefined) {
      e = this.create(iface, addr, 'incomplete');
      if (e === undefined) {
        this.drops.drop('table-full');
        return;
      }
      this.enqueue(e, pb);
      this.solicit(e, undefined);
      return;
    }
    switch (e.state) {
      case 'incomplete':
        this.enqueue(e, pb);
        return;
      case 'failed':
        this.drops.drop('resolution-failed');
        this.protocol.failed(iface, addr, [pb]);
        return;
      case 'stale':
        // RFC 4861 7.3.3: the first packet sent to a STALE entry moves it to DELAY.
        this.enter(e, 'delay', this.params.delayFirstProbe);
        break;
    }
    this.protocol.transmit(iface, e.mac!, pb);
  }

  /** Information about `addr` from the network (an ARP packet, an NA). Static entries never change. */
  update(iface: NetworkInterface, addr: A, mac: MacAddr, how: NeighborUpdate): void {
    let e = this.lookup(iface, addr);
    if (e === undefined) {
      if (!how.create) return;
      e = this.create(iface, addr, 'stale', mac);
      if (e === undefined) {
        this.notLearned.value++;
        return;
      }
      if (how.solicited) this.enter(e, 'reachable', this.reachableTime());
      else this.enter(e, 'stale', this.params.staleLifetime);
      return;
    }
    if (e.state === 'static') return;
    // RFC 4861 7.3.3 (with ARP's implicit override): a confirmed reply makes the entry REACHABLE;
    // other news moves it to STALE when it changes the address or completes a resolution, and
    // leaves it as it is otherwise.
    const changed = e.mac !== mac;
    e.mac = mac;
    if (how.solicited) this.enter(e, 'reachable', this.reachableTime());
    else if (changed || e.state === 'incomplete' || e.state === 'failed')
      this.enter(e, 'stale', this.params.staleLifetime);
    this.flush(e);
  }

  /** An upper layer saw forward progress (a TCP ACK): the neighbor is reachable (RFC 4861 7.3.1). */
  confirm(iface: NetworkInterface, addr: A): void {
    const e = this.lookup(iface, addr);
    if (e !== undefined && e.mac !== undefined && e.state !== 'static' && e.state !== 'failed') {
      this.enter(e, 'reachable', this.reachableTime());
    }
  }

  /**
   * Adds or replaces a static entry (`ip neigh replace ... permanent`): the network never changes
   * it and it never expires. Throws ENOBUFS when the table is full of entries it cannot evict.
   */
  addStatic(iface: NetworkInterface, addr: A, mac: MacAddr): void {
    if (mac === 0 || macIsMulticast(mac)) {
      throw Object.assign(new Error('a neighbor needs a unicast link address'), { code: 'EINVAL' });
    }
    const e = this.lookup(iface, addr) ?? this.create(iface, addr, 'static', mac);
    if (e === undefined) throw Object.assign(new Error('neighbor table full'), { code: 'ENOBUFS' });
    e.mac = mac;
    this.stack.cancel(e.timer);
    e.state = 'static';
    this.flush(e);
  }

  remove(iface: NetworkInterface, addr: A): boolean {
    const e = this.lookup(iface, addr);
    if (e === undefined) return false;
    this.delete(e);
    return true;
  }

  /** Removes every entry of an interface (it went down). */
  flushInterface(iface: NetworkInterface): void {
    for (const e of [...(this.byIface.get(iface.index)?.values() ?? [])]) this.delete(e);
  }

  // ---- internals ----

  private create(
    iface: NetworkInterface,
    addr: A,
    state: NeighborState,
    mac?: MacAddr,
  ): NeighborEntry<A> | undefined {
    if (this.count >= this.params.maxEntries && !this.evict()) return undefined;
    const e: NeighborEntry<A> = {
      addr,
      iface,
      mac,
      state,
      probes: 0,
      queue: [],
      queuedBytes: 0,
      updated: this.stack.now(),
      timer: this.stack.createTimer(() => this.expire(e)),
    };
    let m = this.byIface.get(iface.index);
    if (m === undefined) {
      m = new Map();
      this.byIface.set(iface.index, m);
    }
    m.set(this.protocol.key(addr), e);
    this.count++;
    return e;
  }

  /** Frees one slot: a FAILED entry, else the oldest STALE, else the oldest resolved one. */
  private evict(): boolean {
    let best: NeighborEntry<A> | undefined;
    const rank = (s: NeighborState) => (s === 'failed' ? 0 : s === 'stale' ? 1 : s === 'reachable' ? 2 : 3);
    for (const m of this.byIface.values()) {
      for (const e of m.values()) {
        if (e.state === 'static' || e.state === 'incomplete') continue;
        if (
          best === undefined ||
          rank(e.state) < rank(best.state) ||
          (rank(e.state) === rank(best.state) && e.updated < best.updated)
        ) {
          best = e;
        }
      }
    }
    if (best === undefined) return false;
    this.evictions.value++;
    this.delete(best);
    return true;
  }

  private delete(e: NeighborEntry<A>): void {
    this.stack.cancel(e.timer);
    this.takeQueue(e);
    if (this.byIface.get(e.iface.index)?.delete(this.protocol.key(e.addr))) this.count--;
  }

  private enqueue(e: NeighborEntry<A>, pb: PacketBuffer): void {
    const size = pb.length;
    if (size > this.params.maxQueuedBytesPerEntry || size > this.params.maxQueuedBytesTotal) {
      this.drops.drop('queue-full');
      return;
    }
    // Like Linux, the oldest waiting packets make room for the newest.
    while (
      e.queue.length > 0 &&
      (e.queuedBytes + size > this.params.maxQueuedBytesPerEntry ||
        this.queued + size > this.params.maxQueuedBytesTotal)
    ) {
      this.dequeue(e);
      this.drops.drop('queue-full');
    }
    if (this.queued + size > this.params.maxQueuedBytesTotal) {
      this.drops.drop('queue-full');
      return;
    }
    e.queue.push(pb);
    e.queuedBytes += size;
    this.queued += size;
  }

  private dequeue(e: NeighborEntry<A>): PacketBuffer {
    const pb = e.queue.shift()!;
    e.queuedBytes -= pb.length;
    this.queued -= pb.length;
    return pb;
  }

  /** Takes every queued packet of an entry. */
  private takeQueue(e: NeighborEntry<A>): PacketBuffer[] {
    const queue = e.queue;
    e.queue = [];
    this.queued -= e.queuedBytes;
    e.queuedBytes = 0;
    return queue;
  }

  /** Sends the packets that waited for resolution. */
  private flush(e: NeighborEntry<A>): void {
    if (e.queue.length === 0 || e.mac === undefined) return;
    // RFC 4861 7.3.3: sending to a STALE entry starts the DELAY wait for a confirmation.
    if (e.state === 'stale') this.enter(e, 'delay', this.params.delayFirstProbe);
    for (const pb of this.takeQueue(e)) this.protocol.transmit(e.iface, e.mac, pb);
  }

  private solicit(e: NeighborEntry<A>, unicastTo: MacAddr | undefined): void {
    e.probes++;
    this.solicitations.value++;
    this.stack.schedule(e.timer, this.stack.now() + this.params.retransTimer);
    this.protocol.solicit(e.iface, e.addr, unicastTo);
  }

  private enter(e: NeighborEntry<A>, state: NeighborState, timeout: number): void {
    e.state = state;
    e.probes = 0;
    e.updated = this.stack.now();
    this.stack.schedule(e.timer, e.updated + timeout);
  }

  /** RFC 4861 6.3.2: a random value between 0.5 and 1.5 times the base reachable time. */
  private reachableTime(): number {
    return this.params.baseReachableTime * (0.5 + randomFloat(this.stack.env.rng));
  }

  private expire(e: NeighborEntry<A>): void {
    switch (e.state) {
      case 'incomplete':
        if (e.probes < this.params.multicastSolicit) {
          this.solicit(e, undefined);
          return;
        }
        this.fail(e);
        return;
      case 'reachable':
        this.enter(e, 'stale', this.params.staleLifetime);
        return;
      case 'delay':
        e.state = 'probe';
        e.probes = 0;
        this.solicit(e, e.mac);
        return;
      case 'probe':
        if (e.probes < this.params.unicastSolicit) {
          this.solicit(e, e.mac);
          return;
        }
        this.fail(e);
        return;
      default:
        // STALE unused for its lifetime, or FAILED held long enough: forget it.
        this.delete(e);
    }
  }

  private fail(e: NeighborEntry<A>): void {
    const dropped = this.takeQueue(e);
    e.mac = undefined;
    this.enter(e, 'failed', this.params.failedLifetime);
    for (let i = 0; i < dropped.length; i++) this.drops.drop('resolution-failed');
    if (dropped.length > 0) this.protocol.failed(e.iface, e.addr, dropped);
  }
}
