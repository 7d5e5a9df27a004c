/**
 * Source address selection (RFC 6724 5) with the default policy table (RFC 6724 2.1). Rule 4
 * (home addresses, Mobile IPv6) and rule 5.5 (prefixes of the next hop) do not apply to this stack.
 */
import { type Ipv6Addr, parseIpv6 } from '../../wire/address.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { Ipv6AddressState } from './addresses6.ts';
import { addressScope, commonPrefixLength, prefixMatches } from './ipv6-addr.ts';

export interface PolicyEntry {
  prefix: Ipv6Addr;
  prefixLen: number;
  precedence: number;
  label: number;
}

/** RFC 6724 2.1: the default policy table. */
export const DEFAULT_POLICY: readonly PolicyEntry[] = [
  ['::1', 128, 50, 0],
  ['::', 0, 40, 1],
  ['::ffff:0:0', 96, 35, 4],
  ['2002::', 16, 30, 2],
  ['2001::', 32, 5, 5],
  ['fc00::', 7, 3, 13],
  ['::', 96, 1, 3],
  ['fec0::', 10, 1, 11],
  ['3ffe::', 16, 1, 12],
].map(([p, prefixLen, precedence, label]) => ({
  prefix: parseIpv6(p as string)!,
  prefixLen: prefixLen as number,
  precedence: precedence as number,
  label: label as number,
}));

/** The entry of the longest prefix matching `addr` (RFC 6724 2.1). */
export function policyOf(addr: Ipv6Addr, table: readonly PolicyEntry[] = DEFAULT_POLICY): PolicyEntry {
  let best: PolicyEntry | undefined;
  for (const e of table) {
    if (prefixMatches(addr, e.prefix, e.prefixLen) && (best === undefined || e.prefixLen > best.prefixLen))
      best = e;
  }
  return best ?? { prefix: new Uint8Array(16), prefixLen: 0, precedence: 40, label: 1 };
}

export interface SourceCandidate {
  addr: Ipv6Addr;
  prefixLen: number;
  state: Ipv6AddressState;
  temporary: boolean;
  iface: NetworkInterface | undefined;
}

export interface SelectionOptions {
  /** The interface the packet leaves by (rule 5). */
  outIface?: NetworkInterface;
  /** Rule 7: prefer temporary addresses (RFC 6724's default; RFC 8981 3.2). */
  preferTemporary?: boolean;
  policy?: readonly PolicyEntry[];
}

/** RFC 4429 3.3: an optimistic address is avoided like a deprecated one. */
function avoided(c: SourceCandidate): boolean {
  return c.state === 'deprecated' || c.state === 'optimistic';
}

/**
 * Compares two candidate sources for `dst` by the rules of RFC 6724 5 in order: negative when
 * `a` is better, positive when `b` is, 0 when no rule tells them apart.
 */
export function compareSources(
  a: SourceCandidate,
  b: SourceCandidate,
  dst: Ipv6Addr,
  options: SelectionOptions = {},
): number {
  // Rule 1: prefer the same address.
  const sameA = commonPrefixLength(a.addr, dst) === 128;
  const sameB = commonPrefixLength(b.addr, dst) === 128;
  if (sameA !== sameB) return sameA ? -1 : 1;
  // Rule 2: prefer the appropriate scope.
  const sa = addressScope(a.addr);
  const sb = addressScope(b.addr);
  const sd = addressScope(dst);
  if (sa < sb) return sa < sd ? 1 : -1;
  if (sb < sa) return sb < sd ? -1 : 1;
  // Rule 3: avoid deprecated addresses.
  if (avoided(a) !== avoided(b)) return avoided(a) ? 1 : -1;
  // Rule 5: prefer the outgoing interface.
  if (options.outIface !== undefined) {
    const oa = a.iface === options.outIface;
    const ob = b.iface === options.outIface;
    if (oa !== ob) return oa ? -1 : 1;
  }
  // Rule 6: prefer a matching label.
  const policy = options.policy ?? DEFAULT_POLICY;
  const ld = policyOf(dst, policy).label;
  const la = policyOf(a.addr, policy).label === ld;
  const lb = policyOf(b.addr, policy).label === ld;
  if (la !== lb) return la ? -1 : 1;
  // Rule 7: prefer temporary addresses (or public ones, when asked to).
  if (a.temporary !== b.temporary) return a.temporary === (options.preferTemporary ?? true) ? -1 : 1;
  // Rule 8: the longest matching prefix, up to the length of the source's prefix (RFC 6724 2.2).
  const ca = Math.min(commonPrefixLength(a.addr, dst), a.prefixLen);
  const cb = Math.min(commonPrefixLength(b.addr, dst), b.prefixLen);
  return cb - ca;
}

/** The best source for `dst` among `candidates` (RFC 6724 5), or undefined when there is none. */
export function selectSource<C extends SourceCandidate>(
  dst: Ipv6Addr,
  candidates: readonly C[],
  options: SelectionOptions = {},
): C | undefined {
  let best: C | undefined;
  for (const c of candidates) if (best === undefined || compareSources(c, best, dst, options) < 0) best = c;
  return best;
}
