/** TCP state machine in simulation: every transition of RFC 9293 3.3.2 Figure 5, labelled by requirement. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tcb } from '../../src/core/tcp/tcb.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { twoHosts } from '../helpers/sim-hosts.ts';
import { collect, connectedPair, payload, sendAll, sha256 } from './tcp-helpers.ts';

/** Records every state each socket's connection enters (by wrapping its `setState`). */
function trace(
  sim: { runUntil(done: () => boolean, t?: number): boolean },
  sockets: Record<string, TcpSocket>,
) {
  const seen: Record<string, string[]> = {};
  for (const [k, s] of Object.entries(sockets)) {
    const list = [s.state as string];
    seen[k] = list;
    const tcb = (s as unknown as { tcb: Tcb }).tcb;
    const setState = tcb.setState.bind(tcb);
    tcb.setState = (st) => {
      setState(st);
      if (list[list.length - 1] !== st.name) list.push(st.name);
    };
  }
  return { seen, run: (done: () => boolean, timeout: number) => sim.runUntil(done, timeout) };
}

describe('TCP states (RFC 9293 3.3.2)', () => {
  test('active and passive open, active close through TIME-WAIT for 2 MSL (MUST-13), passive close through LAST-ACK', () => {
    const { sim, a, b, client, server } = connectedPair(1);
    a.stack.tcp.msl = 30_000;
    const t = trace(sim, { client, server });
    let serverEnded = false;
    let clientClosed = false;
    server.onEnd = () => {
      serverEnded = true;
      sim.after(1000, () => server.close());
    };
    client.onClose = () => {
      clientClosed = true;
    };
    client.shutdown();
    assert.ok(t.run(() => serverEnded && client.state === 'TIME-WAIT', 5000));
    const twStart = sim.now;
    assert.ok(t.run(() => client.state === 'CLOSED', 200_000));
    assert.ok(
      sim.now - twStart >= 60_000 - 1 && sim.now - twStart <= 60_000 + 50,
      `TIME-WAIT ${sim.now - twStart}`,
    );
    assert.deepEqual(t.seen.client, ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
    assert.deepEqual(t.seen.server, ['ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
    assert.ok(sim.runUntil(() => clientClosed, 10));
    assert.equal(a.stack.tcp.connectionCount, 0);
    assert.equal(b.stack.tcp.connectionCount, 0);
  });

  test('SYN-SENT → ESTABLISHED and SYN-RECEIVED → ESTABLISHED on the handshake', () => {
    const { sim, a, b } = twoHosts(2);
    const l = b.stack.tcp.listen({ port: 80 });
    const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
    assert.equal(c.state, 'SYN-SENT');
    assert.ok(sim.runUntil(() => l.pending === 1, 1000));
    assert.ok(sim.runUntil(() => l.queued === 1, 1000));
    const s = l.accept()!;
    assert.equal(s.state, 'ESTABLISHED');
    assert.equal(c.state, 'ESTABLISHED');
    assert.equal(l.pending, 0);
  });

  test('simultaneous open: SYN-SENT → SYN-RECEIVED → ESTABLISHED on both sides (MUST-10, MUST-11)', () => {
    const { sim, a, b } = twoHosts(3);
    const ca = a.stack.tcp.connect({ address: b.ip, port: 6000, localPort: 5000 });
    const cb = b.stack.tcp.connect({ address: a.ip, port: 5000, localPort: 6000 });
    const t = trace(sim, { ca, cb });
    assert.ok(t.run(() => ca.state === 'ESTABLISHED' && cb.state === 'ESTABLISHED', 10_000));
    assert.deepEqual(t.seen.ca, ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED']);
    assert.deepEqual(t.seen.cb, ['SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED']);
    const d = payload(10_000, 1);
    sendAll(ca, d);
    const got = collect(cb);
    assert.ok(sim.runUntil(() => got.ended(), 10_000));
    assert.equal(sha256(got.chunks), sha256([d]));
  });

  test('simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT on both sides', () => {
    const { sim, client, server } = connectedPair(4);
    const t = trace(sim, { client, server });
    client.shutdown();
    server.shutdown();
    assert.ok(t.run(() => client.state === 'TIME-WAIT' && server.state === 'TIME-WAIT', 5000));
    assert.deepEqual(t.seen.client, ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
    assert.deepEqual(t.seen.server, ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
    assert.ok(t.run(() => client.state === 'CLOSED' && server.state === 'CLOSED', 300_000));
  });

  test('half-close (MAY-1): data keeps flowing to the side that sent FIN; read after FIN is EOF', () => {
    const { sim, client, server } = connectedPair(5);
    const got = collect(client);
    let serverEnd = false;
    server.onEnd = () => {
      serverEnd = true;
    };
    client.shutdown();
    assert.ok(sim.runUntil(() => serverEnd && client.state === 'FIN-WAIT-2', 5000));
    assert.throws(() => client.write(new Uint8Array(1)), { code: 'EPIPE' });
    const d = payload(300_000, 2);
    sendAll(server, d);
    assert.ok(sim.runUntil(() => got.ended(), 30_000));
    assert.equal(sha256(got.chunks), sha256([d]));
    assert.equal(client.read(), undefined);
    assert.ok(client.readableEnded);
  });

  test('connect to a closed port: RST for a segment without a connection, ECONNREFUSED; no state kept', () => {
    const { sim, a, b } = twoHosts(6);
    const c = a.stack.tcp.connect({ address: b.ip, port: 81 });
    let err: (Error & { code?: string }) | undefined;
    c.onClose = (e) => {
      err = e;
    };
    assert.ok(sim.runUntil(() => err !== undefined, 5000));
    assert.equal(err?.code, 'ECONNREFUSED');
    assert.equal(b.stack.counters.value('tcp.tx.resets'), 1);
    assert.equal(b.stack.tcp.connectionCount, 0);
    assert.equal(a.stack.tcp.connectionCount, 0);
  });

  test('close with unread data resets the connection (SHLD-3, RFC 2525 2.17); the peer sees ECONNRESET', () => {
    const { sim, client, server } = connectedPair(7);
    client.write(payload(1000, 3));
    assert.ok(sim.runUntil(() => server.readableLength === 1000, 5000));
    let err: (Error & { code?: string }) | undefined;
    client.onClose = (e) => {
      err = e;
    };
    server.close();
    assert.equal(server.state, 'CLOSED');
    assert.ok(sim.runUntil(() => err !== undefined, 5000));
    assert.equal(err?.code, 'ECONNRESET');
  });

  test('data arriving after close() is answered with RST (SHLD-3)', () => {
    const { sim, b, client, server } = connectedPair(8);
    server.close();
    assert.ok(sim.runUntil(() => client.state === 'CLOSE-WAIT', 5000));
    let err: (Error & { code?: string }) | undefined;
    client.onClose = (e) => {
      err = e;
    };
    client.write(payload(100, 4));
    assert.ok(sim.runUntil(() => err !== undefined, 5000));
    assert.equal(err?.code, 'ECONNRESET');
    assert.equal(b.stack.tcp.connectionCount, 0);
  });

  test('SO_LINGER 0: close sends RST at once; abort() too (MUST-12: the peer learns it was an abort)', () => {
    const { sim, client, server } = connectedPair(9);
    let err: (Error & { code?: string }) | undefined;
    server.onClose = (e) => {
      err = e;
    };
    client.setLinger(0);
    client.close();
    assert.ok(sim.runUntil(() => err !== undefined, 5000));
    assert.equal(err?.code, 'ECONNRESET');
    const p2 = connectedPair(10);
    let err2: (Error & { code?: string }) | undefined;
    p2.client.onClose = (e) => {
      err2 = e;
    };
    p2.server.abort();
    assert.ok(p2.sim.runUntil(() => err2 !== undefined, 5000));
    assert.equal(err2?.code, 'ECONNRESET');
  });

  test('a normal close is reported without an error (MUST-12)', () => {
    const { sim, client, server } = connectedPair(11);
    const closes: Array<Error | undefined> = [];
    server.onEnd = () => server.close();
    client.onClose = (e) => closes.push(e);
    client.shutdown();
    assert.ok(sim.runUntil(() => closes.length === 1, 300_000));
    assert.equal(closes[0], undefined);
  });

  test('listen on a port in use is EADDRINUSE; connect to multicast is EINVAL (MUST-46)', () => {
    const { a, b } = twoHosts(12);
    b.stack.tcp.listen({ port: 80 });
    assert.throws(() => b.stack.tcp.listen({ port: 80 }), { code: 'EADDRINUSE' });
    assert.throws(() => a.stack.tcp.connect({ address: 0xe0000001, port: 80 }), { code: 'EINVAL' });
  });
});
