import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pinger, type PingSummary } from '../../src/core/icmp-echo/pinger.ts';
import { ipv4ToString } from '../../src/wire/address.ts';
import { IP_PROTOCOL_ICMP } from '../../src/wire/ipv4.ts';
import { ip, routed, twoHosts } from '../helpers/sim-hosts.ts';
import { ping } from './ping-helpers.ts';

describe('ICMP echo sockets and the Pinger', () => {
  test('against a host: replies with RTT and TTL, and the summary', () => {
    // 5 ms each way: 10 ms round trips; the first request waits 5 ms more for b's MAC, which comes
    // in b's gratuitous ARP (sent when its address was added, flushed by its first IPv6 timer).
    const { sim, a, b } = twoHosts(1, { delay: 5 });
    const r = ping(sim, a.stack, b.ip, { count: 4, interval: 1000, size: 56 });
    assert.deepEqual(
      r.replies.map((x) => [x.seq, x.rtt, x.ttl, x.bytes, ipv4ToString(x.from), x.duplicate]),
      [
        [1, 15, 64, 64, '10.0.0.2', false],
        [2, 10, 64, 64, '10.0.0.2', false],
        [3, 10, 64, 64, '10.0.0.2', false],
        [4, 10, 64, 64, '10.0.0.2', false],
      ],
    );
    assert.deepEqual([r.timeouts, r.errors], [[], []]);
    const s = r.summary;
    assert.deepEqual(
      [s.transmitted, s.received, s.duplicates, s.errors, s.loss, s.time],
      [4, 4, 0, 0, 0, 3010],
    );
    assert.deepEqual(s.rtt, { min: 10, avg: 11.25, max: 15, mdev: Math.sqrt(525 / 4 - 11.25 ** 2) });
    assert.equal(a.stack.counters.value('icmp-echo.tx.requests'), 4);
    assert.equal(a.stack.counters.value('icmp-echo.rx.replies'), 4);
  });

  test('against a host that ignores echo: one timeout per request, 100% loss', () => {
    const { sim, a, b } = twoHosts(2);
    b.stack.ipv4.register(IP_PROTOCOL_ICMP, { receive: () => {} });
    const r = ping(sim, a.stack, b.ip, { count: 3, interval: 500, timeout: 800 });
    assert.deepEqual(r.timeouts, [1, 2, 3]);
    assert.deepEqual([r.replies, r.errors], [[], []]);
    assert.deepEqual(
      [r.summary.transmitted, r.summary.received, r.summary.loss, r.summary.rtt, r.summary.time],
      [3, 0, 100, undefined, 1800],
    );
  });

  test('against an unanswered on-link address: the ARP failure comes back as host unreachable', () => {
    const { sim, a } = twoHosts(3);
    const r = ping(sim, a.stack, ip('10.0.0.99'), { count: 2, interval: 1000, timeout: 10_000 });
    assert.deepEqual(
      r.errors.map((e) => [e.seq, e.type, e.code, e.errno, ipv4ToString(e.reporter), ipv4ToString(e.dst)]),
      [
        [1, 3, 1, 'EHOSTUNREACH', '10.0.0.1', '10.0.0.99'],
        [2, 3, 1, 'EHOSTUNREACH', '10.0.0.1', '10.0.0.99'],
      ],
    );
    assert.deepEqual([r.replies, r.timeouts], [[], []]);
    assert.deepEqual(
      [r.summary.transmitted, r.summary.received, r.summary.errors, r.summary.loss],
      [2, 0, 2, 100],
    );
  });

  test('with TTL 1 across the router: time exceeded from the router', () => {
    const { sim, a, b } = routed(4);
    const r = ping(sim, a.stack, b.ip, { count: 2, interval: 200, ttl: 1 });
    assert.deepEqual(
      r.errors.map((e) => [e.seq, e.type, e.code, e.errno, ipv4ToString(e.reporter)]),
      [
        [1, 11, 0, 'EHOSTUNREACH', '10.0.1.1'],
        [2, 11, 0, 'EHOSTUNREACH', '10.0.1.1'],
      ],
    );
    // Without the TTL limit the same path answers, one hop further (TTL 63).
    const ok = ping(sim, a.stack, b.ip, { count: 1 });
    assert.deepEqual(
      ok.replies.map((x) => [x.seq, x.ttl]),
      [[1, 63]],
    );
  });

  test('echo sockets: unique identifiers, RTT per sequence number, unknown replies dropped, bounds', () => {
    const { sim, a, b } = twoHosts(5, { delay: 1 });
    const sockets = Array.from({ length: 50 }, () => a.stack.icmpEcho.open());
    assert.equal(new Set(sockets.map((s) => s.id)).size, 50);
    const [s1, s2] = sockets as [(typeof sockets)[0], (typeof sockets)[0]];
    const got: string[] = [];
    s1.onReply = (r) => got.push(`s1 seq ${r.seq} rtt ${r.rtt} ${new TextDecoder().decode(r.data)}`);
    s2.onReply = (r) => got.push(`s2 seq ${r.seq} rtt ${r.rtt}`);
    s1.send(b.ip, 7, new TextEncoder().encode('hi'));
    sim.advance(100);
    s2.send(b.ip, 7);
    sim.advance(3);
    s1.send(b.ip, 8, new TextEncoder().encode('again'));
    sim.advance(100);
    assert.deepEqual(got, ['s1 seq 7 rtt 3 hi', 's2 seq 7 rtt 2', 's1 seq 8 rtt 2 again']);
    // To ourselves, through loopback, in a later entry.
    s1.send(a.ip, 9);
    assert.equal(got.length, 3);
    sim.advance(1);
    assert.equal(got[3], `s1 seq 9 rtt 0 ${'\0'.repeat(56)}`);
    // A closed socket's identifier is free; its late replies are not claimed.
    s2.send(b.ip, 10);
    s2.close();
    sim.advance(100);
    assert.equal(a.stack.counters.value('icmpv4.rx.echo-reply-unclaimed'), 1);
    assert.throws(() => s2.send(b.ip, 11), { code: 'EBADF' });
    assert.throws(() => s1.send(b.ip, 70000), { code: 'EINVAL' });
    assert.throws(() => s1.send(b.ip, 1, new Uint8Array(65508)), { code: 'EMSGSIZE' });
    assert.throws(() => s1.send(ip('10.0.0.255'), 1), { code: 'EACCES' });
    assert.throws(() => s1.send(ip('8.8.8.8'), 1), { code: 'ENETUNREACH' });
    a.stack.icmpEcho.maxSockets = 49;
    assert.throws(() => a.stack.icmpEcho.open(), { code: 'EMFILE' });
  });

  test('the Pinger refuses an unroutable destination at start, and stop() ends it early', () => {
    const { sim, a, b } = twoHosts(6, { delay: 30 });
    assert.throws(() => new Pinger(a.stack, ip('8.8.8.8')).start(), { code: 'ENETUNREACH' });
    assert.throws(() => new Pinger(a.stack, b.ip, { count: 0 }), { code: 'EINVAL' });
    const p = new Pinger(a.stack, b.ip, { count: Number.POSITIVE_INFINITY, interval: 100 });
    let summary: PingSummary | undefined;
    p.onDone = (s) => {
      summary = s;
    };
    p.start();
    sim.advance(1050);
    p.stop();
    assert.equal(p.done, true);
    // Requests at 0, 100, ..., 1000; the last one's reply was still on its way.
    assert.deepEqual([summary?.transmitted, summary?.received, summary?.loss], [11, 10, 100 / 11]);
    // Nothing more is sent once stopped.
    const before = a.stack.counters.value('icmp-echo.tx.requests');
    sim.advance(1000);
    assert.equal(a.stack.counters.value('icmp-echo.tx.requests'), before);
  });
});
