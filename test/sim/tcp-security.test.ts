/** TCP under attack in simulation: SYN floods (RFC 4987), blind injections (RFC 5961). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../src/wire/tcp.ts';
import { ip, twoHosts } from '../helpers/sim-hosts.ts';
import { collect, connectedPair, injectTcp, payload, sendAll, sha256 } from './tcp-helpers.ts';

describe('TCP security (RFC 4987, RFC 5961)', () => {
  test('SYN flood from spoofed sources: bounded SYN queue, SYN cookies, legitimate connects still succeed', () => {
    const { sim, a, b } = twoHosts(31);
    const l = b.stack.tcp.listen({ port: 80, backlog: 16 });
    const accepted: TcpSocket[] = [];
    l.onConnection = () => {
      for (let s = l.accept(); s; s = l.accept()) accepted.push(s);
    };
    // 2000 SYNs from addresses that do not answer (10.0.0.100-...): the SYN-ACKs go nowhere.
    for (let i = 0; i < 2000; i++) {
      injectTcp(a, b, ip('10.0.0.100') + (i % 100), {
        srcPort: 1024 + i,
        dstPort: 80,
        seqNumber: i * 7919,
        flags: TCP_SYN,
        options: { mss: 1460 },
      });
    }
    sim.advance(10);
    assert.ok(l.pending <= 16, `SYN queue ${l.pending}`);
    assert.ok(b.stack.counters.value('tcp.syncookies.sent') >= 1900);
    assert.ok(b.stack.tcp.connectionCount <= 16);
    // Legitimate clients during the flood get through (by cookie when the queue is full).
    const clients = Array.from({ length: 5 }, () => a.stack.tcp.connect({ address: b.ip, port: 80 }));
    assert.ok(sim.runUntil(() => accepted.length === 5, 10_000));
    assert.ok(clients.every((c) => c.state === 'ESTABLISHED'));
    assert.ok(b.stack.counters.value('tcp.syncookies.valid') >= 1);
    // A cookie connection carries data both ways with the options kept in the timestamp.
    const d = payload(200_000, 1);
    const s = accepted.find((x) => x.info().sack) ?? accepted[0]!;
    const c = clients.find((x) => x.localPort === s.remotePort)!;
    sendAll(c, d);
    const got = collect(s);
    assert.ok(sim.runUntil(() => got.ended(), 30_000));
    assert.equal(sha256(got.chunks), sha256([d]));
  });

  test('forged cookie ACKs are refused with RST and create nothing', () => {
    const { sim, a, b } = twoHosts(32);
    const l = b.stack.tcp.listen({ port: 80, backlog: 1 });
    for (let i = 0; i < 20; i++) {
      injectTcp(a, b, ip('10.0.0.100'), { srcPort: 2000 + i, dstPort: 80, seqNumber: 1, flags: TCP_SYN });
    }
    sim.advance(10);
    for (let i = 0; i < 100; i++) {
      injectTcp(a, b, ip('10.0.0.101'), {
        srcPort: 3000 + i,
        dstPort: 80,
        seqNumber: 2,
        ackNumber: i * 12345,
        flags: TCP_ACK,
      });
    }
    sim.advance(10);
    assert.equal(l.queued, 0);
    assert.ok(b.stack.counters.value('tcp.syncookies.failed') >= 100);
  });

  test('blind RST in the window but not at RCV.NXT gets a challenge ACK; the connection survives (RFC 5961 3)', () => {
    const { sim, a, b, client, server } = connectedPair(33);
    const rcvNxt = (server as unknown as { tcb: { rcvNxt: number } }).tcb.rcvNxt;
    for (let k = 1; k <= 10; k++) {
      injectTcp(a, b, a.ip, {
        srcPort: client.localPort,
        dstPort: 80,
        seqNumber: rcvNxt + k * 1000,
        flags: TCP_RST,
      });
    }
    // Out of the window: dropped silently.
    injectTcp(a, b, a.ip, {
      srcPort: client.localPort,
      dstPort: 80,
      seqNumber: rcvNxt + 0x40000000,
      flags: TCP_RST,
    });
    sim.advance(100);
    assert.equal(server.state, 'ESTABLISHED');
    assert.equal(b.stack.counters.value('tcp.tx.challenge-acks'), 10);
    assert.equal(b.stack.counters.value('tcp.rx.drop.rst-out-of-window'), 1);
    // The exact sequence number resets (what a real peer's RST carries).
    injectTcp(a, b, a.ip, { srcPort: client.localPort, dstPort: 80, seqNumber: rcvNxt, flags: TCP_RST });
    sim.advance(10);
    assert.equal(server.state, 'CLOSED');
  });

  test('blind SYN on an established connection gets a challenge ACK (RFC 5961 4)', () => {
    const { sim, a, b, client, server } = connectedPair(34);
    injectTcp(a, b, a.ip, { srcPort: client.localPort, dstPort: 80, seqNumber: 12345, flags: TCP_SYN });
    sim.advance(100);
    assert.equal(server.state, 'ESTABLISHED');
    assert.equal(b.stack.counters.value('tcp.rx.drop.syn-challenged'), 1);
    assert.equal(b.stack.counters.value('tcp.tx.challenge-acks'), 1);
  });

  test('blind data with an unacceptable ACK is dropped, not delivered (RFC 5961 5)', () => {
    const { sim, a, b, client, server } = connectedPair(35);
    const tcb = (server as unknown as { tcb: { rcvNxt: number; sndUna: number } }).tcb;
    injectTcp(
      a,
      b,
      a.ip,
      {
        srcPort: client.localPort,
        dstPort: 80,
        seqNumber: tcb.rcvNxt,
        ackNumber: (tcb.sndUna + 0x7000_0000) >>> 0,
        flags: TCP_ACK,
      },
      new TextEncoder().encode('evil'),
    );
    sim.advance(100);
    assert.equal(server.readableLength, 0);
    assert.equal(b.stack.counters.value('tcp.rx.drop.ack-challenged'), 1);
    // The real stream is intact.
    const d = payload(50_000, 2);
    sendAll(client, d);
    const got = collect(server);
    assert.ok(sim.runUntil(() => got.ended(), 10_000));
    assert.equal(sha256(got.chunks), sha256([d]));
  });

  test('challenge ACKs are rate limited (1000 per second, as Linux)', () => {
    const { sim, a, b, client } = connectedPair(36);
    for (let i = 0; i < 3000; i++) {
      injectTcp(a, b, a.ip, { srcPort: client.localPort, dstPort: 80, seqNumber: i, flags: TCP_SYN });
    }
    sim.advance(10);
    assert.equal(b.stack.counters.value('tcp.tx.challenge-acks'), 1000);
    assert.ok(b.stack.counters.value('tcp.tx.challenge-acks-limited') >= 2000);
  });

  test('segments for no connection get a RST and leave no state (RFC 9293 3.10.7.1)', () => {
    const { sim, a, b } = twoHosts(37);
    for (let i = 0; i < 500; i++) {
      injectTcp(a, b, a.ip, {
        srcPort: 4000 + i,
        dstPort: 9,
        seqNumber: i,
        ackNumber: i,
        flags: i % 2 ? TCP_ACK : TCP_SYN,
      });
    }
    sim.advance(10);
    assert.equal(b.stack.counters.value('tcp.tx.resets'), 500);
    assert.equal(b.stack.tcp.connectionCount, 0);
  });
});
