/**
 * Name servers and search domains by where they were learned, merged into the resolver's
 * configuration, as systemd-resolved keeps per-link servers: a DHCPv4 lease (RFC 2132 option 6,
 * option 15 as the search domain), IPv6 router advertisements (RFC 8106 RDNSS and DNSSL), DHCPv6
 * (RFC 3646: options 23 and 24). Each source replaces its own lists whenever it learns them again
 * and withdraws them (`undefined`) when they expire or its lease is lost.
 *
 * The merge takes the sources in the order they first appeared, each server and domain once, up to
 * the resolver's bounds (MAX_SERVERS, MAX_SEARCH; what does not fit is counted under
 * `dns.sources.dropped`). Servers configured by hand (`--dns`, `stack.dns.setServers`) take
 * precedence over every source, as a static resolv.conf does over what DHCP offers.
 */
import type { Counters } from '../../core/counters.ts';
import { errno } from '../../core/errno.ts';
import { canonicalName } from './cache.ts';
import { formatNameServer, MAX_SEARCH, MAX_SERVERS, type NameServer, parseNameServer } from './config.ts';

/** What one source offers: servers in text form (`10.0.0.53`, `[2001:db8::53]:5353`) or parsed. */
export interface DnsSourceConfig {
  servers: ReadonlyArray<string | NameServer>;
  search?: readonly string[];
}

/** Sources at once (links times kinds of source). */
export const MAX_SOURCES = 32;

export class DnsSources {
  private readonly bySource = new Map<string, { servers: NameServer[]; search: string[] }>();

  constructor(private readonly counters: Counters) {}

  /**
   * Sets (or with `undefined` withdraws) what `source` offers, e.g. `dhcp4:eth0`, `ra:eth0`,
   * `dhcp6:eth0`. EINVAL for a bad server or domain; ENOBUFS beyond MAX_SOURCES sources.
   */
  set(source: string, config: DnsSourceConfig | undefined): void {
    if (config === undefined) {
      this.bySource.delete(source);
      return;
    }
    const servers = config.servers.map((s) => {
      const parsed = typeof s === 'string' ? parseNameServer(s) : s;
      if (parsed === undefined) throw errno('EINVAL', `${source}: bad name server ${String(s)}`);
      return parsed;
    });
    const search = (config.search ?? []).map((d) => {
      const n = canonicalName(d);
      if (n === undefined || n === '') throw errno('EINVAL', `${source}: bad search domain ${d}`);
      return n;
    });
    if (!this.bySource.has(source) && this.bySource.size >= MAX_SOURCES)
      throw errno('ENOBUFS', `more than ${MAX_SOURCES} sources of name servers`);
    this.bySource.set(source, { servers, search });
  }

  /** Every source with what it offers, in the order they appeared. */
  list(): Array<{ source: string; servers: string[]; search: string[] }> {
    return [...this.bySource].map(([source, c]) => ({
      source,
      servers: c.servers.map(formatNameServer),
      search: [...c.search],
    }));
  }

  /** The servers and search domains of every source together, each once, within the bounds. */
  merged(): { servers: NameServer[]; search: string[] } {
    const servers = new Map<string, NameServer>();
    const search = new Set<string>();
    for (const c of this.bySource.values()) {
      for (const s of c.servers) this.keep(servers, formatNameServer(s), s, MAX_SERVERS);
      for (const d of c.search) this.keep(search, d, d, MAX_SEARCH);
    }
    return { servers: [...servers.values()], search: [...search] };
  }

  private keep<V>(into: Map<string, V> | Set<string>, key: string, value: V, max: number): void {
    if (into.has(key)) return;
    if (into.size >= max) {
      this.counters.add('dns.sources.dropped');
      return;
    }
    if (into instanceof Map) into.set(key, value);
    else into.add(key);
  }
}
