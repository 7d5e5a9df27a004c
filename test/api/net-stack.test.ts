/**
 * `stack.net` on simulated networks, where Node's loopback cannot go: routing and neighbour
 * errors, a dead peer (ETIMEDOUT), flow control end to end, host names through the stack's
 * resolver, the module's shape.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { describe, test } from 'node:test';
import type { SystemError } from '../../src/api/errors.ts';
import { A_IP, B_IP, inWorld, type NetWorld, simWorld, until } from '../helpers/net-stacks.ts';

async function listening(server: Server, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function failure(socket: Socket): Promise<SystemError> {
  const [e] = (await once(socket, 'error').catch((x) => [x])) as [SystemError];
  return e;
}

const sim = () => simWorld(7);

describe('stack.net on a simulated network', () => {
  test('no route: ENETUNREACH; no neighbour: EHOSTUNREACH; IPv6 on a stack without it: EAFNOSUPPORT', () =>
    inWorld(sim, async ({ a }) => {
      const net = a.net;
      const noRoute = await failure(net.connect(80, '192.0.2.1'));
      assert.deepEqual(
        [noRoute.code, noRoute.syscall, noRoute.address, noRoute.port, noRoute.message],
        ['ENETUNREACH', 'connect', '192.0.2.1', 80, 'connect ENETUNREACH 192.0.2.1:80'],
      );
      const noHost = await failure(net.connect(80, '10.0.0.9'));
      assert.deepEqual(
        [noHost.code, noHost.syscall, noHost.address],
        ['EHOSTUNREACH', 'connect', '10.0.0.9'],
      );
      const v6 = await failure(net.connect(80, '::1'));
      assert.equal(v6.code, 'EAFNOSUPPORT');
    }));

  test('a peer that vanished: keepalive gives ETIMEDOUT', () =>
    inWorld(sim, async (w) => {
      const server = w.b.net.createServer((s) => s.resume());
      const port = await listening(server, B_IP);
      const c = w.a.net.connect({ port, host: B_IP, keepAlive: true, keepAliveInitialDelay: 1000 });
      await once(c, 'connect');
      w.wire!.setImpairments({ loss: 1 });
      const e = await failure(c);
      assert.deepEqual([e.code, e.syscall, e.errno], ['ETIMEDOUT', 'read', -110]);
      const [hadError] = await once(c, 'close');
      assert.equal(hadError, true);
    }));

  test('flow control end to end: a paused reader closes the window, resuming delivers everything', () =>
    inWorld(sim, async (w) => {
      let accepted: Socket | undefined;
      const server = w.b.net.createServer({ pauseOnConnect: true }, (s) => {
        accepted = s;
      });
      const port = await listening(server, B_IP);
      const c = w.a.net.connect(port, B_IP);
      const data = randomBytes(4 * 1024 * 1024);
      assert.equal(c.write(data), false, 'the stream buffers beyond its high-water mark');
      await until(() => accepted !== undefined, 'the connection');
      // The paused reader's window closes: the writer's TCP probes it (RFC 9293 3.8.6.1).
      const probes = w.a.stack!.counters.get('tcp.tx.window-probes');
      await until(() => probes.value > 0, 'zero-window probes');
      assert.equal(accepted!.bytesRead, 0, 'nothing read while paused');
      const chunks: Buffer[] = [];
      accepted!.on('data', (d: Buffer) => chunks.push(d));
      accepted!.resume();
      c.end();
      await once(accepted!, 'end');
      assert.ok(Buffer.concat(chunks).equals(data));
      assert.equal(c.bytesWritten, data.length);
    }));

  test("host names through the stack's resolver: the hosts table, then getaddrinfo errors", () =>
    inWorld(sim, async (w: NetWorld) => {
      const server = w.b.net.createServer((s) => s.end('named'));
      const port = await listening(server, B_IP);
      w.a.stack!.dns.resolver.hosts.add('server.test', B_IP);
      const c = w.a.net.connect(port, 'server.test');
      const lookups: unknown[][] = [];
      c.on('lookup', (...args) => lookups.push(args));
      c.setEncoding('utf8');
      let text = '';
      c.on('data', (d: string) => {
        text += d;
      });
      await once(c, 'end');
      assert.equal(text, 'named');
      assert.deepEqual(lookups, [[null, B_IP, 4, 'server.test']]);
      const unknown = w.a.net.connect(port, 'unknown.test');
      const e = (await failure(unknown)) as SystemError & { hostname: string };
      assert.equal(e.syscall, 'getaddrinfo');
      assert.equal(e.hostname, 'unknown.test');
    }));

  test("the module's shape: new Socket().connect, unbound createConnection, isIP, servers", () =>
    inWorld(sim, async (w) => {
      const net = w.a.net;
      assert.equal(net.isIP('10.0.0.1'), 4);
      assert.equal(net.isIPv6('::1'), true);
      const server = w.b.net.createServer().listen(() => undefined);
      await once(server, 'listening');
      const { port, address, family } = server.address() as AddressInfo;
      assert.deepEqual([address, family], ['0.0.0.0', 'IPv4']);
      assert.ok(port >= 32768 && port <= 60999, `ephemeral port ${port}`);
      const s = new net.Socket();
      assert.equal(s.pending, true);
      assert.equal(s.readyState, 'open', "as Node's: readable and writable before connecting");
      s.connect(port, B_IP);
      await once(s, 'connect');
      assert.equal(s.localAddress, A_IP);
      const { createConnection } = net;
      const t = createConnection({ port, host: B_IP, noDelay: true });
      await once(t, 'ready');
      s.destroy();
      t.destroy();
      server.close();
      await once(server, 'close');
    }));
});
