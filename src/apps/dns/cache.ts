/**
 * The resolver's cache: answers keyed by (name, type), bounded in entries with least-recently-used
 * eviction, each entry dropped when its TTL runs out (RFC 1035 3.2.1, RFC 2181 8). It holds
 *
 * - positive answers: the records of one RRset, returned with the TTL they have left;
 * - CNAMEs: an alias held under the CNAME type, followed by the resolver;
 * - negative answers (RFC 2308): NXDOMAIN for a name (every type), NODATA for a (name, type),
 *   kept for the SOA's TTL capped by its MINIMUM field (RFC 2308 5).
 *
 * Names are compared as DNS does (RFC 4343): the key is the name with ASCII letters folded.
 */
import type { Counter } from '../../core/counters.ts';
import type { Stack } from '../../core/stack.ts';
import type { Instant } from '../../core/time.ts';
import { DNS_TYPE, type DnsRecord } from '../../wire/dns.ts';
import { labelsToName, nameToLabels } from '../../wire/dns-name.ts';

export type CacheHit =
  | { kind: 'records'; records: DnsRecord[] }
  | { kind: 'cname'; target: string; ttl: number }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' };

type Entry =
  | { kind: 'records'; records: DnsRecord[]; expires: Instant }
  | { kind: 'nxdomain' | 'nodata'; expires: Instant };

/** The canonical (case-folded, escape-normalised, no trailing dot) form of a name; undefined if invalid. */
export function canonicalName(name: string): string | undefined {
  const labels = nameToLabels(name);
  if (labels === undefined) return undefined;
  return labelsToName(labels.map((l) => l.map((c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c))));
}

export class DnsCache {
  /** Map order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly hits: Counter;
  private readonly misses: Counter;
  private readonly evictions: Counter;

  constructor(
    private readonly stack: Stack,
    /** Entries held before the least recently used one is evicted (0 disables the cache). */
    public maxEntries: number,
  ) {
    this.hits = stack.counters.get('dns.cache.hits');
    this.misses = stack.counters.get('dns.cache.misses');
    this.evictions = stack.counters.get('dns.cache.evictions');
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * What the cache knows about (name, type): its records, NODATA, NXDOMAIN for the name, or the
   * name's CNAME (for any type but CNAME itself). Undefined on a miss.
   */
  get(name: string, type: number): CacheHit | undefined {
    const key = canonicalName(name) ?? name;
    const hit =
      this.take(`${type}/${key}`) ??
      this.take(`nx/${key}`) ??
      (type !== DNS_TYPE.CNAME ? this.take(`${DNS_TYPE.CNAME}/${key}`) : undefined);
    if (hit === undefined) {
      this.misses.value++;
      return undefined;
    }
    this.hits.value++;
    if (hit.kind !== 'records') return { kind: hit.kind };
    const ttl = Math.max(0, Math.ceil((hit.expires - this.stack.now()) / 1000));
    const records = hit.records.map((r) => ({ ...r, ttl }));
    const first = records[0]!;
    if (first.data.type === 'CNAME' && type !== DNS_TYPE.CNAME) {
      return { kind: 'cname', target: first.data.name, ttl };
    }
    return { kind: 'records', records };
  }

  /** Caches an RRset (its TTL is the smallest of its records', RFC 2181 5.2). TTL 0 is not cached. */
  putRecords(name: string, type: number, records: DnsRecord[], maxTtl: number): void {
    if (records.length === 0) return;
    const ttl = Math.min(maxTtl, ...records.map((r) => r.ttl));
    this.put(
      `${type}/${canonicalName(name) ?? name}`,
      { kind: 'records', records, expires: this.expiry(ttl) },
      ttl,
    );
  }

  /** Caches a negative answer: NXDOMAIN for `name` (type undefined) or NODATA for (name, type). */
  putNegative(name: string, type: number | undefined, ttl: number): void {
    const key = canonicalName(name) ?? name;
    if (type === undefined) this.put(`nx/${key}`, { kind: 'nxdomain', expires: this.expiry(ttl) }, ttl);
    else this.put(`${type}/${key}`, { kind: 'nodata', expires: this.expiry(ttl) }, ttl);
  }

  clear(): void {
    this.entries.clear();
  }

  private expiry(ttlSeconds: number): Instant {
    return this.stack.now() + ttlSeconds * 1000;
  }

  private put(key: string, entry: Entry, ttl: number): void {
    if (ttl <= 0 || this.maxEntries <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evictions.value++;
    }
    this.entries.set(key, entry);
  }

  /** The live entry under `key`, moved to the most recently used end; expired entries are removed. */
  private take(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    if (e.expires <= this.stack.now()) return undefined;
    this.entries.set(key, e);
    return e;
  }
}
