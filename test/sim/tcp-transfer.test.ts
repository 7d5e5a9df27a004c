/** TCP data transfer in simulation: lossy links over many seeds, zero window, PMTU, bulk. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { chain } from '../helpers/sim-hosts.ts';
import { collect, connectedPair, payload, sendAll, sha256 } from './tcp-helpers.ts';

const HARSH = { loss: 0.05, reorder: 0.05, duplicate: 0.01, corrupt: 0.001, delay: 100 };
const SIZE = 2 * 1024 * 1024;

describe('TCP transfer (RFC 9293 3.8, RFC 6298, RFC 6675, RFC 6937)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    test(`2 MiB each way at once under 5% loss, 5% reorder, 1% duplication, 0.1% corruption, 100 ms delay (seed ${seed})`, () => {
      const { sim, client, server, a, b } = connectedPair(seed, HARSH);
      const d1 = payload(SIZE, seed);
      const d2 = payload(SIZE, seed + 1000);
      sendAll(client, d1);
      sendAll(server, d2);
      const g1 = collect(server);
      const g2 = collect(client);
      // Never stalls: done well within this bound of virtual time.
      assert.ok(
        sim.runUntil(() => g1.ended() && g2.ended(), 300_000),
        `stalled (seed ${seed}): ${g1.bytes()} ${g2.bytes()}`,
      );
      assert.equal(sha256(g1.chunks), sha256([d1]));
      assert.equal(sha256(g2.chunks), sha256([d2]));
      assert.ok(client.info().totalRetrans > 0);
      assert.ok(
        a.stack.counters.value('tcp.rx.drop.bad-checksum') +
          b.stack.counters.value('tcp.rx.drop.bad-checksum') >=
          0,
      );
    });
  }

  test('zero window: probes with backoff while the reader stalls, transfer resumes when it reads (MUST-36, MUST-37, SHLD-29, SHLD-30)', () => {
    const { sim, client, server } = connectedPair(21, { delay: 10 });
    server.setReceiveBufferSize(8192);
    const d = payload(100_000, 5);
    sendAll(client, d);
    assert.ok(sim.runUntil(() => client.info().sndWnd < 1000 && client.info().unacked === 0, 10_000));
    const held = server.readableLength;
    assert.ok(held > 0 && held < d.length);
    const before = client.info().segsOut;
    // Hours of a closed window: the connection stays open and probes keep going, spaced out.
    sim.advance(600_000);
    const probes = client.info().segsOut - before;
    assert.ok(probes >= 5 && probes < 40, `probes ${probes}`);
    assert.equal(client.state, 'ESTABLISHED');
    const got = collect(server);
    got.chunks.push(server.read()!);
    assert.ok(sim.runUntil(() => got.ended(), 200_000));
    assert.equal(sha256(got.chunks), sha256([d]));
  });

  test('PMTU: a narrower hop answers "fragmentation needed" and the MSS comes down (RFC 1191, RFC 5927 checks)', () => {
    const { sim, a, b } = chain(22, 2, { mtus: [1500, 1000, 1500] });
    const l = b.stack.tcp.listen({ port: 80 });
    let server: TcpSocket | undefined;
    l.onConnection = () => {
      server = l.accept();
    };
    const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
    assert.ok(sim.runUntil(() => server !== undefined, 5000));
    const d = payload(500_000, 6);
    sendAll(c, d);
    const got = collect(server!);
    assert.ok(sim.runUntil(() => got.ended(), 60_000));
    assert.equal(sha256(got.chunks), sha256([d]));
    assert.ok(a.stack.counters.value('tcp.pmtu.updates') >= 1);
    assert.ok(c.info().sndMss <= 1000 - 40);
    // The segments too big for the hop are sent again at once, not after a timeout.
    assert.equal(c.info().timeouts, 0, `timeouts ${c.info().timeouts}`);
  });

  test('100 MiB one way under 0.1% loss with 10 ms delay (SHLD-18/19: delayed ACKs never throttle bulk)', () => {
    const { sim, client, server } = connectedPair(23, { loss: 0.001, delay: 10 });
    const d = payload(100 * 1024 * 1024, 7);
    sendAll(client, d, 1 << 20);
    const got = collect(server);
    assert.ok(sim.runUntil(() => got.ended(), 3_600_000));
    assert.equal(sha256(got.chunks), sha256([d]));
    // Receive auto-tuning opened the window beyond its start.
    assert.ok(server.info().rcvSpace > 128 * 1024);
  });
});
