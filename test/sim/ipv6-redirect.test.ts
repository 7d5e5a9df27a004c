import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { ETHERNET_HEADER_LEN } from '../../src/wire/ethernet.ts';
import { emitIcmpv6, ICMPV6_REDIRECT, IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { IPV6_HEADER_LEN, Ipv6View } from '../../src/wire/ipv6.ts';
import { findNdpOption, type NdpRepr, parseNdp } from '../../src/wire/ndp.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { globalAddress, ip6, linkLocal, pinger6, routed6, v6 } from './ipv6-helpers.ts';

type Redirect = Extract<NdpRepr, { kind: 'redirect' }>;

/** Redirects sent by `iface`, with the length of the IPv6 packet that carried each. */
function redirectsSent(iface: NetworkInterface): Array<{ m: Redirect; length: number }> {
  const out: Array<{ m: Redirect; length: number }> = [];
  iface.addObserver((dir, frame) => {
    const ip = frame.subarray(ETHERNET_HEADER_LEN);
    if (dir !== 'tx' || Ipv6View.check(ip) !== undefined) return;
    const icmp = ip.subarray(IPV6_HEADER_LEN);
    if (new Ipv6View(ip).nextHeader !== IP_PROTOCOL_ICMPV6 || icmp[0] !== ICMPV6_REDIRECT) return;
    const nd = parseNdp(icmp);
    assert.ok(nd.ok && nd.value.kind === 'redirect');
    out.push({ m: nd.value, length: ip.length });
  });
  return out;
}

/**
 * One switched link: a router (2001:db8:1::1/64, advertising 2001:db8:1::/64) and hosts that
 * configure themselves from its advertisements.
 */
function lan(seed: number, names: string[]) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch();
  const router = sim.createStack({ name: 'router' });
  const r1 = sw.attach(router, 'eth0');
  v6(router).addAddress(r1, ip6('2001:db8:1::1'), 64);
  v6(router).advertise(r1, { prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }] });
  const hosts = names.map((name) => {
    const s = sim.createStack({ name });
    return { s, i: sw.attach(s, 'eth0') };
  });
  assert.ok(sim.runUntil(() => hosts.every((h) => globalAddress(h.s, h.i) !== undefined), 60_000));
  return { sim, router, r1, hosts };
}

/** `lan` with hosts a and c, c also having 2001:db8:99::c, which the router knows is on the link. */
function sameLink(seed: number) {
  const { sim, router, r1, hosts } = lan(seed, ['a', 'c']);
  const far = ip6('2001:db8:99::c');
  v6(hosts[1]!.s).addAddress(hosts[1]!.i, far, 128);
  assert.ok(
    sim.runUntil(() => v6(hosts[1]!.s).isLocal(far), 5000),
    'DAD',
  );
  v6(router).routes.add({
    dest: ip6('2001:db8:99::'),
    prefixLen: 64,
    iface: r1,
    metric: 256,
    origin: 'static',
  });
  return { sim, router, r1, a: hosts[0]!.s, c: hosts[1]!.s, ic: hosts[1]!.i, far };
}

describe('IPv6 redirects sent by a router (RFC 4861 8.2)', () => {
  test('a destination on the same link: the packet is forwarded, the sender redirected, then direct', () => {
    // c has an address outside the advertised prefix, which the router knows is on the link.
    const { sim, a, router, r1, far } = sameLink(61);
    const seen = redirectsSent(r1);
    const p = pinger6(a);
    p.send(far, 1);
    assert.ok(
      sim.runUntil(() => p.replies.length === 1, 5000),
      'the first packet was forwarded',
    );
    assert.equal(router.counters.value('ipv6.forwarded'), 1);
    assert.equal(router.counters.value('ndp.tx.redirects'), 1);
    assert.equal(seen.length, 1);
    const { m } = seen[0]!;
    // Target = destination: the destination itself is on the link.
    assert.equal(ipv6ToString(m.target), '2001:db8:99::c');
    assert.equal(ipv6ToString(m.destination), '2001:db8:99::c');
    const quoted = findNdpOption(m.options, 'redirected-header');
    assert.ok(quoted !== undefined);
    assert.equal(ipv6ToString(new Ipv6View(quoted.packet).dst), '2001:db8:99::c');
    assert.equal(a.counters.value('ndp.rx.redirects'), 1);
    for (let seq = 2; seq <= 6; seq++) p.send(far, seq);
    assert.ok(sim.runUntil(() => p.replies.length === 6, 5000));
    assert.equal(router.counters.value('ipv6.forwarded'), 1, 'later packets went directly');
    assert.equal(router.counters.value('ndp.tx.redirects'), 1);
    const path = v6(a).route(far);
    assert.equal(typeof path === 'object' && ipv6ToString(path.nextHop), '2001:db8:99::c');
  });

  test('a better router on the link: its link-local address and link-layer address; the quote stops at 1280', () => {
    const { sim, router, r1, hosts } = lan(62, ['a', 'r2']);
    const a = hosts[0]!.s;
    const { s: r2, i: r2i } = hosts[1]!;
    const r2Ll = linkLocal(r2, r2i)!;
    const behind = ip6('2001:db8:77::1');
    v6(r2).addAddress(r2i, behind, 128);
    assert.ok(
      sim.runUntil(() => v6(r2).isLocal(behind), 5000),
      'DAD',
    );
    v6(router).routes.add({
      dest: ip6('2001:db8:77::'),
      prefixLen: 64,
      iface: r1,
      gateway: r2Ll,
      metric: 1024,
      origin: 'static',
    });
    // The router knows r2's link-layer address before the redirect.
    pinger6(router).send(r2Ll, 1, 8, { iface: r1 });
    assert.ok(sim.runUntil(() => v6(router).ndp.table.lookup(r1, r2Ll)?.mac !== undefined, 5000));
    const seen = redirectsSent(r1);
    const p = pinger6(a);
    p.send(behind, 1, 1400);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.equal(seen.length, 1);
    const { m, length } = seen[0]!;
    assert.equal(ipv6ToString(m.target), ipv6ToString(r2Ll));
    assert.equal(ipv6ToString(m.destination), '2001:db8:77::1');
    assert.equal(findNdpOption(m.options, 'target-lladdr')?.mac, r2i.mac);
    // RFC 4861 4.5: the redirect does not exceed the minimum MTU; a 1448-byte packet is cut.
    assert.equal(length, 1280);
    assert.equal(findNdpOption(m.options, 'redirected-header')?.packet.length, 1280 - 40 - 40 - 8 - 8);
    p.send(behind, 2, 1400);
    assert.ok(sim.runUntil(() => p.replies.length === 2, 5000));
    assert.equal(router.counters.value('ipv6.forwarded'), 1, 'the second packet went to r2 directly');
    const path = v6(a).route(behind);
    assert.equal(typeof path === 'object' && ipv6ToString(path.nextHop), ipv6ToString(r2Ll));
  });

  test('redirects share the ICMPv6 error rate limit; the packet is forwarded anyway', () => {
    const { sim, a, router, far } = sameLink(63);
    router.run(() => {
      while (v6(router).icmp.errors.take());
    });
    const limited = router.counters.value('icmpv6.tx.rate-limited');
    const p = pinger6(a);
    p.send(far, 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.equal(router.counters.value('ndp.tx.redirects'), 0);
    assert.equal(router.counters.value('icmpv6.tx.rate-limited'), limited + 1);
    assert.equal(router.counters.value('ipv6.forwarded'), 1);
  });

  test('no redirect for a packet leaving by another link', () => {
    const { sim, a, b, ib, router } = routed6(64);
    const p = pinger6(a);
    p.send(globalAddress(b, ib)!, 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.equal(router.counters.value('ipv6.forwarded'), 2);
    assert.equal(router.counters.value('ndp.tx.redirects'), 0);
  });

  test('no redirect to a sender that is not on the link (its source is routed elsewhere)', () => {
    const { sim, router, c, ic } = sameLink(65);
    // c sends from an address the router has no route for, to a destination on the link.
    const odd = ip6('2001:db8:55::c');
    v6(c).addAddress(ic, odd, 128);
    assert.ok(
      sim.runUntil(() => v6(c).isLocal(odd), 5000),
      'DAD',
    );
    const far = ip6('2001:db8:99::1');
    c.run(() => {
      const path = v6(c).route(far, { src: odd });
      if (typeof path === 'string') throw new Error(path);
      const pb = PacketBuffer.forMessage(16);
      emitIcmpv6(pb, { kind: 'echo-request', identifier: 1, sequence: 1, data: new Uint8Array(8) }, odd, far);
      v6(c).send(path, { dst: far, nextHeader: IP_PROTOCOL_ICMPV6 }, pb);
    });
    sim.runUntil(() => router.counters.value('ipv6.forwarded') >= 1, 5000);
    assert.equal(router.counters.value('ndp.tx.redirects'), 0);
    assert.equal(router.counters.value('ndp.tx.redirect-skipped.source-not-on-link'), 1);
  });
});
