import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ICMPV4_TIME_EXCEEDED } from '../../src/wire/icmpv4.ts';
import { pinger } from '../helpers/icmp.ts';
import { ip, routed, twoHosts } from '../helpers/sim-hosts.ts';

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
    assert.deepEqual(p.errors, [{ type: 3, code: 1, from: '10.0.0.1', mtu: 0 }]);
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
    p.send(b.ip, 2, 56, { ttl: 1 });
    sim.runUntil(() => p.replies.length === 1 && p.errors.length === 1, 5000);
    assert.equal(p.replies[0]!.ttl, 63);
    assert.deepEqual(p.errors, [{ type: ICMPV4_TIME_EXCEEDED, code: 0, from: '10.0.1.1', mtu: 0 }]);
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
