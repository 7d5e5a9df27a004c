/** A LAN for DHCP simulation tests: a server stack and client stacks without addresses on a switch. */

import { DhcpClient, type DhcpClientOptions, type LeaseLossReason } from '../../src/apps/dhcp/client.ts';
import type { DhcpLease } from '../../src/apps/dhcp/client-state.ts';
import { DhcpServer, type DhcpServerOptions } from '../../src/apps/dhcp/server.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { VirtualSwitch } from '../../src/bindings/memory/switch.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { IPV4_BROADCAST, ipv4ToString } from '../../src/wire/address.ts';
import { BOOTREQUEST, type DhcpRepr, emitDhcp, parseDhcp } from '../../src/wire/dhcp.ts';
import type { DhcpOptions } from '../../src/wire/dhcp-options.ts';
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

/**
 * The DHCP messages a host sends (to UDP port 67), with the virtual time of each, parsed from the
 * frames leaving `iface`.
 */
export function dhcpSent(iface: NetworkInterface, now: () => number): Array<{ time: number; msg: DhcpRepr }> {
  const out: Array<{ time: number; msg: DhcpRepr }> = [];
  iface.addObserver((direction, frame) => {
    if (direction !== 'tx' || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 17) return;
    const ihl = (frame[14]! & 0x0f) * 4;
    const udp = 14 + ihl;
    if (((frame[udp + 2]! << 8) | frame[udp + 3]!) !== 67) return;
    const parsed = parseDhcp(frame.subarray(udp + 8));
    if (parsed.ok) out.push({ time: now(), msg: parsed.value });
  });
  return out;
}

/**
 * A host that speaks DHCP by hand from port 68 of `iface` (made-up clients, INFORM): `send` a
 * message, `replies` holds what came back.
 */
export function rawDhcpHost(stack: Stack, iface: NetworkInterface) {
  const replies: Array<{ msg: DhcpRepr; dst: number }> = [];
  const socket = stack.udp.open();
  socket.bindToDevice(iface);
  socket.setBroadcast(true);
  socket.bind(68, 0, { reuseAddr: true });
  socket.onReadable = () => {
    for (let d = socket.recv(); d; d = socket.recv()) {
      const p = parseDhcp(d.data);
      if (p.ok) replies.push({ msg: p.value, dst: d.dst });
    }
  };
  const send = (fields: Partial<DhcpRepr> & { options: DhcpOptions }, dst = IPV4_BROADCAST) => {
    const repr: DhcpRepr = {
      op: BOOTREQUEST,
      htype: 1,
      hops: 0,
      xid: 1,
      secs: 0,
      broadcast: true,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: new Uint8Array([2, 0, 0, 0, 0, 1]),
      sname: '',
      file: '',
      ...fields,
    };
    socket.send(emitDhcp(repr).bytes(), dst, 67);
  };
  return { socket, replies, send };
}
