/**
 * DHCPv6 for `netstack up` (RFC 8415): with `--slaac` a client runs on every TAP and starts by
 * itself when a router advertises M (stateful: an address by IA_NA) or O alone (stateless: DNS
 * only), as NetworkManager and systemd-networkd do (RFC 4861 4.2); `--dhcp6` starts it stateful at
 * once whatever routers say (like `dhclient -6`). Leased addresses go on the device with their
 * lifetimes; DNS servers (option 23) and search domains (option 24) go to the stack's resolver as
 * the source `dhcp6:<device>`. Events: `dhcp6-lease` (bound or informed), `dhcp6-lease-lost`,
 * `dhcp6-state`; `stop` sends Release.
 */
import { Dhcpv6Client, type Dhcpv6ClientState, type Dhcpv6Config } from '../apps/dhcp6/client.ts';
import { toHex } from '../apps/dhcp6/common.ts';
import { ipv6ToString } from '../wire/address.ts';
import { DHCPV6_INFINITY } from '../wire/dhcpv6.ts';
import { type FlagSpec, type ParsedArgs, UsageError } from './args.ts';
import type { InterfaceConfig, Session } from './interface-options.ts';
import { searchDomains } from './ipv6-dns.ts';
import '../api/install.ts';

export const dhcp6Flags: Record<string, FlagSpec> = {
  dhcp6: {
    type: 'boolean',
    help: 'get an IPv6 address and DNS servers by DHCPv6 on every --tap at once (with --slaac alone, the client starts when a router advertises M or O)',
  },
};

export interface Dhcp6Plan {
  /** Indexes of the devices that run a client. */
  clients: number[];
  /** `ra`: started by the M and O flags of advertisements; `stateful`: at once. */
  trigger: 'ra' | 'stateful';
}

/** `--dhcp6`, or `--slaac` alone, on the TAP devices. */
export function parseDhcp6Options(args: ParsedArgs, config: InterfaceConfig): Dhcp6Plan {
  const taps = config.devices.flatMap((d, i) => (d.kind === 'tap' ? [i] : []));
  if (args.flags.dhcp6 === true) {
    if (taps.length === 0) throw new UsageError('--dhcp6 needs a --tap');
    return { clients: taps, trigger: 'stateful' };
  }
  return { clients: config.slaac ? taps : [], trigger: 'ra' };
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
  return {
    info: () => ({
      clients: clients.map((c) => ({
        interface: c.iface.name,
        state: c.state,
        ...(c.config !== undefined ? describeConfig(c.config) : {}),
      })),
    }),
    text: () =>
      clients.map((c) => {
        const d = c.config !== undefined ? describeConfig(c.config) : undefined;
        const addresses = d?.addresses.map((a) => ` ${a.address}`).join('') ?? '';
        return `  dhcp6 ${c.iface.name} ${c.state}${addresses}`;
      }),
    stop: () => {
      for (const c of clients) c.stop();
    },
  };
}
