/** TCP over IPv6 and dual-stack TCP sockets in simulation (issue 6). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrnoError } from '../../src/core/errno.ts';
import { ipToString, v4Mapped } from '../../src/core/ip-address.ts';
import { emitIcmpv6 } from '../../src/wire/icmpv6.ts';
import { Ipv6View } from '../../src/wire/ipv6.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { TCP_ACK, TCP_SYN, TcpView } from '../../src/wire/tcp.ts';
import { ipv6Frame } from '../helpers/frames6.ts';
import { ip } from '../helpers/sim-hosts.ts';
import { globalAddress, ip6, linkLocal, twoHosts6 } from './ipv6-helpers.ts';
import { collect, payload, sendAll, sha256 } from './tcp-helpers.ts';
import { acceptAll, bottleneck6, dualHosts, sendFrame, sentTcp6, tcp6Frame } from './tcp6-helpers.ts';

const HOUR = 3_600_000;

describe('TCP over IPv6 in simulation', () => {
  test('link-local handshake with the interface as scope: addresses, MSS 1440, checksum, flow label, data', () => {
    const { sim, a, ia, b, ib } = twoHosts6(1);
    const listener = b.tcp.listen({ port: 80, family: 6 });
    const accepted = acceptAll(listener);
    const packets: Ipv6View[] = [];
    ia.addObserver((dir, f) => {
      if (dir === 'tx' && f[12] === 0x86 && f[13] === 0xdd && f[20] === 6)
        packets.push(new Ipv6View(f.slice(14)));
    });
    const bLL = linkLocal(b, ib)!;
    const client = a.tcp.connect({ address: bLL, port: 80, scope: ia });
    assert.ok(
      sim.runUntil(() => accepted.length === 1 && client.state === 'ESTABLISHED', 5000),
      'handshake',
    );
    const server = accepted[0]!;
    assert.equal(client.family, 6);
    assert.equal(server.family, 6);
    assert.equal(ipToString(client.remoteAddress), ipToString(bLL));
    assert.equal(ipToString(client.localAddress), ipToString(linkLocal(a, ia)!));
    assert.equal(ipToString(server.remoteAddress), ipToString(linkLocal(a, ia)!));
    assert.equal(server.remotePort, client.localPort);
    // RFC 8200 8.3: the MSS is the MTU less 60; less the timestamp option per segment.
    assert.equal(client.info().rcvMss, 1440);
    assert.equal(server.info().rcvMss, 1440);
    assert.equal(client.info().sndMss, 1440 - 12);
    // Data both ways; the reply leaves by the interface the SYN came in on.
    const up = payload(100_000, 1);
    const down = payload(50_000, 2);
    sendAll(client, up);
    sendAll(server, down);
    const atServer = collect(server);
    const atClient = collect(client);
    assert.ok(
      sim.runUntil(() => atServer.ended() && atClient.ended(), 10_000),
      'until atServer.ended() && atClient.ended()',
    );
    assert.equal(sha256(atServer.chunks), sha256([up]));
    assert.equal(sha256(atClient.chunks), sha256([down]));
    // On the wire: checksums over the IPv6 pseudo-header, one non-zero flow label for the flow.
    assert.ok(packets.length > 10, 'packets.length > 10');
    for (const p of packets) {
      assert.ok(
        new TcpView(p.payload).verifyV6(p.src, p.dst),
        'new TcpView(p.payload).verifyV6(p.src, p.dst)',
      );
      assert.equal(p.flowLabel, packets[0]!.flowLabel);
    }
    assert.notEqual(packets[0]!.flowLabel, 0);
    assert.equal(
      a.counters.value('tcp.rx.drop.bad-checksum') + b.counters.value('tcp.rx.drop.bad-checksum'),
      0,
    );
  });

  test('bulk transfer across a router with 2% loss both ways, integrity by hash', () => {
    const loss = { loss: 0.02 };
    const { sim, a, b, bAddr } = bottleneck6(2, 1500, loss);
    const listener = b.tcp.listen({ port: 5001, family: 6 });
    const accepted = acceptAll(listener);
    const client = a.tcp.connect({ address: bAddr, port: 5001 });
    const data = payload(2 << 20, 3);
    sendAll(client, data);
    assert.ok(
      sim.runUntil(() => accepted.length === 1, 10_000),
      'until accepted.length === 1',
    );
    const got = collect(accepted[0]!);
    assert.ok(
      sim.runUntil(() => got.ended(), 600_000),
      `received ${got.bytes()}`,
    );
    assert.equal(sha256(got.chunks), sha256([data]));
    assert.ok(client.info().totalRetrans > 0, 'the loss made retransmissions');
  });

  test('a dual-stack listener takes an IPv4 client, seen as ::ffff:a.b.c.d; an IPv6 socket reaches a mapped peer over IPv4', () => {
    const { sim, a, b } = dualHosts(3);
    const listener = b.tcp.listen({ port: 80, family: 6 });
    assert.equal(ipToString(listener.address), '::');
    const accepted = acceptAll(listener);
    const v4client = a.tcp.connect({ address: ip('10.0.0.2'), port: 80 });
    assert.ok(
      sim.runUntil(() => accepted.length === 1 && v4client.state === 'ESTABLISHED', 5000),
      'IPv4 handshake',
    );
    const s = accepted[0]!;
    assert.equal(s.family, 6);
    assert.equal(ipToString(s.remoteAddress), '::ffff:10.0.0.1');
    assert.equal(ipToString(s.localAddress), '::ffff:10.0.0.2');
    assert.equal(v4client.family, 4);
    assert.equal(ipToString(v4client.remoteAddress), '10.0.0.2');
    // Over IPv4 the MSS is the MTU less 40.
    assert.equal(s.info().rcvMss, 1460);
    // An IPv6 client socket to a mapped address: the connection runs over IPv4.
    const mapped = a.tcp.connect({ address: v4Mapped(ip('10.0.0.2')), port: 80, family: 6 });
    assert.ok(
      sim.runUntil(() => accepted.length === 2 && mapped.state === 'ESTABLISHED', 5000),
      'mapped handshake',
    );
    assert.equal(ipToString(mapped.remoteAddress), '::ffff:10.0.0.2');
    assert.equal(ipToString(mapped.localAddress), '::ffff:10.0.0.1');
    assert.equal(mapped.info().rcvMss, 1460);
    // IPV6_V6ONLY forbids it.
    assert.throws(
      () => a.tcp.connect({ address: v4Mapped(ip('10.0.0.2')), port: 80, family: 6, v6Only: true }),
      { code: 'ENETUNREACH' },
    );
    // Data over the mapped connection.
    const d = payload(30_000, 4);
    sendAll(mapped, d);
    const got = collect(accepted[1]!);
    assert.ok(
      sim.runUntil(() => got.ended(), 5000),
      'until got.ended()',
    );
    assert.equal(sha256(got.chunks), sha256([d]));
  });

  test('port sharing as Linux: V6ONLY and IPv4 listeners on one port; :: without V6ONLY clashes with IPv4', () => {
    const { sim, a, ia, b, ib } = dualHosts(4);
    const only6 = b.tcp.listen({ port: 80, family: 6, v6Only: true });
    const only4 = b.tcp.listen({ port: 80 });
    const got6 = acceptAll(only6);
    const got4 = acceptAll(only4);
    const c4 = a.tcp.connect({ address: ip('10.0.0.2'), port: 80 });
    const c6 = a.tcp.connect({ address: linkLocal(b, ib)!, port: 80, scope: ia });
    assert.ok(
      sim.runUntil(() => got4.length === 1 && got6.length === 1, 5000),
      'until got4.length === 1 && got6.length === 1',
    );
    assert.equal(c4.state, 'ESTABLISHED');
    assert.equal(c6.state, 'ESTABLISHED');
    assert.equal(got4[0]!.family, 4);
    assert.equal(ipToString(got4[0]!.remoteAddress), '10.0.0.1');
    assert.equal(ipToString(got6[0]!.remoteAddress), ipToString(linkLocal(a, ia)!));
    // The overlaps Linux refuses.
    b.tcp.listen({ port: 81, family: 6 });
    assert.throws(() => b.tcp.listen({ port: 81 }), { code: 'EADDRINUSE' });
    assert.throws(() => b.tcp.listen({ port: 80, family: 6 }), { code: 'EADDRINUSE' });
    assert.throws(() => b.tcp.listen({ port: 80, address: v4Mapped(ip('10.0.0.2')), family: 6 }), {
      code: 'EADDRINUSE',
    });
    assert.throws(() => b.tcp.listen({ port: 80, address: linkLocal(b, ib)! }), { code: 'EADDRINUSE' });
    // A specific IPv4 address beside a V6ONLY wildcard is fine; a foreign address is not ours.
    b.tcp.listen({ port: 82, family: 6, v6Only: true });
    b.tcp.listen({ port: 82, address: v4Mapped(ip('10.0.0.2')), family: 6 });
    assert.throws(() => b.tcp.listen({ port: 83, address: ip6('2001:db8::5') }), { code: 'EADDRNOTAVAIL' });
    assert.throws(() => b.tcp.listen({ port: 83, family: 4, v6Only: true }), { code: 'EINVAL' });
    only4.close();
    only6.close();
    b.tcp.listen({ port: 80, family: 6 });
  });

  test('a SYN to a closed port over IPv6 is answered by RST: ECONNREFUSED', () => {
    const { sim, a, ia, b, ib } = twoHosts6(5);
    const c = a.tcp.connect({ address: linkLocal(b, ib)!, port: 9, scope: ia });
    let error: ErrnoError | undefined;
    c.onClose = (e) => {
      error = e as ErrnoError;
    };
    assert.ok(
      sim.runUntil(() => error !== undefined, 5000),
      'until error !== undefined',
    );
    assert.equal(error!.code, 'ECONNREFUSED');
    assert.equal(b.counters.value('tcp.tx.resets'), 1);
  });

  test('Packet Too Big from a 1280-byte hop: the MSS drops to 1208 and the transfer completes', () => {
    const { sim, a, ia, b, bAddr } = bottleneck6(6, 1280);
    const listener = b.tcp.listen({ port: 80, family: 6 });
    const accepted = acceptAll(listener);
    const segments = sentTcp6(ia);
    const client = a.tcp.connect({ address: bAddr, port: 80 });
    assert.ok(
      sim.runUntil(() => accepted.length === 1, 5000),
      'until accepted.length === 1',
    );
    // b's own link is 1500: it announced 1440, so a starts with full-size segments.
    assert.equal(client.info().sndMss, 1428);
    const data = payload(1 << 20, 7);
    sendAll(client, data);
    const got = collect(accepted[0]!);
    assert.ok(
      sim.runUntil(() => got.ended(), 120_000),
      `received ${got.bytes()}`,
    );
    assert.equal(sha256(got.chunks), sha256([data]));
    assert.ok(a.counters.value('tcp.pmtu.updates') >= 1, 'a.counters.value("tcp.pmtu.updates") >= 1');
    assert.ok(a.counters.value('ipv6.pmtu.updates') >= 1, 'a.counters.value("ipv6.pmtu.updates") >= 1');
    assert.equal(client.info().sndMss, 1280 - 60 - 12);
    // After the first flight, every segment fits the narrow hop.
    const big = segments.filter((s) => s.size > 1280);
    assert.ok(big.length >= 1 && big.length < 20, `${big.length} oversized segments`);
    const last = segments.slice(-200);
    assert.ok(
      last.every((s) => s.size <= 1280),
      'last.every((s) => s.size <= 1280)',
    );
    // A link-local peer needs a scope on a host of two links (the router).
    const { router } = bottleneck6(7, 1280);
    assert.throws(() => router.tcp.connect({ address: ip6('fe80::1'), port: 80 }), { code: 'EINVAL' });
  });

  test('SYN cookies over IPv6: a flood of forged SYNs, then a legitimate client gets through', () => {
    const { sim, a, ia, b, ib } = twoHosts6(8);
    const l = b.tcp.listen({ port: 80, family: 6, backlog: 16 });
    const accepted = acceptAll(l);
    const bLL = linkLocal(b, ib)!;
    for (let i = 0; i < 500; i++) {
      const src = ip6(`fe80::${(i % 50) + 1}`);
      sendFrame(
        a,
        ia,
        tcp6Frame(src, bLL, ib, {
          srcPort: 1024 + i,
          dstPort: 80,
          seqNumber: i * 7919,
          flags: TCP_SYN,
          options: { mss: 1440 },
        }),
      );
    }
    sim.advance(10);
    assert.ok(l.pending <= 16, `SYN queue ${l.pending}`);
    assert.ok(
      b.counters.value('tcp.syncookies.sent') >= 400,
      'b.counters.value("tcp.syncookies.sent") >= 400',
    );
    const client = a.tcp.connect({ address: bLL, port: 80, scope: ia });
    assert.ok(
      sim.runUntil(() => accepted.length === 1, 10_000),
      'until accepted.length === 1',
    );
    assert.equal(client.state, 'ESTABLISHED');
    assert.ok(b.counters.value('tcp.syncookies.valid') >= 1, 'b.counters.value("tcp.syncookies.valid") >= 1');
    const d = payload(100_000, 9);
    sendAll(client, d);
    const got = collect(accepted[0]!);
    assert.ok(
      sim.runUntil(() => got.ended(), 10_000),
      'until got.ended()',
    );
    assert.equal(sha256(got.chunks), sha256([d]));
  });

  test('segments from or to multicast, unspecified or IPv4-mapped addresses are dropped and counted', () => {
    const { sim, a, ia, b, ib } = twoHosts6(9);
    b.tcp.listen({ port: 80, family: 6 });
    const bLL = linkLocal(b, ib)!;
    const syn = { srcPort: 4000, dstPort: 80, flags: TCP_SYN };
    sendFrame(a, ia, tcp6Frame(ip6('::ffff:10.0.0.9'), bLL, ib, syn));
    sendFrame(a, ia, tcp6Frame(ip6('::'), bLL, ib, syn));
    sendFrame(a, ia, tcp6Frame(ip6('ff02::1'), bLL, ib, syn));
    sendFrame(a, ia, tcp6Frame(linkLocal(a, ia)!, ip6('ff02::1'), ib, syn));
    sim.advance(10);
    // The IPv6 layer drops the multicast source before TCP sees it (RFC 4291 2.7).
    assert.equal(b.counters.value('tcp.rx.drop.bad-source'), 2);
    assert.equal(b.counters.value('ipv6.rx.drop.bad-source'), 1);
    assert.equal(b.counters.value('tcp.rx.drop.not-unicast'), 1);
    assert.equal(b.counters.value('tcp.tx.segments'), 0);
    assert.equal(b.tcp.connectionCount, 0);
    // An ACK with a corrupted checksum is dropped; the same ACK intact is answered by a RST.
    const ack = { ...syn, flags: TCP_ACK, ackNumber: 5 };
    const bad = tcp6Frame(linkLocal(a, ia)!, bLL, ib, ack);
    bad[14 + 40 + 16]! ^= 0xff;
    sendFrame(a, ia, bad);
    sim.advance(10);
    assert.equal(b.counters.value('tcp.rx.drop.bad-checksum'), 1);
    assert.equal(b.counters.value('tcp.tx.resets'), 0);
    sendFrame(a, ia, tcp6Frame(linkLocal(a, ia)!, bLL, ib, ack));
    sim.advance(10);
    assert.equal(b.counters.value('tcp.tx.resets'), 1);
  });

  test('ICMPv6 errors: address unreachable is soft (the SYN goes on, the error told at the timeout); port unreachable in SYN-SENT is hard', () => {
    const { sim, a, ia, b, ib } = bottleneck6(11, 1500);
    // No host has 2001:db8:2::99: the router's address resolution fails and it answers with
    // destination unreachable, code 3 (RFC 4443 3.1), to every SYN.
    const soft = a.tcp.connect({ address: ip6('2001:db8:2::99'), port: 80 });
    let softError: ErrnoError | undefined;
    soft.onClose = (e) => {
      softError = e as ErrnoError;
    };
    assert.ok(
      sim.runUntil(() => a.counters.value('icmpv6.rx.errors') > 0, 30_000),
      'an ICMPv6 error came',
    );
    sim.advance(5000);
    assert.equal(soft.state, 'SYN-SENT', 'a soft error does not abort');
    assert.ok(
      sim.runUntil(() => softError !== undefined, HOUR),
      'the connection timed out',
    );
    assert.equal(softError!.code, 'EHOSTUNREACH');
    assert.ok(sim.now >= 180_000, `${sim.now}`);
    // A forged port unreachable quoting our SYN aborts the connection attempt (RFC 1122 4.2.3.9).
    let syn: Uint8Array | undefined;
    ia.addObserver((dir, f) => {
      if (dir === 'tx' && f[12] === 0x86 && f[13] === 0xdd && f[20] === 6) syn ??= f.slice(14);
    });
    const bAddr = globalAddress(b, ib)!;
    // b listens, so only the ICMPv6 error can refuse the connection.
    b.tcp.listen({ port: 81, family: 6 });
    const hard = a.tcp.connect({ address: bAddr, port: 81 });
    let hardError: ErrnoError | undefined;
    hard.onClose = (e) => {
      hardError = e as ErrnoError;
    };
    assert.ok(
      sim.runUntil(() => syn !== undefined, 1000),
      'the SYN was sent',
    );
    assert.equal(hard.state, 'SYN-SENT');
    const aAddr = globalAddress(a, ia)!;
    const pb = PacketBuffer.alloc(2048, 0);
    emitIcmpv6(pb, { kind: 'destination-unreachable', code: 4, invoking: syn! }, ip6('2001:db8:1::1'), aAddr);
    const frame = ipv6Frame(
      pb,
      { src: ip6('2001:db8:1::1'), dst: aAddr, nextHeader: 58, hopLimit: 64 },
      { src: 0x02_00_00_00_00_98, dst: ia.mac },
    );
    a.run(() => ia.receive([frame]));
    assert.equal(hard.state, 'CLOSED');
    sim.advance(1);
    assert.equal(hardError?.code, 'ECONNREFUSED');
  });

  test('TIME-WAIT over IPv6, and a new SYN reopening it (RFC 6191)', () => {
    const { sim, a, ia, b, ib } = twoHosts6(10);
    const l = b.tcp.listen({ port: 80, family: 6 });
    const accepted = acceptAll(l);
    const bLL = linkLocal(b, ib)!;
    const c1 = a.tcp.connect({ address: bLL, port: 80, scope: ia, localPort: 40000 });
    assert.ok(
      sim.runUntil(() => accepted.length === 1, 5000),
      'until accepted.length === 1',
    );
    // The server closes first, so the TIME-WAIT is on b.
    accepted[0]!.close();
    const got = collect(c1);
    assert.ok(
      sim.runUntil(() => got.ended(), 5000),
      'until got.ended()',
    );
    c1.close();
    assert.ok(
      sim.runUntil(() => b.tcp.timeWaitConnections === 1 && a.tcp.connectionCount === 0, 5000),
      'until b.tcp.timeWaitConnections === 1 && a.tcp.connectionCount === 0',
    );
    // A second later the new SYN's timestamp is above TS.Recent.
    sim.advance(1000);
    const c2 = a.tcp.connect({ address: bLL, port: 80, scope: ia, localPort: 40000 });
    assert.ok(
      sim.runUntil(() => accepted.length === 2 && c2.state === 'ESTABLISHED', 5000),
      'reopened',
    );
    assert.equal(b.counters.value('tcp.time-wait.reused'), 1);
  });
});
