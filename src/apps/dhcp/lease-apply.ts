/**
 * Puts a DHCP lease on the stack and takes it off again: the address with its prefix (which brings
 * the on-link route), then the routes: the classless static routes of option 121 when present
 * (RFC 3442: the Router option is then ignored), else a default route via the first router.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Ipv4Route } from '../../core/ip/routing.ts';
import type { Stack } from '../../core/stack.ts';
import type { DhcpLease } from './client-state.ts';

/** The metric of routes learned by DHCP (Linux's dhcpcd and NetworkManager use 100 and up). */
export const DHCP_ROUTE_METRIC = 100;

/** What applying a lease added, so that exactly that is removed. */
export interface AppliedLease {
  readonly lease: DhcpLease;
  readonly addedAddress: boolean;
  readonly routes: readonly Ipv4Route[];
}

/** The routes a lease asks for. A classless route whose router is 0.0.0.0 is on-link. */
export function leaseRoutes(lease: DhcpLease, iface: NetworkInterface): Ipv4Route[] {
  const base = { iface, metric: DHCP_ROUTE_METRIC, src: lease.address, origin: 'dhcp' as const };
  if (lease.classlessRoutes !== undefined) {
    return lease.classlessRoutes.map((r) => ({
      ...base,
      dest: r.destination,
      prefixLen: r.prefixLen,
      ...(r.router !== 0 ? { gateway: r.router } : {}),
    }));
  }
  const router = lease.routers[0];
  return router === undefined ? [] : [{ ...base, dest: 0, prefixLen: 0, gateway: router }];
}

/**
 * Adds the lease's address and routes. A route that cannot be added (it exists already, or the
 * table is full) is counted under `dhcp.client.route-errors` and skipped.
 */
export function applyLease(stack: Stack, iface: NetworkInterface, lease: DhcpLease): AppliedLease {
  return stack.run(() => {
    const present = stack.ipv4.listAddresses(iface).some((a) => a.addr === lease.address);
    if (!present) stack.ipv4.addAddress(iface, lease.address, lease.prefixLen);
    const routes: Ipv4Route[] = [];
    for (const r of leaseRoutes(lease, iface)) {
      try {
        stack.ipv4.routes.add(r);
        routes.push(r);
      } catch {
        stack.counters.add('dhcp.client.route-errors');
      }
    }
    return { lease, addedAddress: !present, routes };
  });
}

/** Removes what `applyLease` added. */
export function removeLease(stack: Stack, iface: NetworkInterface, applied: AppliedLease): void {
  stack.run(() => {
    for (const r of applied.routes) {
      stack.ipv4.routes.remove({
        dest: r.dest,
        prefixLen: r.prefixLen,
        iface: r.iface,
        metric: r.metric,
        origin: r.origin,
        ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
      });
    }
    if (applied.addedAddress) stack.ipv4.removeAddress(iface, applied.lease.address);
  });
}
