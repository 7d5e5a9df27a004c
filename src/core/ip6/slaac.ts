/**
 * Stateless address autoconfiguration (RFC 4862 5.3, 5.5): the link-local address of each
 * Ethernet interface and an address for each autonomous prefix a router advertises, with RFC 7217
 * stable opaque interface identifiers (a keyed hash of prefix, interface and DAD counter, so the
 * address is stable per network and reveals nothing across networks); on a DAD conflict, the next
 * counter value (RFC 7217 6, up to IDGEN_RETRIES). Lifetimes follow RFC 4862 5.5.3 (e) with its
 * two-hour rule. When `useTemporaryAddresses` is on, RFC 8981 temporary addresses are made per
 * prefix too, with random identifiers, bounded lifetimes, and regeneration before deprecation.
 *
 * Counters: `ipv6.slaac.addresses`, `ipv6.slaac.temporary`, `ipv6.slaac.prefixes-full`,
 * `ipv6.slaac.gave-up`.
 */
import { type Ipv6Addr, ipv6IsLinkLocal, ipv6Key } from '../../wire/address.ts';
import type { NdpOption } from '../../wire/ndp.ts';
import type { Counter } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { sipHash24 } from '../tcp/siphash.ts';
import { HOUR, SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
import type { Ipv6InterfaceAddress } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';
import { LINK_LOCAL_PREFIX, maskPrefix, withInterfaceId } from './ipv6-addr.ts';
import { lifetime } from './router-discovery.ts';

/** RFC 7217 7: retries with the next DAD counter after a conflict. */
const IDGEN_RETRIES = 3;
/** RFC 8981 3.8: TEMP_VALID_LIFETIME, TEMP_PREFERRED_LIFETIME, TEMP_IDGEN_RETRIES, MAX_DESYNC_FACTOR. */
const TEMP_VALID_LIFETIME = 2 * (24 * HOUR);
const TEMP_PREFERRED_LIFETIME = 1 * (24 * HOUR);
const TEMP_IDGEN_RETRIES = 3;
const MAX_DESYNC_FACTOR = 0.4 * TEMP_PREFERRED_LIFETIME;
/** RFC 4862 5.5.3 (e): the two hours below which an advertisement cannot cut a valid lifetime. */
const TWO_HOURS = 2 * HOUR;
/** Autoconfigured prefixes per interface at most. */
export const MAX_PREFIXES_PER_INTERFACE = 16;

type PrefixInfo = Extract<NdpOption, { kind: 'prefix-info' }>;

interface Prefix {
  readonly iface: NetworkInterface;
  readonly prefix: Ipv6Addr;
  dadCounter: number;
  stable: Ipv6InterfaceAddress | undefined;
  readonly temporaries: Ipv6InterfaceAddress[];
  tempRetries: number;
  /** Lifetimes the prefix last came with (ms from `advertised`). */
  valid: number;
  preferred: number;
  advertised: number;
  /** RFC 8981 3.4: fires REGEN_ADVANCE before the newest temporary address is deprecated. */
  readonly regenTimer: Timer;
}

export class Slaac {
  /** Drawn on first use, so a stack that never autoconfigures draws nothing from its rng. */
  private secret: Uint8Array | undefined;
  private readonly prefixes = new Map<string, Prefix>();
  /** RFC 8981 3.8 DESYNC_FACTOR, drawn once. */
  private desyncValue: number | undefined;
  private readonly made: Counter;
  private readonly temporaryMade: Counter;
  private readonly full: Counter;
  private readonly gaveUp: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
    secret?: Uint8Array,
  ) {
    const c = stack.counters;
    this.made = c.get('ipv6.slaac.addresses');
    this.temporaryMade = c.get('ipv6.slaac.temporary');
    this.full = c.get('ipv6.slaac.prefixes-full');
    this.gaveUp = c.get('ipv6.slaac.gave-up');
    if (secret !== undefined) this.setStableSecret(secret);
    ip.dad.onResult.push((a, unique) => this.dadResult(a, unique));
    ip.addresses.onRemoved.push((a) => this.removed(a));
  }

  /** An address went away (valid lifetime over, or removed by hand): forget it, and its prefix when empty. */
  private removed(a: Ipv6InterfaceAddress): void {
    for (const [key, p] of this.prefixes) {
      const i = p.temporaries.indexOf(a);
      if (i >= 0) p.temporaries.splice(i, 1);
      else if (p.stable === a) p.stable = undefined;
      else continue;
      if (p.stable === undefined && p.temporaries.length === 0) {
        this.stack.cancel(p.regenTimer);
        this.prefixes.delete(key);
      }
      return;
    }
  }

  /** RFC 7217 5: the secret key; keep it across restarts for addresses stable across restarts. */
  setStableSecret(secret: Uint8Array): void {
    if (secret.length !== 16)
      throw Object.assign(new Error('the stable secret has 16 bytes'), { code: 'EINVAL' });
    this.secret = secret.slice();
  }

  /**
   * RFC 7217 5: F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), here SipHash-2-4 over
   * the 64-bit prefix, the interface name and the counter. Identifiers reserved by RFC 5453 are
   * skipped by moving to the next counter value.
   */
  stableInterfaceId(prefix: Ipv6Addr, iface: NetworkInterface, dadCounter: number): Uint8Array {
    for (let counter = dadCounter; ; counter++) {
      const name = new TextEncoder().encode(iface.name);
      const message = new Uint8Array(8 + name.length + 4);
      message.set(prefix.subarray(0, 8));
      message.set(name, 8);
      new DataView(message.buffer).setUint32(8 + name.length, counter);
      if (this.secret === undefined) {
        this.secret = new Uint8Array(16);
        this.stack.env.rng.fill(this.secret);
      }
      const [hi, lo] = sipHash24(this.secret, message);
      const iid = new Uint8Array(8);
      const v = new DataView(iid.buffer);
      v.setUint32(0, hi);
      v.setUint32(4, lo);
      if (!reservedInterfaceId(iid)) return iid;
    }
  }

  /** RFC 4862 5.3: the interface's link-local address, then router solicitation. */
  startInterface(iface: NetworkInterface): void {
    this.addStable(
      this.prefixState(iface, LINK_LOCAL_PREFIX),
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    );
    const ll = this.prefixes.get(prefixKey(iface, LINK_LOCAL_PREFIX))?.stable;
    if (ll !== undefined && ll.state !== 'tentative') this.ip.routerDiscovery.start(iface);
  }

  /** RFC 4862 5.5.3: a Prefix Information option with the A flag. */
  prefix(iface: NetworkInterface, info: PrefixInfo): void {
    // (b) link-local prefixes are ignored (checked by the caller); (c) preferred beyond valid too.
    if (info.preferredLifetime > info.validLifetime) return;
    const valid = lifetime(info.validLifetime);
    const preferred = lifetime(info.preferredLifetime);
    const prefix = maskPrefix(info.prefix, info.prefixLength);
    const existing = this.prefixes.get(prefixKey(iface, prefix));
    if (existing === undefined) {
      // (d) a new prefix: only when valid, and when prefix and identifier make 128 bits.
      if (valid === 0 || info.prefixLength !== 64) return;
      if (this.countOn(iface) >= MAX_PREFIXES_PER_INTERFACE) {
        this.full.value++;
        return;
      }
      const p = this.prefixState(iface, prefix);
      this.remember(p, valid, preferred);
      this.addStable(p, valid, preferred);
      if (this.ip.useTemporaryAddresses) this.addTemporary(p);
      return;
    }
    this.remember(existing, valid, preferred);
    // (e) existing addresses: preferred lifetime as given, valid lifetime by the two-hour rule.
    for (const a of [existing.stable, ...existing.temporaries]) {
      if (a === undefined) continue;
      const remaining = a.validUntil - this.stack.now();
      const newValid = valid > TWO_HOURS || valid > remaining ? valid : Math.min(remaining, TWO_HOURS);
      if (a.temporary) {
        // RFC 8981 3.4: a temporary address never outlives its own maximum lifetimes.
        const age = this.stack.now() - a.created;
        this.ip.addresses.setLifetimes(
          a,
          Math.min(newValid, TEMP_VALID_LIFETIME - age),
          Math.min(preferred, TEMP_PREFERRED_LIFETIME - this.desync - age),
        );
      } else {
        this.ip.addresses.setLifetimes(a, newValid, preferred);
      }
    }
    if (this.ip.useTemporaryAddresses && existing.temporaries.length === 0 && preferred > 0)
      this.addTemporary(existing);
  }

  private get desync(): number {
    this.desyncValue ??= MAX_DESYNC_FACTOR * randomFloat(this.stack.env.rng);
    return this.desyncValue;
  }

  private remember(p: Prefix, valid: number, preferred: number): void {
    p.valid = valid;
    p.preferred = preferred;
    p.advertised = this.stack.now();
  }

  private prefixState(iface: NetworkInterface, prefix: Ipv6Addr): Prefix {
    const key = prefixKey(iface, prefix);
    let p = this.prefixes.get(key);
    if (p === undefined) {
      const created: Prefix = {
        iface,
        prefix,
        dadCounter: 0,
        stable: undefined,
        temporaries: [],
        tempRetries: 0,
        valid: Number.POSITIVE_INFINITY,
        preferred: Number.POSITIVE_INFINITY,
        advertised: this.stack.now(),
        regenTimer: this.stack.createTimer(() => this.addTemporary(created)),
      };
      p = created;
      this.prefixes.set(key, p);
    }
    return p;
  }

  private countOn(iface: NetworkInterface): number {
    let n = 0;
    for (const p of this.prefixes.values()) if (p.iface === iface && !ipv6IsLinkLocal(p.prefix)) n++;
    return n;
  }

  private addStable(p: Prefix, valid: number, preferred: number): void {
    const addr = withInterfaceId(p.prefix, this.stableInterfaceId(p.prefix, p.iface, p.dadCounter));
    const link = ipv6IsLinkLocal(p.prefix);
    p.stable = this.ip.addAddress(p.iface, addr, 64, {
      validLifetime: valid,
      preferredLifetime: preferred,
      optimistic: this.ip.optimisticDad,
      origin: link ? 'link-local' : 'slaac',
      // On-link-ness of an autoconfigured prefix comes from the L flag alone (RFC 4861 6.3.4).
      onLinkRoute: link,
    });
    this.made.value++;
  }

  /** RFC 8981 3.4: a temporary address with a random identifier for the prefix. */
  private addTemporary(p: Prefix): void {
    const now = this.stack.now();
    const elapsed = now - p.advertised;
    const valid = Math.min(p.valid - elapsed, TEMP_VALID_LIFETIME);
    const preferred = Math.min(p.preferred - elapsed, TEMP_PREFERRED_LIFETIME - this.desync);
    const regenAdvance = this.regenAdvance();
    // RFC 8981 3.4 step 4: no temporary address when its preferred lifetime would not exceed REGEN_ADVANCE.
    if (!this.ip.useTemporaryAddresses || preferred <= regenAdvance || valid <= 0) return;
    const iid = new Uint8Array(8);
    do this.stack.env.rng.fill(iid);
    while (reservedInterfaceId(iid));
    const a = this.ip.addAddress(p.iface, withInterfaceId(p.prefix, iid), 64, {
      validLifetime: valid,
      preferredLifetime: preferred,
      optimistic: this.ip.optimisticDad,
      origin: 'temporary',
      onLinkRoute: false,
    });
    p.temporaries.push(a);
    this.temporaryMade.value++;
    this.stack.schedule(p.regenTimer, now + preferred - regenAdvance);
  }

  /** RFC 8981 3.8: REGEN_ADVANCE = 2 + TEMP_IDGEN_RETRIES * DupAddrDetectTransmits * RetransTimer. */
  private regenAdvance(): number {
    return (
      2 * SECOND + TEMP_IDGEN_RETRIES * this.ip.dupAddrDetectTransmits * this.ip.ndp.table.params.retransTimer
    );
  }

  private dadResult(a: Ipv6InterfaceAddress, unique: boolean): void {
    const p = [...this.prefixes.values()].find((x) => x.stable === a || x.temporaries.includes(a));
    if (p === undefined) return;
    if (unique) {
      if (a.origin === 'link-local') this.ip.routerDiscovery.start(a.iface);
      return;
    }
    if (a.temporary) {
      p.temporaries.splice(p.temporaries.indexOf(a), 1);
      this.ip.addresses.remove(a);
      if (++p.tempRetries <= TEMP_IDGEN_RETRIES) this.addTemporary(p);
      else this.gaveUp.value++;
      return;
    }
    // RFC 7217 6: a duplicate stable address is retried with the next DAD counter; the
    // duplicate one stays listed (state `duplicate`) for the user to see.
    if (p.dadCounter >= IDGEN_RETRIES) {
      this.gaveUp.value++;
      return;
    }
    p.dadCounter++;
    const elapsed = this.stack.now() - p.advertised;
    this.addStable(p, p.valid - elapsed, Math.max(0, p.preferred - elapsed));
  }
}

function prefixKey(iface: NetworkInterface, prefix: Ipv6Addr): string {
  return `${iface.index}|${ipv6Key(prefix)}`;
}

/** RFC 5453: the all-zero identifier and the anycast range fdff:ffff:ffff:ff80 to ...ffff. */
function reservedInterfaceId(iid: Uint8Array): boolean {
  if (iid.every((b) => b === 0)) return true;
  return (
    iid[0] === 0xfd &&
    iid[1] === 0xff &&
    iid[2] === 0xff &&
    iid[3] === 0xff &&
    iid[4] === 0xff &&
    iid[5] === 0xff &&
    iid[6] === 0xff &&
    iid[7]! >= 0x80
  );
}
