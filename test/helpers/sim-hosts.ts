/** Small topologies of stacks on a simulated network, for simulation tests. */

import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { type Ipv4Addr, parseIpv4, parseIpv4Cidr } from '../../src/wire/address.ts';

export interface Host {
  stack: Stack;
  iface: NetworkInterface;
  ip: Ipv4Addr;
}

export function ip(text: string): Ipv4Addr {
  const a = parseIpv4(text);
  if (a === undefined) throw new Error(`bad address ${text}`);
  return a;
}

/** Adds `cidr` to the interface and, when given, a default route via `gateway`. */
export function configure(stack: Stack, iface: NetworkInterface, cidr: string, gateway?: string): Ipv4Addr {
  const c = parseIpv4Cidr(cidr)!;
  stack.ipv4.addAddress(iface, c.addr, c.prefixLen);
  if (gateway !== undefined) {
    stack.ipv4.routes.add({
      dest: 0,
      prefixLen: 0,
      gateway: ip(gateway),
      iface,
      metric: 0,
      origin: 'static',
    });
  }
  return c.addr;
}

/** Two hosts on one wire: a 10.0.0.1/24, b 10.0.0.2/24. */
export function twoHosts(seed: number, impairments: Impairments = {}, mtu?: number) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const wire = net.wire({ impairments, ...(mtu !== undefined ? { mtu } : {}) });
  const mk = (name: string, cidr: string): Host => {
    const stack = sim.createStack({ name });
    const iface = wire.attach(stack, 'eth0');
    return { stack, iface, ip: configure(stack, iface, cidr) };
  };
  return { sim, net, wire, a: mk('a', '10.0.0.1/24'), b: mk('b', '10.0.0.2/24') };
}

/**
 * a (10.0.1.2/24) -- router (10.0.1.1, 10.0.2.1) -- b (10.0.2.2/24), forwarding on; the
 * router's second link has `mtu2` and impairments of its own.
 */
export function routed(
  seed: number,
  options: { mtu2?: number; impairments1?: Impairments; impairments2?: Impairments } = {},
) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const w1 = net.wire({ impairments: options.impairments1 ?? {} });
  const w2 = net.wire({
    impairments: options.impairments2 ?? {},
    ...(options.mtu2 !== undefined ? { mtu: options.mtu2 } : {}),
  });
  const router = sim.createStack({ name: 'router' });
  const r1 = w1.attach(router, 'eth0');
  const r2 = w2.attach(router, 'eth1');
  configure(router, r1, '10.0.1.1/24');
  configure(router, r2, '10.0.2.1/24');
  router.ipv4.forwarding = true;
  const sa = sim.createStack({ name: 'a' });
  const ia = w1.attach(sa, 'eth0');
  const sb = sim.createStack({ name: 'b' });
  const ib = w2.attach(sb, 'eth0');
  const a: Host = { stack: sa, iface: ia, ip: configure(sa, ia, '10.0.1.2/24', '10.0.1.1') };
  const b: Host = { stack: sb, iface: ib, ip: configure(sb, ib, '10.0.2.2/24', '10.0.2.1') };
  return { sim, net, w1, w2, router, a, b };
}
