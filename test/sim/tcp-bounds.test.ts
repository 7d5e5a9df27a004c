/** Every TCP table and queue has a bound, a counter of what the bound refused, and a flood test. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tcb } from '../../src/core/tcp/tcb.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { TCP_ACK } from '../../src/wire/tcp.ts';
import { twoHosts } from '../helpers/sim-hosts.ts';
import { connectedPair, injectTcp, payload } from './tcp-helpers.ts';

describe('TCP bounds', () => {
  test('connection table: SYNs beyond maxConnections are dropped and counted; room made later lets the retries in', () => {
    const { sim, a, b } = twoHosts(71);
    b.stack.tcp.maxConnections = 50;
    const l = b.stack.tcp.listen({ port: 80 });
    const accepted: TcpSocket[] = [];
    l.onConnection = () => {
      for (let s = l.accept(); s; s = l.accept()) accepted.push(s);
    };
    const clients = Array.from({ length: 100 }, () => a.stack.tcp.connect({ address: b.ip, port: 80 }));
    sim.advance(500);
    assert.equal(b.stack.tcp.connectionCount, 50);
    assert.equal(accepted.length, 50);
    assert.ok(b.stack.counters.value('tcp.connections.refused') >= 50);
    assert.equal(clients.filter((c) => c.state === 'ESTABLISHED').length, 50);
    // Room again: the SYN retransmissions of the others get through.
    for (const s of accepted.splice(0)) s.abort();
    assert.ok(sim.runUntil(() => accepted.length === 50, 10_000));
  });

  test('connect beyond maxConnections throws ENOBUFS (counted)', () => {
    const { a, b } = twoHosts(72);
    a.stack.tcp.maxConnections = 5;
    for (let i = 0; i < 5; i++) a.stack.tcp.connect({ address: b.ip, port: 80 });
    assert.throws(() => a.stack.tcp.connect({ address: b.ip, port: 80 }), { code: 'ENOBUFS' });
    assert.equal(a.stack.counters.value('tcp.connections.refused'), 1);
  });

  test('TIME-WAIT flood: beyond maxTimeWait a closing connection leaves at once (after its last ACK), counted', () => {
    const { sim, a, b } = twoHosts(73);
    a.stack.tcp.maxTimeWait = 10;
    const l = b.stack.tcp.listen({ port: 80 });
    l.onConnection = () => {
      for (let s = l.accept(); s; s = l.accept()) {
        const server = s;
        server.onEnd = () => server.close();
      }
    };
    const clients = Array.from({ length: 50 }, () => a.stack.tcp.connect({ address: b.ip, port: 80 }));
    assert.ok(sim.runUntil(() => clients.every((c) => c.state === 'ESTABLISHED'), 5000));
    for (const c of clients) c.close();
    // b's side is gone once our last ACKs arrived: none of them was lost to the early exit.
    assert.ok(sim.runUntil(() => b.stack.tcp.connectionCount === 0, 5000));
    assert.equal(a.stack.tcp.timeWaitConnections, 10);
    assert.equal(a.stack.tcp.connectionCount, 10);
    assert.equal(a.stack.counters.value('tcp.time-wait.overflows'), 40);
    sim.advance(2 * a.stack.tcp.msl + 1000);
    assert.equal(a.stack.tcp.connectionCount, 0);
    assert.equal(a.stack.tcp.timeWaitConnections, 0);
  });

  test('accept queue: established connections beyond the backlog are not queued (tcp.listen.overflows)', () => {
    const { sim, a, b } = twoHosts(74);
    const l = b.stack.tcp.listen({ port: 80, backlog: 4 });
    for (let i = 0; i < 20; i++) {
      const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
      // Data after the handshake: for a SYN-cookie connection whose ACK found the queue full,
      // the data segment's retransmissions carry the cookie ACK again (RFC 4987 3.6).
      c.onConnect = () => c.write(payload(1, i));
    }
    sim.advance(3000);
    assert.equal(l.queued, 4);
    assert.ok(l.pending <= 8);
    assert.ok(b.stack.counters.value('tcp.listen.overflows') > 0);
    assert.ok(b.stack.tcp.connectionCount <= 4 + 8);
    // Accepting makes room: SYN-ACK and data retransmissions complete the others.
    let accepted = 0;
    const drain = () => {
      while (l.accept() !== undefined) accepted++;
    };
    drain();
    l.onConnection = drain;
    assert.ok(
      sim.runUntil(() => accepted === 20, 60_000),
      `${accepted}`,
    );
  });

  test('out-of-order data: a flood of one-byte segments with gaps stops at the range bound (tcp.rx.ooo-dropped)', () => {
    const { sim, a, b, client, server } = connectedPair(75);
    const st = (server as unknown as { tcb: Tcb }).tcb;
    const ct = (client as unknown as { tcb: Tcb }).tcb;
    for (let i = 1; i <= 400; i++) {
      injectTcp(
        a,
        b,
        a.ip,
        {
          srcPort: client.localPort,
          dstPort: 80,
          seqNumber: (st.rcvNxt + 2 * i) >>> 0,
          ackNumber: ct.rcvNxt,
          flags: TCP_ACK,
        },
        payload(1, i),
      );
    }
    sim.advance(10);
    assert.equal(st.receiveQueue.outOfOrderBytes, 256);
    assert.equal(b.stack.counters.value('tcp.rx.ooo-dropped'), 400 - 256);
  });

  test('send buffer: write accepts up to SO_SNDBUF and reports the rest (backpressure, no drop)', () => {
    const { client } = connectedPair(76);
    client.setSendBufferSize(10_000);
    assert.equal(client.write(payload(50_000, 1)), 10_000);
    assert.equal(client.writableLength, 0);
    assert.equal(client.write(payload(10, 2)), 0);
  });
});
