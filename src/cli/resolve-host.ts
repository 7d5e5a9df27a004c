/**
 * Host names on the command line: `-4`/`-6` choose the family (as ping, nc and curl do), and a
 * HOST that is not an address literal is resolved over the stack (its own stub resolver, with the
 * servers of `--dns` or those DHCP gave). Failures carry getaddrinfo's words (gai_strerror), which
 * each command prints in the form of the tool it imitates.
 */
import '../api/install.ts';
import type { NetworkInterface } from '../core/device/interface.ts';
import type { IpAddr } from '../core/ip-address.ts';
import type { Stack } from '../core/stack.ts';
import { parseIpv4, parseIpv6 } from '../wire/address.ts';
import { type FlagSpec, UsageError } from './args.ts';
import type { Session } from './interface-options.ts';
import { type HostArg, ipv6Settled, parseHostArg, zoneInterface } from './ipv6-options.ts';

export const familyFlags: Record<string, FlagSpec> = {
  ipv4only: { type: 'boolean', short: '4', help: 'IPv4 only (for host names: A records only)' },
  ipv6only: { type: 'boolean', short: '6', help: 'IPv6 only (for host names: AAAA records only)' },
};

/** The family `-4`/`-6` ask for (0: either). */
export function familyOf(flags: Record<string, unknown>): 0 | 4 | 6 {
  if (flags.ipv4only === true && flags.ipv6only === true)
    throw new UsageError('-4 and -6 exclude each other');
  return flags.ipv4only === true ? 4 : flags.ipv6only === true ? 6 : 0;
}

/** A name that did not resolve: `reason` is getaddrinfo's message, `code` the resolver's. */
export class ResolveError extends Error {
  constructor(
    readonly host: string,
    readonly code: string,
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
  }
}

/** gai_strerror(3) of what getaddrinfo returns for each outcome of the resolver (glibc's words). */
function gaiReason(code: string): string {
  switch (code) {
    case 'ENOTFOUND':
    case 'EBADNAME':
      return 'Name or service not known'; // EAI_NONAME
    case 'ENODATA':
      return 'No address associated with hostname'; // EAI_NODATA
    case 'EAFNOSUPPORT':
      return 'Address family for hostname not supported'; // EAI_ADDRFAMILY
    default:
      return 'Temporary failure in name resolution'; // EAI_AGAIN
  }
}

/** Whether `text` looks like an address literal rather than a name (then it must parse as one). */
export function isLiteral(text: string): boolean {
  return text.includes(':') || /^[0-9.]+$/.test(text);
}

/**
 * `host` as an address of `family` (0: the first the resolver gives, IPv4 first): a literal as it
 * is (a usage error when malformed), a name through the stack's resolver. Rejects with a
 * ResolveError.
 */
export async function resolveHost(
  stack: Stack,
  host: string,
  family: 0 | 4 | 6,
  what: string,
): Promise<HostArg> {
  if (isLiteral(host)) {
    const literal = parseHostArg(host, what);
    if (family !== 0 && literal.family !== family)
      throw new ResolveError(host, 'EAFNOSUPPORT', gaiReason('EAFNOSUPPORT'));
    return literal;
  }
  let list: Array<{ address: string; family: 4 | 6 }>;
  try {
    list = await stack.dns.resolver.lookupAsync(host, family);
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'EAI_AGAIN';
    throw new ResolveError(host, code, gaiReason(code));
  }
  const first = list[0];
  if (first === undefined) throw new ResolveError(host, 'ENODATA', gaiReason('ENODATA'));
  return first.family === 4
    ? { family: 4, addr: parseIpv4(first.address)!, zone: undefined }
    : { family: 6, addr: parseIpv6(first.address)!, zone: undefined };
}

/**
 * Where a connection to `host` goes: its address and, for a link-local IPv6 address, the device
 * of its zone as the scope (RFC 4007 11: a link-local address means nothing without one). An
 * IPv6 peer waits until the stack's own addresses passed duplicate address detection, as a
 * tentative address may not be a source (RFC 4862 5.4).
 */
export async function connectTarget(
  session: Session,
  host: HostArg,
): Promise<{ address: IpAddr; scope?: NetworkInterface }> {
  if (host.family === 4) return { address: host.addr };
  const scope = host.zone !== undefined ? zoneInterface(session.stack, host.zone) : undefined;
  await sessionIpv6Settled(session);
  return { address: host.addr, ...(scope !== undefined ? { scope } : {}) };
}

/** Resolves once the session's devices have usable IPv6 addresses (or rejects when it failed). */
export function sessionIpv6Settled(session: Session): Promise<void> {
  return Promise.race([
    ipv6Settled(
      session.stack,
      session.devices.map((d) => d.iface),
    ),
    session.failed,
  ]);
}
