/**
 * Router advertisements, router side (RFC 4861 6.2): unsolicited advertisements at random
 * intervals between MinRtrAdvInterval and MaxRtrAdvInterval (faster at first, 6.2.4), answers to
 * solicitations after a random delay and no closer than MIN_DELAY_BETWEEN_RAS (6.2.6), and a final
 * advertisement with router lifetime 0 on `stop` (6.2.5). Options: source link-layer address, MTU,
 * prefixes, RFC 4191 route information, RFC 8106 RDNSS and DNSSL.
 *
 * Counters: `ndp.tx.router-advertisements`, `ndp.rx.router-solicitations`.
 */
import { type Ipv6Addr, ipv6IsLinkLocal, ipv6IsUnspecified } from '../../wire/address.ts';
import { findNdpOption, type NdpOption, type NdpRepr, type RoutePreference } from '../../wire/ndp.ts';
import type { Counter } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
import { isUsable } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';
import { ALL_NODES, maskPrefix } from './ipv6-addr.ts';
import type { Ipv6Packet } from './ipv6-types.ts';

/** RFC 4861 10: router constants. */
const MAX_INITIAL_RTR_ADVERT_INTERVAL = 16 * SECOND;
const MAX_INITIAL_RTR_ADVERTISEMENTS = 3;
const MIN_DELAY_BETWEEN_RAS = 3 * SECOND;
const MAX_RA_DELAY_TIME = 500;

/** Lifetimes in seconds as on the wire (0xffffffff for infinity); intervals in milliseconds. */
export interface AdvertiserConfig {
  prefixes?: Array<{
    prefix: Ipv6Addr;
    prefixLength: number;
    onLink?: boolean;
    autonomous?: boolean;
    validLifetime?: number;
    preferredLifetime?: number;
  }>;
  /** Default-router lifetime (default 3 x MaxRtrAdvInterval, RFC 4861 6.2.1); 0: not a default router. */
  routerLifetime?: number;
  preference?: RoutePreference;
  curHopLimit?: number;
  managed?: boolean;
  other?: boolean;
  mtu?: number;
  reachableTime?: number;
  retransTimer?: number;
  routes?: Array<{ prefix: Ipv6Addr; prefixLength: number; preference?: RoutePreference; lifetime: number }>;
  rdnss?: { servers: Ipv6Addr[]; lifetime: number };
  dnssl?: { domains: string[]; lifetime: number };
  /** RFC 4861 6.2.1: MaxRtrAdvInterval (default 600 s) and MinRtrAdvInterval (default 0.33 x max). */
  maxInterval?: number;
  minInterval?: number;
}

export class RouterAdvertiser {
  private config: AdvertiserConfig;
  private readonly timer: Timer;
  private initialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
  private lastSent = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private readonly sent: Counter;
  private readonly solicitations: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
    readonly iface: NetworkInterface,
    config: AdvertiserConfig,
  ) {
    this.config = config;
    this.sent = stack.counters.get('ndp.tx.router-advertisements');
    this.solicitations = stack.counters.get('ndp.rx.router-solicitations');
    this.timer = stack.createTimer(() => this.unsolicited());
    this.stack.schedule(this.timer, this.stack.now());
  }

  /** Replaces the configuration; the next advertisement carries it (sent soon, RFC 4861 6.2.4). */
  configure(config: AdvertiserConfig): void {
    this.config = config;
    this.stopped = false;
    this.initialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
    this.stack.schedule(this.timer, this.stack.now());
  }

  /** RFC 4861 6.2.5: a last advertisement with router lifetime 0, then silence. */
  stop(): void {
    this.stack.run(() => {
      this.stopped = true;
      this.stack.cancel(this.timer);
      this.send(0);
    });
  }

  /** RFC 4861 6.1.1 validity and 6.2.6: a solicitation is answered after a short random delay. */
  solicited(packet: Ipv6Packet, m: Extract<NdpRepr, { kind: 'router-solicitation' }>): void {
    const lladdr = findNdpOption(m.options, 'source-lladdr');
    if (ipv6IsUnspecified(packet.src) && lladdr !== undefined) return;
    this.solicitations.value++;
    if (this.stopped) return;
    if (lladdr !== undefined)
      this.ip.ndp.table.update(packet.iface, packet.src, lladdr.mac, { solicited: false, create: true });
    const now = this.stack.now();
    const at = Math.max(
      now + MAX_RA_DELAY_TIME * randomFloat(this.stack.env.rng),
      this.lastSent + MIN_DELAY_BETWEEN_RAS,
    );
    if (!this.timer.scheduled || this.timer.deadline > at) this.stack.schedule(this.timer, at);
  }

  private maxInterval(): number {
    return this.config.maxInterval ?? 600 * SECOND;
  }

  private unsolicited(): void {
    if (this.stopped) return;
    const lifetime = this.config.routerLifetime ?? Math.round((3 * this.maxInterval()) / SECOND);
    this.send(lifetime);
    // RFC 4861 6.2.4: the first few advertisements come at most MAX_INITIAL_RTR_ADVERT_INTERVAL apart.
    const max = this.maxInterval();
    const min = this.config.minInterval ?? 0.33 * max;
    let interval = min + (max - min) * randomFloat(this.stack.env.rng);
    if (this.initialLeft > 0) {
      this.initialLeft--;
      interval = Math.min(interval, MAX_INITIAL_RTR_ADVERT_INTERVAL);
    }
    this.stack.schedule(this.timer, this.stack.now() + interval);
  }

  private send(routerLifetime: number): void {
    // RFC 4861 6.1.2: advertisements come from a link-local address.
    const ll = this.ip.addresses.list(this.iface).find((a) => ipv6IsLinkLocal(a.addr) && isUsable(a));
    if (ll === undefined) return;
    const c = this.config;
    const options: NdpOption[] = [{ kind: 'source-lladdr', mac: this.iface.mac }];
    if (c.mtu !== undefined) options.push({ kind: 'mtu', mtu: c.mtu });
    for (const p of c.prefixes ?? []) {
      options.push({
        kind: 'prefix-info',
        prefixLength: p.prefixLength,
        onLink: p.onLink ?? true,
        autonomous: p.autonomous ?? true,
        otherFlags: 0,
        // RFC 4861 6.2.1 defaults: 30 days valid, 7 days preferred.
        validLifetime: p.validLifetime ?? 2_592_000,
        preferredLifetime: p.preferredLifetime ?? 604_800,
        prefix: maskPrefix(p.prefix, p.prefixLength),
      });
    }
    for (const r of c.routes ?? []) {
      options.push({
        kind: 'route-info',
        prefixLength: r.prefixLength,
        preference: r.preference ?? 'medium',
        lifetime: r.lifetime,
        prefix: maskPrefix(r.prefix, r.prefixLength),
      });
    }
    if (c.rdnss !== undefined)
      options.push({ kind: 'rdnss', lifetime: c.rdnss.lifetime, servers: c.rdnss.servers });
    if (c.dnssl !== undefined)
      options.push({ kind: 'dnssl', lifetime: c.dnssl.lifetime, domains: c.dnssl.domains });
    this.sent.value++;
    this.lastSent = this.stack.now();
    this.ip.ndp.send(this.iface, ALL_NODES, undefined, ll.addr, {
      kind: 'router-advertisement',
      curHopLimit: c.curHopLimit ?? 64,
      managed: c.managed ?? false,
      other: c.other ?? false,
      preference: c.preference ?? 'medium',
      otherFlags: 0,
      routerLifetime,
      reachableTime: c.reachableTime ?? 0,
      retransTimer: c.retransTimer ?? 0,
      options,
    });
  }
}
