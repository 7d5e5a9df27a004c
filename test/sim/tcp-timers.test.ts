/** TCP timers in simulation: keepalive, user timeout, retransmission give-up, TIME-WAIT reuse, ICMP. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { HOUR, MINUTE } from '../../src/core/time.ts';
import { twoHosts } from '../helpers/sim-hosts.ts';
import { connectedPair, payload } from './tcp-helpers.ts';

type Err = (Error & { code?: string }) | undefined;

describe('TCP timers (RFC 9293 3.8, RFC 5482, RFC 6191)', () => {
  test('keepalive keeps an idle connection for hours, then finds a dead peer (MUST-24..29, SHLD-12)', () => {
    const { sim, wire, a, client, server } = connectedPair(41);
    client.setKeepAlive(true, 2 * HOUR, 75_000, 9);
    sim.advance(10 * HOUR);
    assert.equal(client.state, 'ESTABLISHED');
    assert.equal(server.state, 'ESTABLISHED');
    const probes = a.stack.counters.value('tcp.tx.keepalives');
    assert.ok(probes >= 4 && probes <= 6, `probes ${probes}`);
    let err: Err;
    client.onClose = (e) => {
      err = e;
    };
    wire.setImpairments({ loss: 1 });
    const cut = sim.now;
    assert.ok(sim.runUntil(() => err !== undefined, 4 * HOUR));
    assert.equal(err?.code, 'ETIMEDOUT');
    // At most idle + 9 probes 75 s apart after the last answered one.
    assert.ok(sim.now - cut <= 2 * HOUR + 10 * 75_000 + 1000, `${sim.now - cut}`);
  });

  test('keepalive is off by default (MUST-25)', () => {
    const { sim, a } = connectedPair(42);
    sim.advance(5 * HOUR);
    assert.equal(a.stack.counters.value('tcp.tx.keepalives'), 0);
  });

  test('user timeout: unacknowledged data for longer than TCP_USER_TIMEOUT ends with ETIMEDOUT (RFC 5482, MUST-20/21)', () => {
    const { sim, wire, client } = connectedPair(43);
    client.setUserTimeout(30_000);
    let err: Err;
    client.onClose = (e) => {
      err = e;
    };
    wire.setImpairments({ loss: 1 });
    const start = sim.now;
    client.write(payload(1000, 1));
    assert.ok(sim.runUntil(() => err !== undefined, 10 * MINUTE));
    assert.equal(err?.code, 'ETIMEDOUT');
    assert.ok(sim.now - start >= 30_000 && sim.now - start <= 31_000, `${sim.now - start}`);
  });

  test('without a user timeout, retransmissions back off and give up after 15 (R2, MUST-20, SHLD-11)', () => {
    const { sim, wire, client } = connectedPair(44);
    let err: Err;
    client.onClose = (e) => {
      err = e;
    };
    wire.setImpairments({ loss: 1 });
    const start = sim.now;
    client.write(payload(1000, 1));
    assert.ok(sim.runUntil(() => err !== undefined, 2 * HOUR));
    // ARP gave up meanwhile: the soft error it reported is what the timeout tells (RFC 1122 4.2.3.9).
    assert.equal(err?.code, 'EHOSTUNREACH');
    assert.ok(sim.now - start > 100_000, 'R2 at least 100 s');
  });

  test('SYN retransmissions give up after 3 minutes at least (MUST-22, MUST-23), with the soft error seen', () => {
    const { sim, wire, a, b } = twoHosts(45);
    wire.setImpairments({ loss: 1 });
    const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
    let err: Err;
    c.onClose = (e) => {
      err = e;
    };
    assert.ok(sim.runUntil(() => err !== undefined, HOUR));
    assert.equal(err?.code, 'EHOSTUNREACH');
    assert.ok(sim.now >= 180_000, `${sim.now}`);
  });

  test('TIME-WAIT reuse: a new SYN with a higher timestamp reopens the connection (MAY-2, SHLD-4, RFC 6191)', () => {
    const { sim, a, b, client, server, listener } = connectedPair(46);
    b.stack.tcp.msl = 60_000;
    const port = client.localPort;
    // The server closes first and holds TIME-WAIT.
    client.onEnd = () => client.close();
    server.close();
    assert.ok(sim.runUntil(() => server.state === 'TIME-WAIT' && client.state === 'CLOSED', 10_000));
    sim.advance(1000);
    let second: TcpSocket | undefined;
    listener.onConnection = () => {
      second = listener.accept();
    };
    const c2 = a.stack.tcp.connect({ address: b.ip, port: 80, localPort: port });
    assert.ok(sim.runUntil(() => second !== undefined && c2.state === 'ESTABLISHED', 5000));
    assert.equal(b.stack.counters.value('tcp.time-wait.reused'), 1);
  });

  test('ICMP port unreachable during SYN-SENT is a hard error: ECONNREFUSED (RFC 1122 4.2.3.9, SHLD-26)', () => {
    const { sim, a, b } = twoHosts(47);
    // b answers TCP with ICMP port unreachable instead of RST (as a firewall's reject would).
    b.stack.ipv4.register(6, {
      receive: (p) => b.stack.icmpv4.sendError(p.ip, 3, 3),
    });
    const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
    let err: Err;
    c.onClose = (e) => {
      err = e;
    };
    assert.ok(sim.runUntil(() => err !== undefined, 5000));
    assert.equal(err?.code, 'ECONNREFUSED');
  });

  test('ICMP host unreachable is soft (MUST-56): reported only when the connection times out', () => {
    const { sim, a, b } = twoHosts(48);
    b.stack.ipv4.register(6, {
      receive: (p) => b.stack.icmpv4.sendError(p.ip, 3, 1),
    });
    const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
    let err: Err;
    c.onClose = (e) => {
      err = e;
    };
    sim.advance(10_000);
    assert.equal(c.state, 'SYN-SENT');
    assert.ok(sim.runUntil(() => err !== undefined, HOUR));
    assert.equal(err?.code, 'EHOSTUNREACH');
  });
});
