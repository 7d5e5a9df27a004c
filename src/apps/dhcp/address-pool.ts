/**
 * The DHCP server's address pool: which address each client has, has been offered or had before,
 * which addresses were declined, and the choice of an address for a client (RFC 2131 4.3.1).
 * Pure bookkeeping on times given by the caller; expiry is lazy (an entry past its time is
 * available) and `sweep` turns expired entries free for the server's timer.
 *
 * Bounds: one entry per address of the range at most, and one client-to-entry link per entry.
 */
import type { Instant } from '../../core/time.ts';
import {
  type Ipv4Addr,
  ipv4ToString,
  type MacAddr,
  macToString,
  parseIpv4,
  parseMac,
} from '../../wire/address.ts';
import type { DhcpLeaseSnapshot } from './lease-store.ts';

/** The largest range a pool takes (a /16). */
export const MAX_POOL_SIZE = 65536;

export type PoolEntryState =
  /** Offered and held for the client until `expires`. */
  | 'offered'
  /** Leased until `expires` (Infinity: an infinite lease). */
  | 'bound'
  /** Declined (RFC 2131 4.3.3): nobody gets it until `expires`. */
  | 'declined'
  /** Released or expired; the last client is remembered, `expires` is when it became free. */
  | 'free';

export interface PoolEntry {
  readonly address: Ipv4Addr;
  state: PoolEntryState;
  client: string | undefined;
  mac: MacAddr;
  hostName: string | undefined;
  expires: Instant;
}

/** A fixed address for one client, known by any of its client keys. */
export interface PoolReservation {
  clients: string[];
  address: Ipv4Addr;
  hostName?: string;
}

export class AddressPool {
  private readonly entries = new Map<Ipv4Addr, PoolEntry>();
  private readonly byClient = new Map<string, PoolEntry>();
  private readonly reservedFor = new Map<Ipv4Addr, PoolReservation>();
  private readonly reservationOf = new Map<string, PoolReservation>();
  /** The next address never handed out, scanning the range once. */
  private fresh: Ipv4Addr;

  constructor(
    readonly start: Ipv4Addr,
    readonly end: Ipv4Addr,
    reservations: readonly PoolReservation[],
    /** Addresses of the range never handed out (the server's own). */
    private readonly excluded: ReadonlySet<Ipv4Addr>,
  ) {
    if (end < start || end - start + 1 > MAX_POOL_SIZE) {
      throw Object.assign(new Error(`bad pool ${ipv4ToString(start)}-${ipv4ToString(end)}`), {
        code: 'EINVAL',
      });
    }
    for (const r of reservations) {
      if (this.reservedFor.has(r.address) || r.clients.some((c) => this.reservationOf.has(c))) {
        throw Object.assign(new Error(`reservation of ${ipv4ToString(r.address)} given twice`), {
          code: 'EINVAL',
        });
      }
      this.reservedFor.set(r.address, r);
      for (const c of r.clients) this.reservationOf.set(c, r);
    }
    this.fresh = start;
  }

  get size(): number {
    return this.end - this.start + 1;
  }

  /** The entry of a client: its lease, offer, or last address. */
  entryOf(client: string): PoolEntry | undefined {
    return this.byClient.get(client);
  }

  entryAt(address: Ipv4Addr): PoolEntry | undefined {
    return this.entries.get(address);
  }

  reservation(client: string): PoolReservation | undefined {
    return this.reservationOf.get(client);
  }

  /** Entries, for reports. */
  list(): PoolEntry[] {
    return [...this.entries.values()];
  }

  /** Offers still held (the bound on outstanding offers counts them). */
  pendingOffers(now: Instant): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state === 'offered' && e.expires > now) n++;
    return n;
  }

  /** Leases held by clients with this MAC address (bound and not expired). */
  leasesOfMac(mac: MacAddr, now: Instant): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.mac === mac && e.state === 'bound' && e.expires > now) n++;
    return n;
  }

  /** `client` may have `address`: in the range or reserved for it, and nobody else's. */
  canGive(client: string, address: Ipv4Addr, now: Instant): boolean {
    const reserved = this.reservedFor.get(address);
    if (reserved !== undefined) return reserved.clients.includes(client);
    if (address < this.start || address > this.end || this.excluded.has(address)) return false;
    const e = this.entries.get(address);
    // A declined entry belongs to no client (see `decline`).
    return e === undefined || e.client === client || available(e, now);
  }

  /**
   * RFC 2131 4.3.1's choice of an address for a DISCOVER: the client's reservation, its current or
   * previous address, the address it asked for, an address never used, then the one free longest.
   */
  choose(client: string, requested: Ipv4Addr | undefined, now: Instant): Ipv4Addr | undefined {
    const reserved = this.reservationOf.get(client);
    if (reserved !== undefined) return reserved.address;
    const mine = this.byClient.get(client);
    if (mine !== undefined && this.canGive(client, mine.address, now)) return mine.address;
    if (requested !== undefined && this.canGive(client, requested, now)) return requested;
    while (this.fresh <= this.end) {
      const a = this.fresh++;
      if (!this.entries.has(a) && !this.reservedFor.has(a) && !this.excluded.has(a)) return a;
    }
    let best: PoolEntry | undefined;
    for (const e of this.entries.values()) {
      if (this.reservedFor.has(e.address) || !available(e, now)) continue;
      if (best === undefined || e.expires < best.expires) best = e;
    }
    return best?.address;
  }

  /** Holds `address` for `client` until `until` (an offer). */
  offer(client: string, mac: MacAddr, address: Ipv4Addr, until: Instant): void {
    this.assign(client, mac, address, 'offered', until, undefined);
  }

  /** Leases `address` to `client` until `until`. */
  bind(
    client: string,
    mac: MacAddr,
    address: Ipv4Addr,
    until: Instant,
    hostName: string | undefined,
  ): PoolEntry {
    return this.assign(client, mac, address, 'bound', until, hostName);
  }

  /** The client gives its lease back (RFC 2131 4.3.4); the address stays linked to it for reuse. */
  release(e: PoolEntry, now: Instant): void {
    e.state = 'free';
    e.expires = now;
  }

  /** Forgets an offer the client did not take (it chose another server). */
  withdraw(e: PoolEntry, now: Instant): void {
    if (e.state === 'offered') this.release(e, now);
  }

  /** RFC 2131 4.3.3: the address is in use by someone else: nobody gets it until `until`. */
  decline(e: PoolEntry, until: Instant): void {
    if (e.client !== undefined) this.byClient.delete(e.client);
    e.client = undefined;
    e.state = 'declined';
    e.expires = until;
  }

  /**
   * Frees every entry past its time; returns the leases that expired (offers and declines lapse
   * silently) and the next time something expires (Infinity when nothing will).
   */
  sweep(now: Instant): { expired: PoolEntry[]; next: Instant } {
    const expired: PoolEntry[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) {
      if (e.state === 'free') continue;
      if (e.expires > now) {
        next = Math.min(next, e.expires);
        continue;
      }
      if (e.state === 'bound') expired.push(e);
      e.state = 'free';
    }
    return { expired, next };
  }

  /** The bound leases, with the time left of each. */
  snapshot(now: Instant): DhcpLeaseSnapshot {
    const leases = [...this.entries.values()]
      .filter((e) => e.state === 'bound' && e.expires > now && e.client !== undefined)
      .map((e) => ({
        address: ipv4ToString(e.address),
        client: e.client!,
        mac: macToString(e.mac),
        ...(e.hostName !== undefined ? { hostName: e.hostName } : {}),
        remaining: Number.isFinite(e.expires) ? e.expires - now : null,
      }));
    return { version: 1, leases };
  }

  /** Binds the leases of a snapshot that this pool can give; returns how many were skipped. */
  restore(snapshot: DhcpLeaseSnapshot, now: Instant): number {
    let skipped = 0;
    for (const r of snapshot.leases) {
      const address = parseIpv4(r.address);
      const mac = parseMac(r.mac);
      const remaining = r.remaining ?? Number.POSITIVE_INFINITY;
      if (
        address === undefined ||
        mac === undefined ||
        remaining <= 0 ||
        !this.canGive(r.client, address, now)
      ) {
        skipped++;
        continue;
      }
      this.bind(r.client, mac, address, now + remaining, r.hostName);
    }
    return skipped;
  }

  private assign(
    client: string,
    mac: MacAddr,
    address: Ipv4Addr,
    state: PoolEntryState,
    expires: Instant,
    hostName: string | undefined,
  ): PoolEntry {
    // A client holds one entry: moving to another address leaves the old one free.
    const previous = this.byClient.get(client);
    if (previous !== undefined && previous.address !== address) {
      if (previous.state !== 'declined') previous.state = 'free';
      previous.client = undefined;
    }
    let e = this.entries.get(address);
    if (e === undefined) {
      e = { address, state, client, mac, hostName, expires };
      this.entries.set(address, e);
    } else {
      if (e.client !== undefined && e.client !== client) this.byClient.delete(e.client);
      Object.assign(e, { state, client, mac, expires, hostName: hostName ?? e.hostName });
    }
    this.byClient.set(client, e);
    return e;
  }
}

/** An entry another client may take: free, or past its time. */
function available(e: PoolEntry, now: Instant): boolean {
  return e.state === 'free' || e.expires <= now;
}
