import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { ipv4ToString } from '../../src/wire/address.ts';
import { ETHERNET_HEADER_LEN } from '../../src/wire/ethernet.ts';
import { emitIcmpv4, ICMPV4_REDIRECT, Icmpv4View } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP, Ipv4View } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { icmpSniffer, pinger } from '../helpers/icmp.ts';
import { configure, ip } from '../helpers/sim-hosts.ts';

/**
 * One switched link 10.0.1.0/24: router r (.1, forwarding), a (.2, default route via r) and c (.3,
 * also holding 10.0.99.3, which r routes via c).
 */
function lan(seed: number) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch();
  const r = sim.createStack({ name: 'r' });
  const r1 = sw.attach(r, 'eth0');
  configure(r, r1, '10.0.1.1/24');
  r.ipv4.forwarding = true;
  r.ipv4.routes.add({
    dest: ip('10.0.99.0'),
    prefixLen: 24,
    gateway: ip('10.0.1.3'),
    iface: r1,
    metric: 0,
    origin: 'static',
  });
  const a = sim.createStack({ name: 'a' });
  configure(a, sw.attach(a, 'eth0'), '10.0.1.2/24', '10.0.1.1');
  const c = sim.createStack({ name: 'c' });
  const ic = sw.attach(c, 'eth0');
  configure(c, ic, '10.0.1.3/24', '10.0.1.1');
  c.ipv4.addAddress(ic, ip('10.0.99.3'), 32);
  return { sim, r, r1, a, c };
}

describe('ICMP redirects sent by a router (RFC 1812 5.2.7.2)', () => {
  test('a packet sent back out of its link, source and next hop on one subnet: host redirect, forwarded anyway', () => {
    const { sim, r, r1, a } = lan(81);
    const gateways: string[] = [];
    r1.addObserver((dir, frame) => {
      const v = new Ipv4View(frame.subarray(ETHERNET_HEADER_LEN));
      if (dir !== 'tx' || v.protocol !== IP_PROTOCOL_ICMP) return;
      const icmp = new Icmpv4View(v.payload);
      if (icmp.type === ICMPV4_REDIRECT) gateways.push(ipv4ToString(icmp.gateway));
    });
    const seen = icmpSniffer(a);
    const p = pinger(a);
    p.send(ip('10.0.99.3'), 1);
    assert.ok(
      sim.runUntil(() => p.replies.length === 1, 5000),
      'forwarded anyway',
    );
    const redirects = seen.filter((m) => m.type === ICMPV4_REDIRECT);
    assert.equal(redirects.length, 1);
    assert.equal(redirects[0]!.code, 1);
    assert.equal(redirects[0]!.from, '10.0.1.1');
    assert.equal(redirects[0]!.quoted?.dst, '10.0.99.3');
    assert.deepEqual(gateways, ['10.0.1.3']);
    assert.equal(r.counters.value('icmpv4.tx.type-5-code-1'), 1);
  });

  test('no redirect when the source is not on the subnet of the next hop', () => {
    const { sim, r, a } = lan(82);
    const odd = ip('10.0.50.2');
    a.ipv4.addAddress(a.listInterfaces().find((i) => i !== a.loopback)!, odd, 32);
    a.run(() => {
      const path = a.ipv4.route(ip('10.0.99.3'), { src: odd });
      if (typeof path === 'string') throw new Error(path);
      const pb = PacketBuffer.forMessage(16);
      emitIcmpv4(pb, { type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(8) });
      a.ipv4.send(path, { dst: ip('10.0.99.3'), protocol: IP_PROTOCOL_ICMP }, pb);
    });
    assert.ok(sim.runUntil(() => r.counters.value('ipv4.forwarded') >= 1, 5000));
    assert.equal(r.counters.value('icmpv4.tx.type-5-code-1'), 0);
  });
});
