import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { ECHO_IPV6 } from '../../src/core/icmp-echo/echo-family.ts';
import { Pinger } from '../../src/core/icmp-echo/pinger.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { ICMPV6_PACKET_TOO_BIG, ICMPV6_TIME_EXCEEDED } from '../../src/wire/icmpv6.ts';
import { ip, twoHosts } from '../helpers/sim-hosts.ts';
import { globalAddress, ip6, linkLocal, routed6, twoHosts6, v6 } from './ipv6-helpers.ts';
import { ping } from './ping-helpers.ts';

describe('ICMPv6 echo sockets and the Pinger over IPv6', () => {
  test('a link-local destination with its interface (zone); without one on a multi-link stack: EINVAL', () => {
    const { sim, net, a, ia, b, ib } = twoHosts6(61, { delay: 5 });
    // A second link makes the zone of a link-local destination ambiguous.
    const other = net.wire();
    other.attach(a, 'eth1');
    const dst = linkLocal(b, ib)!;
    assert.throws(() => new Pinger(a, dst).start(), { code: 'EINVAL' });
    const r = ping(sim, a, dst, { count: 3, interval: 1000, iface: ia });
    assert.deepEqual(
      r.replies.map((x) => [x.seq, x.ttl, x.bytes, ipv6ToString(x.from), x.duplicate]),
      [1, 2, 3].map((seq) => [seq, 64, 64, ipv6ToString(dst), false]),
    );
    // 10 ms round trips; neighbor resolution (NS, NA) before the first one.
    assert.deepEqual(
      r.replies.map((x) => x.rtt),
      [20, 10, 10],
    );
    assert.deepEqual([r.summary.transmitted, r.summary.received, r.summary.loss], [3, 3, 0]);
    assert.equal(ipv6ToString(r.summary.dst), ipv6ToString(dst));
    assert.equal(b.counters.value('icmpv6.tx.echo-replies'), 3);
    assert.equal(a.counters.value('icmp-echo.rx.replies'), 3);
  });

  test('::1 and our own addresses answer through lo', () => {
    const { sim, a, ia } = twoHosts6(62);
    for (const dst of [ip6('::1'), linkLocal(a, ia)!]) {
      const r = ping(sim, a, dst, { count: 2, interval: 10, iface: ia });
      assert.deepEqual(
        r.replies.map((x) => [x.seq, x.rtt, ipv6ToString(x.from)]),
        [
          [1, 0, ipv6ToString(dst)],
          [2, 0, ipv6ToString(dst)],
        ],
      );
    }
  });

  test('a global address across the router: one hop off the hop limit; large requests in fragments', () => {
    const { sim, a, b, ib } = routed6(63);
    const dst = globalAddress(b, ib)!;
    const r = ping(sim, a, dst, { count: 2, interval: 100 });
    assert.deepEqual(
      r.replies.map((x) => [x.seq, x.ttl, ipv6ToString(x.from)]),
      [
        [1, 63, ipv6ToString(dst)],
        [2, 63, ipv6ToString(dst)],
      ],
    );
    const big = ping(sim, a, dst, { count: 2, interval: 100, size: 4000 });
    assert.deepEqual(
      big.replies.map((x) => [x.seq, x.bytes]),
      [
        [1, 4008],
        [2, 4008],
      ],
    );
    assert.ok(a.counters.value('ipv6.tx.fragments') >= 2 * 3);
    assert.ok(a.counters.value('ipv6.rx.reassembled') >= 2);
  });

  test('Packet Too Big from the router: EMSGSIZE with the MTU, then the requests go in fragments', () => {
    const { sim, a, b, ib, router, r1 } = routed6(64, { mtu2: 1280 });
    const dst = globalAddress(b, ib)!;
    const r = ping(sim, a, dst, { count: 3, interval: 500, size: 1400, timeout: 400 });
    assert.deepEqual(
      r.errors.map((e) => [e.seq, e.type, e.code, e.errno, e.mtu, ipv6ToString(e.dst)]),
      [[1, ICMPV6_PACKET_TOO_BIG, 0, 'EMSGSIZE', 1280, ipv6ToString(dst)]],
    );
    // The router reports from its address on a's link.
    const routerAddrs = v6(router)
      .listAddresses(r1)
      .map((x) => ipv6ToString(x.addr));
    assert.ok(routerAddrs.includes(ipv6ToString(r.errors[0]!.reporter)));
    assert.deepEqual(
      r.replies.map((x) => [x.seq, x.bytes]),
      [
        [2, 1408],
        [3, 1408],
      ],
    );
    assert.equal(v6(a).pmtu.get(dst, 1500), 1280);
    assert.deepEqual([r.summary.transmitted, r.summary.received, r.summary.errors], [3, 2, 1]);
  });

  test('hop limit 1 across the router: time exceeded from the router (EHOSTUNREACH)', () => {
    const { sim, a, b, ib } = routed6(65);
    const dst = globalAddress(b, ib)!;
    const r = ping(sim, a, dst, { count: 2, interval: 200, ttl: 1 });
    assert.deepEqual(
      r.errors.map((e) => [e.seq, e.type, e.code, e.errno, ipv6ToString(e.reporter)]),
      [
        [1, ICMPV6_TIME_EXCEEDED, 0, 'EHOSTUNREACH', '2001:db8:1::1'],
        [2, ICMPV6_TIME_EXCEEDED, 0, 'EHOSTUNREACH', '2001:db8:1::1'],
      ],
    );
    assert.deepEqual([r.replies, r.summary.received, r.summary.errors], [[], 0, 2]);
  });

  test('no route: ENETUNREACH at start; a stack without IPv6: EAFNOSUPPORT', () => {
    const { a } = twoHosts6(66);
    assert.throws(() => new Pinger(a, ip6('2001:db8:99::1')).start(), { code: 'ENETUNREACH' });
    const noV6 = new Simulation({ seed: 67 }).createStack({ ipv6: false });
    assert.throws(() => noV6.icmpEcho.open(ECHO_IPV6), { code: 'EAFNOSUPPORT' });
    const { a: h } = twoHosts(67);
    // Both families share one bound of open sockets; identifiers are per family.
    const v4 = h.stack.icmpEcho.open();
    const v6s = h.stack.icmpEcho.open(ECHO_IPV6);
    assert.equal(v6s.family.name, 'ipv6');
    assert.throws(() => v6s.send(ip6('::1'), 1, new Uint8Array(65528)), { code: 'EMSGSIZE' });
    assert.throws(() => v4.send(ip('127.0.0.1'), 1, new Uint8Array(65508)), { code: 'EMSGSIZE' });
    h.stack.icmpEcho.maxSockets = 2;
    assert.throws(() => h.stack.icmpEcho.open(ECHO_IPV6), { code: 'EMFILE' });
    v4.close();
    h.stack.icmpEcho.open(ECHO_IPV6).close();
  });
});
