/** A LAN for DHCP simulation tests: a server stack and client stacks without addresses on a switch. */

import { DhcpClient, type DhcpClientOptions, type LeaseLossReason } from '../../src/apps/dhcp/client.ts';
import type { DhcpLease } from '../../src/apps/dhcp/client-state.ts';
import { DhcpServer, type DhcpServerOptions } from '../../src/apps/dhcp/server.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { VirtualSwitch } from '../../src/bindings/memory/switch.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { ipv4ToString } from '../../src/wire/address.ts';
import { configure, ip } from '../helpers/sim-hosts.ts';

export interface ClientHost {
  stack: Stack;
  iface: NetworkInterface;
  client: DhcpClient;
  /** Every event, in order: `lease <addr>`, `lost <reason>`, and state names. */
  events: string[];
  leases: DhcpLease[];
}

export interface DhcpLan {
  sim: Simulation;
  sw: VirtualSwitch;
  serverStack: Stack;
  serverIface: NetworkInterface;
  server: DhcpServer;
  addClient(name: string, options?: DhcpClientOptions): ClientHost;
}

/** Server 10.0.0.1/24 serving 10.0.0.100-10.0.0.(100 + poolSize - 1), clients join on demand. */
export function dhcpLan(
  seed: number,
  serverOptions: Partial<DhcpServerOptions> = {},
  poolSize = 50,
): DhcpLan {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch();
  const serverStack = sim.createStack({ name: 'server' });
  const serverIface = sw.attach(serverStack, 'eth0');
  configure(serverStack, serverIface, '10.0.0.1/24');
  const server = new DhcpServer(serverStack, serverIface, {
    start: ip('10.0.0.100'),
    end: ip('10.0.0.100') + poolSize - 1,
    routers: [ip('10.0.0.1')],
    dnsServers: [ip('10.0.0.53'), ip('10.0.0.54')],
    domainName: 'example.test',
    ...serverOptions,
  });
  server.start();
  const addClient = (name: string, options: DhcpClientOptions = {}): ClientHost => {
    const stack = sim.createStack({ name });
    const iface = sw.attach(stack, 'eth0');
    const events: string[] = [];
    const leases: DhcpLease[] = [];
    const client = new DhcpClient(stack, iface, {
      startDelay: [0, 0],
      ...options,
      onLease: (l) => {
        leases.push(l);
        events.push(`lease ${ipv4ToString(l.address)}`);
        options.onLease?.(l);
      },
      onLeaseLost: (l: DhcpLease, reason: LeaseLossReason) => {
        events.push(`lost ${reason}`);
        options.onLeaseLost?.(l, reason);
      },
      onStateChange: (s) => {
        events.push(s);
        options.onStateChange?.(s);
      },
    });
    return { stack, iface, client, events, leases };
  };
  return { sim, sw, serverStack, serverIface, server, addClient };
}

/** The stack's IPv4 addresses on `iface` as `a.b.c.d/len`. */
export function addresses(stack: Stack, iface: NetworkInterface): string[] {
  return stack.ipv4.listAddresses(iface).map((a) => `${ipv4ToString(a.addr)}/${a.prefixLen}`);
}

/** The stack's routes other than loopback, as `describe` lines. */
export function routes(stack: Stack): string[] {
  return stack.ipv4.routes
    .list()
    .filter((r) => r.iface.name !== 'lo')
    .map(
      (r) =>
        `${r.prefixLen === 0 ? 'default' : `${ipv4ToString(r.dest)}/${r.prefixLen}`}${r.gateway !== undefined ? ` via ${ipv4ToString(r.gateway)}` : ''} ${r.origin}`,
    );
}
