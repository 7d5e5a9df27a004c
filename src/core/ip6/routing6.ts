/**
 * The IPv6 routing table: longest-prefix match, then the RFC 4191 preference, then the metric.
 * On-link prefixes (RFC 4861 5.2 "Prefix List"), default routers ("Default Router List"), more
 * specific routes from Route Information options (RFC 4191), and redirects (RFC 4861 8.3, as /128
 * routes) are all routes here, told apart by their `origin`.
 */
import { type Ipv6Addr, ipv6ToString } from '../../wire/address.ts';
import type { RoutePreference } from '../../wire/ndp.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { ipv6Equal, maskPrefix, prefixMatches } from './ipv6-addr.ts';

export type Ipv6RouteOrigin = 'connected' | 'static' | 'ra' | 'redirect' | 'kernel';

export interface Ipv6Route {
  /** Destination prefix (masked). */
  readonly dest: Ipv6Addr;
  readonly prefixLen: number;
  /** Next hop (a router's link-local address), when the destination is not on-link. */
  readonly gateway?: Ipv6Addr;
  readonly iface: NetworkInterface;
  /** Lower is preferred among routes of equal prefix length and preference. */
  readonly metric: number;
  /** RFC 4191: among routes of equal prefix length, high beats medium beats low. */
  readonly preference?: RoutePreference;
  readonly origin: Ipv6RouteOrigin;
}

export interface Ipv6NextHop {
  route: Ipv6Route;
  iface: NetworkInterface;
  /** The gateway, or the destination itself when on-link. */
  nextHop: Ipv6Addr;
}

export const MAX_ROUTES6 = 100_000;

const RANK: Record<RoutePreference, number> = { high: 0, medium: 1, reserved: 1, low: 2 };

function better(a: Ipv6Route, b: Ipv6Route): boolean {
  if (a.prefixLen !== b.prefixLen) return a.prefixLen > b.prefixLen;
  const pa = RANK[a.preference ?? 'medium'];
  const pb = RANK[b.preference ?? 'medium'];
  return pa !== pb ? pa < pb : a.metric < b.metric;
}

export class Ipv6RouteTable {
  /** Sorted best first: prefix length, preference, metric, then insertion order. */
  private routes: Ipv6Route[] = [];

  /** Adds a route; EEXIST for the same destination, gateway, interface and metric; ENOBUFS when full. */
  add(route: Ipv6Route): Ipv6Route {
    if (!Number.isInteger(route.prefixLen) || route.prefixLen < 0 || route.prefixLen > 128) {
      throw Object.assign(new Error(`bad prefix length ${route.prefixLen}`), { code: 'EINVAL' });
    }
    const normalized: Ipv6Route = { ...route, dest: maskPrefix(route.dest, route.prefixLen) };
    if (this.find(normalized) !== undefined) {
      throw Object.assign(new Error(`route ${describe6(normalized)} exists`), { code: 'EEXIST' });
    }
    if (this.routes.length >= MAX_ROUTES6) {
      throw Object.assign(new Error('routing table full'), { code: 'ENOBUFS' });
    }
    const i = this.routes.findIndex((r) => better(normalized, r));
    this.routes.splice(i < 0 ? this.routes.length : i, 0, normalized);
    return normalized;
  }

  /** Removes one route object (as returned by `add`). */
  delete(route: Ipv6Route): boolean {
    const i = this.routes.indexOf(route);
    if (i < 0) return false;
    this.routes.splice(i, 1);
    return true;
  }

  /** Removes routes matching the given fields (addresses compared by value); returns how many. */
  remove(match: {
    iface?: NetworkInterface;
    origin?: Ipv6RouteOrigin;
    dest?: Ipv6Addr;
    prefixLen?: number;
    gateway?: Ipv6Addr;
  }): number {
    const before = this.routes.length;
    this.routes = this.routes.filter(
      (r) =>
        !(
          (match.iface === undefined || r.iface === match.iface) &&
          (match.origin === undefined || r.origin === match.origin) &&
          (match.prefixLen === undefined || r.prefixLen === match.prefixLen) &&
          (match.dest === undefined || ipv6Equal(r.dest, maskPrefix(match.dest, r.prefixLen))) &&
          (match.gateway === undefined || (r.gateway !== undefined && ipv6Equal(r.gateway, match.gateway)))
        ),
    );
    return before - this.routes.length;
  }

  /**
   * The best route to `dst`, optionally on one interface. Among the routes of the best prefix
   * length, the first for which `usable` holds wins (RFC 4861 6.3.6: prefer routers not known to
   * be unreachable); when none does, the first of them.
   */
  lookup(
    dst: Ipv6Addr,
    iface?: NetworkInterface,
    usable?: (r: Ipv6Route) => boolean,
  ): Ipv6NextHop | undefined {
    let first: Ipv6Route | undefined;
    for (const route of this.routes) {
      if (first !== undefined && route.prefixLen < first.prefixLen) break;
      if (iface !== undefined && route.iface !== iface) continue;
      if (!route.iface.up || !prefixMatches(dst, route.dest, route.prefixLen)) continue;
      if (usable === undefined || usable(route)) return hop(route, dst);
      first ??= route;
    }
    return first === undefined ? undefined : hop(first, dst);
  }

  list(): readonly Ipv6Route[] {
    return this.routes;
  }

  find(
    route: Omit<Ipv6Route, 'metric' | 'origin' | 'preference'> & { metric?: number },
  ): Ipv6Route | undefined {
    return this.routes.find(
      (r) =>
        r.prefixLen === route.prefixLen &&
        r.iface === route.iface &&
        (route.metric === undefined || r.metric === route.metric) &&
        ipv6Equal(r.dest, maskPrefix(route.dest, route.prefixLen)) &&
        (r.gateway === undefined
          ? route.gateway === undefined
          : route.gateway !== undefined && ipv6Equal(r.gateway, route.gateway)),
    );
  }
}

function hop(route: Ipv6Route, dst: Ipv6Addr): Ipv6NextHop {
  return { route, iface: route.iface, nextHop: route.gateway ?? dst };
}

/** `2001:db8::/64 via fe80::1 dev eth0 proto ra metric 1024 pref high`, like `ip -6 route`. */
export function describe6(r: Ipv6Route): string {
  const dest = r.prefixLen === 0 ? 'default' : `${ipv6ToString(r.dest)}/${r.prefixLen}`;
  const via = r.gateway !== undefined ? ` via ${ipv6ToString(r.gateway)}` : '';
  const pref = r.preference !== undefined ? ` pref ${r.preference}` : '';
  return `${dest}${via} dev ${r.iface.name} proto ${r.origin} metric ${r.metric}${pref}`;
}
