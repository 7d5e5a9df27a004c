import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IPV4_BROADCAST, MAC_BROADCAST, type MacAddr } from '../../src/wire/address.ts';
import { emitIcmpv4, ICMPV4_PARAMETER_PROBLEM, UNREACH_PROTOCOL } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP, type Ipv4EmitParams } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { icmpSniffer, pinger } from '../helpers/icmp.ts';
import { injector } from '../helpers/inject.ts';
import { type Host, ip, routed, twoHosts } from '../helpers/sim-hosts.ts';

/** A protocol number nobody registers. */
const UNKNOWN = 253;
const PAYLOAD = new Uint8Array(16).fill(0xab);

/** Two hosts that already know each other's MAC (a pinged b), a sniffing ICMP arriving at a. */
function resolvedHosts(seed: number) {
  const t = twoHosts(seed);
  const p = pinger(t.a.stack);
  p.send(t.b.ip, 1);
  assert.ok(t.sim.runUntil(() => p.replies.length === 1, 1000));
  const seen = icmpSniffer(t.a.stack);
  return { ...t, p, seen, inject: injector(t.a) };
}

function params(from: Host, dst: number, more: Partial<Ipv4EmitParams> = {}): Ipv4EmitParams {
  return { src: from.ip, dst, protocol: UNKNOWN, ttl: 64, id: 1, ...more };
}

function echoRequest(seq: number): Uint8Array {
  const pb = PacketBuffer.forMessage(8 + 8);
  emitIcmpv4(pb, { type: 'echo-request', id: 9, seq, data: new Uint8Array(8) });
  return pb.bytes();
}

describe('ICMPv4 errors', () => {
  test('an unknown protocol gets protocol unreachable, handed to the sending protocol with the quote', () => {
    const { sim, a, b, seen } = resolvedHosts(11);
    const reports: Array<{ type: number; code: number; reporter: number; dst: number; transport: number[] }> =
      [];
    a.stack.ipv4.register(UNKNOWN, {
      receive: () => {},
      error: (r) =>
        reports.push({
          type: r.type,
          code: r.code,
          reporter: r.reporter,
          dst: r.dst,
          transport: [...r.transport],
        }),
    });
    a.stack.run(() => {
      const path = a.stack.ipv4.route(b.ip);
      assert.ok(typeof path === 'object');
      a.stack.ipv4.send(path, { dst: b.ip, protocol: UNKNOWN }, PacketBuffer.from(PAYLOAD, 64));
    });
    assert.ok(sim.runUntil(() => reports.length === 1, 1000));
    assert.deepEqual(reports[0], {
      type: 3,
      code: UNREACH_PROTOCOL,
      reporter: b.ip,
      dst: b.ip,
      transport: [...PAYLOAD],
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.quoted?.protocol, UNKNOWN);
    assert.equal(b.stack.counters.value('ipv4.rx.drop.unknown-protocol'), 1);
    assert.equal(b.stack.counters.value('icmpv4.tx.type-3-code-2'), 1);
  });

  test('no error about a broadcast or multicast destination, a link-layer broadcast, or a non-unicast source', () => {
    const { sim, a, b, seen, inject } = resolvedHosts(12);
    const mac = b.iface.mac;
    inject.send(MAC_BROADCAST, params(a, IPV4_BROADCAST), PAYLOAD);
    inject.send(MAC_BROADCAST, params(a, ip('10.0.0.255')), PAYLOAD);
    inject.send(0x01_00_5e_00_00_01, params(a, ip('224.0.0.1')), PAYLOAD);
    // RFC 1122 3.3.6: unicast to us in a link-layer broadcast is discarded, silently.
    inject.send(MAC_BROADCAST, params(a, b.ip), PAYLOAD);
    // Sources that are not one host: zero, Class E. (Multicast and broadcast sources are dropped
    // on receive, see below.)
    inject.send(mac, params(a, b.ip, { src: 0 }), PAYLOAD);
    inject.send(mac, params(a, b.ip, { src: ip('240.0.0.9') }), PAYLOAD);
    inject.send(mac, params(a, b.ip, { src: ip('224.0.0.9') }), PAYLOAD);
    inject.send(mac, params(a, b.ip, { src: ip('10.0.0.255') }), PAYLOAD);
    sim.advance(1000);
    assert.equal(seen.length, 0);
    const c = b.stack.counters;
    assert.equal(c.value('ipv4.rx.drop.unknown-protocol'), 5);
    assert.equal(c.value('ipv4.rx.drop.link-broadcast'), 1);
    assert.equal(c.value('ipv4.rx.drop.bad-source'), 2);
    assert.equal(c.value('icmpv4.tx.errors'), 0);
    // The same packet, sent properly, is answered: the test can fail.
    inject.send(mac, params(a, b.ip), PAYLOAD);
    sim.advance(1000);
    assert.equal(seen.length, 1);
  });

  test('no error about an ICMP error or a non-first fragment; the first fragment does get one', () => {
    const { sim, router, a, b } = routed(13);
    const p = pinger(a.stack);
    p.send(b.ip, 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 1000));
    const seen = icmpSniffer(a.stack);
    const inject = injector(a);
    const rmac = router.getInterface('eth0')!.mac;
    const icmp = (more: Partial<Ipv4EmitParams>) => ({
      ...params(a, b.ip),
      protocol: IP_PROTOCOL_ICMP,
      ...more,
    });
    // An ICMP error (time exceeded quoting some header) with TTL 1: the router drops it silently.
    const pb = PacketBuffer.forMessage(8 + 28);
    const quoted = new Uint8Array(28);
    quoted.set([0x45, 0, 0, 28], 0);
    emitIcmpv4(pb, { type: 'time-exceeded', code: 0, original: quoted });
    inject.send(rmac, icmp({ ttl: 1 }), pb.bytes());
    // Unreadable ICMP (no type octet) is treated like an error: no answer.
    inject.send(rmac, icmp({ ttl: 1, id: 2 }), new Uint8Array(0));
    // A non-first fragment of an echo request with TTL 1.
    inject.send(rmac, icmp({ ttl: 1, id: 3, fragmentOffset: 64, moreFragments: true }), new Uint8Array(64));
    sim.advance(1000);
    assert.equal(seen.length, 0);
    assert.equal(router.counters.value('ipv4.rx.drop.ttl-exceeded'), 3);
    // The first fragment and a whole echo request with TTL 1 are answered.
    inject.send(rmac, icmp({ ttl: 1, id: 4, moreFragments: true }), echoRequest(1));
    inject.send(rmac, icmp({ ttl: 1, id: 5 }), echoRequest(2));
    sim.advance(1000);
    assert.deepEqual(
      seen.map((s) => [s.type, s.code, s.from, s.quoted?.id]),
      [
        [11, 0, '10.0.1.1', 4],
        [11, 0, '10.0.1.1', 5],
      ],
    );
  });

  test('errors are rate limited by a token bucket: burst 50, then 1000 per second', () => {
    const { sim, a, b, seen, inject } = resolvedHosts(14);
    const flood = () => {
      for (let i = 0; i < 1000; i++) inject.send(b.iface.mac, params(a, b.ip, { id: i }), PAYLOAD);
    };
    // 1000 packets at one instant: the burst of 50 passes, the rest is counted.
    const t0 = sim.now;
    flood();
    sim.runUntil(() => sim.now > t0, 1);
    assert.equal(b.stack.counters.value('icmpv4.tx.errors'), 50);
    assert.equal(b.stack.counters.value('icmpv4.tx.rate-limited'), 950);
    // 10 ms later, 10 tokens came back.
    sim.advance(10 - (sim.now - t0));
    flood();
    sim.advance(1000);
    assert.equal(b.stack.counters.value('icmpv4.tx.errors'), 60);
    assert.equal(b.stack.counters.value('icmpv4.tx.rate-limited'), 1940);
    assert.equal(b.stack.counters.value('ipv4.rx.drop.unknown-protocol'), 2000);
    assert.equal(seen.length, 60);
    assert.ok(seen.every((s) => s.type === 3 && s.code === UNREACH_PROTOCOL));
    // After a second at rest the bucket is full again, and no fuller than the burst.
    sim.advance(1000);
    flood();
    sim.advance(1000);
    assert.equal(b.stack.counters.value('icmpv4.tx.errors'), 110);
  });

  test('echo requests to broadcast and multicast are ignored by default, answered when enabled', () => {
    const { sim, a, b, p, inject } = resolvedHosts(15);
    const echo = (dst: number, mac: MacAddr, seq: number) => {
      const pb = PacketBuffer.forMessage(8 + 8);
      emitIcmpv4(pb, {
        type: 'echo-request',
        id: 77,
        seq,
        data: new Uint8Array(8).map((_, i) => (i + seq) & 0xff),
      });
      inject.send(mac, { ...params(a, dst), protocol: IP_PROTOCOL_ICMP, id: seq }, pb.bytes());
    };
    const sendAll = (base: number) => {
      echo(IPV4_BROADCAST, MAC_BROADCAST, base);
      echo(ip('10.0.0.255'), MAC_BROADCAST, base + 1);
      echo(ip('224.0.0.1'), 0x01_00_5e_00_00_01, base + 2);
    };
    sendAll(10);
    sim.advance(1000);
    assert.equal(p.replies.length, 1);
    assert.equal(b.stack.counters.value('icmpv4.rx.drop.echo-to-broadcast'), 3);
    b.stack.ipv4.echoBroadcasts = true;
    sendAll(20);
    sim.advance(1000);
    assert.deepEqual(
      p.replies.slice(1).map((r) => [r.seq, r.from, r.intact]),
      [
        [20, '10.0.0.2', true],
        [21, '10.0.0.2', true],
        [22, '10.0.0.2', true],
      ],
    );
  });

  test('echo requests from 0.0.0.0 or Class E get no reply (they are never destinations)', () => {
    const { sim, a, b, inject } = resolvedHosts(17);
    const sent = () => b.stack.counters.value('ipv4.tx.packets');
    const before = sent();
    for (const src of [0, ip('240.0.0.1')]) {
      inject.send(b.iface.mac, { ...params(a, b.ip, { src }), protocol: IP_PROTOCOL_ICMP }, echoRequest(1));
    }
    sim.advance(1000);
    assert.equal(b.stack.counters.value('icmpv4.rx.drop.echo-from-non-unicast'), 2);
    assert.equal(sent(), before);
    inject.send(b.iface.mac, { ...params(a, b.ip), protocol: IP_PROTOCOL_ICMP }, echoRequest(2));
    sim.advance(1000);
    assert.equal(sent(), before + 1);
  });

  test('malformed options get parameter problem pointing at the option (RFC 1122 3.2.2.5)', () => {
    const { sim, a, b, p, seen, inject } = resolvedHosts(16);
    const mac = b.iface.mac;
    // NOP, then a timestamp option whose length (3) cannot hold its pointer and flags.
    inject.send(mac, params(a, b.ip, { options: Uint8Array.of(1, 0x44, 3, 5) }), PAYLOAD);
    // An option running past the header.
    inject.send(mac, params(a, b.ip, { id: 2, options: Uint8Array.of(1, 1, 0x94, 8) }), PAYLOAD);
    sim.advance(1000);
    assert.deepEqual(
      seen.map((s) => [s.type, s.code, s.pointer, s.quoted?.id]),
      [
        [ICMPV4_PARAMETER_PROBLEM, 0, 21, 1],
        [ICMPV4_PARAMETER_PROBLEM, 0, 22, 2],
      ],
    );
    assert.equal(b.stack.counters.value('ipv4.rx.drop.bad-options'), 2);
    // Source routes are refused silently (RFC 7126 4.3); unknown options are ignored (RFC 1122
    // 3.2.1.8), so this echo with one is answered.
    inject.send(mac, params(a, b.ip, { id: 3, options: Uint8Array.of(0x83, 7, 4, 10, 0, 0, 2) }), PAYLOAD);
    inject.send(
      mac,
      { ...params(a, b.ip, { id: 4, options: Uint8Array.of(0x9e, 4, 0, 0) }), protocol: IP_PROTOCOL_ICMP },
      echoRequest(7),
    );
    sim.advance(1000);
    assert.equal(b.stack.counters.value('ipv4.rx.drop.source-route'), 1);
    assert.equal(seen.length, 3);
    assert.equal(p.replies.at(-1)?.seq, 7);
  });
});
