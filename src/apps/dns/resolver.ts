/**
 * The stub resolver (RFC 1034 5.3.1, RFC 1123 6.1.3): asks the configured recursive servers
 * (exchange.ts), follows CNAME chains (RFC 1034 3.6.2, bounded), caches positive and negative
 * answers (cache.ts, RFC 2308), applies the hosts table and the search list to `lookup` as
 * getaddrinfo does, and maps failures to the error codes Node's `dns` module uses.
 *
 * It is sans-IO like the rest of the core: stack timers, the stack's Rng and its UDP and TCP
 * sockets. Callbacks run from stack entries; the `...Async` forms return Promises for callers that
 * await them. Concurrent identical questions share one exchange.
 */
import type { DropCounters } from '../../core/counters.ts';
import { type ErrnoError, errno } from '../../core/errno.ts';
import type { Stack } from '../../core/stack.ts';
import { ipv4ToString, ipv6ToString, parseIpv4, parseIpv6 } from '../../wire/address.ts';
import {
  DNS_CLASS_IN,
  DNS_RCODE,
  DNS_TYPE,
  type DnsMessage,
  type DnsRecord,
  rdataType,
} from '../../wire/dns.ts';
import { dnsNamesEqual } from '../../wire/dns-name.ts';
import { canonicalName, DnsCache } from './cache.ts';
import {
  DEFAULT_RESOLVER_CONFIG,
  MAX_SEARCH,
  MAX_SERVERS,
  type NameServer,
  parseNameServer,
  type ResolverConfig,
} from './config.ts';
import { type DnsRxDropReason, Exchange } from './exchange.ts';
import { type HostAddress, HostsTable, parseIpLiteral } from './hosts.ts';
import { type DnsSourceConfig, DnsSources } from './sources.ts';

export type DnsCallback<T> = (err: ErrnoError | undefined, value?: T) => void;

/** An answer to (name, type). */
export interface DnsAnswer {
  /** The owner of `records`: the name asked, or the end of its CNAME chain. */
  name: string;
  /** The records of the type asked, with the TTL they have left. */
  records: DnsRecord[];
  /** The names that were aliases on the way (the name asked first), empty when there was no CNAME. */
  aliases: string[];
}

/** Resolver settings; `servers` may be given in text form (`10.0.0.53`, `10.0.0.53:5353`, `[::1]:53`). */
export type ResolverOptions = Partial<Omit<ResolverConfig, 'servers'>> & {
  servers?: Array<string | NameServer>;
};

/** Where a query stands after a response or a cache lookup. */
type Outcome =
  | { kind: 'records'; name: string; records: DnsRecord[]; aliases: string[] }
  | { kind: 'cname'; target: string; aliases: string[] }
  | { kind: 'nxdomain' | 'nodata'; aliases: string[] };

/** Errors after which getaddrinfo goes on with the next name of the search list (as glibc). */
const SEARCH_CONTINUES = new Set(['ENOTFOUND', 'ENODATA', 'ESERVFAIL']);

export class DnsResolver {
  readonly config: ResolverConfig = { ...DEFAULT_RESOLVER_CONFIG, servers: [], search: [] };
  readonly cache: DnsCache;
  readonly hosts = new HostsTable();
  /** Servers and search domains learned from DHCP and router advertisements (`setSource`). */
  readonly sources: DnsSources;
  /** What `configure` was given by hand; it takes precedence over the sources when not empty. */
  private readonly manual: { servers: NameServer[]; search: string[] } = { servers: [], search: [] };
  private readonly drops: DropCounters<DnsRxDropReason>;
  private readonly inflight = new Map<string, { exchange: Exchange; waiters: DnsCallback<DnsMessage>[] }>();

  constructor(
    readonly stack: Stack,
    options: ResolverOptions = {},
  ) {
    this.drops = stack.counters.drops('dns.rx.drop');
    this.cache = new DnsCache(stack, this.config.cacheSize);
    this.sources = new DnsSources(stack.counters);
    this.configure(options);
  }

  /** Changes settings (EINVAL for a bad value); queries in flight keep the settings they started with. */
  configure(options: ResolverOptions): void {
    const c = this.config;
    if (options.servers !== undefined) {
      const servers = options.servers.map((s) => {
        const parsed = typeof s === 'string' ? parseNameServer(s) : s;
        if (parsed === undefined) throw errno('EINVAL', `bad name server ${String(s)}`);
        return parsed;
      });
      if (servers.length > MAX_SERVERS) throw errno('EINVAL', `more than ${MAX_SERVERS} name servers`);
      this.manual.servers = servers;
    }
    if (options.search !== undefined) {
      if (options.search.length > MAX_SEARCH) throw errno('EINVAL', `more than ${MAX_SEARCH} search domains`);
      const search = options.search.map((d) => {
        const n = canonicalName(d);
        if (n === undefined || n === '') throw errno('EINVAL', `bad search domain ${d}`);
        return n;
      });
      this.manual.search = search;
    }
    const counts: Array<[keyof ResolverConfig, number]> = [
      ['ndots', 0],
      ['timeout', 1],
      ['attempts', 1],
      ['cacheSize', 0],
      ['maxTtl', 0],
      ['maxNegativeTtl', 0],
      ['udpPayloadSize', 0],
      ['maxCnameChain', 0],
      ['maxInflight', 1],
    ];
    for (const [key, min] of counts) {
      const v = options[key as keyof ResolverOptions];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
        throw errno('EINVAL', `bad ${key} ${String(v)}`);
      if (key === 'udpPayloadSize' && v !== 0 && (v < 512 || v > 0xffff))
        throw errno('EINVAL', `bad ${key} ${v}`);
      (c as unknown as Record<string, number>)[key] = v;
    }
    this.cache.maxEntries = c.cacheSize;
    this.merge();
  }

  /**
   * What `source` (`dhcp4:eth0`, `ra:eth0`, `dhcp6:eth0`...) offers, merged into the configuration;
   * `undefined` withdraws it (lease lost, lifetime over). See sources.ts for the merge. Servers and
   * search domains configured by hand, when there are any, take precedence over every source.
   */
  setSource(source: string, config: DnsSourceConfig | undefined): void {
    this.sources.set(source, config);
    this.merge();
  }

  /** The effective lists: the hand-made ones, or those of the sources when there are none. */
  private merge(): void {
    const learned = this.sources.merged();
    this.config.servers = this.manual.servers.length > 0 ? [...this.manual.servers] : learned.servers;
    this.config.search = this.manual.search.length > 0 ? [...this.manual.search] : learned.search;
  }

  /** Queries in flight. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Ends every query in flight with ECANCELLED (like Node's `resolver.cancel()`). */
  cancel(): void {
    for (const { exchange } of [...this.inflight.values()]) exchange.cancel('ECANCELLED');
  }

  // ---- queries (no hosts table, no search list: Node's resolve* and c-ares' ares_query) ----

  /** The records of `type` for `name`, following CNAMEs; ENOTFOUND (NXDOMAIN), ENODATA, or a transport error. */
  query(name: string, type: number, callback: DnsCallback<DnsAnswer>): void {
    const start = canonicalName(name);
    if (start === undefined || start === '') {
      this.stack.run(() => this.later(callback, errno('EBADNAME', `bad name ${JSON.stringify(name)}`)));
      return;
    }
    this.stack.run(() => this.step(start, type, [], callback));
  }

  queryAsync(name: string, type: number): Promise<DnsAnswer> {
    return promise((cb) => this.query(name, type, cb));
  }

  /** One link of the chain: the cache first, then the network. */
  private step(name: string, type: number, aliases: string[], callback: DnsCallback<DnsAnswer>): void {
    if (aliases.length > this.config.maxCnameChain) {
      this.later(
        callback,
        errno('ESERVFAIL', `CNAME chain from ${aliases[0]} longer than ${this.config.maxCnameChain}`),
      );
      return;
    }
    const hit = this.cache.get(name, type);
    if (hit !== undefined) {
      const outcome: Outcome =
        hit.kind === 'records'
          ? { kind: 'records', name, records: hit.records, aliases: [] }
          : hit.kind === 'cname'
            ? { kind: 'cname', target: hit.target, aliases: [name] }
            : { kind: hit.kind, aliases: [] };
      // Answers from the cache are given in an entry of their own, as network answers are.
      this.later(() => this.follow(name, type, aliases, outcome, callback));
      return;
    }
    this.fetch(name, type, (err, m) => {
      if (err !== undefined) callback(err);
      else this.follow(name, type, aliases, this.absorb(name, type, m!), callback);
    });
  }

  private follow(
    name: string,
    type: number,
    aliases: string[],
    o: Outcome,
    callback: DnsCallback<DnsAnswer>,
  ): void {
    const all = [...aliases, ...o.aliases];
    switch (o.kind) {
      case 'records':
        callback(undefined, { name: o.name, records: o.records, aliases: all });
        return;
      case 'cname':
        this.step(o.target, type, all, callback);
        return;
      case 'nxdomain':
        callback(errno('ENOTFOUND', `${name}: no such name`));
        return;
      case 'nodata':
        callback(errno('ENODATA', `${name}: no ${typeName(type)} records`));
        return;
    }
  }

  /**
   * Reads a response to (name, type): follows the CNAMEs in its answer section from `name` and
   * caches each link, the records at the end, or the negative answer (RFC 2308 2.1, 2.2: it is
   * about the last name of the chain). Only records on the chain are used: the rest of the answer
   * and the additional section are not trusted for answers (RFC 2181 5.4.1).
   */
  private absorb(name: string, type: number, m: DnsMessage): Outcome {
    const { maxTtl, maxCnameChain } = this.config;
    const aliases: string[] = [];
    let cur = name;
    const owned = (r: DnsRecord) => r.class === DNS_CLASS_IN && dnsNamesEqual(r.name, cur);
    for (;;) {
      const records = m.answers.filter((r) => owned(r) && rdataType(r.data) === type);
      if (records.length > 0) {
        this.cache.putRecords(cur, type, records, maxTtl);
        return { kind: 'records', name: cur, records, aliases };
      }
      const cname =
        type === DNS_TYPE.CNAME ? undefined : m.answers.find((r) => owned(r) && r.data.type === 'CNAME');
      if (cname === undefined || cname.data.type !== 'CNAME' || aliases.length > maxCnameChain) break;
      this.cache.putRecords(cur, DNS_TYPE.CNAME, [cname], maxTtl);
      aliases.push(cur);
      cur = canonicalName(cname.data.name) ?? cname.data.name;
    }
    const soa = m.authorities.find((r) => r.data.type === 'SOA');
    // RFC 2308 5: the negative TTL is the SOA record's TTL capped by its MINIMUM field.
    const ttl =
      soa?.data.type === 'SOA' ? Math.min(soa.ttl, soa.data.minimum, this.config.maxNegativeTtl) : 0;
    if (m.rcode === DNS_RCODE.NXDOMAIN) {
      // RFC 2308 5: no SOA, no caching.
      this.cache.putNegative(cur, undefined, ttl);
      return { kind: 'nxdomain', aliases };
    }
    if (aliases.length > 0 && soa === undefined) {
      // The chain leaves the response (RFC 2308 2.2.1 "referral"): ask for its end.
      return { kind: 'cname', target: cur, aliases };
    }
    this.cache.putNegative(cur, type, ttl);
    return { kind: 'nodata', aliases };
  }

  /** Asks the servers, sharing an exchange with an identical question in flight. */
  private fetch(name: string, type: number, callback: DnsCallback<DnsMessage>): void {
    const key = `${type}/${name}`;
    const running = this.inflight.get(key);
    if (running !== undefined) {
      running.waiters.push(callback);
      return;
    }
    if (this.inflight.size >= this.config.maxInflight) {
      this.stack.counters.add('dns.query.refused');
      this.later(callback, errno('ENOMEM', `${this.config.maxInflight} queries in flight`));
      return;
    }
    this.stack.counters.add('dns.queries');
    const waiters = [callback];
    const config = { ...this.config, servers: [...this.config.servers] };
    const exchange = new Exchange(this.stack, this.drops, name, type, config, (err, m) => {
      this.inflight.delete(key);
      for (const w of waiters) w(err, m);
    });
    this.inflight.set(key, { exchange, waiters });
    exchange.start();
  }

  /** Calls `fn` in a stack entry of its own (right after the current one). */
  private later<T>(callback: DnsCallback<T>, err?: ErrnoError, value?: T): void {
    const t = this.stack.createTimer(() => callback(err, value));
    this.stack.schedule(t, this.stack.now());
  }

  // ---- getaddrinfo-like lookups (hosts table, then DNS through the search list) ----

  /**
   * The addresses of `name` (family 0: IPv4 then IPv6). An IP literal is its own answer; the hosts
   * table comes first (hosts(5), nsswitch "files dns"); then the names of the search list in the
   * order of resolv.conf(5): the name as given first when it has at least `ndots` dots, last
   * otherwise, alone when it ends with a dot.
   */
  lookup(name: string, family: 0 | 4 | 6, callback: DnsCallback<HostAddress[]>): void {
    this.stack.run(() => {
      const literal = parseIpLiteral(name);
      if (literal !== undefined) return this.later(callback, undefined, [literal]);
      const fromHosts = this.hosts.lookup(name, family);
      if (fromHosts.length > 0) return this.later(callback, undefined, fromHosts);
      const candidates = this.searchList(name);
      if (candidates === undefined)
        return this.later(callback, errno('EBADNAME', `bad name ${JSON.stringify(name)}`));
      let nodata = false;
      const attempt = (i: number): void => {
        this.lookupName(candidates[i]!, family, (err, list) => {
          if (err === undefined) return callback(undefined, list);
          if (err.code === 'ENODATA') nodata = true;
          if (SEARCH_CONTINUES.has(err.code) && i + 1 < candidates.length) return attempt(i + 1);
          callback(nodata && err.code === 'ENOTFOUND' ? errno('ENODATA', `${name}: no address`) : err);
        });
      };
      attempt(0);
    });
  }

  lookupAsync(name: string, family: 0 | 4 | 6 = 0): Promise<HostAddress[]> {
    return promise((cb) => this.lookup(name, family, cb));
  }

  /** The names to try for `name`, or undefined if it is not a valid name. */
  searchList(name: string): string[] | undefined {
    const n = canonicalName(name);
    if (n === undefined || n === '') return undefined;
    if (name.endsWith('.')) return [n];
    const dots = n.split('.').length - 1;
    const expanded = this.config.search.map((d) => `${n}.${d}`).filter((x) => canonicalName(x) !== undefined);
    return dots >= this.config.ndots ? [n, ...expanded] : [...expanded, n];
  }

  /** A and/or AAAA for one name; with both, whichever answered (IPv4 first). */
  private lookupName(name: string, family: 0 | 4 | 6, callback: DnsCallback<HostAddress[]>): void {
    const types = family === 4 ? [DNS_TYPE.A] : family === 6 ? [DNS_TYPE.AAAA] : [DNS_TYPE.A, DNS_TYPE.AAAA];
    const results: Array<{ err: ErrnoError | undefined; answer?: DnsAnswer | undefined }> = [];
    let left = types.length;
    types.forEach((type, i) => {
      this.query(name, type, (err, answer) => {
        results[i] = { err, answer };
        if (--left > 0) return;
        const list = results.flatMap((r) => (r.answer ? addressesOf(r.answer.records) : []));
        if (list.length > 0) return callback(undefined, list);
        const errors = results.map((r) => r.err).filter((e): e is ErrnoError => e !== undefined);
        // A transient failure outweighs a negative answer; NODATA (the name exists) outweighs NXDOMAIN.
        const transient = errors.find((e) => e.code !== 'ENOTFOUND' && e.code !== 'ENODATA');
        const nodata = errors.find((e) => e.code === 'ENODATA');
        callback(transient ?? nodata ?? errors[0] ?? errno('ENODATA', `${name}: no address`));
      });
    });
  }

  // ---- reverse lookups ----

  /** The names of `address` (PTR at in-addr.arpa or ip6.arpa, the hosts table first). EINVAL if not an IP. */
  reverse(address: string, callback: DnsCallback<string[]>): void {
    this.stack.run(() => {
      const name = reverseName(address);
      if (name === undefined) return this.later(callback, errno('EINVAL', `${address} is not an IP address`));
      const fromHosts = this.hosts.reverse(address);
      if (fromHosts.length > 0) return this.later(callback, undefined, fromHosts);
      this.query(name, DNS_TYPE.PTR, (err, answer) => {
        if (err !== undefined) return callback(err);
        callback(
          undefined,
          answer!.records.flatMap((r) => (r.data.type === 'PTR' ? [r.data.name] : [])),
        );
      });
    });
  }

  reverseAsync(address: string): Promise<string[]> {
    return promise((cb) => this.reverse(address, cb));
  }
}

/** The addresses in A and AAAA records, in order. */
export function addressesOf(records: readonly DnsRecord[]): HostAddress[] {
  return records.flatMap((r): HostAddress[] =>
    r.data.type === 'A'
      ? [{ address: ipv4ToString(r.data.address), family: 4 }]
      : r.data.type === 'AAAA'
        ? [{ address: ipv6ToString(r.data.address), family: 6 }]
        : [],
  );
}

/** The PTR name of an address: RFC 1035 3.5 (in-addr.arpa), RFC 3596 2.5 (ip6.arpa). */
export function reverseName(address: string): string | undefined {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) {
    return `${v4 & 0xff}.${(v4 >>> 8) & 0xff}.${(v4 >>> 16) & 0xff}.${v4 >>> 24}.in-addr.arpa`;
  }
  const v6 = parseIpv6(address);
  if (v6 === undefined) return undefined;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((v6[i]! & 0xf).toString(16), (v6[i]! >>> 4).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The mnemonic of a type (RFC 1035 3.2.2), or TYPEnnn (RFC 3597 5). */
export function typeName(type: number): string {
  for (const [k, v] of Object.entries(DNS_TYPE)) if (v === type) return k;
  return `TYPE${type}`;
}

function promise<T>(run: (cb: DnsCallback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value as T))));
}
