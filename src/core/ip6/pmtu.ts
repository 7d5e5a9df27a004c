/**
 * Path MTU discovery (RFC 8201): a per-destination cache of path MTUs learned from Packet Too Big
 * messages. An estimate only goes down on a report (RFC 8201 4), never below the IPv6 minimum of
 * 1280 (RFC 8201 4, RFC 8021: no atomic fragments are generated for smaller reports), and ages out
 * after `expiry` so that larger paths are found again (RFC 8201 4: no sooner than 5 minutes, 10
 * recommended). Bounded: the oldest entry makes room for a new one (counted `ipv6.pmtu.evicted`).
 */
import { type Ipv6Addr, ipv6Key } from '../../wire/address.ts';
import { IPV6_MIN_MTU } from '../../wire/ipv6.ts';
import type { Counter } from '../counters.ts';
import type { Stack } from '../stack.ts';
import { MINUTE } from '../time.ts';

export const PMTU_EXPIRY = 10 * MINUTE;
export const MAX_PMTU_ENTRIES = 4096;

interface Entry {
  mtu: number;
  expires: number;
}

export class PathMtuCache {
  expiry = PMTU_EXPIRY;
  maxEntries = MAX_PMTU_ENTRIES;
  private readonly entries = new Map<string, Entry>();
  private readonly evicted: Counter;
  private readonly updates: Counter;

  constructor(private readonly stack: Stack) {
    this.evicted = stack.counters.get('ipv6.pmtu.evicted');
    this.updates = stack.counters.get('ipv6.pmtu.updates');
  }

  /** The path MTU towards `dst` over a link of `linkMtu`. */
  get(dst: Ipv6Addr, linkMtu: number): number {
    const key = ipv6Key(dst);
    const e = this.entries.get(key);
    if (e === undefined) return linkMtu;
    if (e.expires <= this.stack.now()) {
      this.entries.delete(key);
      return linkMtu;
    }
    return Math.min(e.mtu, linkMtu);
  }

  /** A Packet Too Big about a packet to `dst` reported `mtu`; returns true when the estimate fell. */
  update(dst: Ipv6Addr, mtu: number): boolean {
    const key = ipv6Key(dst);
    const value = Math.max(IPV6_MIN_MTU, mtu);
    const now = this.stack.now();
    const e = this.entries.get(key);
    if (e !== undefined && e.expires > now && e.mtu <= value) return false;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evicted.value++;
    }
    this.entries.set(key, { mtu: value, expires: now + this.expiry });
    this.updates.value++;
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}
