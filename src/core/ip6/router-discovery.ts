/**
 * Router discovery, host side (RFC 4861 6.3): router solicitations (at most three, RFC 4861
 * 6.3.7, or with the never-ending exponential backoff of RFC 7559 when asked), router advertisement processing (RFC 4861 6.3.4: hop limit, reachable and
 * retransmission times, MTU, on-link prefixes, default routers with RFC 4191 preferences, RFC 4191
 * route information, RFC 8106 DNS options handed to the resolver through `Ipv6Layer` events,
 * autonomous prefixes to SLAAC), and redirects (RFC 4861 8.3). What routers say lives in the
 * routing table as routes of origin `ra` and `redirect`, each with a lifetime timer, bounded.
 *
 * Counters: `ndp.rx.router-advertisements`, `ndp.tx.router-solicitations`, `ndp.rx.redirects`,
 * `ndp.rx.drop.<reason>`, `ndp.routes-full`.
 */
import { IPV6_UNSPECIFIED, type Ipv6Addr, ipv6IsLinkLocal, ipv6Key } from '../../wire/address.ts';
import { IPV6_MIN_MTU } from '../../wire/ipv6.ts';
import {
  findNdpOption,
  NDP_INFINITE_LIFETIME,
  type NdpOption,
  type NdpRepr,
  type RoutePreference,
} from '../../wire/ndp.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { HOUR, MINUTE, SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
import { isUsable } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';
import { ALL_ROUTERS, ipv6Equal } from './ipv6-addr.ts';
import type { Ipv6Packet } from './ipv6-types.ts';
import type { Ipv6Route, Ipv6RouteOrigin } from './routing6.ts';

/**
 * RFC 4861 10: MAX_RTR_SOLICITATION_DELAY, RTR_SOLICITATION_INTERVAL (RFC 7559's IRT) and
 * MAX_RTR_SOLICITATIONS.
 */
const MAX_RTR_SOLICITATION_DELAY = 1 * SECOND;
const RTR_SOLICITATION_INTERVAL = 4 * SECOND;
export const MAX_RTR_SOLICITATIONS = 3;
/** RFC 7559 2: the backoff stops growing at one hour. */
const MAX_RTR_SOLICITATION_INTERVAL = 1 * HOUR;
/** How long a redirect holds (Linux keeps redirected routes until they age out, ~10 min). */
const REDIRECT_LIFETIME = 10 * MINUTE;
/** Routes learned from routers (defaults, prefixes, route information, redirects) at most. */
export const MAX_LEARNED_ROUTES = 256;
/** RFC 4861 6.3.4 / Linux: default metric of routes from advertisements. */
const RA_METRIC = 1024;

export type RouterDiscoveryDropReason =
  | 'ra-not-link-local'
  | 'redirect-not-link-local'
  | 'redirect-bad-target'
  | 'redirect-not-from-router';

type Ra = Extract<NdpRepr, { kind: 'router-advertisement' }>;
type Redirect = Extract<NdpRepr, { kind: 'redirect' }>;

interface Learned {
  route: Ipv6Route;
  timer: Timer;
}

export class RouterDiscovery {
  /** Solicitations before concluding there is no router (RFC 4861: 3; RFC 7559 MRC: forever). */
  maxSolicitations: number;
  /** RFC 7559 2: exponential backoff between solicitations (else RTR_SOLICITATION_INTERVAL). */
  backoff: boolean;
  private readonly soliciting = new Map<number, { timer: Timer; interval: number; sent: number }>();
  private readonly learned = new Map<string, Learned>();
  private readonly drops: DropCounters<RouterDiscoveryDropReason>;
  private readonly advertisements: Counter;
  private readonly solicitations: Counter;
  private readonly redirects: Counter;
  private readonly full: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
    solicitations: 'rfc4861' | 'rfc7559',
  ) {
    this.backoff = solicitations === 'rfc7559';
    this.maxSolicitations = this.backoff ? Number.POSITIVE_INFINITY : MAX_RTR_SOLICITATIONS;
    const c = stack.counters;
    this.drops = c.drops('ndp.rx.drop');
    this.advertisements = c.get('ndp.rx.router-advertisements');
    this.solicitations = c.get('ndp.tx.router-solicitations');
    this.redirects = c.get('ndp.rx.redirects');
    this.full = c.get('ndp.routes-full');
  }

  /** Starts soliciting on `iface` (RFC 4861 6.3.7): after a random delay, then every interval. */
  start(iface: NetworkInterface): void {
    if (this.ip.forwarding || this.soliciting.has(iface.index)) return;
    const s = { timer: this.stack.createTimer(() => this.solicit(iface)), interval: 0, sent: 0 };
    this.soliciting.set(iface.index, s);
    this.stack.schedule(
      s.timer,
      this.stack.now() + MAX_RTR_SOLICITATION_DELAY * randomFloat(this.stack.env.rng),
    );
  }

  /** True while `iface` still solicits (no advertisement yet, and not given up). */
  isSoliciting(iface: NetworkInterface): boolean {
    return this.soliciting.has(iface.index);
  }

  private stopSoliciting(iface: NetworkInterface): void {
    const s = this.soliciting.get(iface.index);
    if (s === undefined) return;
    this.stack.cancel(s.timer);
    this.soliciting.delete(iface.index);
  }

  /**
   * RFC 4861 6.3.7: the next solicitation RTR_SOLICITATION_INTERVAL later, or with RFC 7559 2
   * backoff RT = 2 RTprev + RAND RTprev, from IRT, capped at MRT (RAND in [-0.1, 0.1]). The timer
   * after the last one only ends the soliciting state (no router then, RFC 4861 6.3.7).
   */
  private solicit(iface: NetworkInterface): void {
    const s = this.soliciting.get(iface.index);
    if (s === undefined) return;
    if (s.sent >= this.maxSolicitations || this.ip.forwarding) {
      this.stopSoliciting(iface);
      return;
    }
    s.sent++;
    this.solicitations.value++;
    // RFC 4861 6.3.7: from a usable link-local address with our link address, else from ::
    // without it (an optimistic source omits it too, RFC 4429 3.2).
    const ll = this.ip.addresses.list(iface).find((a) => ipv6IsLinkLocal(a.addr) && isUsable(a));
    const src = ll?.addr ?? IPV6_UNSPECIFIED;
    const options: NdpOption[] =
      ll !== undefined && ll.state !== 'optimistic' ? [{ kind: 'source-lladdr', mac: iface.mac }] : [];
    this.ip.ndp.send(iface, ALL_ROUTERS, undefined, src, { kind: 'router-solicitation', options });
    if (this.backoff) {
      const rand = (randomFloat(this.stack.env.rng) - 0.5) * 0.2;
      const base = s.interval === 0 ? RTR_SOLICITATION_INTERVAL : 2 * s.interval;
      s.interval = Math.min(base + rand * base, MAX_RTR_SOLICITATION_INTERVAL * (1 + rand));
    } else {
      s.interval = RTR_SOLICITATION_INTERVAL;
    }
    this.stack.schedule(s.timer, this.stack.now() + s.interval);
  }

  /** A Router Advertisement or Redirect from ICMPv6 (hop limit and format checked). */
  receive(packet: Ipv6Packet, m: Ra | Redirect): void {
    if (m.kind === 'router-advertisement') this.advertisement(packet, m);
    else this.redirect(packet, m);
  }

  /** RFC 4861 6.1.2 validity and 6.3.4 processing. */
  private advertisement(packet: Ipv6Packet, m: Ra): void {
    if (!ipv6IsLinkLocal(packet.src)) {
      this.drops.drop('ra-not-link-local');
      return;
    }
    this.advertisements.value++;
    // Routers do not configure themselves from other routers' advertisements (RFC 4861 6.2.7).
    if (this.ip.forwarding) return;
    const iface = packet.iface;
    const router = packet.src;
    this.stopSoliciting(iface);
    const config = this.ip.interfaceConfig(iface);
    if (m.curHopLimit !== 0) config.hopLimit = m.curHopLimit;
    const params = this.ip.ndp.table.params;
    if (m.reachableTime !== 0) params.baseReachableTime = m.reachableTime;
    if (m.retransTimer !== 0) params.retransTimer = m.retransTimer;
    const lladdr = findNdpOption(m.options, 'source-lladdr');
    if (lladdr !== undefined)
      this.ip.ndp.table.update(iface, router, lladdr.mac, { solicited: false, create: true });
    // RFC 4191 2.2: a reserved preference is treated as medium.
    const preference: RoutePreference = m.preference === 'reserved' ? 'medium' : m.preference;
    this.learn(
      {
        dest: IPV6_UNSPECIFIED,
        prefixLen: 0,
        gateway: router,
        iface,
        metric: RA_METRIC,
        preference,
        origin: 'ra',
      },
      m.routerLifetime * SECOND,
    );
    for (const o of m.options) {
      switch (o.kind) {
        case 'mtu':
          // RFC 4861 6.3.4: an MTU within the IPv6 minimum and the link's own.
          if (o.mtu >= IPV6_MIN_MTU && o.mtu <= iface.mtu) config.mtu = o.mtu;
          break;
        case 'prefix-info':
          // RFC 4861 6.3.4: the link-local prefix is ignored.
          if (ipv6IsLinkLocal(o.prefix)) break;
          if (o.onLink) {
            this.learn(
              { dest: o.prefix, prefixLen: o.prefixLength, iface, metric: 256, origin: 'ra' },
              lifetime(o.validLifetime),
            );
          }
          if (o.autonomous && this.ip.slaacEnabled) this.ip.slaac.prefix(iface, o);
          break;
        case 'route-info':
          // RFC 4191 3.1: a Route Information option with the reserved preference is ignored.
          if (o.preference === 'reserved') break;
          this.learn(
            {
              dest: o.prefix,
              prefixLen: o.prefixLength,
              gateway: router,
              iface,
              metric: RA_METRIC,
              preference: o.preference,
              origin: 'ra',
            },
            lifetime(o.lifetime),
          );
          break;
        case 'rdnss':
          for (const l of this.ip.onDnsServers) l(iface, o.servers, o.lifetime);
          break;
        case 'dnssl':
          for (const l of this.ip.onSearchList) l(iface, o.domains, o.lifetime);
          break;
      }
    }
    for (const l of this.ip.onRaFlags) l(iface, { managed: m.managed, other: m.other }, router);
  }

  /** RFC 4861 8.1 validity, 8.3 processing: a better first hop, or the destination is a neighbor. */
  private redirect(packet: Ipv6Packet, m: Redirect): void {
    const iface = packet.iface;
    if (!ipv6IsLinkLocal(packet.src)) {
      this.drops.drop('redirect-not-link-local');
      return;
    }
    const onLink = ipv6Equal(m.target, m.destination);
    if (!onLink && !ipv6IsLinkLocal(m.target)) {
      this.drops.drop('redirect-bad-target');
      return;
    }
    // The redirect must come from the router we use for the destination now.
    const current = this.ip.routes.lookup(m.destination, iface);
    if (
      current === undefined ||
      current.route.gateway === undefined ||
      !ipv6Equal(current.nextHop, packet.src)
    ) {
      this.drops.drop('redirect-not-from-router');
      return;
    }
    this.redirects.value++;
    const lladdr = findNdpOption(m.options, 'target-lladdr');
    if (lladdr !== undefined)
      this.ip.ndp.table.update(iface, m.target, lladdr.mac, { solicited: false, create: true });
    this.learn(
      {
        dest: m.destination,
        prefixLen: 128,
        iface,
        metric: 0,
        origin: 'redirect',
        ...(onLink ? {} : { gateway: m.target }),
      },
      REDIRECT_LIFETIME,
    );
  }

  /** RFC 4861 7.2.5: a neighbor that stopped being a router is no longer a default router. */
  notRouter(iface: NetworkInterface, addr: Ipv6Addr): void {
    for (const [key, l] of this.learned) {
      if (
        l.route.iface === iface &&
        l.route.origin === 'ra' &&
        l.route.gateway !== undefined &&
        ipv6Equal(l.route.gateway, addr)
      ) {
        this.forget(key, l);
      }
    }
  }

  /** Routes learned from routers, with their expiry instants. */
  learnedRoutes(): Array<{ route: Ipv6Route; expires: number }> {
    return [...this.learned.values()].map((l) => ({ route: l.route, expires: l.timer.deadline }));
  }

  /** Adds or refreshes a learned route for `lifetimeMs` (0 removes it, Infinity keeps it). */
  private learn(route: Ipv6Route & { origin: Ipv6RouteOrigin }, lifetimeMs: number): void {
    const key = `${route.iface.index}|${route.origin}|${ipv6Key(route.dest)}/${route.prefixLen}|${route.gateway === undefined ? '' : ipv6Key(route.gateway)}`;
    const existing = this.learned.get(key);
    if (lifetimeMs === 0) {
      if (existing !== undefined) this.forget(key, existing);
      return;
    }
    let l = existing;
    if (l !== undefined && l.route.preference !== route.preference) {
      this.forget(key, l);
      l = undefined;
    }
    if (l === undefined) {
      if (this.learned.size >= MAX_LEARNED_ROUTES) {
        this.full.value++;
        return;
      }
      if (this.ip.routes.find(route) !== undefined) return;
      const added = this.ip.routes.add(route);
      const entry: Learned = { route: added, timer: this.stack.createTimer(() => this.forget(key, entry)) };
      this.learned.set(key, entry);
      l = entry;
    }
    if (lifetimeMs === Number.POSITIVE_INFINITY) this.stack.cancel(l.timer);
    else this.stack.schedule(l.timer, this.stack.now() + lifetimeMs);
  }

  private forget(key: string, l: Learned): void {
    this.stack.cancel(l.timer);
    this.learned.delete(key);
    this.ip.routes.delete(l.route);
  }
}

/** An ND lifetime in seconds as milliseconds; all ones is infinity (RFC 4861 4.6.2). */
export function lifetime(seconds: number): number {
  return seconds === NDP_INFINITE_LIFETIME ? Number.POSITIVE_INFINITY : seconds * SECOND;
}
