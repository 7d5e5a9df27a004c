/** Conformance fixes found in the RFC review (docs/tcp-conformance.md), one test each. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tcb } from '../../src/core/tcp/tcb.ts';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.ts';
import { ip, twoHosts } from '../helpers/sim-hosts.ts';
import { collect, connectedPair, injectTcp, payload, sendAll } from './tcp-helpers.ts';

describe('TCP conformance fixes', () => {
  test('a zero receive window still takes the ACK of a segment at RCV.NXT; its data is dropped (RFC 9293 3.10.7.4)', () => {
    const { sim, a, b, client, server } = connectedPair(81, { delay: 10 });
    server.setReceiveBufferSize(8192);
    sendAll(client, payload(100_000, 1), 65536, false);
    assert.ok(sim.runUntil(() => client.info().sndWnd === 0 && client.info().unacked === 0, 10_000));
    const st = (server as unknown as { tcb: Tcb }).tcb;
    const held = server.readableLength;
    // The server sends; before the client's ACK can come back, a segment from the client
    // arrives at RCV.NXT with one byte (a window probe as Linux sends them) and that ACK.
    server.write(payload(1000, 2));
    injectTcp(
      a,
      b,
      a.ip,
      { srcPort: client.localPort, dstPort: 80, seqNumber: st.rcvNxt, ackNumber: st.sndMax, flags: TCP_ACK },
      payload(1, 3),
    );
    sim.advance(12);
    assert.equal(st.sndUna, st.sndMax, 'the ACK was processed');
    assert.equal(server.readableLength, held, 'the byte was not taken');
    assert.equal(b.stack.counters.value('tcp.rx.drop.zero-window'), 1);
  });
});

describe('RFC 6298 5.7', () => {
  test('a handshake that needed a SYN-ACK retransmission and gave no RTT sample starts data with a 3 s RTO', () => {
    const { sim, a, b } = twoHosts(82);
    b.stack.tcp.listen({ port: 80 });
    // A peer without timestamps at an address that does not answer ARP: the first SYN-ACK never
    // leaves, the retransmission neither; the peer's ACK comes anyway after 1.5 s.
    const peer = ip('10.0.0.100');
    injectTcp(a, b, peer, {
      srcPort: 5000,
      dstPort: 80,
      seqNumber: 7000,
      flags: TCP_SYN,
      options: { mss: 1460 },
    });
    sim.advance(1500);
    const tcb = [
      ...(b.stack.tcp as unknown as { connections: { values(): Iterable<Tcb> } }).connections.values(),
    ][0]!;
    assert.equal(tcb.state.name, 'SYN-RECEIVED');
    assert.ok(tcb.backoffs >= 1);
    injectTcp(a, b, peer, {
      srcPort: 5000,
      dstPort: 80,
      seqNumber: 7001,
      ackNumber: (tcb.iss + 1) >>> 0,
      flags: TCP_ACK,
    });
    sim.advance(10);
    assert.equal(tcb.state.name, 'ESTABLISHED');
    assert.equal(tcb.rtt.srtt, undefined);
    assert.equal(tcb.rtt.rto, 3000);
  });
});

describe('RFC 5681 4.1', () => {
  test('restart after idle counts data sent, not ACKs: a sender that only ACKed for over an RTO restarts from the initial window', () => {
    const { sim, client, server } = connectedPair(83, { delay: 10 });
    const got = collect(server);
    sendAll(client, payload(2_000_000, 1), 65536, false);
    assert.ok(sim.runUntil(() => got.bytes() === 2_000_000, 30_000));
    assert.ok(client.info().cwnd > 20 * client.info().sndMss, `cwnd ${client.info().cwnd}`);
    // For 2 s the client only receives (and ACKs) what the server sends now and then.
    const back = collect(client);
    for (let t = 0; t < 2000; t += 50) sim.after(t, () => server.write(payload(500, t)));
    sim.advance(2100);
    assert.ok(back.bytes() > 0);
    client.write(payload(200_000, 2));
    assert.ok(client.info().cwnd <= 10 * client.info().sndMss, `cwnd ${client.info().cwnd}`);
  });
});
