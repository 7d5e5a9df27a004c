import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Stack } from '../../src/core/stack.ts';
import { type Ipv4Addr, ipv4ToString } from '../../src/wire/address.ts';
import { emitIcmpv4, ICMPV4_TIME_EXCEEDED, type Icmpv4View } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { ip, routed, twoHosts } from '../helpers/sim-hosts.ts';

/** Sends one echo request with `size` bytes of data and records replies and ICMP errors. */
function pinger(stack: Stack) {
  const replies: Array<{ from: string; seq: number; size: number; ttl: number }> = [];
  const errors: Array<{ type: number; code: number; from: string }> = [];
  stack.icmpv4.echoReplyHandler = (p, icmp: Icmpv4View) => {
    replies.push({ from: ipv4ToString(p.src), seq: icmp.echoSeq, size: icmp.body.length, ttl: p.ip.ttl });
    return true;
  };
  stack.ipv4.register(IP_PROTOCOL_ICMP, {
    receive: (p) => stack.icmpv4.receive(p),
    error: (r) => errors.push({ type: r.type, code: r.code, from: ipv4ToString(r.reporter) }),
  });
  const send = (dst: Ipv4Addr, seq: number, size = 56, ttl?: number) =>
    stack.run(() => {
      const data = new Uint8Array(size).map((_, i) => i & 0xff);
      const pb = PacketBuffer.forMessage(8 + size);
      emitIcmpv4(pb, { type: 'echo-request', id: 77, seq, data });
      const path = stack.ipv4.route(dst);
      assert.equal(typeof path, 'object', `route to ${ipv4ToString(dst)}: ${String(path)}`);
      return stack.ipv4.send(
        path as Exclude<typeof path, string>,
        { dst, protocol: IP_PROTOCOL_ICMP, ...(ttl !== undefined ? { ttl } : {}) },
        pb,
      );
    });
  return { replies, errors, send };
}

describe('IPv4 in simulation', () => {
  test('ARP resolves, the first packet waits for it, and echo replies come back', () => {
    const { sim, a, b } = twoHosts(1);
    const p = pinger(a.stack);
    for (let seq = 1; seq <= 3; seq++) p.send(b.ip, seq);
    sim.runUntil(() => p.replies.length === 3, 5000);
    assert.deepEqual(
      p.replies.map((r) => r.seq),
      [1, 2, 3],
    );
    assert.equal(a.stack.arp.table.lookup(a.iface, b.ip)?.state, 'reachable');
    // b learned a from a's request (RFC 826 merge), without asking.
    assert.equal(b.stack.arp.table.lookup(b.iface, a.ip)?.mac, a.iface.mac);
    assert.equal(b.stack.counters.value('icmpv4.tx.echo-replies'), 3);
  });

  test('an unanswered next hop fails after the solicitations and reports host unreachable', () => {
    const { sim, a } = twoHosts(2);
    const p = pinger(a.stack);
    p.send(ip('10.0.0.99'), 1);
    sim.runUntilIdle({ maxTime: 120_000 });
    assert.equal(a.stack.counters.value('arp.tx.solicitations'), 3);
    assert.deepEqual(p.errors, [{ type: 3, code: 1, from: '10.0.0.1' }]);
    assert.equal(a.stack.arp.table.lookup(a.iface, ip('10.0.0.99')), undefined);
  });

  test('large echoes are fragmented on send and reassembled on receive, both ways', () => {
    const { sim, a, b } = twoHosts(3);
    const p = pinger(a.stack);
    p.send(b.ip, 1, 4000);
    p.send(b.ip, 2, 65000);
    sim.runUntil(() => p.replies.length === 2, 5000);
    assert.deepEqual(
      p.replies.map((r) => r.size),
      [4000, 65000],
    );
    assert.equal(
      a.stack.counters.value('ipv4.tx.fragments'),
      Math.ceil(4008 / 1480) + Math.ceil(65008 / 1480),
    );
    assert.equal(b.stack.counters.value('ipv4.rx.reassembled'), 2);
    assert.equal(a.stack.counters.value('ipv4.rx.reassembled'), 2);
  });

  test('the router forwards, decrements TTL, and answers TTL 1 with time exceeded', () => {
    const { sim, router, a, b } = routed(4);
    const p = pinger(a.stack);
    p.send(b.ip, 1);
    p.send(b.ip, 2, 56, 1);
    sim.runUntil(() => p.replies.length === 1 && p.errors.length === 1, 5000);
    assert.equal(p.replies[0]!.ttl, 63);
    assert.deepEqual(p.errors, [{ type: ICMPV4_TIME_EXCEEDED, code: 0, from: '10.0.1.1' }]);
    assert.equal(router.counters.value('ipv4.forwarded'), 2);
  });

  test('the router fragments onto a small-MTU link, and refuses DF packets with the next-hop MTU', () => {
    const { sim, router, a, b } = routed(5, { mtu2: 576 });
    const p = pinger(a.stack);
    p.send(b.ip, 1, 1400);
    sim.runUntil(() => p.replies.length === 1, 5000);
    assert.equal(p.replies[0]!.size, 1400);
    assert.ok(router.counters.value('ipv4.tx.fragments') >= 3);
  });

  test('packets to our own addresses and 127/8 go through loopback', () => {
    const { sim, a } = twoHosts(6);
    const p = pinger(a.stack);
    p.send(a.ip, 1);
    p.send(ip('127.0.0.1'), 2);
    p.send(ip('127.1.2.3'), 3);
    sim.runUntil(() => p.replies.length === 3, 1000);
    assert.deepEqual(
      p.replies.map((r) => r.from),
      ['10.0.0.1', '127.0.0.1', '127.1.2.3'],
    );
    assert.equal(a.stack.counters.value('arp.tx.solicitations'), 0);
    assert.equal(a.stack.counters.value('icmpv4.tx.echo-replies'), 3);
  });
});
