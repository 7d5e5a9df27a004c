/**
 * `netstack up`: puts the stack on one or more TAP/TUN devices of this network namespace, answers
 * ARP, NDP and ping (IPv4 and IPv6), optionally runs small services, forwards between its
 * interfaces and advertises IPv6 prefixes, until SIGINT or SIGTERM; then prints the counters and
 * exits 0.
 */
import { type FlagSpec, parseArgs, UsageError } from './args.ts';
import { dhcpFlags, parseDhcpOptions, startDhcp } from './dhcp.ts';
import { dhcp6Flags, parseDhcp6Options, startDhcp6 } from './dhcp6.ts';
import { interfaceFlags, parseInterfaceOptions, Session, untilSignal } from './interface-options.ts';
import { dnsChangeReporter, feedRaDns } from './ipv6-dns.ts';
import { ipv6UpFlags, parseIpv6RouterPlan, startIpv6 } from './ipv6-options.ts';
import { describeServices, SERVICES, startServices } from './services.ts';

export const upFlags: Record<string, FlagSpec> = {
  ...interfaceFlags,
  serve: {
    type: 'string',
    help: `comma-separated services to run: ${describeServices()}`,
    value: 'LIST',
  },
  forward: {
    type: 'boolean',
    help: 'forward IPv4 and IPv6 between the interfaces (a router, RFC 1812, RFC 8200)',
  },
  ...ipv6UpFlags,
  ...dhcpFlags,
  ...dhcp6Flags,
};

export async function runUp(argv: string[]): Promise<number> {
  const args = parseArgs(argv, upFlags);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const config = parseInterfaceOptions(args);
  if (config.devices.length === 0) throw new UsageError('needs a device: --tap NAME or --tun NAME');
  const serve = parseServiceList(args.flags.serve as string | undefined);
  const dhcpPlan = parseDhcpOptions(args, config);
  const dhcp6Plan = parseDhcp6Options(args, config);
  const ipv6Plan = parseIpv6RouterPlan(
    args,
    config.devices.map((d) => d.ipv6),
  );

  const session = new Session(config, 'netstack-up');
  try {
    session.stack.ipv4.forwarding = args.flags.forward === true;
    const services = startServices(session.stack, serve);
    const dhcp = startDhcp(session, dhcpPlan);
    const described = services.map((s) => `${s.name} ${s.transport}/${s.port}`);
    // Handlers first: a signal sent as soon as `ready` is read must find them installed.
    const signalled = untilSignal();
    const ifaces = session.devices.map((d) => d.iface);
    const forward = args.flags.forward === true;
    // RFC 8106 name servers of advertisements, and DHCPv6 (listening to advertisements from the start).
    const dns = dnsChangeReporter(session);
    const stopRaDns = session.stack.run(() => feedRaDns(session.stack, ifaces, dns.changed));
    const dhcp6 = startDhcp6(session, dhcp6Plan, dns.changed);
    // RFC 4861 4.2: advertisements say M where our DHCPv6 server hands out addresses.
    const managed = dhcp6Plan.server !== undefined ? [dhcp6Plan.server.device] : [];
    const ipv6 = await Promise.race([
      startIpv6(session.stack, ifaces, { ...ipv6Plan, managed }, forward),
      session.failed,
    ]);
    session.ready(
      {
        services: services.map(({ name, transport, port }) => ({ name, transport, port })),
        forwarding: session.stack.ipv4.forwarding,
        ...(dhcpPlan.clients.length > 0 || dhcpPlan.server !== undefined ? { dhcp: dhcp.info() } : {}),
        ...ipv6.info,
        ...(dhcp6Plan.clients.length > 0 || dhcp6Plan.server !== undefined ? { dhcp6: dhcp6.info() } : {}),
      },
      [
        ...(described.length > 0 ? [`  serving ${described.join(', ')}`] : []),
        ...(session.stack.ipv4.forwarding ? ['  forwarding IPv4 between the interfaces'] : []),
        ...ipv6.text,
        ...dhcp6.text(),
      ],
    );
    ipv6.watch((name, fields, text) => session.event(name, fields, text));
    dns.arm();
    const signal = await Promise.race([signalled, session.failed]);
    session.event('stopping', { signal }, () => `stopping (${signal})`);
    dhcp.stop();
    dhcp6.stop();
    stopRaDns();
    ipv6.stop();
    for (const s of services) s.close();
    session.closeAndReport();
    return 0;
  } finally {
    session.close();
  }
}

/** `echo,discard` to a list of known, distinct service names. */
export function parseServiceList(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names = text.split(',').map((n) => n.trim());
  for (const name of names) {
    if (SERVICES[name] === undefined)
      throw new UsageError(`--serve: unknown service '${name}' (known: ${Object.keys(SERVICES).join(', ')})`);
  }
  if (new Set(names).size !== names.length) throw new UsageError('--serve: a service is listed twice');
  return names;
}
