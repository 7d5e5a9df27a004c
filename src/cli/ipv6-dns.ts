/**
 * Name servers and search domains from IPv6 router advertisements (RFC 8106 RDNSS and DNSSL
 * options) for the stack's resolver, one source `ra:<device>` per device, each entry kept for
 * its lifetime (RFC 8106 5.1, 5.2: 0 withdraws it, all ones is for ever), as systemd-networkd and
 * NetworkManager do. Bounded per device (RFC 8106 5.3.1 leaves the number to the implementation):
 * entries past the bound are counted under `dns.ra.full`.
 */
import { canonicalName } from '../apps/dns/cache.ts';
import type { NetworkInterface } from '../core/device/interface.ts';
import type { Stack } from '../core/stack.ts';
import { SECOND } from '../core/time.ts';
import type { Timer } from '../core/timers.ts';
import { ipv6ToString } from '../wire/address.ts';
import { NDP_INFINITE_LIFETIME } from '../wire/ndp.ts';
import type { Session } from './interface-options.ts';
import { remove } from './ipv6-options.ts';
import '../api/install.ts';

/** Servers, and domains, kept per device. */
export const MAX_RA_DNS_ENTRIES = 8;

interface Learned {
  /** Server (text) or domain -> expiry instant. */
  servers: Map<string, number>;
  search: Map<string, number>;
  timer: Timer;
}

/** Feeds RDNSS and DNSSL of advertisements on `ifaces` to the resolver; returns a stop function. */
export function feedRaDns(
  stack: Stack,
  ifaces: readonly NetworkInterface[],
  onChange: () => void = () => {},
): () => void {
  const ip = stack.ipv6;
  if (ip === undefined) return () => {};
  const learned = new Map<number, Learned>();
  const entry = (iface: NetworkInterface): Learned => {
    let l = learned.get(iface.index);
    if (l === undefined) {
      const made: Learned = {
        servers: new Map(),
        search: new Map(),
        timer: stack.createTimer(() => publish(iface, made)),
      };
      learned.set(iface.index, made);
      l = made;
    }
    return l;
  };
  const update = (iface: NetworkInterface, into: Map<string, number>, items: string[], lifetime: number) => {
    const until =
      lifetime === NDP_INFINITE_LIFETIME ? Number.POSITIVE_INFINITY : stack.now() + lifetime * SECOND;
    for (const item of items) {
      if (lifetime === 0) into.delete(item);
      else if (into.has(item) || into.size < MAX_RA_DNS_ENTRIES) into.set(item, until);
      else stack.counters.add('dns.ra.full');
    }
    publish(iface, entry(iface));
  };
  /** Drops what expired, hands the rest to the resolver, and wakes up at the next expiry. */
  const publish = (iface: NetworkInterface, l: Learned) => {
    const now = stack.now();
    let next = Number.POSITIVE_INFINITY;
    for (const map of [l.servers, l.search]) {
      for (const [k, until] of map) {
        if (until <= now) map.delete(k);
        else next = Math.min(next, until);
      }
    }
    const source = `ra:${iface.name}`;
    stack.dns.resolver.setSource(
      source,
      l.servers.size + l.search.size === 0
        ? undefined
        : { servers: [...l.servers.keys()], search: [...l.search.keys()] },
    );
    if (Number.isFinite(next)) stack.schedule(l.timer, next);
    else stack.cancel(l.timer);
    onChange();
  };
  const onServers = (iface: NetworkInterface, servers: Uint8Array[], lifetime: number) => {
    if (ifaces.includes(iface)) update(iface, entry(iface).servers, servers.map(ipv6ToString), lifetime);
  };
  const onSearch = (iface: NetworkInterface, domains: string[], lifetime: number) => {
    if (ifaces.includes(iface)) update(iface, entry(iface).search, searchDomains(stack, domains), lifetime);
  };
  ip.onDnsServers.push(onServers);
  ip.onSearchList.push(onSearch);
  return () => {
    remove(ip.onDnsServers, onServers);
    remove(ip.onSearchList, onSearch);
    stack.run(() => {
      for (const l of learned.values()) stack.cancel(l.timer);
    });
  };
}

/**
 * Prints a `dns` event (`{"event":"dns","servers":[...],"search":[...]}`, text `dns SERVERS search
 * DOMAINS`) when the resolver's lists changed since the last one printed; silent until `arm` (the
 * ready event lists them first).
 */
export function dnsChangeReporter(session: Session): { changed(): void; arm(): void } {
  const resolver = session.stack.dns.resolver;
  const now = () => ({ servers: session.stack.dns.getServers(), search: [...resolver.config.search] });
  let last: string | undefined;
  return {
    arm() {
      last = JSON.stringify(now());
    },
    changed() {
      if (last === undefined) return;
      const lists = now();
      const text = JSON.stringify(lists);
      if (text === last) return;
      last = text;
      session.event('dns', lists, () =>
        [
          `dns ${lists.servers.length > 0 ? lists.servers.join(' ') : '(none)'}`,
          lists.search.length > 0 ? ` search ${lists.search.join(' ')}` : '',
        ].join(''),
      );
    },
  };
}

/**
 * The domains a resolver can search (a hostile or broken server may send names it cannot use):
 * the others are left out and counted under `dns.sources.bad-domain`.
 */
export function searchDomains(stack: Stack, domains: readonly string[]): string[] {
  return domains.filter((d) => {
    const ok = (canonicalName(d) ?? '') !== '';
    if (!ok) stack.counters.add('dns.sources.bad-domain');
    return ok;
  });
}
