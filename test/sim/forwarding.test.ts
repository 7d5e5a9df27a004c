import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IPV4_BROADCAST, MAC_BROADCAST } from '../../src/wire/address.ts';
import {
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_TIME_EXCEEDED,
  UNREACH_FRAG_NEEDED,
  UNREACH_NET,
} from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP, type Ipv4EmitParams, type Ipv4View } from '../../src/wire/ipv4.ts';
import { icmpSniffer, pinger } from '../helpers/icmp.ts';
import { injector } from '../helpers/inject.ts';
import { ipv4Capture } from '../helpers/ipv4-capture.ts';
import { chain, ip, routed } from '../helpers/sim-hosts.ts';

/** The echo requests among captured packets (fragments included), sorted by offset. */
function requests(packets: Ipv4View[]): Ipv4View[] {
  return packets
    .filter((p) => p.protocol === IP_PROTOCOL_ICMP && (p.isFragment ? true : p.payload[0] === 8))
    .sort((x, y) => x.fragmentOffset - y.fragmentOffset);
}

/** Asserts `fragments` tile [0, total) in order, MF on all but the last, one ID. */
function assertTiles(fragments: Ipv4View[], total: number, mtu: number): void {
  let next = 0;
  fragments.forEach((f, i) => {
    assert.equal(f.fragmentOffset, next, `fragment ${i} offset`);
    assert.equal(f.moreFragments, i < fragments.length - 1, `fragment ${i} MF`);
    assert.equal(f.id, fragments[0]!.id);
    assert.ok(f.totalLength <= mtu, `fragment ${i} of ${f.totalLength} bytes over MTU ${mtu}`);
    if (f.moreFragments) assert.equal(f.payload.length % 8, 0);
    next += f.payload.length;
  });
  assert.equal(next, total);
}

describe('IPv4 forwarding', () => {
  test('traceroute over three routers: TTL 1, 2, 3 expire at each router in turn, TTL 4 arrives', () => {
    const { sim, routers, a, b } = chain(21, 3);
    const p = pinger(a.stack);
    for (let ttl = 1; ttl <= 4; ttl++) {
      p.send(b.ip, ttl, 56, { ttl });
      assert.ok(
        sim.runUntil(() => p.errors.length + p.replies.length === ttl, 5000),
        `TTL ${ttl}`,
      );
    }
    assert.deepEqual(p.errors, [
      { type: ICMPV4_TIME_EXCEEDED, code: 0, from: '10.1.0.2', mtu: 0 },
      { type: ICMPV4_TIME_EXCEEDED, code: 0, from: '10.1.1.2', mtu: 0 },
      { type: ICMPV4_TIME_EXCEEDED, code: 0, from: '10.1.2.2', mtu: 0 },
    ]);
    assert.deepEqual(
      p.replies.map((r) => [r.seq, r.from, r.intact]),
      [[4, '10.1.3.2', true]],
    );
    // b's reply left with TTL 64 and crossed three routers.
    assert.equal(p.replies[0]!.ttl, 61);
    assert.deepEqual(
      routers.map((r) => r.counters.value('ipv4.rx.drop.ttl-exceeded')),
      [1, 1, 1],
    );
  });

  test('no route: network unreachable from the router', () => {
    const { sim, router, a } = routed(22);
    const p = pinger(a.stack);
    p.send(ip('192.0.2.1'), 1);
    assert.ok(sim.runUntil(() => p.errors.length === 1, 5000));
    assert.deepEqual(p.errors, [
      { type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_NET, from: '10.0.1.1', mtu: 0 },
    ]);
    assert.equal(router.counters.value('ipv4.rx.drop.no-route'), 1);
  });

  test('DF over a smaller next hop: fragmentation needed carries the next-hop MTU to the sender', () => {
    const { sim, router, a, b } = routed(23, { mtu2: 576 });
    const p = pinger(a.stack);
    const seen = icmpSniffer(a.stack);
    p.send(b.ip, 1, 1000, { dontFragment: true });
    assert.ok(sim.runUntil(() => p.errors.length === 1, 5000));
    assert.deepEqual(p.errors, [
      { type: ICMPV4_DEST_UNREACHABLE, code: UNREACH_FRAG_NEEDED, from: '10.0.1.1', mtu: 576 },
    ]);
    assert.equal(seen[0]!.mtu, 576);
    assert.equal(router.counters.value('ipv4.rx.drop.fragmentation-needed'), 1);
    // DF that fits, and no DF, both get through.
    p.send(b.ip, 2, 500, { dontFragment: true });
    p.send(b.ip, 3, 1000);
    assert.ok(sim.runUntil(() => p.replies.length === 2, 5000));
    assert.ok(p.replies.every((r) => r.intact));
  });

  test('fragments of fragments keep offsets and MF right and reassemble at the end', () => {
    const { sim, routers, a, b } = chain(24, 2, { mtus: [1500, 1000, 576] });
    const p = pinger(a.stack);
    const atB = ipv4Capture(b.stack);
    p.send(b.ip, 1, 4000);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.ok(p.replies[0]!.intact);
    assert.equal(p.replies[0]!.size, 4000);
    const fragments = requests(atB);
    // a made 3 fragments of 1480 bytes at most; r1 cut each to 976; r2 cut those to 552.
    assertTiles(fragments, 8 + 4000, 576);
    assert.ok(fragments.length >= 8);
    assert.ok(routers[0]!.counters.value('ipv4.tx.fragments') > 0);
    assert.ok(routers[1]!.counters.value('ipv4.tx.fragments') > 0);
    assert.equal(b.stack.counters.value('ipv4.rx.reassembled'), 1);
  });

  test('options with the copied flag are repeated in every fragment, the others only in the first', () => {
    const { sim, a, b } = routed(25, { mtu2: 576 });
    const p = pinger(a.stack);
    const atB = ipv4Capture(b.stack);
    // Record route (7, not copied) with two slots, then router alert (148, copied): 15 bytes.
    const recordRoute = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    const routerAlert = [0x94, 4, 0, 0];
    p.send(b.ip, 1, 1400, { options: Uint8Array.from([...recordRoute, ...routerAlert]) });
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.ok(p.replies[0]!.intact);
    const fragments = requests(atB);
    assertTiles(fragments, 8 + 1400, 576);
    assert.deepEqual([...fragments[0]!.options], [...recordRoute, ...routerAlert, 0]);
    for (const f of fragments.slice(1)) assert.deepEqual([...f.options], routerAlert);
  });

  test('links below the 68-octet minimum: fragments of 8-octet multiples, or a refusal when none fit', () => {
    const { sim, router, a, b } = routed(28, { mtu2: 40 });
    const p = pinger(a.stack);
    const atB = ipv4Capture(b.stack);
    p.send(b.ip, 1, 56);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.ok(p.replies[0]!.intact);
    assertTiles(requests(atB), 64, 40);
    // 40 octets of options leave no room for data behind a 60-octet header on a 40-octet link.
    const nops = new Uint8Array(40).fill(1);
    p.send(b.ip, 2, 56, { options: nops });
    sim.advance(3000);
    assert.equal(p.replies.length, 1);
    assert.equal(router.counters.value('ipv4.rx.drop.mtu-too-small'), 1);
    // A host on that link refuses to send it at all.
    assert.equal(pinger(b.stack).send(a.ip, 3, 56, { options: nops }), 'EMSGSIZE');
  });

  test('nothing is forwarded while forwarding is off', () => {
    const { sim, router, a, b } = routed(26);
    router.ipv4.forwarding = false;
    const p = pinger(a.stack);
    const atB = ipv4Capture(b.stack);
    p.send(b.ip, 1);
    sim.advance(3000);
    assert.equal(p.replies.length + p.errors.length + atB.length, 0);
    assert.equal(router.counters.value('ipv4.rx.drop.not-for-us'), 1);
    router.ipv4.forwarding = true;
    p.send(b.ip, 2);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
  });

  test('martians, bad sources, unforwardable addresses and broadcasts stay on their link', () => {
    const { sim, router, a, b } = routed(27);
    const atB = ipv4Capture(b.stack);
    const inject = injector(a);
    const rmac = router.getInterface('eth0')!.mac;
    const base: Ipv4EmitParams = { src: a.ip, dst: b.ip, protocol: 17, ttl: 64, id: 1 };
    const data = new Uint8Array(8);
    const cases: Array<[Partial<Ipv4EmitParams>, string]> = [
      [{ src: ip('127.0.0.1') }, 'martian'],
      [{ dst: ip('127.0.0.9') }, 'martian'],
      [{ src: ip('224.0.0.5') }, 'bad-source'],
      [{ src: IPV4_BROADCAST }, 'bad-source'],
      [{ src: ip('10.0.1.255') }, 'bad-source'],
      [{ src: ip('0.1.2.3') }, 'not-forwardable'],
      [{ src: ip('169.254.1.1') }, 'not-forwardable'],
      [{ dst: ip('169.254.1.1') }, 'not-forwardable'],
      [{ dst: ip('240.0.0.1') }, 'not-forwardable'],
      [{ src: ip('250.0.0.1') }, 'not-forwardable'],
      // RFC 2644: the directed broadcast of the router's other subnet.
      [{ dst: ip('10.0.2.255') }, 'not-forwardable'],
    ];
    for (const [more] of cases) inject.send(rmac, { ...base, ...more }, data);
    // Broadcasts, and unicast in a link-layer broadcast, are not forwarded either.
    inject.send(MAC_BROADCAST, { ...base, dst: IPV4_BROADCAST }, data);
    inject.send(MAC_BROADCAST, { ...base, dst: ip('10.0.1.255') }, data);
    inject.send(MAC_BROADCAST, base, data);
    inject.send(0x01_00_5e_00_00_01, { ...base, dst: ip('224.0.0.1') }, data);
    sim.advance(3000);
    assert.equal(atB.length, 0);
    const c = router.counters;
    const expected: Record<string, number> = {};
    for (const [, reason] of cases) expected[reason] = (expected[reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(expected))
      assert.equal(c.value(`ipv4.rx.drop.${reason}`), n, reason);
    assert.equal(c.value('ipv4.forwarded'), 0);
    assert.equal(c.value('ipv4.rx.drop.not-for-us'), 1);
    assert.equal(c.value('icmpv4.tx.errors'), 0);
    // The same packet, well formed, goes through.
    inject.send(rmac, base, data);
    assert.ok(sim.runUntil(() => atB.length === 1, 5000));
  });
});
