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

/** Options of the two wires of a routed world: the second's MTU, and each one's impairments. */
export interface TwoWireOptions {
  mtu2?: number;
  impairments1?: Impairments;
  impairments2?: Impairments;
}

/**
 * Two wires and a stack named router on both (eth0 on the first, eth1 on the second), for the
 * IPv4 and IPv6 routed worlds; the hosts are the caller's.
 */
export function twoWiresAndRouter(seed: number, options: TwoWireOptions) {
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
  return { sim, net, w1, w2, router, r1, r2 };
}

/**
 * a (10.0.1.2/24) -- router (10.0.1.1, 10.0.2.1) -- b (10.0.2.2/24), forwarding on; the
 * router's second link has `mtu2` and impairments of its own.
 */
export function routed(seed: number, options: TwoWireOptions = {}) {
  const { sim, net, w1, w2, router, r1, r2 } = twoWiresAndRouter(seed, options);
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

/**
 * a -- r1 -- r2 -- ... -- rN -- b on N + 1 wires, forwarding on in every router. Wire k (0..N)
 * holds 10.1.k.0/24: its left end is 10.1.k.1, its right end 10.1.k.2, so a is 10.1.0.1, b is
 * 10.1.N.2, and router i (1..N) is 10.1.(i-1).2 towards a and 10.1.i.1 towards b. `mtus[k]` and
 * `impairments[k]` apply to wire k.
 */
export function chain(
  seed: number,
  routers: number,
  options: {
    mtus?: readonly (number | undefined)[];
    impairments?: readonly (Impairments | undefined)[];
  } = {},
) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const wires = Array.from({ length: routers + 1 }, (_, k) => {
    const mtu = options.mtus?.[k];
    return net.wire({ impairments: options.impairments?.[k] ?? {}, ...(mtu !== undefined ? { mtu } : {}) });
  });
  const host = (name: string, k: number, end: 1 | 2, gateway: string): Host => {
    const stack = sim.createStack({ name });
    const iface = wires[k]!.attach(stack, 'eth0');
    return { stack, iface, ip: configure(stack, iface, `10.1.${k}.${end}/24`, gateway) };
  };
  const a = host('a', 0, 1, '10.1.0.2');
  const list: Stack[] = [];
  for (let i = 1; i <= routers; i++) {
    const r = sim.createStack({ name: `r${i}` });
    const left = wires[i - 1]!.attach(r, 'eth0');
    const right = wires[i]!.attach(r, 'eth1');
    configure(r, left, `10.1.${i - 1}.2/24`);
    configure(r, right, `10.1.${i}.1/24`, `10.1.${i}.2`);
    // The wires towards a, beyond the one attached, via the previous router.
    for (let k = 0; k < i - 1; k++) {
      r.ipv4.routes.add({
        dest: ip(`10.1.${k}.0`),
        prefixLen: 24,
        gateway: ip(`10.1.${i - 1}.1`),
        iface: left,
        metric: 0,
        origin: 'static',
      });
    }
    r.ipv4.forwarding = true;
    list.push(r);
  }
  const b = host('b', routers, 2, `10.1.${routers}.1`);
  return { sim, net, wires, routers: list, a, b };
}
