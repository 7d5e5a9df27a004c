/**
 * The IPv6 addresses of a stack's interfaces with their states and lifetimes (RFC 4862 5.5.4):
 * tentative while duplicate address detection runs, optimistic when RFC 4429 lets it be used
 * meanwhile, preferred, deprecated once its preferred lifetime ends (still valid for existing
 * communication, avoided for new), removed when its valid lifetime ends; duplicate when DAD found
 * another owner (kept, unusable, so the user can see it, as Linux's "dadfailed").
 */
import { type Ipv6Addr, ipv6IsMulticast, ipv6IsUnspecified, ipv6ToString } from '../../wire/address.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { Stack } from '../stack.ts';
import type { Instant } from '../time.ts';
import type { Timer } from '../timers.ts';
import { ipv6Equal } from './ipv6-addr.ts';

export type Ipv6AddressState = 'tentative' | 'optimistic' | 'preferred' | 'deprecated' | 'duplicate';
export type Ipv6AddressOrigin = 'manual' | 'link-local' | 'slaac' | 'temporary' | 'dhcp6' | 'loopback';

export interface Ipv6AddressOptions {
  /** Milliseconds the address stays valid (default: forever). */
  validLifetime?: number;
  /** Milliseconds it stays preferred (default: the valid lifetime). */
  preferredLifetime?: number;
  /** Run duplicate address detection first (default: on Ethernet links with NDP). */
  dad?: boolean;
  /** RFC 4429: usable while DAD runs. */
  optimistic?: boolean;
  origin?: Ipv6AddressOrigin;
  /** Add the on-link route of the prefix (default: for prefixes shorter than 128). */
  onLinkRoute?: boolean;
}

export interface Ipv6InterfaceAddress {
  readonly addr: Ipv6Addr;
  readonly prefixLen: number;
  readonly iface: NetworkInterface;
  readonly origin: Ipv6AddressOrigin;
  /** RFC 8981 temporary address. */
  readonly temporary: boolean;
  state: Ipv6AddressState;
  /** Instants (stack clock); Infinity for never. */
  validUntil: Instant;
  preferredUntil: Instant;
  /** When the address was added (RFC 8981 uses it to pick the newest temporary address). */
  readonly created: Instant;
  /** The lifetime timer: deprecation, then removal. */
  readonly timer: Timer;
}

/** Addresses per interface at most (Linux: max_addresses 16 for autoconfigured ones). */
export const MAX_ADDRESSES_PER_INTERFACE = 64;

export class Ipv6Addresses {
  private readonly entries: Ipv6InterfaceAddress[] = [];
  readonly onAdded: Array<(a: Ipv6InterfaceAddress) => void> = [];
  readonly onRemoved: Array<(a: Ipv6InterfaceAddress) => void> = [];
  /** The state changed (tentative to preferred, preferred to deprecated, to duplicate). */
  readonly onStateChanged: Array<(a: Ipv6InterfaceAddress, previous: Ipv6AddressState) => void> = [];

  constructor(private readonly stack: Stack) {}

  /** Adds an address in `state` with the given lifetimes (ms). EINVAL, EEXIST, ENOSPC on misuse. */
  add(
    iface: NetworkInterface,
    addr: Ipv6Addr,
    prefixLen: number,
    state: Ipv6AddressState,
    lifetimes: { valid: number; preferred: number },
    origin: Ipv6AddressOrigin,
    temporary = false,
  ): Ipv6InterfaceAddress {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 128) {
      throw Object.assign(new Error(`bad prefix length ${prefixLen}`), { code: 'EINVAL' });
    }
    if (addr.length !== 16 || ipv6IsMulticast(addr) || ipv6IsUnspecified(addr)) {
      throw Object.assign(new Error(`${ipv6ToString(addr)} is not a unicast address`), { code: 'EINVAL' });
    }
    if (!(lifetimes.valid > 0) || !(lifetimes.preferred >= 0) || lifetimes.preferred > lifetimes.valid) {
      throw Object.assign(new Error('lifetimes: 0 <= preferred <= valid, valid > 0'), { code: 'EINVAL' });
    }
    if (this.find(addr, iface) !== undefined) {
      throw Object.assign(new Error(`${ipv6ToString(addr)} is already on ${iface.name}`), { code: 'EEXIST' });
    }
    if (this.list(iface).length >= MAX_ADDRESSES_PER_INTERFACE) {
      throw Object.assign(new Error(`${iface.name} has ${MAX_ADDRESSES_PER_INTERFACE} addresses`), {
        code: 'ENOSPC',
      });
    }
    const now = this.stack.now();
    const entry: Ipv6InterfaceAddress = {
      addr: addr.slice(),
      prefixLen,
      iface,
      origin,
      temporary,
      state,
      validUntil: now + lifetimes.valid,
      preferredUntil: now + lifetimes.preferred,
      created: now,
      timer: this.stack.createTimer(() => this.lifetimeEvent(entry)),
    };
    this.entries.push(entry);
    this.schedule(entry);
    for (const l of this.onAdded) l(entry);
    return entry;
  }

  /** Removes an address (its valid lifetime ended, DAD failed for good, or the user asked). */
  remove(entry: Ipv6InterfaceAddress): boolean {
    const i = this.entries.indexOf(entry);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    this.stack.cancel(entry.timer);
    for (const l of this.onRemoved) l(entry);
    return true;
  }

  /** Every address, or those of one interface. */
  list(iface?: NetworkInterface): readonly Ipv6InterfaceAddress[] {
    return iface === undefined ? this.entries : this.entries.filter((a) => a.iface === iface);
  }

  /** The entry for `addr` (on `iface`, when given). */
  find(addr: Ipv6Addr, iface?: NetworkInterface): Ipv6InterfaceAddress | undefined {
    return this.entries.find((a) => (iface === undefined || a.iface === iface) && ipv6Equal(a.addr, addr));
  }

  /** Sets new lifetimes (ms from now), deprecating or un-deprecating as they say (RFC 4862 5.5.3 e). */
  setLifetimes(entry: Ipv6InterfaceAddress, valid: number, preferred: number): void {
    const now = this.stack.now();
    entry.validUntil = now + valid;
    entry.preferredUntil = now + Math.min(preferred, valid);
    if (entry.state === 'preferred' || entry.state === 'deprecated') {
      this.setState(entry, entry.preferredUntil > now ? 'preferred' : 'deprecated');
    }
    this.schedule(entry);
  }

  /** Moves an address to `state` (DAD results); a usable address past its preferred time is deprecated. */
  setState(entry: Ipv6InterfaceAddress, state: Ipv6AddressState): void {
    const next = state === 'preferred' && entry.preferredUntil <= this.stack.now() ? 'deprecated' : state;
    if (next === entry.state) return;
    const previous = entry.state;
    entry.state = next;
    this.schedule(entry);
    for (const l of this.onStateChanged) l(entry, previous);
  }

  private schedule(entry: Ipv6InterfaceAddress): void {
    const next =
      entry.state === 'preferred' ? Math.min(entry.preferredUntil, entry.validUntil) : entry.validUntil;
    if (next === Number.POSITIVE_INFINITY) this.stack.cancel(entry.timer);
    else this.stack.schedule(entry.timer, next);
  }

  private lifetimeEvent(entry: Ipv6InterfaceAddress): void {
    const now = this.stack.now();
    if (entry.validUntil <= now) {
      this.remove(entry);
      return;
    }
    // RFC 4862 5.5.4: a preferred address whose preferred lifetime ends becomes deprecated.
    if (entry.state === 'preferred' && entry.preferredUntil <= now) this.setState(entry, 'deprecated');
    else this.schedule(entry);
  }
}

/** True for states in which an address may be used (as a source, and to receive on). */
export function isUsable(a: Ipv6InterfaceAddress): boolean {
  return a.state === 'preferred' || a.state === 'deprecated' || a.state === 'optimistic';
}
