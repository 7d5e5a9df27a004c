/** Topologies and forged segments for the TCP-over-IPv6 simulation tests. */
import assert from 'node:assert/strict';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { IpAddr } from '../../src/core/ip-address.ts';
import type { Stack } from '../../src/core/stack.ts';
import type { TcpListener } from '../../src/core/tcp/listener.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import type { Ipv6Addr } from '../../src/wire/address.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitTcp, type TcpHeader } from '../../src/wire/tcp.ts';
import { ipv6FrameOf } from '../helpers/frames6.ts';
import { configure } from '../helpers/sim-hosts.ts';
import { globalAddress, ip6, twoHosts6, v6 } from './ipv6-helpers.ts';

/** Two dual-stack hosts on one wire: link-local IPv6 plus 10.0.0.1/24 on a and 10.0.0.2/24 on b. */
export function dualHosts(seed: number, impairments: Impairments = {}) {
  const t = twoHosts6(seed, impairments);
  configure(t.a, t.ia, '10.0.0.1/24');
  configure(t.b, t.ib, '10.0.0.2/24');
  return t;
}

/**
 * a -- router -- b over SLAAC global addresses (2001:db8:1::/64, 2001:db8:2::/64); the router's
 * port towards b has an MTU of `bottleneck` while a's and b's links keep 1500, so a's full-size
 * packets to b meet a narrower hop that answers Packet Too Big (RFC 8201).
 */
export function bottleneck6(seed: number, bottleneck: number, impairments: Impairments = {}) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const w1 = net.wire({ impairments });
  const sw = net.switch();
  const router = sim.createStack({ name: 'router' });
  const r1 = w1.attach(router, 'eth0');
  const r2 = sw.attach(router, 'eth1', { mtu: bottleneck });
  const rv6 = v6(router);
  rv6.forwarding = true;
  rv6.addAddress(r1, ip6('2001:db8:1::1'), 64);
  rv6.addAddress(r2, ip6('2001:db8:2::1'), 64);
  const a = sim.createStack({ name: 'a' });
  const ia = w1.attach(a, 'eth0');
  const b = sim.createStack({ name: 'b' });
  const ib = sw.attach(b, 'eth0');
  rv6.advertise(r1, { prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }] });
  rv6.advertise(r2, { prefixes: [{ prefix: ip6('2001:db8:2::'), prefixLength: 64 }] });
  assert.ok(
    sim.runUntil(() => globalAddress(a, ia) !== undefined && globalAddress(b, ib) !== undefined, 60_000),
    'SLAAC did not settle',
  );
  return { sim, router, r1, r2, a, ia, b, ib, aAddr: globalAddress(a, ia)!, bAddr: globalAddress(b, ib)! };
}

/** Accepts every connection of `listener` into a list. */
export function acceptAll<A extends IpAddr>(listener: TcpListener<A>): TcpSocket<A>[] {
  const accepted: TcpSocket<A>[] = [];
  listener.onConnection = () => {
    for (let s = listener.accept(); s; s = listener.accept()) accepted.push(s);
  };
  return accepted;
}

/** An Ethernet frame with a forged IPv6 TCP segment from `src` to `dst` (checksum valid). */
export function tcp6Frame(
  src: Ipv6Addr,
  dst: Ipv6Addr,
  to: NetworkInterface,
  h: Partial<TcpHeader> & { srcPort: number; dstPort: number },
): Uint8Array {
  const pb = PacketBuffer.alloc(MAX_HEADROOM, 0);
  emitTcp(
    pb,
    { seqNumber: 0, ackNumber: 0, flags: 0, window: 65535, urgentPointer: 0, options: {}, ...h },
    { kind: 'v6', src, dst },
  );
  return ipv6FrameOf(
    pb.bytes(),
    { src, dst, nextHeader: 6, hopLimit: 64 },
    {
      src: 0x02_00_00_00_00_99,
      dst: to.mac,
    },
  );
}

/** Sends `frame` out of `from`'s interface `iface` as it is (a packet socket). */
export function sendFrame(from: Stack, iface: NetworkInterface, frame: Uint8Array): void {
  const socket = from.packetSockets.open({ iface, onFrame: () => {} });
  socket.send(iface, frame);
  socket.close();
}

/** The TCP segments (data length, flags) an interface sent over IPv6, recorded from now on. */
export function sentTcp6(iface: NetworkInterface): Array<{ len: number; flags: number; size: number }> {
  const out: Array<{ len: number; flags: number; size: number }> = [];
  iface.addObserver((dir, f) => {
    if (dir !== 'tx' || f[12] !== 0x86 || f[13] !== 0xdd || f[20] !== 6) return;
    const payloadLen = (f[18]! << 8) | f[19]!;
    const dataOffset = (f[54 + 12]! >>> 4) * 4;
    out.push({ len: payloadLen - dataOffset, flags: f[54 + 13]!, size: 40 + payloadLen });
  });
  return out;
}
