/**
 * The hosts table, the analogue of /etc/hosts (hosts(5)): names with fixed addresses, consulted by
 * `lookup` and `reverse` before DNS. `localhost` is 127.0.0.1 and ::1 (RFC 6761 6.3). Bounded in
 * entries (ENOBUFS beyond).
 */
import { errno } from '../../core/errno.ts';
import { ipv4ToString, ipv6ToString, parseIpv4, parseIpv6 } from '../../wire/address.ts';
import { canonicalName } from './cache.ts';

export interface HostAddress {
  /** The address in canonical text form. */
  address: string;
  family: 4 | 6;
}

/** Bound of the table (name, address) pairs. */
export const DEFAULT_MAX_HOSTS = 1024;

/** An IP literal in canonical text form with its family, or undefined when `text` is not one. */
export function parseIpLiteral(text: string): HostAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { address: ipv4ToString(v4), family: 4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { address: ipv6ToString(v6), family: 6 };
  return undefined;
}

export class HostsTable {
  private readonly byName = new Map<string, HostAddress[]>();
  private count = 0;

  constructor(readonly maxEntries = DEFAULT_MAX_HOSTS) {
    this.add('localhost', '127.0.0.1');
    this.add('localhost', '::1');
  }

  /** Adds `address` for `name` (EINVAL for a bad name or address, ENOBUFS when full). */
  add(name: string, address: string): void {
    const key = canonicalName(name);
    const a = parseIpLiteral(address);
    if (key === undefined || key === '' || a === undefined) {
      throw errno('EINVAL', `bad hosts entry ${name} ${address}`);
    }
    const list = this.byName.get(key) ?? [];
    if (list.some((x) => x.address === a.address)) return;
    if (this.count >= this.maxEntries) throw errno('ENOBUFS', `hosts table holds ${this.maxEntries} entries`);
    list.push(a);
    this.byName.set(key, list);
    this.count++;
  }

  /** Removes `name` (every address, or only `address`); false when nothing matched. */
  remove(name: string, address?: string): boolean {
    const key = canonicalName(name) ?? name;
    const list = this.byName.get(key);
    if (list === undefined) return false;
    const target = address === undefined ? undefined : parseIpLiteral(address)?.address;
    const kept = address === undefined ? [] : list.filter((a) => a.address !== target);
    this.count -= list.length - kept.length;
    if (kept.length === 0) this.byName.delete(key);
    else this.byName.set(key, kept);
    return kept.length < list.length;
  }

  /** The addresses of `name` of `family` (0: both), in the order they were added. */
  lookup(name: string, family: 0 | 4 | 6): HostAddress[] {
    const list = this.byName.get(canonicalName(name) ?? name) ?? [];
    return list.filter((a) => family === 0 || a.family === family);
  }

  /** The names that have `address`. */
  reverse(address: string): string[] {
    const a = parseIpLiteral(address);
    if (a === undefined) return [];
    const names: string[] = [];
    for (const [name, list] of this.byName) if (list.some((x) => x.address === a.address)) names.push(name);
    return names;
  }
}
