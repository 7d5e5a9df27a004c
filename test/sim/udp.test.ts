import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { DATAGRAM_OVERHEAD, MAX_MEMBERSHIPS, type UdpSocket } from '../../src/core/udp/udp-socket.ts';
import { type Ipv4Addr, MAC_BROADCAST } from '../../src/wire/address.ts';
import { ETHERTYPE_IPV4, emitEthernet } from '../../src/wire/ethernet.ts';
import { emitIcmpv4 } from '../../src/wire/icmpv4.ts';
import { emitIpv4, IP_PROTOCOL_ICMP, IP_PROTOCOL_UDP } from '../../src/wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp } from '../../src/wire/udp.ts';
import { configure, type Host, ip, routed, twoHosts } from '../helpers/sim-hosts.ts';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Hosts 10.0.0.1, .2, ... on one switch. */
function lan(seed: number, n: number, options: { noChecksums?: boolean; impairments?: Impairments } = {}) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch(options.noChecksums ? { noChecksums: true } : {});
  const hosts: Host[] = [];
  for (let i = 1; i <= n; i++) {
    const stack = sim.createStack({ name: `h${i}` });
    const iface = sw.attach(stack, 'eth0', options.impairments ? { impairments: options.impairments } : {});
    hosts.push({ stack, iface, ip: configure(stack, iface, `10.0.0.${i}/24`) });
  }
  return { sim, sw, hosts };
}

/** Everything queued on `s`, as text. */
function drain(s: UdpSocket): string[] {
  const out: string[] = [];
  for (let d = s.recv(); d; d = s.recv()) out.push(str(d.data));
  return out;
}

function listen(stack: Stack, port: number, addr = 0): UdpSocket {
  const s = stack.udp.open();
  s.bind(port, addr);
  return s;
}

/** A frame carrying a hand-made IPv4 packet from `src` to `dst` (for malformed and forged input). */
function ipFrame(to: NetworkInterface, src: Ipv4Addr, dst: Ipv4Addr, protocol: number, payload: Uint8Array) {
  const pb = PacketBuffer.from(payload, MAX_HEADROOM);
  emitIpv4(pb, { src, dst, protocol, ttl: 64 });
  emitEthernet(pb, { dst: to.mac, src: 0x02_00_00_00_99_99, ethertype: ETHERTYPE_IPV4 });
  return pb.bytes().slice();
}

describe('UDP in simulation', () => {
  test('bind, send and recv between two hosts, with the datagram metadata', () => {
    const { sim, a, b } = twoHosts(1);
    const server = listen(b.stack, 7000);
    let readable = 0;
    server.onReadable = () => readable++;
    const client = a.stack.udp.open();
    a.stack.run(() => {
      for (const m of ['one', 'two', 'three']) client.send(text(m), b.ip, 7000);
    });
    assert.ok(client.localPort >= 32768 && client.localPort <= 60999, `port ${client.localPort}`);
    assert.equal(client.localAddress, 0);
    assert.ok(sim.runUntil(() => server.queued === 3, 5000));
    sim.advance(1000);
    // The three arrived in one batch: one notification.
    assert.equal(readable, 1);
    const d = server.recv()!;
    assert.equal(str(d.data), 'one');
    assert.deepEqual(
      { address: d.address, port: d.port, iface: d.iface, dst: d.dst, ttl: d.ttl },
      { address: a.ip, port: client.localPort, iface: b.iface, dst: b.ip, ttl: 64 },
    );
    assert.deepEqual(drain(server), ['two', 'three']);
    assert.equal(server.recv(), undefined);
    // The reply goes back to the client's ephemeral port.
    server.send(text('pong'), d.address, d.port);
    assert.ok(sim.runUntil(() => client.queued === 1, 5000));
    assert.deepEqual(drain(client), ['pong']);
    assert.equal(b.stack.counters.value('udp.rx.delivered'), 3);
    assert.equal(a.stack.counters.value('udp.tx.datagrams'), 3);
  });

  test('connect picks the source address, filters the peer, and disconnect releases the implicit binding', () => {
    const { sim, a, b } = twoHosts(2);
    const server = listen(b.stack, 7000);
    const c = a.stack.udp.open();
    c.connect(b.ip, 7000);
    assert.equal(c.localAddress, a.ip);
    assert.ok(c.localPort >= 32768 && c.localPort <= 60999);
    assert.deepEqual([c.remoteAddress, c.remotePort], [b.ip, 7000]);
    c.send(text('hello'));
    assert.ok(sim.runUntil(() => server.queued === 1, 5000));
    const d = server.recv()!;
    // The peer answers; a stranger on another port of b does not get through to the connected socket.
    server.send(text('from 7000'), d.address, d.port);
    const stranger = listen(b.stack, 7001);
    stranger.send(text('from 7001'), a.ip, c.localPort);
    sim.advance(10_000);
    assert.deepEqual(drain(c), ['from 7000']);
    assert.equal(a.stack.counters.value('udp.rx.no-port'), 1);
    assert.throws(() => c.send(text('x'), b.ip, 7000), { code: 'EISCONN' });
    const port = c.localPort;
    c.disconnect();
    assert.deepEqual([c.localAddress, c.localPort, c.remoteAddress], [0, 0, 0]);
    assert.throws(() => c.disconnect(), { code: 'ENOTCONN' });
    assert.throws(() => c.send(text('x')), { code: 'EDESTADDRREQ' });
    // Its port is free again.
    a.stack.udp.open().bind(port);
    // A socket bound by the user keeps its binding when it disconnects.
    const bound = a.stack.udp.open();
    bound.bind(6000);
    bound.connect(b.ip, 7000);
    assert.equal(bound.localAddress, a.ip);
    bound.disconnect();
    assert.deepEqual([bound.localAddress, bound.localPort], [0, 6000]);
  });

  test('across the router: TTL is decremented, and setTtl and setTos are used', () => {
    const { sim, a, b } = routed(3);
    const server = listen(b.stack, 9);
    const c = a.stack.udp.open();
    c.send(text('default'), b.ip, 9);
    c.setTtl(10);
    c.setTos(0xb8);
    c.send(text('ttl 10'), b.ip, 9);
    const tos: number[] = [];
    b.iface.addObserver((dir, frame) => {
      if (dir === 'rx' && frame[12] === 0x08 && frame[13] === 0x00 && frame[23] === IP_PROTOCOL_UDP)
        tos.push(frame[15]!);
    });
    assert.ok(sim.runUntil(() => server.queued === 2, 5000));
    const ttls = [server.recv()!.ttl, server.recv()!.ttl];
    assert.deepEqual(ttls, [63, 9]);
    assert.deepEqual(tos, [0, 0xb8]);
    assert.throws(() => c.setTtl(0), { code: 'EINVAL' });
    assert.throws(() => c.setTtl(256), { code: 'EINVAL' });
  });

  test('ephemeral ports: random for send, RFC 6056 Algorithm 3 for connect, EADDRNOTAVAIL when exhausted', () => {
    const { a, b } = twoHosts(4);
    const ports = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const s = a.stack.udp.open();
      s.send(text('x'), b.ip, 9);
      ports.add(s.localPort);
    }
    assert.equal(ports.size, 50);
    // Successive connections to one peer get successive ports (the hash offset plus the counter).
    const c1 = a.stack.udp.open();
    c1.connect(b.ip, 53);
    const c2 = a.stack.udp.open();
    c2.connect(b.ip, 53);
    assert.equal(c2.localPort, c1.localPort === 60999 ? 32768 : c1.localPort + 1);
    // A small range runs out.
    a.stack.udp.ports.range = { min: 50000, max: 50002 };
    const got = [0, 1, 2].map(() => {
      const s = a.stack.udp.open();
      s.bind(0);
      return s.localPort;
    });
    assert.deepEqual(got.sort(), [50000, 50001, 50002]);
    assert.throws(() => a.stack.udp.open().bind(0), { code: 'EADDRNOTAVAIL' });
    assert.throws(() => a.stack.udp.open().connect(b.ip, 53), { code: 'EADDRNOTAVAIL' });
    assert.throws(() => a.stack.udp.open().send(text('x'), b.ip, 53), { code: 'EADDRNOTAVAIL' });
  });

  test('bind errors: EADDRINUSE, EADDRNOTAVAIL, EINVAL; SO_REUSEADDR shares a port', () => {
    const { sim, a, b } = twoHosts(5);
    const s1 = listen(b.stack, 5000);
    assert.throws(() => b.stack.udp.open().bind(5000), { code: 'EADDRINUSE' });
    assert.throws(() => b.stack.udp.open().bind(5000, b.ip), { code: 'EADDRINUSE' });
    assert.throws(() => b.stack.udp.open().bind(5001, ip('10.9.9.9')), { code: 'EADDRNOTAVAIL' });
    assert.throws(() => s1.bind(5002), { code: 'EINVAL' });
    assert.throws(() => b.stack.udp.open().bind(70000), { code: 'EINVAL' });
    // Two distinct addresses share a port; a wildcard then clashes with both.
    listen(b.stack, 6000, b.ip);
    listen(b.stack, 6000, ip('127.0.0.1'));
    assert.throws(() => b.stack.udp.open().bind(6000), { code: 'EADDRINUSE' });
    // Other devices do not clash.
    const d1 = b.stack.udp.open();
    d1.bindToDevice(b.iface);
    d1.bind(6500);
    const d2 = b.stack.udp.open();
    d2.bindToDevice(b.stack.loopback);
    d2.bind(6500);
    // SO_REUSEADDR on both: unicast goes to one socket (the latest bound), broadcast to both.
    const r1 = b.stack.udp.open();
    r1.bind(7000, 0, { reuseAddr: true });
    const r2 = b.stack.udp.open();
    r2.bind(7000, 0, { reuseAddr: true });
    assert.throws(() => b.stack.udp.open().bind(7000), { code: 'EADDRINUSE' });
    const c = a.stack.udp.open();
    c.send(text('unicast'), b.ip, 7000);
    c.setBroadcast(true);
    c.send(text('broadcast'), ip('10.0.0.255'), 7000);
    sim.advance(10_000);
    assert.deepEqual(drain(r1), ['broadcast']);
    // (The broadcast needs no ARP, so it arrives first.)
    assert.deepEqual(drain(r2), ['broadcast', 'unicast']);
    // Closing frees the port.
    s1.close();
    listen(b.stack, 5000);
    assert.throws(() => s1.close(), { code: 'EBADF' });
    assert.throws(() => s1.recv(), { code: 'EBADF' });
  });

  test('the most specific socket wins: connected > bound address > wildcard', () => {
    const { sim, a, b } = twoHosts(6);
    const w = b.stack.udp.open();
    w.bind(8001, 0, { reuseAddr: true });
    const s = b.stack.udp.open();
    s.bind(8001, b.ip, { reuseAddr: true });
    const conn = b.stack.udp.open();
    conn.bind(8001, b.ip, { reuseAddr: true });
    const peer = a.stack.udp.open();
    peer.bind(4444);
    conn.connect(a.ip, 4444);
    peer.send(text('from 4444'), b.ip, 8001);
    const other = a.stack.udp.open();
    other.send(text('from another port'), b.ip, 8001);
    sim.advance(10_000);
    assert.deepEqual(drain(conn), ['from 4444']);
    assert.deepEqual(drain(s), ['from another port']);
    assert.deepEqual(drain(w), []);
    // A datagram to another of b's addresses goes to the wildcard.
    other.send(text('to loopback'), ip('127.0.0.1'), 8001);
    sim.advance(1000);
    assert.deepEqual(drain(w), []);
  });

  test('SO_REUSEPORT spreads flows over the group by a hash of the 4-tuple, each flow on one socket', () => {
    const { sim, a, b } = twoHosts(7);
    const group = [0, 1, 2, 3].map(() => {
      const s = b.stack.udp.open();
      s.bind(9000, 0, { reusePort: true });
      return s;
    });
    assert.throws(() => b.stack.udp.open().bind(9000, 0, { reuseAddr: true }), { code: 'EADDRINUSE' });
    const clients = Array.from({ length: 40 }, () => a.stack.udp.open());
    for (const round of [1, 2])
      for (const [i, c] of clients.entries()) c.send(text(`${i}/${round}`), b.ip, 9000);
    sim.advance(10_000);
    const flowsOf = group.map((s) => drain(s));
    assert.equal(flowsOf.flat().length, 80);
    for (const flows of flowsOf) {
      // Both datagrams of a flow went to the same socket.
      const ids = new Set(flows.map((f) => f.split('/')[0]));
      for (const id of ids) assert.ok(flows.includes(`${id}/1`) && flows.includes(`${id}/2`));
      assert.ok(ids.size >= 3, `a socket got ${ids.size} of 40 flows`);
    }
  });

  test('a closed port answers port unreachable; a connected sender gets ECONNREFUSED, an unconnected one nothing', () => {
    const { sim, a, b } = twoHosts(8);
    const connected = a.stack.udp.open();
    connected.connect(b.ip, 4321);
    const errors: string[] = [];
    connected.onError = (e) => errors.push(e.code);
    connected.send(text('anyone?'));
    const unconnected = a.stack.udp.open();
    unconnected.onError = (e) => errors.push(`unconnected ${e.code}`);
    unconnected.send(text('anyone?'), b.ip, 4322);
    sim.advance(10_000);
    assert.equal(b.stack.counters.value('udp.rx.no-port'), 2);
    assert.equal(b.stack.counters.value('icmpv4.tx.type-3-code-3'), 2);
    assert.equal(a.stack.counters.value('udp.rx.icmp-errors'), 2);
    assert.deepEqual(errors, ['ECONNREFUSED']);
    // No port unreachable for a broadcast to a closed port.
    unconnected.setBroadcast(true);
    unconnected.send(text('x'), ip('10.0.0.255'), 4323);
    sim.advance(10_000);
    assert.equal(b.stack.counters.value('icmpv4.tx.type-3-code-3'), 2);
    assert.equal(b.stack.counters.value('udp.rx.ignored-multi'), 1);
  });

  test('a connected socket learns host unreachable when ARP fails, and EMSGSIZE with the MTU', () => {
    const { sim, a, b } = twoHosts(9);
    const s = a.stack.udp.open();
    s.connect(ip('10.0.0.99'), 7);
    const errors: Array<{ code: string; mtu?: number }> = [];
    s.onError = (e) => errors.push({ code: e.code, ...('mtu' in e ? { mtu: e.mtu as number } : {}) });
    s.send(text('nobody'));
    sim.advance(60_000);
    assert.deepEqual(errors, [{ code: 'EHOSTUNREACH' }]);
    // A "fragmentation needed" quoting our datagram: the MTU is kept and reported.
    const t = a.stack.udp.open();
    t.connect(b.ip, 7);
    t.onError = (e) => errors.push({ code: e.code, mtu: (e as unknown as { mtu: number }).mtu });
    const quoted = PacketBuffer.from(new Uint8Array(8), MAX_HEADROOM);
    emitUdp(quoted, t.localPort, 7, { kind: 'none' });
    emitIpv4(quoted, { src: a.ip, dst: b.ip, protocol: IP_PROTOCOL_UDP, ttl: 64 });
    const icmp = PacketBuffer.forMessage(8 + quoted.length);
    emitIcmpv4(icmp, { type: 'dest-unreachable', code: 4, nextHopMtu: 1200, original: quoted.bytes() });
    a.iface.receive([ipFrame(a.iface, b.ip, a.ip, IP_PROTOCOL_ICMP, icmp.bytes())]);
    sim.advance(1000);
    assert.equal(t.pathMtu, 1200);
    assert.deepEqual(errors[1], { code: 'EMSGSIZE', mtu: 1200 });
  });

  test('broadcast needs setBroadcast, and reaches every host on the wire (limited and directed)', () => {
    const { sim, hosts } = lan(10, 4);
    const [h1, ...others] = hosts as [Host, ...Host[]];
    const servers = others.map((h) => listen(h.stack, 67));
    const s = h1.stack.udp.open();
    assert.throws(() => s.send(text('x'), ip('10.0.0.255'), 67), { code: 'EACCES' });
    s.bindToDevice(h1.iface);
    assert.throws(() => s.send(text('x'), ip('255.255.255.255'), 67), { code: 'EACCES' });
    assert.throws(() => s.connect(ip('10.0.0.255'), 67), { code: 'EACCES' });
    s.setBroadcast(true);
    s.send(text('limited'), ip('255.255.255.255'), 67);
    s.send(text('directed'), ip('10.0.0.255'), 67);
    sim.advance(10_000);
    for (const srv of servers) assert.deepEqual(drain(srv), ['limited', 'directed']);
    // A socket bound to a unicast address does not get broadcasts; one bound to the broadcast does.
    const unicastOnly = listen(others[0]!.stack, 68, others[0]!.ip);
    const bcastOnly = listen(others[1]!.stack, 68, ip('10.0.0.255'));
    s.send(text('b'), ip('10.0.0.255'), 68);
    sim.advance(10_000);
    assert.deepEqual([drain(unicastOnly), drain(bcastOnly)], [[], ['b']]);
  });

  test('multicast: join and leave, TTL, and loopback on and off', () => {
    const { sim, hosts } = lan(11, 3);
    const [h1, h2, h3] = hosts as [Host, Host, Host];
    const group = ip('239.1.2.3');
    const r2 = listen(h2.stack, 5353);
    r2.addMembership(group, h2.iface);
    const r3 = listen(h3.stack, 5353);
    r3.addMembership(group, h3.iface);
    assert.throws(() => r3.addMembership(group, h3.iface), { code: 'EADDRINUSE' });
    assert.throws(() => r3.addMembership(ip('10.0.0.1'), h3.iface), { code: 'EINVAL' });
    // A listener on the sender's host, joined on the outgoing interface.
    const local = listen(h1.stack, 5353);
    local.addMembership(group, h1.iface);
    const s = h1.stack.udp.open();
    // No route to 239/8 without a default route: the interface must be given.
    assert.throws(() => s.send(text('x'), group, 5353), { code: 'ENETUNREACH' });
    s.setMulticastInterface(h1.iface);
    s.setMulticastTtl(5);
    s.send(text('first'), group, 5353);
    sim.advance(10_000);
    const d2 = r2.recv()!;
    assert.deepEqual([str(d2.data), d2.ttl, d2.dst], ['first', 5, group]);
    assert.deepEqual(drain(r3), ['first']);
    // Looped back to this host, through lo, in a later entry.
    const looped = local.recv()!;
    assert.deepEqual([str(looped.data), looped.iface.name, looped.address], ['first', 'lo', h1.ip]);
    // h3 leaves; loopback off.
    r3.dropMembership(group, h3.iface);
    assert.throws(() => r3.dropMembership(group), { code: 'EADDRNOTAVAIL' });
    s.setMulticastLoopback(false);
    s.send(text('second'), group, 5353);
    sim.advance(10_000);
    assert.deepEqual(drain(r2), ['second']);
    assert.deepEqual(drain(r3), []);
    assert.deepEqual(drain(local), []);
    assert.ok(h3.stack.counters.value('ipv4.rx.drop.not-for-us') >= 1);
    // Closing a socket leaves its groups.
    r2.close();
    assert.equal(h2.stack.ipv4.isMember(h2.iface, group), false);
    // Memberships per socket are bounded.
    const many = h2.stack.udp.open();
    for (let i = 0; i < MAX_MEMBERSHIPS; i++) many.addMembership(ip(`239.0.0.${i + 1}`), h2.iface);
    assert.throws(() => many.addMembership(ip('239.0.1.1'), h2.iface), { code: 'ENOBUFS' });
  });

  test('a flood overfills the receive queue: exact drops, counted per socket and per stack', () => {
    const { sim, a, b } = twoHosts(12);
    const server = listen(b.stack, 7000);
    const c = a.stack.udp.open();
    // Resolve ARP first, so that nothing waits in the neighbor queue.
    c.send(text('warm-up'), b.ip, 7000);
    assert.ok(sim.runUntil(() => server.queued === 1, 5000));
    server.recv();
    const size = 100;
    server.setRecvBufferSize(10_000);
    let readable = 0;
    server.onReadable = () => readable++;
    a.stack.run(() => {
      for (let i = 0; i < 100; i++) c.send(new Uint8Array(size).fill(i), b.ip, 7000);
    });
    sim.advance(10_000);
    const fits = Math.floor(10_000 / (size + DATAGRAM_OVERHEAD));
    assert.equal(server.queued, fits);
    assert.equal(server.drops, 100 - fits);
    assert.equal(b.stack.counters.value('udp.rx.drop.rcvbuf-full'), 100 - fits);
    assert.equal(readable, 1);
    // What stayed are the first ones, in order; reading makes room again.
    const first = [...Array(fits)].map(() => server.recv()!.data[0]);
    assert.deepEqual(first, [...Array(fits).keys()]);
    c.send(new Uint8Array(size), b.ip, 7000);
    sim.advance(10_000);
    assert.equal(server.queued, 1);
    assert.equal(readable, 2);
  });

  test('large datagrams are fragmented and reassembled, directly and across a small-MTU hop', () => {
    const { sim, a, b } = twoHosts(13);
    const server = listen(b.stack, 7000);
    const big = new Uint8Array(60000).map((_, i) => (i * 7) & 0xff);
    a.stack.udp.open().send(big, b.ip, 7000);
    assert.ok(sim.runUntil(() => server.queued === 1, 5000));
    assert.deepEqual(server.recv()!.data, big);
    assert.equal(a.stack.counters.value('ipv4.tx.fragments'), Math.ceil(60008 / 1480));
    const r = routed(14, { mtu2: 576 });
    const far = listen(r.b.stack, 7000);
    r.a.stack.udp.open().send(big, r.b.ip, 7000);
    assert.ok(r.sim.runUntil(() => far.queued === 1, 5000));
    assert.deepEqual(far.recv()!.data, big);
    // The limits: 65507 bytes, and the send buffer.
    const s = a.stack.udp.open();
    assert.throws(() => s.send(new Uint8Array(65508), b.ip, 7000), { code: 'EMSGSIZE' });
    s.setSendBufferSize(1000);
    assert.throws(() => s.send(new Uint8Array(1001), b.ip, 7000), { code: 'ENOBUFS' });
  });

  test('over a lossy, corrupting wire: what arrives is intact, bad checksums are counted', () => {
    const { sim, a, b } = twoHosts(15, { loss: 0.1, corrupt: 0.2 });
    const server = listen(b.stack, 7000);
    const c = a.stack.udp.open();
    const sent = 300;
    for (let i = 0; i < sent; i++)
      sim.at(i * 10, () => c.send(text(`datagram ${i} ${'x'.repeat(i % 50)}`), b.ip, 7000));
    sim.advance(60_000);
    const got = drain(server);
    assert.ok(got.length > sent * 0.5 && got.length < sent, `${got.length} of ${sent} arrived`);
    for (const g of got) {
      const i = Number(g.split(' ')[1]);
      assert.equal(g, `datagram ${i} ${'x'.repeat(i % 50)}`);
    }
    assert.equal(new Set(got).size, got.length);
    assert.ok(b.stack.counters.value('udp.rx.drop.bad-checksum') > 0);
  });

  test('links without checksums: sent as zero and accepted unverified; zero is accepted elsewhere too', () => {
    const { sim, hosts } = lan(16, 2, { noChecksums: true });
    const [h1, h2] = hosts as [Host, Host];
    const server = listen(h2.stack, 7000);
    const sums: number[] = [];
    h2.iface.addObserver((dir, f) => {
      if (dir === 'rx' && f[23] === IP_PROTOCOL_UDP) sums.push((f[40]! << 8) | f[41]!);
    });
    h1.stack.udp.open().send(text('no sum'), h2.ip, 7000);
    sim.advance(10_000);
    assert.deepEqual(drain(server), ['no sum']);
    assert.deepEqual(sums, [0]);
    // On an ordinary link, a zero checksum means "not computed" (RFC 768) and is accepted.
    const { sim: sim2, b } = twoHosts(17);
    const s2 = listen(b.stack, 7000);
    const pb = PacketBuffer.from(text('zero'), MAX_HEADROOM);
    emitUdp(pb, 1234, 7000, { kind: 'none' });
    b.iface.receive([ipFrame(b.iface, ip('10.0.0.1'), b.ip, IP_PROTOCOL_UDP, pb.bytes())]);
    sim2.advance(1000);
    assert.deepEqual(drain(s2), ['zero']);
  });

  test('malformed datagrams are counted by reason and never throw', () => {
    const { sim, a, b } = twoHosts(18);
    const server = listen(b.stack, 7000);
    const good = PacketBuffer.from(text('payload'), MAX_HEADROOM);
    emitUdp(good, 1234, 7000, { kind: 'v4', src: a.ip, dst: b.ip });
    const bytes = good.bytes();
    const badSum = bytes.slice();
    badSum[8]! ^= 0xff;
    const longLength = bytes.slice();
    longLength[5] = 200;
    const shortLength = bytes.slice();
    shortLength[4] = 0;
    shortLength[5] = 4;
    const frames = [badSum, longLength, shortLength, bytes.slice(0, 5), bytes].map((p) =>
      ipFrame(b.iface, a.ip, b.ip, IP_PROTOCOL_UDP, p),
    );
    b.iface.receive(frames);
    sim.advance(1000);
    assert.deepEqual(drain(server), ['payload']);
    const c = b.stack.counters;
    assert.deepEqual(
      ['bad-checksum', 'truncated', 'bad-length'].map((r) => c.value(`udp.rx.drop.${r}`)),
      [1, 2, 1],
    );
    // A broadcast frame addressed to a closed port is ignored without ICMP.
    const pb = PacketBuffer.from(text('x'), MAX_HEADROOM);
    emitUdp(pb, 1, 2, { kind: 'none' });
    emitIpv4(pb, { src: a.ip, dst: ip('10.0.0.255'), protocol: IP_PROTOCOL_UDP, ttl: 64 });
    emitEthernet(pb, { dst: MAC_BROADCAST, src: 0x02_00_00_00_99_99, ethertype: ETHERTYPE_IPV4 });
    b.iface.receive([pb.bytes().slice()]);
    sim.advance(1000);
    assert.equal(c.value('icmpv4.tx.errors'), 0);
  });

  test('bounds: open sockets (EMFILE), and misuse errors', () => {
    const { a, b } = twoHosts(19);
    a.stack.udp.maxSockets = 10;
    const open = Array.from({ length: 10 }, () => a.stack.udp.open());
    assert.throws(() => a.stack.udp.open(), { code: 'EMFILE' });
    assert.equal(a.stack.counters.value('udp.open.refused'), 1);
    open[0]!.close();
    a.stack.udp.open();
    assert.equal(a.stack.udp.list().length, 10);
    const s = open[1]!;
    assert.throws(() => s.send(text('x'), b.ip, 0), { code: 'EINVAL' });
    assert.throws(() => s.send(text('x'), b.ip), { code: 'EINVAL' });
    assert.throws(() => s.send(text('x'), ip('192.168.1.1'), 9), { code: 'ENETUNREACH' });
    assert.throws(() => s.connect(0, 9), { code: 'EINVAL' });
    assert.throws(() => s.setRecvBufferSize(0), { code: 'EINVAL' });
    s.setRecvBufferSize(1 << 30);
    assert.equal(s.recvBufferSize, 16 << 20);
  });

  test('to our own address and to 127.0.0.1, through loopback', () => {
    const { sim, a } = twoHosts(20);
    const server = listen(a.stack, 7000);
    const c = a.stack.udp.open();
    c.send(text('self'), a.ip, 7000);
    c.send(text('lo'), ip('127.0.0.1'), 7000);
    // Never delivered synchronously to the sender's own stack.
    assert.equal(server.queued, 0);
    sim.advance(1000);
    assert.deepEqual(drain(server), ['self', 'lo']);
    // A closed local port refuses a connected socket.
    const d = a.stack.udp.open();
    const errors: string[] = [];
    d.onError = (e) => errors.push(e.code);
    d.connect(ip('127.0.0.1'), 7001);
    d.send(text('x'));
    sim.advance(1000);
    assert.deepEqual(errors, ['ECONNREFUSED']);
  });
});
