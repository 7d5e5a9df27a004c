/**
 * DHCPv6 for `netstack up` (RFC 8415): with `--slaac` a client runs on every TAP and starts by
 * itself when a router advertises M (stateful: an address by IA_NA) or O alone (stateless: DNS
 * only), as NetworkManager and systemd-networkd do (RFC 4861 4.2); `--dhcp6` starts it stateful at
 * once whatever routers say (like `dhclient -6`). Leased addresses go on the device with their
 * lifetimes; DNS servers (option 23) and search domains (option 24) go to the stack's resolver as
 * the source `dhcp6:<device>`. Events: `dhcp6-lease` (bound or informed), `dhcp6-lease-lost`,
 * `dhcp6-state`; `stop` sends Release. `--dhcp6-server START-END` serves that range (one address
 * per client DUID, `src/apps/dhcp6/server.ts`) on the TAP whose `--ipv6` prefix holds it.
 */

import { toHex } from '../apps/dhcp/dhcp-common.ts';
import { Dhcpv6Client, type Dhcpv6ClientState, type Dhcpv6Config } from '../apps/dhcp6/client.ts';
import { Dhcpv6Server } from '../apps/dhcp6/server.ts';
import { prefixMatches } from '../core/ip6/ipv6-addr.ts';
import { type Ipv6Addr, ipv6ToString, parseIpv6 } from '../wire/address.ts';
import { DHCPV6_INFINITY } from '../wire/dhcpv6.ts';
import { type FlagSpec, type ParsedArgs, UsageError } from './args.ts';
import type { InterfaceConfig, Session } from './interface-options.ts';
import { searchDomains } from './ipv6-dns.ts';
import '../api/install.ts';

/** Addresses `--dhcp6-server` may serve (the server looks through its pool for a free one). */
export const MAX_POOL = 65536;

export const dhcp6Flags: Record<string, FlagSpec> = {
  dhcp6: {
    type: 'boolean',
    help: 'get an IPv6 address and DNS servers by DHCPv6 on every --tap at once (with --slaac alone, the client starts when a router advertises M or O)',
  },
  'dhcp6-server': {
    type: 'string',
    help: `serve IPv6 addresses START-END (at most ${MAX_POOL}) by DHCPv6 on the --tap whose --ipv6 prefix holds them`,
    value: 'START-END',
  },
};

export interface Dhcp6Plan {
  /** Indexes of the devices that run a client. */
  clients: number[];
  /** `ra`: started by the M and O flags of advertisements; `stateful`: at once. */
  trigger: 'ra' | 'stateful';
  server?: { device: number; first: Ipv6Addr; size: number; range: string };
}

/** `--dhcp6`, or `--slaac` alone, on the TAP devices; `--dhcp6-server` on the TAP of its prefix. */
export function parseDhcp6Options(args: ParsedArgs, config: InterfaceConfig): Dhcp6Plan {
  const taps = config.devices.flatMap((d, i) => (d.kind === 'tap' ? [i] : []));
  const rangeText = args.flags['dhcp6-server'] as string | undefined;
  const server = rangeText === undefined ? {} : { server: parseServerRange(rangeText, config) };
  if (args.flags.dhcp6 === true) {
    if (taps.length === 0) throw new UsageError('--dhcp6 needs a --tap');
    return { clients: taps, trigger: 'stateful', ...server };
  }
  return { clients: config.slaac ? taps : [], trigger: 'ra', ...server };
}

/** `START-END`: two addresses differing in their last 32 bits, inside the --ipv6 prefix of a TAP. */
function parseServerRange(text: string, config: InterfaceConfig): NonNullable<Dhcp6Plan['server']> {
  const [startText, endText, ...rest] = text.split('-');
  const start = parseIpv6(startText ?? '');
  const end = parseIpv6(endText ?? '');
  if (start === undefined || end === undefined || rest.length > 0)
    throw new UsageError(`--dhcp6-server: expected START-END (e.g. 2001:db8::100-2001:db8::1ff): ${text}`);
  if (!prefixMatches(start, end, 96)) throw new UsageError(`--dhcp6-server: ${text} is too wide`);
  const low = (a: Ipv6Addr) => ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
  const size = low(end) - low(start) + 1;
  if (size <= 0) throw new UsageError(`--dhcp6-server: ${endText} comes before ${startText}`);
  if (size > MAX_POOL) throw new UsageError(`--dhcp6-server: ${text} holds more than ${MAX_POOL} addresses`);
  const device = config.devices.findIndex(
    (d) =>
      d.kind === 'tap' &&
      d.ipv6 !== undefined &&
      prefixMatches(d.ipv6.addr, start, d.ipv6.prefixLen) &&
      prefixMatches(d.ipv6.addr, end, d.ipv6.prefixLen),
  );
  if (device < 0) throw new UsageError(`--dhcp6-server: ${text} is not inside the --ipv6 prefix of a --tap`);
  return { device, first: start, size, range: `${ipv6ToString(start)}-${ipv6ToString(end)}` };
}

/** What a client got, for events and the ready line. */
function describeConfig(c: Dhcpv6Config): {
  mode: string;
  addresses: Array<{
    address: string;
    preferredLifetime: number | 'forever';
    validLifetime: number | 'forever';
  }>;
  dnsServers: string[];
  domains: string[];
  server?: string;
} {
  const life = (s: number) => (s === DHCPV6_INFINITY ? 'forever' : s);
  return {
    mode: c.mode,
    addresses: (c.lease?.addresses ?? []).map((a) => ({
      address: ipv6ToString(a.address),
      preferredLifetime: life(a.preferredLifetime),
      validLifetime: life(a.validLifetime),
    })),
    dnsServers: c.dnsServers.map(ipv6ToString),
    domains: c.domains,
    ...(c.lease !== undefined ? { server: toHex(c.lease.serverId) } : {}),
  };
}

export interface Dhcp6Run {
  /** For the ready event: its JSON fields and its text lines. */
  info(): Record<string, unknown>;
  text(): string[];
  /** Release and stop. */
  stop(): void;
}

/** Starts the clients of `plan`; `onDnsChange` is called after their DNS lists went to the resolver. */
export function startDhcp6(session: Session, plan: Dhcp6Plan, onDnsChange: () => void = () => {}): Dhcp6Run {
  const stack = session.stack;
  const clients = plan.clients.map((i) => {
    const iface = session.devices[i]!.iface;
    const source = `dhcp6:${iface.name}`;
    return new Dhcpv6Client(stack, iface, {
      trigger: plan.trigger,
      onStateChange: (state: Dhcpv6ClientState) =>
        session.event('dhcp6-state', { interface: iface.name, state }, () => `dhcp6: ${iface.name} ${state}`),
      onConfig: (c) => {
        const servers = c.dnsServers.map(ipv6ToString);
        const search = searchDomains(stack, c.domains);
        stack.dns.resolver.setSource(
          source,
          servers.length + search.length > 0 ? { servers, search } : undefined,
        );
        onDnsChange();
        const d = describeConfig(c);
        session.event('dhcp6-lease', { interface: iface.name, lease: d }, () =>
          [
            `dhcp6: ${iface.name} ${c.mode === 'stateful' ? 'bound' : 'informed'}`,
            ...d.addresses.map(
              (a) => ` ${a.address} valid ${a.validLifetime}${a.validLifetime === 'forever' ? '' : ' s'}`,
            ),
            d.dnsServers.length > 0 ? ` dns ${d.dnsServers.join(' ')}` : '',
            d.domains.length > 0 ? ` search ${d.domains.join(' ')}` : '',
          ].join(''),
        );
      },
      onLeaseLost: (lease, reason) => {
        stack.dns.resolver.setSource(source, undefined);
        onDnsChange();
        const addresses = lease.addresses.map((a) => ipv6ToString(a.address));
        session.event(
          'dhcp6-lease-lost',
          { interface: iface.name, addresses, reason },
          () => `dhcp6: ${iface.name} lost ${addresses.join(' ')} (${reason})`,
        );
      },
    });
  });
  for (const c of clients) c.start();
  const s = plan.server;
  const server =
    s === undefined
      ? undefined
      : stack.run(
          () =>
            new Dhcpv6Server(stack, session.devices[s.device]!.iface, {
              pool: { first: s.first, size: s.size },
            }),
        );
  const served =
    s === undefined || server === undefined ? undefined : { interface: server.iface.name, range: s.range };
  return {
    info: () => ({
      ...(clients.length > 0
        ? {
            clients: clients.map((c) => ({
              interface: c.iface.name,
              state: c.state,
              ...(c.config !== undefined ? describeConfig(c.config) : {}),
            })),
          }
        : {}),
      ...(served !== undefined ? { server: served } : {}),
    }),
    text: () => [
      ...clients.map((c) => {
        const d = c.config !== undefined ? describeConfig(c.config) : undefined;
        const addresses = d?.addresses.map((a) => ` ${a.address}`).join('') ?? '';
        return `  dhcp6 ${c.iface.name} ${c.state}${addresses}`;
      }),
      ...(served !== undefined ? [`  serving DHCPv6 ${served.range} on ${served.interface}`] : []),
    ],
    stop: () => {
      for (const c of clients) c.stop();
      server?.close();
    },
  };
}
