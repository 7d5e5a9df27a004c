import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AF_INET,
  AF_INET6,
  IP_ADD_MEMBERSHIP,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SO_DOMAIN,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
} from '../../src/api/posix/constants.ts';
import { sockaddrIn, sockaddrIn6 } from '../../src/api/posix/sockaddr.ts';
import { drive, posixPair6, str, text, throwsErrno } from './posix-helpers.ts';

/** The hop limits of the IPv6 frames an interface sends. */
function hopLimits(iface: { addObserver(f: (dir: string, frame: Uint8Array) => void): void }): number[] {
  const out: number[] = [];
  iface.addObserver((dir, f) => {
    if (dir === 'tx' && f[12] === 0x86 && f[13] === 0xdd && f[14 + 6] === 17) out.push(f[14 + 7]!);
  });
  return out;
}

describe('POSIX API: AF_INET6 datagram sockets', () => {
  test('sendto/recvfrom over IPv6: sockaddr_in6 with flowinfo and scope id, getsockname before and after bind', () => {
    const { sim, pa, pb } = posixPair6(21);
    const s = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    assert.equal(pb.getsockopt(s, SOL_SOCKET, SO_DOMAIN), AF_INET6);
    assert.deepEqual(pb.getsockname(s), sockaddrIn6('::', 0), 'unbound');
    pb.bind(s, sockaddrIn6('::', 7000));
    assert.deepEqual(pb.getsockname(s), {
      family: AF_INET6,
      address: '::',
      port: 7000,
      flowinfo: 0,
      scopeId: 0,
    });
    const c = pa.socket(AF_INET6, SOCK_DGRAM, 0);
    // sin6_flowinfo is taken and ignored (no IPV6_FLOWINFO_SEND).
    assert.equal(pa.sendto(c, text('over six'), 0, sockaddrIn6('2001:db8::2', 7000, 0, 0x12345)), 8);
    assert.ok(sim.runUntil(() => pb.pollNow([{ fd: s, events: 1 }]) === 1, 5000));
    const r = pb.recvfrom(s, 100);
    assert.equal(str(r.data), 'over six');
    assert.deepEqual(r.addr, sockaddrIn6('2001:db8::1', pa.getsockname(c).port));
    assert.equal(pa.getsockname(c).address, '::');
    throwsErrno(() => pa.sendto(c, text('x'), 0, sockaddrIn6('not an address', 7000)), 'EINVAL');
    throwsErrno(() => pa.sendto(c, text('x'), 0, sockaddrIn6('2001:db8::2', 70000)), 'EINVAL');
    throwsErrno(() => pa.sendto(c, text('x'), 0, { family: 99, address: '::', port: 1 }), 'EINVAL');
  });

  test('dual-stack: IPv4 peers as ::ffff:a.b.c.d, AF_INET addresses in connect and sendto, IPV6_V6ONLY', () => {
    const { sim, pa, pb } = posixPair6(22);
    const s = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    assert.equal(pb.getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    pb.bind(s, sockaddrIn6('::', 7000));
    const c4 = pa.socket(AF_INET, SOCK_DGRAM, 0);
    pa.sendto(c4, text('over four'), 0, sockaddrIn('10.0.0.2', 7000));
    assert.ok(sim.runUntil(() => pb.pollNow([{ fd: s, events: 1 }]) === 1, 5000));
    const r = pb.recvfrom(s, 100);
    const port4 = pa.getsockname(c4).port;
    assert.deepEqual(r.addr, sockaddrIn6('::ffff:10.0.0.1', port4));
    // The reply to the mapped address goes over IPv4, and so does one to an AF_INET address.
    pb.sendto(s, text('reply mapped'), 0, r.addr);
    pb.sendto(s, text('reply four'), 0, sockaddrIn('10.0.0.1', port4));
    assert.ok(sim.runUntil(() => pa.pollNow([{ fd: c4, events: 1 }]) === 1, 5000));
    for (const want of ['reply mapped', 'reply four']) {
      assert.ok(sim.runUntil(() => pa.pollNow([{ fd: c4, events: 1 }]) === 1, 5000));
      const got = pa.recvfrom(c4, 100);
      assert.deepEqual([str(got.data), got.addr], [want, sockaddrIn('10.0.0.2', 7000)]);
    }
    // connect with an AF_INET address: the peer is mapped.
    const k = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    pb.connect(k, sockaddrIn('10.0.0.1', port4));
    assert.deepEqual(pb.getpeername(k), sockaddrIn6('::ffff:10.0.0.1', port4));
    assert.equal(pb.getsockname(k).address, '::ffff:10.0.0.2');
    // bind takes AF_INET6 only; an AF_INET socket takes no AF_INET6 address.
    throwsErrno(() => pb.bind(pb.socket(AF_INET6, SOCK_DGRAM, 0), sockaddrIn('10.0.0.2', 0)), 'EAFNOSUPPORT');
    throwsErrno(() => pa.sendto(c4, text('x'), 0, sockaddrIn6('2001:db8::2', 7000)), 'EAFNOSUPPORT');
    throwsErrno(() => pa.getsockopt(c4, IPPROTO_IPV6, IPV6_V6ONLY), 'ENOPROTOOPT');
    // IPV6_V6ONLY: no IPv4 in, none out; it cannot change once bound.
    const o = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    pb.setsockopt(o, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    assert.equal(pb.getsockopt(o, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    pb.bind(o, sockaddrIn6('::', 7001));
    throwsErrno(() => pb.setsockopt(o, IPPROTO_IPV6, IPV6_V6ONLY, 0), 'EINVAL');
    throwsErrno(() => pb.sendto(o, text('x'), 0, sockaddrIn('10.0.0.1', port4)), 'ENETUNREACH');
    throwsErrno(() => pb.sendto(o, text('x'), 0, sockaddrIn6('::ffff:10.0.0.1', port4)), 'ENETUNREACH');
    throwsErrno(() => pb.connect(o, sockaddrIn('10.0.0.1', port4)), 'EAFNOSUPPORT');
    // A v4 socket may share its port with an IPv6-only one, not with a dual-stack wildcard.
    const v4 = pb.socket(AF_INET, SOCK_DGRAM, 0);
    pb.bind(v4, sockaddrIn('0.0.0.0', 7001));
    throwsErrno(() => pb.bind(pb.socket(AF_INET, SOCK_DGRAM, 0), sockaddrIn('0.0.0.0', 7000)), 'EADDRINUSE');
    pa.sendto(c4, text('to v4 socket'), 0, sockaddrIn('10.0.0.2', 7001));
    assert.ok(sim.runUntil(() => pb.pollNow([{ fd: v4, events: 1 }]) === 1, 5000));
    throwsErrno(() => pb.recvfrom(o, 100), 'EAGAIN');
  });

  test('link-local: sin6_scope_id as the interface index in bind, connect, sendto, recvfrom, getsockname', () => {
    const { sim, pa, pb, ia, ib, llA, llB } = posixPair6(23);
    const s = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    throwsErrno(() => pb.bind(s, sockaddrIn6(llB, 7000)), 'EINVAL');
    throwsErrno(() => pb.bind(s, sockaddrIn6(llB, 7000, 99)), 'ENODEV');
    pb.bind(s, sockaddrIn6(llB, 7000, ib.index));
    assert.deepEqual(pb.getsockname(s), sockaddrIn6(llB, 7000, ib.index));
    const c = pa.socket(AF_INET6, SOCK_DGRAM, 0);
    pa.sendto(c, text('hello'), 0, sockaddrIn6(llB, 7000, ia.index));
    assert.ok(sim.runUntil(() => pb.pollNow([{ fd: s, events: 1 }]) === 1, 5000));
    const r = pb.recvfrom(s, 100);
    assert.deepEqual(r.addr, sockaddrIn6(llA, pa.getsockname(c).port, ib.index));
    pb.sendto(s, text('back'), 0, r.addr!);
    assert.ok(sim.runUntil(() => pa.pollNow([{ fd: c, events: 1 }]) === 1, 5000));
    assert.deepEqual(pa.recvfrom(c, 100).addr, sockaddrIn6(llB, 7000, ia.index));
    const k = pa.socket(AF_INET6, SOCK_DGRAM, 0);
    pa.connect(k, sockaddrIn6(llB, 7000, ia.index));
    assert.deepEqual(pa.getpeername(k), sockaddrIn6(llB, 7000, ia.index));
    assert.deepEqual(pa.getsockname(k), sockaddrIn6(llA, pa.getsockname(k).port, ia.index));
    // The scope id of an address that needs none is not looked at (as Linux).
    pa.sendto(c, text('global'), 0, sockaddrIn6('2001:db8::2', 7000, 99));
  });

  test('options: hop limits with -1 for the default, multicast loop and interface by index', () => {
    const { sim, pa, pb, ia } = posixPair6(24);
    const c = pa.socket(AF_INET6, SOCK_DGRAM, 0);
    const s = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    pb.bind(s, sockaddrIn6('::', 7000));
    const hops = hopLimits(ia);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 64);
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 5);
    pa.sendto(c, text('five'), 0, sockaddrIn6('2001:db8::2', 7000));
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 64);
    pa.sendto(c, text('default'), 0, sockaddrIn6('2001:db8::2', 7000));
    assert.ok(sim.runUntil(() => hops.length === 2, 5000));
    assert.deepEqual(hops, [5, 64]);
    for (const v of [256, -2, 'x'])
      throwsErrno(() => pa.setsockopt(c, IPPROTO_IPV6, IPV6_UNICAST_HOPS, v), 'EINVAL');
    // IP_TTL on an AF_INET6 socket is the same value (docs/posix.md).
    assert.equal(pa.getsockopt(c, IPPROTO_IP, IP_TTL), 64);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 1);
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 0);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 0);
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, -1);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 1);
    throwsErrno(() => pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 256), 'EINVAL');
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 1);
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 0);
    throwsErrno(() => pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 2), 'EINVAL');
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_IF), 0);
    throwsErrno(() => pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_IF, 99), 'ENODEV');
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_IF, ia.index);
    assert.equal(pa.getsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_IF), ia.index);
  });

  test('IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP between stacks, and IPv4 groups on a dual-stack socket', () => {
    const { sim, pa, pb, ia, ib } = posixPair6(25);
    const s = pb.socket(AF_INET6, SOCK_DGRAM, 0);
    pb.bind(s, sockaddrIn6('::', 7000));
    pb.setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: 'ff12::1:3', ifindex: ib.index });
    throwsErrno(
      () => pb.setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: 'ff12::1:3', ifindex: ib.index }),
      'EADDRINUSE',
    );
    throwsErrno(
      () => pb.setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: '2001:db8::1' }),
      'EINVAL',
    );
    throwsErrno(() => pb.setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: '239.1.2.3' }), 'EINVAL');
    throwsErrno(
      () => pb.setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: 'ff12::1:4', ifindex: 99 }),
      'ENODEV',
    );
    throwsErrno(() => pb.getsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP), 'ENOPROTOOPT');
    pb.setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3', interface: '10.0.0.2' });
    const c = pa.socket(AF_INET6, SOCK_DGRAM, 0);
    pa.setsockopt(c, IPPROTO_IPV6, IPV6_MULTICAST_IF, ia.index);
    pa.sendto(c, text('six'), 0, sockaddrIn6('ff12::1:3', 7000));
    pa.sendto(c, text('four'), 0, sockaddrIn('239.1.2.3', 7000));
    const got: string[] = [];
    assert.ok(
      sim.runUntil(() => {
        if (pb.pollNow([{ fd: s, events: 1 }]) === 1) got.push(str(pb.recv(s, 100)));
        return got.length === 2;
      }, 5000),
    );
    assert.deepEqual(got.sort(), ['four', 'six']);
    pb.setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, { multiaddr: 'ff12::1:3', ifindex: ib.index });
    throwsErrno(
      () => pb.setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, { multiaddr: 'ff12::1:3' }),
      'EADDRNOTAVAIL',
    );
    pa.sendto(c, text('left'), 0, sockaddrIn6('ff12::1:3', 7000));
    sim.runUntil(() => false, 1000);
    throwsErrno(() => pb.recv(s, 100), 'EAGAIN');
  });
});

describe('POSIX API: AF_INET6 stream sockets', () => {
  test('listen on :: (dual-stack): an IPv6 and an IPv4 client, accept gives sockaddr_in6 peers, data both ways', async () => {
    const { sim, pa, pb } = posixPair6(31);
    const ls = pb.socket(AF_INET6, SOCK_STREAM, 0);
    assert.deepEqual(pb.getsockname(ls), sockaddrIn6('::', 0));
    pb.bind(ls, sockaddrIn6('::', 8080));
    pb.listen(ls);
    const peers: unknown[] = [];
    const body = (async () => {
      const c6 = pa.socket(AF_INET6, SOCK_STREAM, 0);
      // tcp_v6_connect takes AF_INET6 only.
      throwsErrno(() => pa.connect(c6, sockaddrIn('10.0.0.2', 8080)), 'EAFNOSUPPORT');
      await pa.connectAsync(c6, sockaddrIn6('2001:db8::2', 8080));
      const c4 = pa.socket(AF_INET, SOCK_STREAM, 0);
      await pa.connectAsync(c4, sockaddrIn('10.0.0.2', 8080));
      for (const c of [c6, c4]) {
        const { fd, addr } = await pb.acceptAsync(ls);
        peers.push(addr, pb.getsockname(fd));
        await pb.sendAsync(fd, text(`hello ${addr.address}`));
        peers.push(str(await pa.recvAsync(c, 100)));
        peers.push(pa.getpeername(c));
      }
    })();
    await drive(sim, body);
    const p6 = pa.getsockname(3).port;
    assert.deepEqual(peers.slice(0, 4), [
      sockaddrIn6('2001:db8::1', p6),
      sockaddrIn6('2001:db8::2', 8080),
      'hello 2001:db8::1',
      sockaddrIn6('2001:db8::2', 8080),
    ]);
    assert.equal((peers[4] as { address: string }).address, '::ffff:10.0.0.1');
    assert.deepEqual(peers[5], sockaddrIn6('::ffff:10.0.0.2', 8080));
    assert.equal(peers[6], 'hello ::ffff:10.0.0.1');
    assert.deepEqual(peers[7], sockaddrIn('10.0.0.2', 8080));
  });

  test('IPV6_V6ONLY listeners share a port with AF_INET ones; dual-stack ones do not; link-local with scope', async () => {
    const { sim, pa, pb, ia, ib, llA, llB } = posixPair6(32);
    const v6 = pb.socket(AF_INET6, SOCK_STREAM, 0);
    pb.setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    pb.bind(v6, sockaddrIn6('::', 9000));
    throwsErrno(() => pb.setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, 0), 'EINVAL');
    pb.listen(v6);
    const v4 = pb.socket(AF_INET, SOCK_STREAM, 0);
    pb.bind(v4, sockaddrIn('0.0.0.0', 9000));
    pb.listen(v4);
    const dual = pb.socket(AF_INET6, SOCK_STREAM, 0);
    throwsErrno(() => pb.bind(dual, sockaddrIn6('::', 9000)), 'EADDRINUSE');
    const other = pb.socket(AF_INET, SOCK_STREAM, 0);
    pb.bind(dual, sockaddrIn6('::', 9001));
    throwsErrno(() => pb.bind(other, sockaddrIn('10.0.0.2', 9001)), 'EADDRINUSE');
    // A link-local listener needs its scope; connect to it with the scope id.
    const ll = pb.socket(AF_INET6, SOCK_STREAM, 0);
    throwsErrno(() => pb.bind(ll, sockaddrIn6(llB, 9002)), 'EINVAL');
    pb.bind(ll, sockaddrIn6(llB, 9002, ib.index));
    pb.listen(ll);
    const got: unknown[] = [];
    await drive(
      sim,
      (async () => {
        const c = pa.socket(AF_INET6, SOCK_STREAM, 0);
        await pa.connectAsync(c, sockaddrIn6(llB, 9002, ia.index));
        got.push(pa.getpeername(c), pa.getsockname(c).address, pa.getsockname(c).scopeId);
        const { addr, fd } = await pb.acceptAsync(ll);
        got.push(addr.address, addr.scopeId, pb.getsockname(fd));
        const k = pa.socket(AF_INET, SOCK_STREAM, 0);
        await pa.connectAsync(k, sockaddrIn('10.0.0.2', 9000));
        got.push((await pb.acceptAsync(v4)).addr);
      })(),
    );
    assert.deepEqual(got.slice(0, 6), [
      sockaddrIn6(llB, 9002, ia.index),
      llA,
      ia.index,
      llA,
      ib.index,
      sockaddrIn6(llB, 9002, ib.index),
    ]);
    assert.equal((got[6] as { address: string }).address, '10.0.0.1');
  });
});
