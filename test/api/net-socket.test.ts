/**
 * `stack.net` behaves as Node's `net`: every test body runs unchanged over Node's own `net` on
 * loopback, over two stacks in a Simulation and over two stacks on Node's clock, and checks the
 * same events, states, byte counts and errors in each.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { describe, test } from 'node:test';
import type { SystemError } from '../../src/api/errors.ts';
import { inWorld, type NetWorld, nodeWorld, realtimeWorld, simWorld } from '../helpers/net-stacks.ts';

// Named here: making a world just for its name would leave its pump or clock running.
const WORLDS = [
  ['node', nodeWorld],
  ['simulation', () => simWorld()],
  ['real-time', () => realtimeWorld()],
] as const;

async function listening(server: Server, host: string, port = 0): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A port nobody listens on at `host`: one that was listened on, then closed. */
async function closedPort(w: NetWorld, host: string): Promise<number> {
  const s = w.b.net.createServer();
  const port = await listening(s, host);
  s.close();
  await once(s, 'close');
  return port;
}

function collect(socket: Socket): Buffer[] {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  return chunks;
}

for (const [name, make] of WORLDS) {
  describe(`net over ${name}`, () => {
    test('echo of 3 MiB: states, addresses, byte counts and events as Node', () =>
      inWorld(make, async ({ a, b }) => {
        const server = b.net.createServer((s) => s.pipe(s));
        const port = await listening(server, b.address);
        assert.deepEqual(server.address(), { address: b.address, family: 'IPv4', port });
        const events: string[] = [];
        const c = a.net.connect({ port, host: b.address });
        assert.equal(c.connecting, true);
        assert.equal(c.pending, true);
        assert.equal(c.readyState, 'opening');
        for (const e of ['connect', 'ready', 'end', 'finish', 'close']) c.on(e, () => events.push(e));
        await once(c, 'connect');
        assert.equal(c.connecting, false);
        assert.equal(c.pending, false);
        assert.equal(c.readyState, 'open');
        assert.equal(c.remoteAddress, b.address);
        assert.equal(c.remotePort, port);
        assert.equal(c.remoteFamily, 'IPv4');
        assert.equal(c.localAddress, a.address);
        assert.equal((c.address() as AddressInfo).family, 'IPv4');
        assert.ok(c.localPort! > 0);
        const data = randomBytes(3 * 1024 * 1024);
        const chunks = collect(c);
        c.end(data);
        const [hadError] = await once(c, 'close');
        assert.equal(hadError, false);
        assert.ok(Buffer.concat(chunks).equals(data), 'the echo is the data');
        assert.equal(c.bytesRead, data.length);
        assert.equal(c.bytesWritten, data.length);
        assert.equal(c.readyState, 'closed');
        assert.deepEqual(events.slice(0, 2), ['connect', 'ready']);
        assert.deepEqual(events.slice(2).sort(), ['close', 'end', 'finish']);
        assert.equal(events.at(-1), 'close');
        server.close();
        await once(server, 'close');
      }));

    test('a port nobody listens on: ECONNREFUSED with syscall, address and port, then close(true)', () =>
      inWorld(make, async (w) => {
        const port = await closedPort(w, w.b.address);
        const c = w.a.net.connect(port, w.b.address);
        const [e] = (await once(c, 'error').catch((x) => [x])) as [SystemError];
        assert.equal(e.code, 'ECONNREFUSED');
        assert.equal(e.errno, -111);
        assert.equal(e.syscall, 'connect');
        assert.equal(e.address, w.b.address);
        assert.equal(e.port, port);
        assert.equal(e.message, `connect ECONNREFUSED ${w.b.address}:${port}`);
        const [hadError] = await once(c, 'close');
        assert.equal(hadError, true);
        assert.equal(c.destroyed, true);
      }));

    test('without allowHalfOpen our side ends after the peer FIN; a later write is EPIPE', () =>
      inWorld(make, async ({ a, b }) => {
        const server = b.net.createServer((s) => {
          s.resume();
          s.end('bye');
        });
        const port = await listening(server, b.address);
        const c = a.net.connect(port, b.address);
        const chunks = collect(c);
        const finished = once(c, 'finish');
        await once(c, 'end');
        assert.equal(Buffer.concat(chunks).toString(), 'bye');
        await finished;
        assert.equal(c.writableEnded, true);
        await once(c, 'close');
        let emitted = false;
        c.on('error', () => {
          emitted = true;
        });
        const error = await new Promise<Error & { code?: string }>((resolve) =>
          c.write('late', resolve as (e?: Error | null) => void),
        );
        assert.equal(error.message, 'This socket has been ended by the other party');
        assert.equal(emitted, false, 'a destroyed socket emits no error');
        assert.equal(error.code, 'EPIPE');
        server.close();
      }));

    test('allowHalfOpen: writing goes on after the peer FIN', () =>
      inWorld(make, async ({ a, b }) => {
        let received = '';
        const serverDone = new Promise<void>((resolve) => {
          const server = b.net.createServer((s) => {
            s.setEncoding('utf8');
            s.on('data', (d: string) => {
              received += d;
            });
            s.on('end', () => {
              server.close();
              resolve();
            });
            s.end('first');
          });
          server.listen(0, b.address, () => {
            const port = (server.address() as AddressInfo).port;
            const c = a.net.connect({ port, host: b.address, allowHalfOpen: true });
            c.resume();
            c.on('end', () => {
              assert.equal(c.readyState, 'writeOnly');
              c.end('after the end');
            });
          });
        });
        await serverDone;
        assert.equal(received, 'after the end');
      }));

    test('write after end() is ERR_STREAM_WRITE_AFTER_END', () =>
      inWorld(make, async ({ a, b }) => {
        const server = b.net.createServer((s) => s.resume());
        const port = await listening(server, b.address);
        const c = a.net.connect(port, b.address);
        await once(c, 'connect');
        c.end();
        const cbError = new Promise<Error & { code?: string }>((resolve) =>
          c.write('x', resolve as (e?: Error | null) => void),
        );
        const [e] = (await once(c, 'error').catch((x) => [x])) as [Error & { code?: string }];
        assert.equal(e.code, 'ERR_STREAM_WRITE_AFTER_END');
        assert.equal((await cbError).code, 'ERR_STREAM_WRITE_AFTER_END');
        server.close();
      }));

    test("the peer's reset (resetAndDestroy) is ECONNRESET from read", () =>
      inWorld(make, async ({ a, b }) => {
        const server = b.net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
        const port = await listening(server, b.address);
        const c = a.net.connect(port, b.address, () => c.write('hello'));
        c.resume();
        const [e] = (await once(c, 'error').catch((x) => [x])) as [NodeJS.ErrnoException];
        assert.equal(e.code, 'ECONNRESET');
        assert.equal(e.syscall, 'read');
        assert.equal(e.errno, -104);
        server.close();
      }));

    test("setTimeout emits 'timeout' only, again after new activity; 0 turns it off", () =>
      inWorld(make, async ({ a, b }) => {
        let serverSocket: Socket | undefined;
        const server = b.net.createServer((s) => {
          serverSocket = s;
          s.resume();
        });
        const port = await listening(server, b.address);
        const c = a.net.connect({ port, host: b.address, timeout: 30 });
        assert.equal(c.timeout, 30);
        // On a loaded machine the real-time handshake may outlast 30 ms (a 'timeout' while
        // connecting, as Node's); connecting is activity, so another one follows the connection.
        await once(c, 'connect');
        await once(c, 'timeout');
        assert.equal(c.destroyed, false);
        assert.equal(c.readyState, 'open');
        c.write('wake up');
        await once(c, 'timeout');
        c.setTimeout(0);
        assert.equal(c.timeout, 0);
        c.end();
        await once(c, 'close');
        assert.ok(serverSocket !== undefined);
        server.close();
      }));

    test('listen errors: EADDRINUSE and EADDRNOTAVAIL, worded as Node', () =>
      inWorld(make, async ({ b }) => {
        const first = b.net.createServer();
        const port = await listening(first, b.address);
        const second = b.net.createServer();
        second.listen(port, b.address);
        const [e] = (await once(second, 'error').catch((x) => [x])) as [NodeJS.ErrnoException];
        assert.equal(e.code, 'EADDRINUSE');
        assert.equal(e.syscall, 'listen');
        assert.equal(e.message, `listen EADDRINUSE: address already in use ${b.address}:${port}`);
        assert.equal(second.listening, false);
        const foreign = b.net.createServer();
        foreign.listen(port, '10.99.99.99');
        const [f] = (await once(foreign, 'error').catch((x) => [x])) as [NodeJS.ErrnoException];
        assert.equal(f.code, 'EADDRNOTAVAIL');
        assert.equal(f.message, `listen EADDRNOTAVAIL: address not available 10.99.99.99:${port}`);
        assert.throws(() => first.listen(0), { code: 'ERR_SERVER_ALREADY_LISTEN' });
        assert.throws(() => b.net.createServer().listen(70000), { code: 'ERR_SOCKET_BAD_PORT' });
        first.close();
      }));

    test('a local address that is not ours is EADDRNOTAVAIL from bind', () =>
      inWorld(make, async ({ a, b }) => {
        const c = a.net.connect({ port: 9, host: b.address, localAddress: '10.99.99.99' });
        const [e] = (await once(c, 'error').catch((x) => [x])) as [SystemError];
        assert.equal(e.code, 'EADDRNOTAVAIL');
        assert.equal(e.syscall, 'bind');
        assert.equal(e.address, '10.99.99.99');
        assert.throws(() => a.net.connect({ port: 9, host: b.address, localAddress: 'nope' }), {
          code: 'ERR_INVALID_IP_ADDRESS',
        });
        assert.throws(() => a.net.connect({ host: b.address } as unknown as { port: number }), {
          code: 'ERR_MISSING_ARGS',
        });
        assert.throws(() => a.net.connect({ port: -1 }), { code: 'ERR_SOCKET_BAD_PORT' });
      }));

    test('close() stops listening at once and waits for the connections; getConnections', () =>
      inWorld(make, async (w) => {
        const { a, b } = w;
        const accepted: Socket[] = [];
        const server = b.net.createServer((s) => {
          accepted.push(s);
          s.resume();
        });
        const port = await listening(server, b.address);
        const c = a.net.connect(port, b.address);
        await once(server, 'connection');
        const count = await new Promise<number>((resolve, reject) =>
          server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
        );
        assert.equal(count, 1);
        let closed = false;
        const closedCb = new Promise<Error | undefined>((resolve) =>
          server.close((e) => {
            closed = true;
            resolve(e);
          }),
        );
        assert.equal(server.listening, false);
        assert.equal(server.address(), null);
        const refused = a.net.connect(port, b.address);
        const [e] = (await once(refused, 'error').catch((x) => [x])) as [NodeJS.ErrnoException];
        assert.equal(e.code, 'ECONNREFUSED');
        assert.equal(closed, false, "no 'close' while a connection is open");
        c.end();
        assert.equal(await closedCb, undefined);
        const notRunning = await new Promise<Error | undefined>((resolve) => server.close(resolve));
        assert.equal((notRunning as Error & { code: string }).code, 'ERR_SERVER_NOT_RUNNING');
      }));

    test("maxConnections: connections beyond it are closed with a 'drop' event", () =>
      inWorld(make, async ({ a, b }) => {
        const server = b.net.createServer((s) => s.resume());
        server.maxConnections = 1;
        const drops: Array<{ remotePort: number }> = [];
        server.on('drop', (d) => drops.push(d as { remotePort: number }));
        const port = await listening(server, b.address);
        const first = a.net.connect(port, b.address);
        await once(server, 'connection');
        const second = a.net.connect(port, b.address);
        second.resume();
        await once(second, 'end');
        assert.equal(drops.length, 1);
        assert.equal(drops[0]!.remotePort, second.localPort);
        first.end();
        second.end();
        server.close();
        await once(server, 'close');
      }));

    test("connect by name: the lookup's addresses are tried in turn, with 'lookup' and attempt events", () =>
      inWorld(make, async (w) => {
        const { a, b } = w;
        // A second address on b where nothing listens (127.0.0.2 on loopback for Node).
        const other = b.stack ? '10.0.0.3' : '127.0.0.2';
        if (b.stack) b.stack.ipv4.addAddress(b.stack.getInterface('eth0')!, 0x0a000003, 24);
        const server = b.net.createServer((s) => s.end('hi'));
        const port = await listening(server, b.address);
        const lookups: unknown[][] = [];
        const attempts: unknown[][] = [];
        const failed: unknown[] = [];
        const c = a.net.connect({
          port,
          host: 'server.test',
          lookup: (host, options, cb) => {
            assert.equal(host, 'server.test');
            assert.equal((options as { all?: boolean }).all, true);
            const answer = [
              { address: other, family: 4 },
              { address: b.address, family: 4 },
            ];
            setImmediate(() => (cb as unknown as (e: null, list: object[]) => void)(null, answer));
          },
        });
        c.on('lookup', (...args) => lookups.push(args));
        c.on('connectionAttempt', (...args) => attempts.push(args));
        c.on('connectionAttemptFailed', (_ip, _port, _family, e) =>
          failed.push((e as unknown as { code: string }).code),
        );
        const chunks = collect(c);
        await once(c, 'end');
        assert.equal(Buffer.concat(chunks).toString(), 'hi');
        assert.deepEqual(lookups, [
          [null, other, 4, 'server.test'],
          [null, b.address, 4, 'server.test'],
        ]);
        assert.deepEqual(attempts, [
          [other, port, 4],
          [b.address, port, 4],
        ]);
        assert.deepEqual(failed, ['ECONNREFUSED']);
        assert.deepEqual(c.autoSelectFamilyAttemptedAddresses, [`${other}:${port}`, `${b.address}:${port}`]);
        assert.equal(c.remoteAddress, b.address);
        server.close();
      }));

    test("a failed lookup is emitted as 'lookup' and destroys the socket with its error", () =>
      inWorld(make, async ({ a }) => {
        const failure = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
        const c = a.net.connect({
          port: 80,
          host: 'nowhere.test',
          lookup: (_h, _o, cb) => setImmediate(() => (cb as unknown as (e: Error) => void)(failure)),
        });
        const lookups: unknown[][] = [];
        c.on('lookup', (...args) => lookups.push(args));
        const [e] = (await once(c, 'error').catch((x) => [x])) as [Error];
        assert.equal(e, failure);
        assert.deepEqual(lookups, [[failure, undefined, undefined, 'nowhere.test']]);
        const [hadError] = await once(c, 'close');
        assert.equal(hadError, true);
      }));
  });
}
