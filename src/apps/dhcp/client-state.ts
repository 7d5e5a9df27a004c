/**
 * The DHCPv4 client's states, its lease, and the timing rules of RFC 2131, as pure functions (the
 * client in client.ts drives them on the stack's timers).
 *
 * RFC 2131 figure 5, plus the RFC 5227 check of section 3.1 step 5 as a state of its own:
 *
 *     INIT-REBOOT --REQUEST--> REBOOTING --ACK--> CHECKING --no conflict--> BOUND
 *     INIT --DISCOVER--> SELECTING --OFFER/REQUEST--> REQUESTING --ACK--> CHECKING
 *     SELECTING --ACK with rapid commit (RFC 4039)--> CHECKING
 *     CHECKING --conflict/DECLINE--> INIT (after 10 s)       NAK anywhere --> INIT
 *     BOUND --T1--> RENEWING --T2--> REBINDING --lease expires--> INIT
 *     RENEWING, REBINDING --ACK--> BOUND
 */
import { type Rng, randomFloat } from '../../core/rng.ts';
import { type Duration, type Instant, SECOND } from '../../core/time.ts';
import { type Ipv4Addr, ipv4ToString } from '../../wire/address.ts';
import type { DhcpRepr } from '../../wire/dhcp.ts';
import type { DhcpClasslessRoute } from '../../wire/dhcp-options.ts';
import { canonicalName } from '../dns/cache.ts';
import type { DnsSourceConfig } from '../dns/sources.ts';
import { classfulPrefix, INFINITE_LEASE, maskPrefix } from './dhcp-common.ts';

export type DhcpClientState =
  | 'stopped'
  | 'init'
  | 'selecting'
  | 'requesting'
  | 'init-reboot'
  | 'rebooting'
  /** The RFC 5227 probe of an acknowledged address (RFC 2131 3.1 step 5). */
  | 'checking'
  | 'bound'
  | 'renewing'
  | 'rebinding';

/** What an ACK gave the client. Times are seconds, as on the wire; INFINITE_LEASE never ends. */
export interface DhcpLease {
  address: Ipv4Addr;
  prefixLen: number;
  serverId: Ipv4Addr;
  /** Option 3; ignored for routing when `classlessRoutes` is present (RFC 3442). */
  routers: Ipv4Addr[];
  classlessRoutes: DhcpClasslessRoute[] | undefined;
  dnsServers: Ipv4Addr[];
  domainName: string | undefined;
  /** Option 119, the domain search list (RFC 3397). */
  domainSearch: string[] | undefined;
  hostName: string | undefined;
  /** Option 26: noted for the caller (the link's MTU is the binding's to set). */
  mtu: number | undefined;
  leaseTime: number;
  renewalTime: number;
  rebindingTime: number;
  /** RFC 2131 4.4.1: lease times count from when the request that got the ACK was sent. */
  obtainedAt: Instant;
}

/** RFC 2131 4.1: the first retransmission after 4 s, doubling up to 64 s, each ±1 s at random. */
export const FIRST_RETRANSMIT: Duration = 4 * SECOND;
export const MAX_RETRANSMIT: Duration = 64 * SECOND;
export const RETRANSMIT_FUZZ: Duration = 1 * SECOND;
/** RFC 2131 4.4.5: the least wait between retransmissions while RENEWING or REBINDING. */
export const MIN_RENEW_RETRANSMIT: Duration = 60 * SECOND;
/** RFC 2131 3.1 step 5: wait at least ten seconds after a DECLINE before starting again. */
export const DECLINE_BACKOFF: Duration = 10 * SECOND;
/**
 * REQUESTs sent while REQUESTING or REBOOTING before going back to INIT (RFC 2131 3.1 step 5 and
 * 3.2 step 6 leave the count open): 4 + 8 + 16 + 32 s, about a minute, as dhclient's.
 */
export const MAX_REQUESTS = 4;

/** The delay before retransmission number `attempt` (0 for the first), RFC 2131 4.1. */
export function retransmitDelay(attempt: number, rng: Rng): Duration {
  const base = Math.min(FIRST_RETRANSMIT * 2 ** attempt, MAX_RETRANSMIT);
  return base - RETRANSMIT_FUZZ + 2 * RETRANSMIT_FUZZ * randomFloat(rng);
}

/**
 * RFC 2131 4.4.5: while RENEWING (until T2) or REBINDING (until the lease ends), wait half of the
 * time left before retransmitting, but at least 60 s, and never past `until`.
 */
export function renewRetransmitDelay(now: Instant, until: Instant): Duration {
  const left = until - now;
  return Math.min(left, Math.max(MIN_RENEW_RETRANSMIT, left / 2));
}

/**
 * The lease an ACK gives, or undefined when the ACK cannot be used (no address, no lease time).
 * T1 and T2 default to 0.5 and 0.875 of the lease (RFC 2131 4.4.5) and are fixed up when a server
 * sends values out of order (T1 < T2 < lease).
 */
export function leaseFromAck(ack: DhcpRepr, serverId: Ipv4Addr, obtainedAt: Instant): DhcpLease | undefined {
  const o = ack.options;
  const address = ack.yiaddr;
  const leaseTime = o.leaseTime;
  if (address === 0 || leaseTime === undefined || leaseTime === 0) return undefined;
  const prefixLen =
    (o.subnetMask !== undefined ? maskPrefix(o.subnetMask) : undefined) ?? classfulPrefix(address);
  let renewalTime = Math.floor(leaseTime * 0.5);
  let rebindingTime = Math.floor(leaseTime * 0.875);
  if (leaseTime === INFINITE_LEASE) {
    renewalTime = INFINITE_LEASE;
    rebindingTime = INFINITE_LEASE;
  } else if (
    o.renewalTime !== undefined &&
    o.rebindingTime !== undefined &&
    o.renewalTime < o.rebindingTime &&
    o.rebindingTime < leaseTime
  ) {
    renewalTime = o.renewalTime;
    rebindingTime = o.rebindingTime;
  } else if (o.rebindingTime !== undefined && o.rebindingTime < leaseTime) {
    rebindingTime = o.rebindingTime;
    renewalTime = Math.min(renewalTime, Math.floor(rebindingTime / 2));
  } else if (o.renewalTime !== undefined && o.renewalTime < rebindingTime) {
    renewalTime = o.renewalTime;
  }
  return {
    address,
    prefixLen,
    serverId,
    routers: o.routers ?? [],
    classlessRoutes: o.classlessRoutes,
    dnsServers: o.dnsServers ?? [],
    domainName: o.domainName,
    domainSearch: o.domainSearch,
    hostName: o.hostName,
    mtu: o.interfaceMtu,
    leaseTime,
    renewalTime,
    rebindingTime,
    obtainedAt,
  };
}

/** When T1, T2 and the end of the lease fall on the stack's clock (Infinity for an infinite lease). */
export function leaseDeadlines(lease: DhcpLease): { t1: Instant; t2: Instant; expires: Instant } {
  const at = (seconds: number) =>
    seconds === INFINITE_LEASE ? Number.POSITIVE_INFINITY : lease.obtainedAt + seconds * SECOND;
  return { t1: at(lease.renewalTime), t2: at(lease.rebindingTime), expires: at(lease.leaseTime) };
}

/** True when two leases configure the stack the same way (a renewal that changes nothing). */
export function sameConfiguration(a: DhcpLease, b: DhcpLease): boolean {
  return (
    a.address === b.address &&
    a.prefixLen === b.prefixLen &&
    JSON.stringify([a.routers, a.classlessRoutes]) === JSON.stringify([b.routers, b.classlessRoutes])
  );
}

/**
 * What a lease offers the resolver (`stack.dns.resolver.setSource`): its name servers, and as the
 * search list the domain search option (119, RFC 3397) when the server sent one, else the domain
 * name (option 15), as systemd-networkd prefers them. Names the resolver cannot take are left out:
 * what a server sends never makes us throw.
 */
export function leaseDnsConfig(lease: DhcpLease): DnsSourceConfig {
  const search = lease.domainSearch ?? (lease.domainName !== undefined ? [lease.domainName] : []);
  return {
    servers: lease.dnsServers.map(ipv4ToString),
    search: search.filter((d) => (canonicalName(d) ?? '') !== ''),
  };
}

/** A lease as JSON-able text fields (for `netstack up --json`). */
export function describeLease(lease: DhcpLease, now: Instant) {
  const { expires } = leaseDeadlines(lease);
  return {
    address: `${ipv4ToString(lease.address)}/${lease.prefixLen}`,
    server: ipv4ToString(lease.serverId),
    routers: lease.routers.map(ipv4ToString),
    ...(lease.classlessRoutes !== undefined
      ? {
          classlessRoutes: lease.classlessRoutes.map(
            (r) => `${ipv4ToString(r.destination)}/${r.prefixLen} via ${ipv4ToString(r.router)}`,
          ),
        }
      : {}),
    dnsServers: lease.dnsServers.map(ipv4ToString),
    ...(lease.domainName !== undefined ? { domainName: lease.domainName } : {}),
    ...(lease.domainSearch !== undefined ? { domainSearch: lease.domainSearch } : {}),
    ...(lease.hostName !== undefined ? { hostName: lease.hostName } : {}),
    ...(lease.mtu !== undefined ? { mtu: lease.mtu } : {}),
    leaseTime: lease.leaseTime,
    renewalTime: lease.renewalTime,
    rebindingTime: lease.rebindingTime,
    remaining: Number.isFinite(expires) ? Math.max(0, Math.round((expires - now) / SECOND)) : null,
  };
}
