import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { ErrnoError } from '../../src/core/errno.ts';
import { type IpAddr, ipToString, v4Mapped } from '../../src/core/ip-address.ts';
import type { Stack } from '../../src/core/stack.ts';
import type { UdpSocket } from '../../src/core/udp/udp-socket.ts';
import type { Ipv6Addr } from '../../src/wire/address.ts';
import { IP_PROTOCOL_UDP } from '../../src/wire/ipv4.ts';
import { Ipv6View } from '../../src/wire/ipv6.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp, UdpView } from '../../src/wire/udp.ts';
import { ipv6Frame } from '../helpers/frames6.ts';
import { configure, ip } from '../helpers/sim-hosts.ts';
import { globalAddress, ip6, linkLocal, routed6, twoHosts6, v6 } from './ipv6-helpers.ts';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

function drain<A extends IpAddr>(s: UdpSocket<A>): Array<{ data: string; from: string; port: number }> {
  const out: Array<{ data: string; from: string; port: number }> = [];
  for (let d = s.recv(); d; d = s.recv())
    out.push({ data: str(d.data), from: ipToString(d.address), port: d.port });
  return out;
}

function listen6(stack: Stack, port: number, options: { v6Only?: boolean; reuseAddr?: boolean } = {}) {
  const s = stack.udp.open({ family: 6 });
  if (options.v6Only) s.setV6Only(true);
  s.bind(port, undefined, { reuseAddr: options.reuseAddr ?? false });
  return s;
}

/** Two dual-stack hosts on one wire: 10.0.0.1 and fe80::... on a, 10.0.0.2 on b. */
function dualHosts(seed: number) {
  const t = twoHosts6(seed);
  configure(t.a, t.ia, '10.0.0.1/24');
  configure(t.b, t.ib, '10.0.0.2/24');
  return t;
}

/** IPv6 frames a stack sent on `iface`, parsed. */
function sentPackets(iface: NetworkInterface): Ipv6View[] {
  const out: Ipv6View[] = [];
  iface.addObserver((dir, f) => {
    if (dir === 'tx' && f[12] === 0x86 && f[13] === 0xdd) out.push(new Ipv6View(f.slice(14)));
  });
  return out;
}

describe('UDP over IPv6 in simulation', () => {
  test('link-local send and receive with the interface as scope; hop limit, checksum, flow label', () => {
    const { sim, a, ia, b, ib } = twoHosts6(1);
    const server = listen6(b, 7000);
    const client = a.udp.open({ family: 6 });
    const packets = sentPackets(ia);
    const bLL = linkLocal(b, ib)!;
    client.send(text('hello'), bLL, 7000, ia);
    client.send(text('again'), bLL, 7000, ia);
    assert.ok(sim.runUntil(() => server.queued === 2, 1000));
    const d = server.recv()!;
    assert.equal(str(d.data), 'hello');
    assert.equal(ipToString(d.address), ipToString(linkLocal(a, ia)!));
    assert.equal(d.port, client.localPort);
    assert.equal(d.iface, ib);
    assert.equal(ipToString(d.dst), ipToString(bLL));
    assert.equal(d.ttl, 64);
    // The datagrams on the wire: UDP with a verifying checksum, one non-zero flow label per flow.
    const udp = packets.filter((p) => p.nextHeader === IP_PROTOCOL_UDP);
    assert.equal(udp.length, 2);
    const u = new UdpView(udp[0]!.payload);
    assert.notEqual(u.checksum, 0);
    assert.ok(u.verifyV6(udp[0]!.src, udp[0]!.dst));
    assert.notEqual(udp[0]!.flowLabel, 0);
    assert.equal(udp[0]!.flowLabel, udp[1]!.flowLabel);
    assert.equal(
      udp[0]!.flowLabel,
      v6(a).flowLabel(udp[0]!.src, udp[0]!.dst, IP_PROTOCOL_UDP, client.localPort, 7000),
    );
    // The reply goes back to the sender's link-local address with the receiving interface.
    server.send(text('back'), d.address, d.port, d.iface);
    assert.ok(sim.runUntil(() => client.queued === 1, 1000));
    assert.equal(str(client.recv()!.data), 'back');
  });

  test('hop limit and traffic class follow the socket options', () => {
    const { sim, a, ia, b, ib } = twoHosts6(2);
    const server = listen6(b, 7000);
    const client = a.udp.open({ family: 6 });
    client.setTtl(9);
    client.setTos(0xb8);
    const packets = sentPackets(ia);
    client.send(text('x'), linkLocal(b, ib)!, 7000, ia);
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    assert.equal(server.recv()!.ttl, 9);
    const p = packets.find((q) => q.nextHeader === IP_PROTOCOL_UDP)!;
    assert.equal(p.hopLimit, 9);
    assert.equal(p.trafficClass, 0xb8);
  });

  test('a link-local destination needs an interface when there are several links', () => {
    const { net, a, b, ib } = twoHosts6(3);
    net.wire().attach(a, 'eth1');
    const client = a.udp.open({ family: 6 });
    assert.throws(() => client.send(text('x'), linkLocal(b, ib)!, 7000), { code: 'EINVAL' });
    assert.throws(() => client.connect(linkLocal(b, ib)!, 7000), { code: 'EINVAL' });
  });

  test('global addresses from SLAAC across a router, connected sockets both ways', () => {
    const { sim, a, ia, b, ib } = routed6(4);
    const server = listen6(b, 53);
    const client = a.udp.open({ family: 6 });
    client.connect(globalAddress(b, ib)!, 53);
    assert.equal(ipToString(client.localAddress), ipToString(globalAddress(a, ia)!));
    client.send(text('query'));
    assert.ok(sim.runUntil(() => server.queued === 1, 5000));
    const d = server.recv()!;
    assert.equal(ipToString(d.address), ipToString(globalAddress(a, ia)!));
    assert.equal(d.ttl, 63);
    server.send(text('answer'), d.address, d.port);
    assert.ok(sim.runUntil(() => client.queued === 1, 5000));
    assert.deepEqual(drain(client), [{ data: 'answer', from: ipToString(globalAddress(b, ib)!), port: 53 }]);
  });

  test('static addresses; a datagram from another source does not reach a connected socket', () => {
    const { sim, a, ia, b, ib } = twoHosts6(5);
    v6(a).addAddress(ia, ip6('2001:db8::1'), 64, { dad: false });
    v6(b).addAddress(ib, ip6('2001:db8::2'), 64, { dad: false });
    const server = b.udp.open({ family: 6 });
    server.bind(9000, ip6('2001:db8::2'));
    server.connect(ip6('2001:db8::1'), 9001);
    const good = a.udp.open({ family: 6 });
    good.bind(9001);
    const other = a.udp.open({ family: 6 });
    other.bind(9002);
    other.send(text('stranger'), ip6('2001:db8::2'), 9000);
    good.send(text('friend'), ip6('2001:db8::2'), 9000);
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    sim.advance(100);
    assert.deepEqual(
      drain(server).map((d) => d.data),
      ['friend'],
    );
    assert.throws(() => server.bind(1), { code: 'EINVAL' });
    const wrong = b.udp.open({ family: 6 });
    assert.throws(() => wrong.bind(1, ip6('2001:db8::99')), { code: 'EADDRNOTAVAIL' });
    assert.throws(() => wrong.send(text('x'), 1 as unknown as Ipv6Addr, 1), { code: 'EINVAL' });
  });
});

describe('dual-stack UDP sockets', () => {
  test('an IPv6 socket on :: receives IPv4 datagrams as mapped addresses and answers over IPv4', () => {
    const { sim, a, b } = dualHosts(10);
    const server = listen6(b, 5000);
    const client = a.udp.open();
    client.send(text('from v4'), ip('10.0.0.2'), 5000);
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    const d = server.recv()!;
    assert.equal(ipToString(d.address), '::ffff:10.0.0.1');
    assert.equal(ipToString(d.dst), '::ffff:10.0.0.2');
    server.send(text('to v4'), d.address, d.port);
    assert.ok(sim.runUntil(() => client.queued === 1, 1000));
    const r = client.recv()!;
    assert.equal(str(r.data), 'to v4');
    assert.equal(r.address, ip('10.0.0.2'));
    // Connecting to a mapped address binds to the mapped IPv4 source.
    const c6 = a.udp.open({ family: 6 });
    c6.connect(v4Mapped(ip('10.0.0.2')), 5000);
    assert.equal(ipToString(c6.localAddress), '::ffff:10.0.0.1');
    c6.send(text('mapped'));
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    assert.deepEqual(drain(server), [{ data: 'mapped', from: '::ffff:10.0.0.1', port: c6.localPort }]);
  });

  test('IPV6_V6ONLY refuses IPv4: port unreachable, and no mapped destinations', () => {
    const { sim, a, b } = dualHosts(11);
    const server = listen6(b, 5000, { v6Only: true });
    const client = a.udp.open();
    client.connect(ip('10.0.0.2'), 5000);
    const errors: ErrnoError[] = [];
    client.onError = (e) => errors.push(e);
    client.send(text('v4'));
    assert.ok(sim.runUntil(() => errors.length === 1, 1000));
    assert.equal(errors[0]!.code, 'ECONNREFUSED');
    assert.equal(server.queued, 0);
    assert.throws(() => server.send(text('x'), v4Mapped(ip('10.0.0.1')), 1), { code: 'ENETUNREACH' });
    assert.throws(() => server.setV6Only(false), { code: 'EINVAL' });
    const only = b.udp.open({ family: 6 });
    only.setV6Only(true);
    assert.throws(() => only.bind(1, v4Mapped(ip('10.0.0.2'))), { code: 'EINVAL' });
    assert.throws(() => b.udp.open().setV6Only(true), { code: 'EINVAL' });
  });

  test('one port space for both families, as Linux', () => {
    const { sim, a, ia, b, ib } = dualHosts(12);
    v6(a).addAddress(ia, ip6('2001:db8::1'), 64, { dad: false });
    v6(b).addAddress(ib, ip6('2001:db8::2'), 64, { dad: false });
    // A dual-stack wildcard clashes with IPv4 bindings of its port, both ways.
    listen6(b, 6000);
    assert.throws(() => b.udp.open().bind(6000), { code: 'EADDRINUSE' });
    assert.throws(() => b.udp.open().bind(6000, ip('10.0.0.2')), { code: 'EADDRINUSE' });
    b.udp.open().bind(6001);
    assert.throws(() => listen6(b, 6001), { code: 'EADDRINUSE' });
    // IPv6-only wildcards and specific IPv6 addresses leave IPv4 alone.
    listen6(b, 6002, { v6Only: true });
    b.udp.open().bind(6002);
    assert.throws(() => listen6(b, 6002), { code: 'EADDRINUSE' });
    const specific = b.udp.open({ family: 6 });
    specific.bind(6003, ip6('2001:db8::2'));
    b.udp.open().bind(6003);
    // A mapped address is an IPv4 binding of that address.
    const mapped = b.udp.open({ family: 6 });
    mapped.bind(6004, v4Mapped(ip('10.0.0.2')));
    assert.throws(() => b.udp.open().bind(6004), { code: 'EADDRINUSE' });
    listen6(b, 6004, { v6Only: true });
    // SO_REUSEADDR on both shares; an IPv4 datagram prefers the IPv4 socket, an IPv6 one needs IPv6.
    const s6 = listen6(b, 6005, { reuseAddr: true });
    const s4 = b.udp.open();
    s4.bind(6005, 0, { reuseAddr: true });
    a.udp.open().send(text('four'), ip('10.0.0.2'), 6005);
    const c6 = a.udp.open({ family: 6 });
    c6.send(text('six'), ip6('2001:db8::2'), 6005);
    assert.ok(sim.runUntil(() => s4.queued === 1 && s6.queued === 1, 1000));
    assert.equal(str(s4.recv()!.data), 'four');
    assert.equal(str(s6.recv()!.data), 'six');
  });

  test('without IPv6 the stack refuses IPv6 sockets', () => {
    const { sim } = twoHosts6(13);
    const plain = sim.createStack({ name: 'v4only', ipv6: false });
    assert.throws(() => plain.udp.open({ family: 6 }), { code: 'EAFNOSUPPORT' });
  });
});

describe('UDP over IPv6: multicast, errors, checksums', () => {
  test('IPV6_JOIN_GROUP on an interface; leaving stops delivery', () => {
    const { sim, a, ia, b, ib } = twoHosts6(20);
    const group = ip6('ff12::4242');
    const member = listen6(b, 4242);
    member.addMembership(group, ib);
    assert.ok(v6(b).isMember(ib, group));
    assert.throws(() => member.addMembership(group, ib), { code: 'EADDRINUSE' });
    const sender = a.udp.open({ family: 6 });
    sender.setMulticastInterface(ia);
    const packets = sentPackets(ia);
    sender.send(text('all of you'), group, 4242);
    assert.ok(sim.runUntil(() => member.queued === 1, 1000));
    assert.equal(str(member.recv()!.data), 'all of you');
    // IPV6_MULTICAST_HOPS defaults to 1.
    assert.equal(packets.find((p) => p.nextHeader === IP_PROTOCOL_UDP)!.hopLimit, 1);
    member.dropMembership(group, ib);
    assert.ok(!v6(b).isMember(ib, group));
    assert.throws(() => member.dropMembership(group), { code: 'EADDRNOTAVAIL' });
    sender.send(text('again'), group, 4242);
    sim.advance(500);
    assert.equal(member.queued, 0);
    assert.ok(b.counters.value('ipv6.rx.drop.not-for-us') >= 1);
    // Closing leaves what is still joined.
    member.addMembership(group, ib);
    member.close();
    assert.ok(!v6(b).isMember(ib, group));
  });

  test('a datagram with a zero checksum is dropped (RFC 8200 8.1); a bad one too', () => {
    const { sim, a, ia, b, ib } = twoHosts6(21);
    const server = listen6(b, 7000);
    const src = linkLocal(a, ia)!;
    const dst = linkLocal(b, ib)!;
    const frame = (checksum: 'zero' | 'bad' | 'good') => {
      const pb = PacketBuffer.from(text(checksum), MAX_HEADROOM);
      emitUdp(pb, 1234, 7000, checksum === 'zero' ? { kind: 'none' } : { kind: 'v6', src, dst });
      if (checksum === 'bad') pb.buf[pb.start + 6]! ^= 0x5a;
      return ipv6Frame(
        pb,
        { src, dst, nextHeader: IP_PROTOCOL_UDP, hopLimit: 64 },
        { src: ia.mac, dst: ib.mac },
      ).slice();
    };
    ib.receive([frame('zero'), frame('bad'), frame('good')]);
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    assert.deepEqual(
      drain(server).map((d) => d.data),
      ['good'],
    );
    assert.equal(b.counters.value('udp.rx.drop.zero-checksum'), 1);
    assert.equal(b.counters.value('udp.rx.drop.bad-checksum'), 1);
  });

  test('port unreachable: ICMPv6 code 4, ECONNREFUSED on a connected socket only', () => {
    const { sim, a, ia, b, ib } = twoHosts6(22);
    const connected = a.udp.open({ family: 6 });
    connected.connect(linkLocal(b, ib)!, 9999, ia);
    const errors: ErrnoError[] = [];
    connected.onError = (e) => errors.push(e);
    connected.send(text('anyone?'));
    assert.ok(sim.runUntil(() => errors.length === 1, 1000));
    assert.equal(errors[0]!.code, 'ECONNREFUSED');
    assert.equal(b.counters.value('icmpv6.tx.type-1-code-4'), 1);
    assert.equal(b.counters.value('udp.rx.no-port'), 1);
    const unconnected = a.udp.open({ family: 6 });
    let told = 0;
    unconnected.onError = () => told++;
    unconnected.send(text('anyone?'), linkLocal(b, ib)!, 9999, ia);
    assert.ok(sim.runUntil(() => b.counters.value('icmpv6.tx.type-1-code-4') === 2, 1000));
    sim.advance(100);
    assert.equal(told, 0);
  });

  test('packet too big: EMSGSIZE with the MTU on a connected socket, then fragments get through', () => {
    const { sim, a, b, ib } = routed6(23, { mtu2: 1280 });
    const server = listen6(b, 8000);
    const client = a.udp.open({ family: 6 });
    client.connect(globalAddress(b, ib)!, 8000);
    const errors: Array<ErrnoError & { mtu?: number }> = [];
    client.onError = (e) => errors.push(e);
    client.send(new Uint8Array(1400).fill(7));
    assert.ok(sim.runUntil(() => errors.length === 1, 5000));
    assert.equal(errors[0]!.code, 'EMSGSIZE');
    assert.equal(errors[0]!.mtu, 1280);
    assert.equal(client.pathMtu, 1280);
    assert.equal(server.queued, 0);
    client.send(new Uint8Array(1400).fill(8));
    assert.ok(sim.runUntil(() => server.queued === 1, 5000));
    assert.equal(server.recv()!.data.length, 1400);
    assert.ok(a.counters.value('ipv6.tx.fragments') >= 2);
  });

  test('payload limits: 65527 bytes over IPv6, 65507 to a mapped address', () => {
    const { sim, a, ia, b, ib } = dualHosts(24);
    const server = listen6(b, 7000);
    server.setRecvBufferSize(1 << 20);
    const client = a.udp.open({ family: 6 });
    client.setSendBufferSize(1 << 20);
    assert.throws(() => client.send(new Uint8Array(65528), linkLocal(b, ib)!, 7000, ia), {
      code: 'EMSGSIZE',
    });
    assert.throws(() => client.send(new Uint8Array(65508), v4Mapped(ip('10.0.0.2')), 7000), {
      code: 'EMSGSIZE',
    });
    // Resolve the neighbor first: the 46 fragments would overflow the queue of a resolution.
    client.send(text('hi'), linkLocal(b, ib)!, 7000, ia);
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    server.recv();
    client.send(new Uint8Array(65527), linkLocal(b, ib)!, 7000, ia);
    assert.ok(sim.runUntil(() => server.queued === 1, 1000));
    assert.equal(server.recv()!.data.length, 65527);
  });

  test('a flood of IPv6 datagrams is bounded by the receive buffer', () => {
    const { sim, a, ia, b, ib } = twoHosts6(25);
    const server = listen6(b, 7000);
    server.setRecvBufferSize(4096);
    const client = a.udp.open({ family: 6 });
    for (let i = 0; i < 100; i++) client.send(new Uint8Array(100), linkLocal(b, ib)!, 7000, ia);
    assert.ok(sim.runUntil(() => b.counters.value('udp.rx.datagrams') === 100, 2000));
    assert.equal(server.queued, Math.floor(4096 / (100 + 256)));
    assert.equal(b.counters.value('udp.rx.drop.rcvbuf-full'), 100 - server.queued);
  });
});
