/** IPv6 topologies and probes for the IPv6 simulation tests. */
import assert from 'node:assert/strict';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Ipv6Layer } from '../../src/core/ip6/ipv6.ts';
import type { Stack } from '../../src/core/stack.ts';
import { type Ipv6Addr, ipv6IsLinkLocal, ipv6ToString, parseIpv6 } from '../../src/wire/address.ts';
import { emitIcmpv6, IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { type TwoWireOptions, twoWiresAndRouter } from '../helpers/sim-hosts.ts';

export function ip6(text: string): Ipv6Addr {
  const a = parseIpv6(text);
  if (a === undefined) throw new Error(`bad address ${text}`);
  return a;
}

export function v6(stack: Stack): Ipv6Layer {
  assert.ok(stack.ipv6 !== undefined);
  return stack.ipv6;
}

/** The usable link-local address of an interface, once DAD is done. */
export function linkLocal(stack: Stack, iface: NetworkInterface): Ipv6Addr | undefined {
  return v6(stack)
    .listAddresses(iface)
    .find((a) => ipv6IsLinkLocal(a.addr) && a.state === 'preferred')?.addr;
}

export function addresses(stack: Stack, iface: NetworkInterface): string[] {
  return v6(stack)
    .listAddresses(iface)
    .map((a) => `${ipv6ToString(a.addr)}/${a.prefixLen} ${a.state}${a.temporary ? ' temporary' : ''}`);
}

/** Two stacks on one wire, each with its link-local address settled. */
export function twoHosts6(seed: number, impairments: Impairments = {}, mtu?: number) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const wire = net.wire({ impairments, ...(mtu !== undefined ? { mtu } : {}) });
  const a = sim.createStack({ name: 'a' });
  const ia = wire.attach(a, 'eth0');
  const b = sim.createStack({ name: 'b' });
  const ib = wire.attach(b, 'eth0');
  assert.ok(sim.runUntil(() => linkLocal(a, ia) !== undefined && linkLocal(b, ib) !== undefined, 10_000));
  return { sim, net, wire, a, ia, b, ib };
}

export interface Echo6Reply {
  from: string;
  seq: number;
  size: number;
  hopLimit: number;
}

/** An ICMPv6 echo client on `stack`; also records the ICMPv6 errors about its packets. */
export function pinger6(stack: Stack) {
  const ip = v6(stack);
  const replies: Echo6Reply[] = [];
  const errors: Array<{ type: number; code: number; from: string; mtu: number; pointer: number }> = [];
  ip.icmp.echoReplyHandler = (p, icmp) => {
    const b = icmp.bytes;
    replies.push({
      from: ipv6ToString(p.src),
      seq: (b[6]! << 8) | b[7]!,
      size: b.length - 8,
      hopLimit: p.ip.hopLimit,
    });
    return true;
  };
  ip.icmp.echoErrorHandler = (r) =>
    errors.push({
      type: r.type,
      code: r.code,
      from: ipv6ToString(r.reporter),
      mtu: r.mtu,
      pointer: r.pointer,
    });
  const send = (
    dst: Ipv6Addr,
    seq: number,
    size = 56,
    options: { hopLimit?: number; iface?: NetworkInterface } = {},
  ) =>
    stack.run(() => {
      const path = ip.route(dst, options.iface !== undefined ? { iface: options.iface } : {});
      assert.equal(typeof path, 'object', `route to ${ipv6ToString(dst)}: ${String(path)}`);
      const p = path as Exclude<typeof path, string>;
      const pb = PacketBuffer.forMessage(8 + size);
      emitIcmpv6(
        pb,
        { kind: 'echo-request', identifier: 99, sequence: seq, data: new Uint8Array(size).fill(seq) },
        p.src,
        dst,
      );
      return ip.send(
        p,
        {
          dst,
          nextHeader: IP_PROTOCOL_ICMPV6,
          ...(options.hopLimit !== undefined ? { hopLimit: options.hopLimit } : {}),
        },
        pb,
      );
    });
  return { replies, errors, send };
}

/** The usable global (SLAAC) address of an interface, if any. */
export function globalAddress(stack: Stack, iface: NetworkInterface): Ipv6Addr | undefined {
  return v6(stack)
    .listAddresses(iface)
    .find((a) => !ipv6IsLinkLocal(a.addr) && !a.temporary && a.state === 'preferred' && a.origin === 'slaac')
    ?.addr;
}

/**
 * a -- router -- b: the router has 2001:db8:1::1/64 towards a and 2001:db8:2::1/64 towards b and
 * advertises those prefixes; a and b configure themselves from the advertisements (SLAAC).
 */
export function routed6(
  seed: number,
  options: TwoWireOptions & { settle?: boolean; routerSolicitations?: 'rfc4861' | 'rfc7559' } = {},
) {
  const { sim, net, w1, w2, router, r1, r2 } = twoWiresAndRouter(seed, options);
  const rv6 = v6(router);
  rv6.forwarding = true;
  rv6.addAddress(r1, ip6('2001:db8:1::1'), 64);
  rv6.addAddress(r2, ip6('2001:db8:2::1'), 64);
  const hostOptions = { routerSolicitations: options.routerSolicitations ?? 'rfc4861' } as const;
  const a = sim.createStack({ name: 'a', ipv6: hostOptions });
  const ia = w1.attach(a, 'eth0');
  const b = sim.createStack({ name: 'b', ipv6: hostOptions });
  const ib = w2.attach(b, 'eth0');
  const advertise = () => {
    rv6.advertise(r1, { prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }] });
    rv6.advertise(r2, { prefixes: [{ prefix: ip6('2001:db8:2::'), prefixLength: 64 }] });
  };
  advertise();
  if (options.settle ?? true) {
    assert.ok(
      sim.runUntil(() => globalAddress(a, ia) !== undefined && globalAddress(b, ib) !== undefined, 60_000),
      'SLAAC did not settle',
    );
  }
  return { sim, net, w1, w2, router, r1, r2, a, ia, b, ib };
}
