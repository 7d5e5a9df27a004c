/**
 * The stub resolver's configuration, the analogue of resolv.conf(5): name servers (with ports),
 * search domains with ndots, timeout and attempts, and the bounds of the cache. Servers and search
 * domains are set by hand (`DnsResolver.configure`, `stack.dns.setServers`, `--dns`) or learned per
 * source (`DnsResolver.setSource`, sources.ts: DHCP, router advertisements).
 */
import { type Ipv4Addr, type Ipv6Addr, parseIpv4, parseIpv6 } from '../../wire/address.ts';
import { DNS_PORT } from '../../wire/dns.ts';

/** One name server: its address in text form, parsed, and its port. */
export type NameServer =
  | { family: 4; text: string; address: Ipv4Addr; port: number }
  | { family: 6; text: string; address: Ipv6Addr; port: number };

export interface ResolverConfig {
  /** Tried in order, `attempts` rounds over the list (resolv.conf `nameserver`, at most MAX_SERVERS). */
  servers: NameServer[];
  /** Suffixes tried for names with fewer than `ndots` dots (resolv.conf `search`, at most MAX_SEARCH). */
  search: string[];
  /** resolv.conf `options ndots:n` (default 1). */
  ndots: number;
  /** The wait for an answer in the first round, in ms; it doubles each round (like c-ares). */
  timeout: number;
  /** Rounds over the server list (resolv.conf `options attempts:n`, glibc's default 2). */
  attempts: number;
  /** Entries the cache holds before it evicts the least recently used one. */
  cacheSize: number;
  /** Longest time a positive answer stays cached, in seconds (TTLs above are clamped). */
  maxTtl: number;
  /** Longest time a negative answer stays cached, in seconds (RFC 2308 5: "one to three hours"). */
  maxNegativeTtl: number;
  /** EDNS0 (RFC 6891): the UDP payload size offered; 0 sends no OPT record. 1232 avoids fragmentation (DNS Flag Day 2020). */
  udpPayloadSize: number;
  /** Most CNAMEs followed for one name before giving up (a loop or an absurd chain). */
  maxCnameChain: number;
  /** Queries in flight at once; more are refused with ENOMEM. */
  maxInflight: number;
}

/** Bounds of the lists (glibc's MAXNS is 3; MAXDNSRCH 6 before glibc 2.26). */
export const MAX_SERVERS = 8;
export const MAX_SEARCH = 8;

export const DEFAULT_RESOLVER_CONFIG: Readonly<ResolverConfig> = {
  servers: [],
  search: [],
  ndots: 1,
  timeout: 2000,
  attempts: 2,
  cacheSize: 1000,
  maxTtl: 86400,
  maxNegativeTtl: 3 * 3600,
  udpPayloadSize: 1232,
  maxCnameChain: 8,
  maxInflight: 256,
};

/**
 * Parses a server in the forms `dns.setServers` accepts: `10.0.0.53`, `10.0.0.53:5353`, `::1`,
 * `[::1]`, `[::1]:5353`. Undefined when it is not one of them.
 */
export function parseNameServer(text: string): NameServer | undefined {
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(text);
  if (v4) {
    const address = parseIpv4(v4[1]!);
    const port = parsePort(v4[2]);
    if (address === undefined || port === undefined) return undefined;
    return { family: 4, text: v4[1]!, address, port };
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v6text = bracketed ? bracketed[1]! : text;
  const address = parseIpv6(v6text);
  const port = parsePort(bracketed?.[2]);
  if (address === undefined || port === undefined) return undefined;
  return { family: 6, text: v6text, address, port };
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return DNS_PORT;
  const port = Number(text);
  return Number.isInteger(port) && port > 0 && port <= 0xffff ? port : undefined;
}

/** The text form `dns.getServers` gives: the port only when it is not 53, IPv6 in brackets then. */
export function formatNameServer(s: NameServer): string {
  if (s.port === DNS_PORT) return s.text;
  return s.family === 4 ? `${s.text}:${s.port}` : `[${s.text}]:${s.port}`;
}
