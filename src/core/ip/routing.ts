/**
 * The IPv4 routing table: longest-prefix match, then the lowest metric (RFC 1812 5.2.4.3 in
 * spirit: most specific route first, then preference). Routes are either on-link (the destination
 * is a neighbor on the interface) or via a gateway.
 */

import { type Ipv4Addr, ipv4Mask, ipv4ToString } from '../../wire/address.ts';
import type { NetworkInterface } from '../device/interface.ts';

export type RouteOrigin = 'connected' | 'static' | 'dhcp' | 'kernel';

export interface Ipv4Route {
  /** Destination network (masked). */
  readonly dest: Ipv4Addr;
  readonly prefixLen: number;
  /** Next hop, when the destination is not on-link. */
  readonly gateway?: Ipv4Addr;
  readonly iface: NetworkInterface;
  /** Lower is preferred among routes of equal prefix length. */
  readonly metric: number;
  /** Preferred source address for packets using the route. */
  readonly src?: Ipv4Addr;
  readonly origin: RouteOrigin;
}

/** The result of a lookup: where to send a packet. */
export interface Ipv4NextHop {
  route: Ipv4Route;
  iface: NetworkInterface;
  /** The address to resolve on the link: the gateway, or the destination itself when on-link. */
  nextHop: Ipv4Addr;
}

export const MAX_ROUTES = 100_000;

export class Ipv4RouteTable {
  /** Sorted by prefix length (longest first), then metric, then insertion order. */
  private routes: Ipv4Route[] = [];

  add(route: Ipv4Route): void {
    const mask = ipv4Mask(route.prefixLen);
    if (route.prefixLen < 0 || route.prefixLen > 32 || !Number.isInteger(route.prefixLen)) {
      throw Object.assign(new Error(`bad prefix length ${route.prefixLen}`), { code: 'EINVAL' });
    }
    const normalized: Ipv4Route = { ...route, dest: (route.dest & mask) >>> 0 };
    if (this.find(normalized) !== undefined) {
      throw Object.assign(new Error(`route ${describe(normalized)} exists`), { code: 'EEXIST' });
    }
    if (this.routes.length >= MAX_ROUTES) {
      throw Object.assign(new Error('routing table full'), { code: 'ENOBUFS' });
    }
    const i = this.routes.findIndex(
      (r) =>
        r.prefixLen < normalized.prefixLen ||
        (r.prefixLen === normalized.prefixLen && r.metric > normalized.metric),
    );
    this.routes.splice(i < 0 ? this.routes.length : i, 0, normalized);
  }

  /** Removes routes matching every given field; returns how many were removed. */
  remove(match: Partial<Ipv4Route>): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !matches(r, match));
    return before - this.routes.length;
  }

  /** Removes every route through `iface` (when the interface goes away). */
  removeInterface(iface: NetworkInterface): void {
    this.routes = this.routes.filter((r) => r.iface !== iface);
  }

  /** The best route to `dst`, optionally restricted to one interface (SO_BINDTODEVICE). */
  lookup(dst: Ipv4Addr, iface?: NetworkInterface): Ipv4NextHop | undefined {
    for (const route of this.routes) {
      if (iface !== undefined && route.iface !== iface) continue;
      if (!route.iface.up) continue;
      if ((dst & ipv4Mask(route.prefixLen)) >>> 0 !== route.dest) continue;
      return { route, iface: route.iface, nextHop: route.gateway ?? dst };
    }
    return undefined;
  }

  list(): readonly Ipv4Route[] {
    return this.routes;
  }

  private find(route: Ipv4Route): Ipv4Route | undefined {
    return this.routes.find(
      (r) =>
        r.dest === route.dest &&
        r.prefixLen === route.prefixLen &&
        r.metric === route.metric &&
        r.iface === route.iface &&
        r.gateway === route.gateway,
    );
  }
}

function matches(r: Ipv4Route, m: Partial<Ipv4Route>): boolean {
  for (const [k, v] of Object.entries(m)) if (v !== undefined && r[k as keyof Ipv4Route] !== v) return false;
  return true;
}

/** `10.0.0.0/8 via 10.0.0.1 dev eth0 metric 0`, like `ip route`. */
export function describe(r: Ipv4Route): string {
  const dest = r.prefixLen === 0 ? 'default' : `${ipv4ToString(r.dest)}/${r.prefixLen}`;
  const via = r.gateway !== undefined ? ` via ${ipv4ToString(r.gateway)}` : '';
  const src = r.src !== undefined ? ` src ${ipv4ToString(r.src)}` : '';
  return `${dest}${via} dev ${r.iface.name} proto ${r.origin} metric ${r.metric}${src}`;
}
