/**
 * iperf3 over two simulated stacks: our client against our server, forward, reverse (-R) and four
 * parallel streams (-P 4), on a 100 Mbit/s wire with 1 ms of delay. Every byte is accounted on both
 * ends; a second client meanwhile gets ACCESS_DENIED; the bounds on a silent connection, a stalled
 * control connection and an oversized JSON object hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Iperf3Client, type Iperf3Error, type Iperf3Report } from '../../src/apps/iperf3/client.ts';
import { COOKIE_SIZE, State } from '../../src/apps/iperf3/protocol.ts';
import type { EndReport } from '../../src/apps/iperf3/report.ts';
import { formatEnd, formatInterval } from '../../src/apps/iperf3/report.ts';
import { Iperf3Server } from '../../src/apps/iperf3/server.ts';
import { type Host, twoHosts } from '../helpers/sim-hosts.ts';

const RATE = 100e6;

function pair(seed: number) {
  const world = twoHosts(seed, { rateBitsPerSecond: RATE, delay: 1 });
  const server = new Iperf3Server(world.b.stack);
  const serverEnds: EndReport[] = [];
  const serverErrors: string[] = [];
  server.onTestEnd = (end) => serverEnds.push(end);
  server.onTestError = (message) => serverErrors.push(message);
  const stop = server.listen(5201);
  return { ...world, server, serverEnds, serverErrors, stop };
}

function runClient(
  a: Host,
  address: number,
  options: { parallel?: number; reverse?: boolean; time?: number },
) {
  const client = new Iperf3Client(a.stack, { address, time: 2, ...options });
  let report: Iperf3Report | undefined;
  let error: Iperf3Error | undefined;
  client.onDone = (r) => {
    report = r;
  };
  client.onError = (e) => {
    error = e;
  };
  client.start();
  return {
    client,
    report: () => report,
    error: () => error,
    over: () => report !== undefined || error !== undefined,
  };
}

describe('iperf3 client and server (simulation)', () => {
  for (const { name, parallel, reverse } of [
    { name: 'forward', parallel: 1, reverse: false },
    { name: '-R', parallel: 1, reverse: true },
    { name: '-P 4', parallel: 4, reverse: false },
    { name: '-R -P 4', parallel: 4, reverse: true },
  ]) {
    test(`${name}: both ends account for the bytes, the rate is the wire's`, () => {
      const { sim, a, b, serverEnds, serverErrors, server } = pair(11);
      const c = runClient(a, b.ip, { parallel, reverse });
      assert.ok(sim.runUntil(c.over, 60_000), 'the test ends');
      assert.equal(c.error(), undefined, String(c.error()?.message));
      const r = c.report()!;
      assert.ok(
        sim.runUntil(() => serverEnds.length === 1, 5_000),
        `server: ${serverErrors.join('; ')}`,
      );
      const s = serverEnds[0]!;
      assert.equal(r.start.connected.length, parallel);
      assert.deepEqual(
        r.end.streams.map((x) => x.sender.socket),
        parallel === 1 ? [1] : [1, 3, 4, 5],
        'iperf3 numbers streams 1, 3, 4, ...',
      );
      // Intervals: one a second, two of them, adding up to what the local side counted.
      assert.equal(r.intervals.length, 2);
      const local = reverse ? r.end.sum_received : r.end.sum_sent;
      assert.equal(
        r.intervals.reduce((n, i) => n + i.sum.bytes, 0),
        local.bytes,
      );
      // The two reports agree: what the client sent the server received, and the other way round.
      assert.equal(r.end.sum_sent.bytes, s.sum_sent.bytes);
      assert.equal(r.end.sum_received.bytes, s.sum_received.bytes);
      for (const [i, st] of r.end.streams.entries()) {
        assert.equal(st.sender.bytes, s.streams[i]!.sender.bytes);
        assert.equal(st.receiver.bytes, s.streams[i]!.receiver.bytes);
        assert.ok(st.receiver.bytes > 0);
        assert.ok(st.receiver.bytes <= st.sender.bytes);
      }
      // The receiver got all but what was in flight when the test ended (a bandwidth-delay product
      // and the wire's queue), at close to the wire's rate.
      const receivedRate = r.end.sum_received.bits_per_second;
      assert.ok(receivedRate > 0.85 * RATE && receivedRate <= RATE, `received at ${receivedRate}`);
      assert.equal(r.end.sum_sent.retransmits !== undefined, true);
      assert.equal(server.counters.completed.value, 1);
      assert.equal(server.busy, false);
      // The text report has iperf3's lines.
      const text = [...r.intervals.flatMap(formatInterval), ...formatEnd(r.end)].join('\n');
      assert.match(text, /\[ {2}1\] {3}0\.00-1\.00 {3}sec .* Mbits\/sec/);
      assert.match(text, /sender\n.*receiver/);
      if (parallel > 1) assert.match(text, /\[SUM\] .*sender/);
    });
  }

  test('a second client while a test runs gets ACCESS_DENIED; the first completes', () => {
    const { sim, a, b, server } = pair(12);
    const first = runClient(a, b.ip, { time: 1 });
    assert.ok(sim.runUntil(() => server.busy, 5_000));
    const second = runClient(a, b.ip, { time: 1 });
    assert.ok(sim.runUntil(second.over, 5_000));
    assert.equal(second.error()?.code, 'EBUSY');
    assert.ok(sim.runUntil(first.over, 30_000));
    assert.equal(first.error(), undefined);
    assert.equal(server.counters.denied.value, 1);
    // And the server takes the next test afterwards.
    const third = runClient(a, b.ip, { time: 1 });
    assert.ok(sim.runUntil(third.over, 30_000));
    assert.equal(third.error(), undefined);
    assert.ok(sim.runUntil(() => server.counters.completed.value === 2, 5_000));
  });

  test('a connection that never sends its cookie is dropped after the setup timeout', () => {
    const { sim, a, b, server } = pair(13);
    const s = a.stack.tcp.connect({ address: b.ip, port: 5201 });
    let closed = false;
    s.onClose = () => {
      closed = true;
    };
    assert.ok(sim.runUntil(() => closed, 20_000));
    assert.equal(b.stack.counters.value('iperf3.server.drop.cookie-timeout'), 1);
    assert.equal(server.busy, false);
  });

  test('a control connection that stalls after its cookie frees the server after the setup timeout', () => {
    const { sim, a, b, server, serverErrors } = pair(14);
    const s = a.stack.tcp.connect({ address: b.ip, port: 5201 });
    const got: number[] = [];
    s.onConnect = () => s.write(new Uint8Array(COOKIE_SIZE).fill(0x61));
    s.onReadable = () => {
      for (let d = s.read(); d; d = s.read()) got.push(...d);
    };
    assert.ok(sim.runUntil(() => server.busy, 5_000));
    assert.ok(sim.runUntil(() => !server.busy, 20_000));
    assert.deepEqual(got, [State.PARAM_EXCHANGE]);
    assert.match(serverErrors[0]!, /no progress in params/);
    assert.equal(b.stack.counters.value('iperf3.server.drop.setup-timeout'), 1);
  });

  test('an oversized parameters object ends the test at once (the length is checked first)', () => {
    const { sim, a, b, server } = pair(15);
    const s = a.stack.tcp.connect({ address: b.ip, port: 5201 });
    s.onConnect = () => {
      s.write(new Uint8Array(COOKIE_SIZE).fill(0x62));
      s.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff));
    };
    assert.ok(sim.runUntil(() => server.counters.failed.value === 1, 5_000));
    assert.equal(b.stack.counters.value('iperf3.server.drop.json-too-long'), 1);
  });

  test('UDP parameters get SERVER_ERROR (not implemented), which our client reports', () => {
    const { sim, a, b, server } = pair(16);
    const s = a.stack.tcp.connect({ address: b.ip, port: 5201 });
    const got: number[] = [];
    s.onConnect = () => {
      s.write(new Uint8Array(COOKIE_SIZE).fill(0x63));
      const body = new TextEncoder().encode('{"udp":true,"time":1,"parallel":1}');
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, body.length);
      s.write(head);
      s.write(body);
    };
    s.onReadable = () => {
      for (let d = s.read(); d; d = s.read()) got.push(...d);
    };
    assert.ok(sim.runUntil(() => server.counters.failed.value === 1 && got.length >= 10, 5_000));
    assert.deepEqual(got, [State.PARAM_EXCHANGE, 0xfe, 0, 0, 0, 13, 0, 0, 0, 0]);
  });
  test('connections waiting for their cookie are bounded: beyond maxPending they are reset and counted', () => {
    const { sim, a, b, server } = pair(17);
    const sockets = Array.from({ length: server.maxPending + 6 }, () =>
      a.stack.tcp.connect({ address: b.ip, port: 5201 }),
    );
    let reset = 0;
    for (const s of sockets)
      s.onClose = (err) => {
        if ((err as { code?: string } | undefined)?.code === 'ECONNRESET') reset++;
      };
    assert.ok(
      sim.runUntil(() => reset === 6, 5_000),
      `reset ${reset}`,
    );
    assert.equal(b.stack.counters.value('iperf3.server.drop.pending-full'), 6);
    // The others are dropped by the cookie timeout in turn, and the server serves again.
    assert.ok(
      sim.runUntil(
        () => b.stack.counters.value('iperf3.server.drop.cookie-timeout') === server.maxPending,
        20_000,
      ),
    );
    const c = runClient(a, b.ip, { time: 1 });
    assert.ok(sim.runUntil(c.over, 30_000));
    assert.equal(c.error(), undefined);
  });
  test('a client that stops early sends CLIENT_TERMINATE: the server ends the test and is free again', () => {
    const { sim, a, b, server, serverErrors } = pair(18);
    const c = runClient(a, b.ip, { time: 5, parallel: 2 });
    assert.ok(sim.runUntil(() => server.busy, 5_000));
    sim.advance(1500);
    c.client.abort();
    assert.ok(sim.runUntil(() => !server.busy, 5_000));
    assert.deepEqual(serverErrors, ['the client ended the test']);
    assert.equal(server.counters.failed.value, 1);
    assert.equal(c.report(), undefined);
  });
});
