/**
 * `stack.dns`: Node's `dns.promises` over the stack's stub resolver (src/apps/dns). The same
 * methods, argument checks, result shapes and errors:
 *
 * - `lookup(hostname, options)` is getaddrinfo: IP literals, the hosts table, then DNS through the
 *   search list; errors `getaddrinfo ENOTFOUND <host>` (errno -3008) or `EAI_AGAIN` (-3001).
 * - `resolve4/6/Cname/Ptr/Txt/Srv/Mx/Ns/Soa`, `resolve(host, rrtype)` and `reverse(ip)` are
 *   c-ares queries: no hosts table, no search list; errors `queryA ENOTFOUND <host>` with the
 *   codes of `dns` (ENOTFOUND, ENODATA, ETIMEOUT, ESERVFAIL, EREFUSED, EBADRESP, ECONNREFUSED...).
 * - `setServers`/`getServers`, `new stack.dns.Resolver({ timeout, tries })` with `cancel()`.
 *
 * The resolver engine is `stack.dns.resolver` (search domains, ndots, hosts, cache, counters).
 */

import { formatNameServer, parseNameServer } from '../apps/dns/config.ts';
import type { HostAddress } from '../apps/dns/hosts.ts';
import { type DnsAnswer, DnsResolver, type ResolverOptions } from '../apps/dns/resolver.ts';
import type { Stack } from '../core/stack.ts';
import { ipv4ToString, ipv6ToString } from '../wire/address.ts';
import { DNS_TYPE } from '../wire/dns.ts';
import { codeOf, type DnsError, dnsError, invalidArgType, invalidArgValue, nodeError } from './errors.ts';

export interface LookupAddress {
  address: string;
  family: number;
}

export interface LookupOptions {
  family?: number;
  all?: boolean;
  /** 'verbatim' (default, as Node 17+): the resolver's order, IPv4 then IPv6 answers. */
  order?: 'ipv4first' | 'ipv6first' | 'verbatim';
  verbatim?: boolean;
  hints?: number;
}

export interface RecordWithTtl {
  address: string;
  ttl: number;
}
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  name: string;
}
export interface MxRecord {
  priority: number;
  exchange: string;
}
export interface SoaRecord {
  nsname: string;
  hostmaster: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minttl: number;
}

/** The error codes of Node's `dns` module (`dns.NODATA` ...). */
export const DNS_ERROR_CODES = {
  NODATA: 'ENODATA',
  FORMERR: 'EFORMERR',
  SERVFAIL: 'ESERVFAIL',
  NOTFOUND: 'ENOTFOUND',
  NOTIMP: 'ENOTIMP',
  REFUSED: 'EREFUSED',
  BADQUERY: 'EBADQUERY',
  BADNAME: 'EBADNAME',
  BADFAMILY: 'EBADFAMILY',
  BADRESP: 'EBADRESP',
  CONNREFUSED: 'ECONNREFUSED',
  TIMEOUT: 'ETIMEOUT',
  EOF: 'EOF',
  NOMEM: 'ENOMEM',
  CANCELLED: 'ECANCELLED',
} as const;

/** `resolve(host, rrtype)`: the rrtypes, the syscall Node names in errors, and the result shape. */
const RRTYPES = {
  A: { type: DNS_TYPE.A, syscall: 'queryA' },
  AAAA: { type: DNS_TYPE.AAAA, syscall: 'queryAaaa' },
  CNAME: { type: DNS_TYPE.CNAME, syscall: 'queryCname' },
  MX: { type: DNS_TYPE.MX, syscall: 'queryMx' },
  NS: { type: DNS_TYPE.NS, syscall: 'queryNs' },
  PTR: { type: DNS_TYPE.PTR, syscall: 'queryPtr' },
  SOA: { type: DNS_TYPE.SOA, syscall: 'querySoa' },
  SRV: { type: DNS_TYPE.SRV, syscall: 'querySrv' },
  TXT: { type: DNS_TYPE.TXT, syscall: 'queryTxt' },
} as const;
type RrType = keyof typeof RRTYPES;

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** The results of one query in the shape Node gives for `rrtype`. */
function shape(answer: DnsAnswer, ttl: boolean): unknown {
  const out: unknown[] = [];
  for (const r of answer.records) {
    const d = r.data;
    switch (d.type) {
      case 'A':
      case 'AAAA': {
        const address = d.type === 'A' ? ipv4ToString(d.address) : ipv6ToString(d.address);
        out.push(ttl ? { address, ttl: r.ttl } : address);
        break;
      }
      case 'CNAME':
      case 'NS':
      case 'PTR':
        out.push(d.name);
        break;
      case 'TXT':
        out.push(d.strings.map(latin1));
        break;
      case 'SRV':
        out.push({ name: d.target, port: d.port, priority: d.priority, weight: d.weight });
        break;
      case 'MX':
        out.push({ exchange: d.exchange, priority: d.preference });
        break;
      case 'SOA':
        return {
          nsname: d.mname,
          hostmaster: d.rname,
          serial: d.serial,
          refresh: d.refresh,
          retry: d.retry,
          expire: d.expire,
          minttl: d.minimum,
        };
      default:
        break;
    }
  }
  return out;
}

/** The query half of `dns.promises` (what `dns.promises.Resolver` has). */
export class DnsResolverApi {
  constructor(readonly resolver: DnsResolver) {}

  resolve4(hostname: string, options?: { ttl?: boolean }): Promise<string[] | RecordWithTtl[]> {
    return this.query(hostname, 'A', options?.ttl === true) as Promise<string[] | RecordWithTtl[]>;
  }
  resolve6(hostname: string, options?: { ttl?: boolean }): Promise<string[] | RecordWithTtl[]> {
    return this.query(hostname, 'AAAA', options?.ttl === true) as Promise<string[] | RecordWithTtl[]>;
  }
  resolveCname(hostname: string): Promise<string[]> {
    return this.query(hostname, 'CNAME') as Promise<string[]>;
  }
  resolvePtr(hostname: string): Promise<string[]> {
    return this.query(hostname, 'PTR') as Promise<string[]>;
  }
  resolveNs(hostname: string): Promise<string[]> {
    return this.query(hostname, 'NS') as Promise<string[]>;
  }
  resolveTxt(hostname: string): Promise<string[][]> {
    return this.query(hostname, 'TXT') as Promise<string[][]>;
  }
  resolveSrv(hostname: string): Promise<SrvRecord[]> {
    return this.query(hostname, 'SRV') as Promise<SrvRecord[]>;
  }
  resolveMx(hostname: string): Promise<MxRecord[]> {
    return this.query(hostname, 'MX') as Promise<MxRecord[]>;
  }
  resolveSoa(hostname: string): Promise<SoaRecord> {
    return this.query(hostname, 'SOA') as Promise<SoaRecord>;
  }

  /** `rrtype` one of A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT (ERR_INVALID_ARG_VALUE otherwise). */
  resolve(hostname: string, rrtype: string = 'A'): Promise<unknown> {
    if (typeof rrtype !== 'string') throw invalidArgType('rrtype', 'of type string', rrtype);
    if (!(rrtype in RRTYPES)) throw invalidArgValue('rrtype', rrtype);
    return this.query(hostname, rrtype as RrType);
  }

  /** The names of `ip` (PTR); `getHostByAddr EINVAL` for something that is not an IP. */
  reverse(ip: string): Promise<string[]> {
    return this.resolver.reverseAsync(ip).catch((e: unknown) => {
      throw dnsError(codeOf(e), 'getHostByAddr', ip);
    });
  }

  /** Servers in `ip`, `ip:port`, `[ipv6]:port` form; ERR_INVALID_IP_ADDRESS for anything else. */
  setServers(servers: readonly string[]): void {
    if (!Array.isArray(servers)) throw invalidArgType('servers', 'an instance of Array', servers);
    const parsed = servers.map((s, i) => {
      if (typeof s !== 'string') throw invalidArgType(`servers[${i}]`, 'of type string', s);
      const p = parseNameServer(s);
      if (p === undefined) throw nodeError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${s}`);
      return p;
    });
    // Node drops repeated servers (10.0.0.53 and 10.0.0.53:53 are one).
    const unique = parsed.filter(
      (p, i) => parsed.findIndex((q) => formatNameServer(q) === formatNameServer(p)) === i,
    );
    this.resolver.configure({ servers: unique });
  }

  getServers(): string[] {
    return this.resolver.config.servers.map(formatNameServer);
  }

  /** Ends every query in flight with ECANCELLED. */
  cancel(): void {
    this.resolver.cancel();
  }

  private query(hostname: string, rrtype: RrType, ttl = false): Promise<unknown> {
    if (typeof hostname !== 'string') throw invalidArgType('name', 'of type string', hostname);
    const { type, syscall } = RRTYPES[rrtype];
    return this.resolver.queryAsync(hostname, type).then(
      (answer) => shape(answer, ttl),
      (e: unknown) => {
        throw dnsError(codeOf(e), syscall, hostname);
      },
    );
  }
}

/** `stack.dns`: `dns.promises` for one stack, with `lookup` and a `Resolver` class. */
export class DnsPromises extends DnsResolverApi {
  /** `new stack.dns.Resolver({ timeout, tries })`: a resolver of its own on the same stack. */
  readonly Resolver: new (options?: {
    timeout?: number;
    tries?: number;
  }) => DnsResolverApi;
  readonly constants = DNS_ERROR_CODES;

  constructor(stack: Stack, options: ResolverOptions = {}) {
    const resolver = new DnsResolver(stack, options);
    super(resolver);
    const shared = resolver;
    this.Resolver = class extends DnsResolverApi {
      constructor(o: { timeout?: number; tries?: number } = {}) {
        const own = new DnsResolver(stack, {
          servers: [...shared.config.servers],
          // Node's timeout -1 means the default.
          ...(o.timeout !== undefined && o.timeout >= 0 ? { timeout: o.timeout } : {}),
          ...(o.tries !== undefined ? { attempts: o.tries } : {}),
        });
        super(own);
      }
    };
  }

  lookup(hostname: string, options: number | (LookupOptions & { all: true })): Promise<LookupAddress[]>;
  lookup(hostname: string, options?: number | LookupOptions): Promise<LookupAddress | LookupAddress[]>;
  lookup(hostname: string, options: number | LookupOptions = {}): Promise<LookupAddress | LookupAddress[]> {
    if (hostname !== undefined && hostname !== null && typeof hostname !== 'string') {
      throw invalidArgType('hostname', 'of type string', hostname);
    }
    const o: LookupOptions = typeof options === 'number' ? { family: options } : (options ?? {});
    if (typeof o !== 'object') throw invalidArgType('options', 'of type object', options);
    const family = o.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6)
      throw invalidArgValue('options.family', o.family, 'must be one of: 0, 4, 6');
    const order = o.order ?? (o.verbatim === false ? 'ipv4first' : 'verbatim');
    if (order !== 'verbatim' && order !== 'ipv4first' && order !== 'ipv6first') {
      throw invalidArgValue('options.order', order, "must be one of: 'verbatim', 'ipv4first', 'ipv6first'");
    }
    const all = o.all === true;
    if (!hostname) {
      return Promise.resolve(all ? [] : { address: null as unknown as string, family: family === 6 ? 6 : 4 });
    }
    return this.resolver.lookupAsync(hostname, family).then(
      (list: HostAddress[]) => {
        const sorted =
          order === 'verbatim'
            ? list
            : [...list].sort((a, b) => (order === 'ipv4first' ? a.family - b.family : b.family - a.family));
        const out = sorted.map((a) => ({ address: a.address, family: a.family }));
        return all ? out : out[0]!;
      },
      (e: unknown) => {
        throw getaddrinfoError(e, hostname);
      },
    );
  }
}

/**
 * The error `dns.lookup` gives for a failure of the resolver: getaddrinfo says EAI_NONAME
 * (ENOTFOUND) for a name with no address, EAI_AGAIN for everything else.
 */
export function getaddrinfoError(e: unknown, hostname: string): DnsError {
  const code = codeOf(e);
  const negative = code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EBADNAME';
  return dnsError(negative ? 'ENOTFOUND' : 'EAI_AGAIN', 'getaddrinfo', hostname);
}
