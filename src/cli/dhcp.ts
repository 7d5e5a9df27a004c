/**
 * DHCP on the command line: `--dhcp` (an interface flag of every command) runs a client on every
 * TAP device given without `--ipv4`; the DNS servers and search domains of a lease (RFC 2132 options
 * 6 and 15, or RFC 3397 option 119 before 15) go to the stack's resolver as the source
 * `dhcp4:<device>` (servers given with `--dns` take precedence). `ping`, `nc` and `fetch` wait for the leases before they start (`leased`). For `up`,
 * `--dhcp-server START-END` serves that range on the TAP whose `--ipv4` subnet holds it (leases
 * kept in `--dhcp-leases FILE` when given). Lease changes are printed as events (`dhcp-lease`,
 * `dhcp-lease-lost`, `dhcp-state`); `stop` releases the leases and closes the server.
 */

import { DhcpClient } from '../apps/dhcp/client.ts';
import type { DhcpClientState } from '../apps/dhcp/client-state.ts';
import { describeLease, leaseDnsConfig } from '../apps/dhcp/client-state.ts';
import { DhcpServer } from '../apps/dhcp/server.ts';
import { DhcpLeaseFile } from '../bindings/node/dhcp-lease-file.ts';
import { SECOND } from '../core/time.ts';
import { type Ipv4Addr, ipv4Mask, ipv4ToString } from '../wire/address.ts';
import { type FlagSpec, type ParsedArgs, UsageError } from './args.ts';
import { type InterfaceConfig, parseAddressArg, type Session } from './interface-options.ts';

/** How long `ping`, `nc` and `fetch` wait for their leases (DISCOVER is sent again after 4 and 8 s). */
const LEASE_WAIT_MS = 30_000;

/** The flags of `up`'s DHCP server (`--dhcp` itself is an interface flag). */
export const dhcpFlags: Record<string, FlagSpec> = {
  'dhcp-server': {
    type: 'string',
    help: 'serve addresses START-END by DHCP on the --tap whose --ipv4 subnet holds them',
    value: 'START-END',
  },
  'dhcp-lease-time': {
    type: 'number',
    help: 'lease time of --dhcp-server in seconds (default 3600)',
    value: 'N',
  },
  'dhcp-leases': {
    type: 'string',
    help: 'keep the leases of --dhcp-server in FILE across restarts',
    value: 'FILE',
  },
};

export interface DhcpPlan {
  /** Indexes of the devices that run a client. */
  clients: number[];
  server:
    | {
        device: number;
        start: Ipv4Addr;
        end: Ipv4Addr;
        leaseTime: number | undefined;
        file: string | undefined;
      }
    | undefined;
}

/** Checks the DHCP flags against the devices. */
export function parseDhcpOptions(args: ParsedArgs, config: InterfaceConfig): DhcpPlan {
  const clients: number[] = [];
  if (args.flags.dhcp === true) {
    config.devices.forEach((d, i) => {
      if (d.kind === 'tap' && d.ipv4 === undefined) clients.push(i);
    });
    if (clients.length === 0) throw new UsageError('--dhcp needs a --tap given without --ipv4');
  }
  const range = args.flags['dhcp-server'] as string | undefined;
  const leaseTime = args.flags['dhcp-lease-time'] as number | undefined;
  const file = args.flags['dhcp-leases'] as string | undefined;
  if (range === undefined) {
    if (leaseTime !== undefined || file !== undefined)
      throw new UsageError('--dhcp-lease-time and --dhcp-leases go with --dhcp-server');
    return { clients, server: undefined };
  }
  const [startText, endText, ...rest] = range.split('-');
  if (endText === undefined || rest.length > 0)
    throw new UsageError(`--dhcp-server: expected START-END: ${range}`);
  const start = parseAddressArg(startText!, '--dhcp-server');
  const end = parseAddressArg(endText, '--dhcp-server');
  if (end < start) throw new UsageError(`--dhcp-server: ${endText} comes before ${startText}`);
  const device = config.devices.findIndex((d) => {
    if (d.kind !== 'tap' || d.ipv4 === undefined) return false;
    const mask = ipv4Mask(d.ipv4.prefixLen);
    return ((d.ipv4.addr ^ start) & mask) === 0 && ((d.ipv4.addr ^ end) & mask) === 0;
  });
  if (device < 0) throw new UsageError(`--dhcp-server: ${range} is not inside the --ipv4 subnet of a --tap`);
  if (leaseTime !== undefined && !(Number.isInteger(leaseTime) && leaseTime >= 60 && leaseTime < 0xffff_ffff))
    throw new UsageError('--dhcp-lease-time: seconds, at least 60');
  if (file === '') throw new UsageError('--dhcp-leases needs a file name');
  return { clients, server: { device, start, end, leaseTime, file } };
}

/** The running DHCP clients and server of a session. */
export interface DhcpRun {
  /** For the ready event and reports. */
  info(): Record<string, unknown>;
  /** Resolves once every client holds a lease. */
  readonly bound: Promise<void>;
  /** Releases the leases (DHCPRELEASE) and stops serving. */
  stop(): void;
}

/**
 * Starts what `plan` asks for. The clients wait up to one second before their first DISCOVER
 * (RFC 2131 4.4.1 suggests one to ten seconds, to spread clients that boot together; one command
 * starting by hand has no such crowd).
 */
export function startDhcp(session: Session, plan: DhcpPlan): DhcpRun {
  const stack = session.stack;
  let leases = 0;
  let allBound: () => void = () => {};
  const bound = new Promise<void>((resolve) => {
    allBound = resolve;
  });
  if (plan.clients.length === 0) allBound();
  const clients = plan.clients.map((i) => {
    const iface = session.devices[i]!.iface;
    const source = `dhcp4:${iface.name}`;
    let leased = false;
    const client: DhcpClient = new DhcpClient(stack, iface, {
      startDelay: [0, SECOND],
      onStateChange: (state: DhcpClientState) =>
        session.event('dhcp-state', { interface: iface.name, state }, () => `dhcp: ${iface.name} ${state}`),
      onLease: (lease) => {
        const d = describeLease(lease, stack.now());
        stack.dns.resolver.setSource(source, leaseDnsConfig(lease));
        if (!leased) {
          leased = true;
          if (++leases === plan.clients.length) allBound();
        }
        session.event('dhcp-lease', { interface: iface.name, lease: d }, () =>
          [
            `dhcp: ${iface.name} bound ${d.address}`,
            d.routers.length > 0 ? ` router ${d.routers.join(' ')}` : '',
            d.dnsServers.length > 0 ? ` dns ${d.dnsServers.join(' ')}` : '',
            ` from ${d.server} for ${d.leaseTime} s`,
          ].join(''),
        );
      },
      onLeaseLost: (lease, reason) => {
        stack.dns.resolver.setSource(source, undefined);
        session.event(
          'dhcp-lease-lost',
          { interface: iface.name, address: ipv4ToString(lease.address), reason },
          () => `dhcp: ${iface.name} lost ${ipv4ToString(lease.address)} (${reason})`,
        );
      },
    });
    return client;
  });
  let server: DhcpServer | undefined;
  const s = plan.server;
  if (s !== undefined) {
    server = new DhcpServer(stack, session.devices[s.device]!.iface, {
      start: s.start,
      end: s.end,
      ...(s.leaseTime !== undefined ? { leaseTime: s.leaseTime } : {}),
      // A router only when the stack forwards.
      ...(stack.ipv4.forwarding ? { routers: [session.config.devices[s.device]!.ipv4!.addr] } : {}),
      ...(s.file !== undefined ? { store: new DhcpLeaseFile(s.file) } : {}),
    });
    server.start();
  }
  for (const c of clients) c.start();
  return {
    bound,
    info: () => ({
      ...(clients.length > 0
        ? { clients: clients.map((c) => ({ interface: c.iface.name, ...c.info() })) }
        : {}),
      ...(server !== undefined
        ? {
            server: {
              interface: server.iface.name,
              range: `${ipv4ToString(server.pool.start)}-${ipv4ToString(server.pool.end)}`,
              leases: server.leases(),
            },
          }
        : {}),
    }),
    stop: () => {
      for (const c of clients) c.stop();
      server?.stop();
    },
  };
}

/**
 * `--dhcp` for `ping`, `nc` and `fetch`: starts the clients and resolves once they hold leases
 * (ETIMEDOUT after LEASE_WAIT_MS); the leases are released when the session closes.
 */
export async function leased(session: Session, args: ParsedArgs): Promise<void> {
  const plan = parseDhcpOptions(args, session.config);
  if (plan.clients.length === 0) return;
  const run = startDhcp(session, plan);
  session.beforeClose.push(() => run.stop());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(Object.assign(new Error(`no DHCP lease in ${LEASE_WAIT_MS / 1000} s`), { code: 'ETIMEDOUT' })),
      LEASE_WAIT_MS,
    );
  });
  try {
    await Promise.race([run.bound, timeout, session.failed]);
  } finally {
    clearTimeout(timer);
  }
}
