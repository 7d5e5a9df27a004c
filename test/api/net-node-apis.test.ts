/**
 * Unchanged Node code over `stack.net` between two stacks, in a Simulation and on Node's clock:
 * Node's http (a request with `createConnection`, an Agent with keep-alive), https and
 * `tls.connect({ socket })` with a self-signed certificate, http2 over TLS, undici with a custom
 * `connect`, and ws client and server. Each server is Node's own, fed by a `stack.net` server
 * (`netServer.on('connection', (s) => server.emit('connection', s))`).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { Client } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { B_IP, inWorld, type NetWorld, realtimeWorld, simWorld } from '../helpers/net-stacks.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const KEY = fixture('key.pem');
const CERT = fixture('cert.pem');
const SERVERNAME = 'netstack.test';

/**
 * A `stack.net` server on b whose connections go to `server`; resolves with its port. Half-open
 * as Node's http.Server makes its own connections, and as TLS needs: Node's tls takes over a
 * net.Socket's handle (its stream never ends itself), while it reads a stack.net socket as a
 * stream, which would otherwise end our side at the peer's FIN, before TLS wrote what it still has.
 */
async function feed(
  w: NetWorld,
  server: { emit(event: 'connection', socket: Socket): boolean },
): Promise<number> {
  const netServer = w.b.net.createServer({ allowHalfOpen: true }, (s) => server.emit('connection', s));
  netServer.listen(0, w.b.address);
  await once(netServer, 'listening');
  return (netServer.address() as AddressInfo).port;
}

/** A connection from a to b's `port`, as Node's `net.connect` would make it. */
function dial(w: NetWorld, port: number): Socket {
  return w.a.net.connect(port, B_IP);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** An http handler: GET /big?n answers n random bytes with their hash in a header; POST echoes a hash. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'GET' && url.pathname === '/big') {
    const body = randomBytes(Number(url.searchParams.get('n')));
    res.writeHead(200, { 'x-sha256': sha256(body), 'content-length': body.length });
    res.end(body);
    return;
  }
  const hash = createHash('sha256');
  let n = 0;
  req.on('data', (d: Buffer) => {
    hash.update(d);
    n += d.length;
  });
  req.on('end', () =>
    res.end(JSON.stringify({ bytes: n, sha256: hash.digest('hex'), port: req.socket.remotePort })),
  );
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

const MiB = 1024 * 1024;

// Named here: making a world just for its name would leave its pump or clock running.
for (const [name, make] of [
  ['simulation', () => simWorld()],
  ['real-time', () => realtimeWorld()],
] as const) {
  describe(`Node libraries over stack.net (${name})`, () => {
    test('http.request with createConnection: 3 MiB up and 3 MiB down', () =>
      inWorld(make, async (w) => {
        const server = http.createServer(handler);
        const port = await feed(w, server);
        const upload = randomBytes(3 * MiB);
        const posted = await new Promise<Buffer>((resolve, reject) => {
          const req = http.request(
            { host: SERVERNAME, port, method: 'POST', path: '/', createConnection: () => dial(w, port) },
            (res) => readAll(res).then(resolve, reject),
          );
          req.on('error', reject);
          req.end(upload);
        });
        const answer = JSON.parse(posted.toString()) as { bytes: number; sha256: string };
        assert.deepEqual([answer.bytes, answer.sha256], [upload.length, sha256(upload)]);
        const [body, header] = await new Promise<[Buffer, string]>((resolve, reject) => {
          http
            .get(
              { host: SERVERNAME, port, path: `/big?n=${3 * MiB}`, createConnection: () => dial(w, port) },
              (res) => readAll(res).then((b) => resolve([b, String(res.headers['x-sha256'])]), reject),
            )
            .on('error', reject);
        });
        assert.equal(body.length, 3 * MiB);
        assert.equal(sha256(body), header);
        server.closeAllConnections();
      }));

    test('an http.Agent with keep-alive reuses one stack.net connection', () =>
      inWorld(make, async (w) => {
        const server = http.createServer(handler);
        let connections = 0;
        server.on('connection', () => connections++);
        const port = await feed(w, server);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        (agent as unknown as { createConnection: () => Socket }).createConnection = () => dial(w, port);
        const ports = new Set<number>();
        const reused: boolean[] = [];
        for (let i = 0; i < 5; i++) {
          const body = Buffer.from(`request ${i}`);
          const res = await new Promise<Buffer>((resolve, reject) => {
            const req = http.request({ host: SERVERNAME, port, method: 'POST', agent }, (r) =>
              readAll(r).then(resolve, reject),
            );
            req.on('error', reject);
            req.on('socket', () => reused.push(req.reusedSocket));
            req.end(body);
          });
          const answer = JSON.parse(res.toString()) as { bytes: number; port: number };
          assert.equal(answer.bytes, body.length);
          ports.add(answer.port);
        }
        assert.equal(connections, 1);
        assert.equal(ports.size, 1);
        assert.deepEqual(reused, [false, true, true, true, true]);
        agent.destroy();
        server.closeAllConnections();
      }));

    test('https and tls.connect({ socket }) with a self-signed certificate', () =>
      inWorld(make, async (w) => {
        const server = https.createServer({ key: KEY, cert: CERT }, handler);
        const port = await feed(w, server);
        const upload = randomBytes(MiB);
        let authorized: boolean | undefined;
        const posted = await new Promise<Buffer>((resolve, reject) => {
          const req = https.request(
            {
              host: SERVERNAME,
              port,
              method: 'POST',
              createConnection: () => {
                const s = tls.connect({ socket: dial(w, port), servername: SERVERNAME, ca: CERT });
                s.once('secureConnect', () => {
                  authorized = s.authorized;
                });
                return s;
              },
            },
            (res) => readAll(res).then(resolve, reject),
          );
          req.on('error', reject);
          req.end(upload);
        });
        const answer = JSON.parse(posted.toString()) as { bytes: number; sha256: string };
        assert.deepEqual([answer.bytes, answer.sha256], [upload.length, sha256(upload)]);
        assert.equal(authorized, true);
        // The same certificate refused without the CA: verification runs over the stack too.
        const refused = tls.connect({ socket: dial(w, port), servername: SERVERNAME });
        const [e] = (await once(refused, 'secureConnect').catch((x) => [x])) as [Error & { code?: string }];
        assert.equal(e.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
        server.closeAllConnections();
      }));

    test('tls echo server fed by stack.net', () =>
      inWorld(make, async (w) => {
        const server = tls.createServer({ key: KEY, cert: CERT }, (s) => s.pipe(s));
        const port = await feed(w, server);
        const socket = tls.connect({ socket: dial(w, port), servername: SERVERNAME, ca: CERT });
        await once(socket, 'secureConnect');
        assert.equal(socket.getPeerCertificate().subject.CN, SERVERNAME);
        const data = randomBytes(2 * MiB);
        const echoed = readAll(socket);
        socket.end(data);
        assert.equal(sha256(await echoed), sha256(data));
      }));

    test('http2 over TLS: concurrent streams on one session', () =>
      inWorld(make, async (w) => {
        const server = http2.createSecureServer({ key: KEY, cert: CERT });
        server.on('stream', (stream, headers) => {
          const n = Number(headers[':path']!.slice(1));
          stream.respond({ ':status': 200 });
          stream.end(Buffer.alloc(n, n % 251));
        });
        const port = await feed(w, server);
        const session = http2.connect(`https://${SERVERNAME}:${port}`, {
          createConnection: () =>
            tls.connect({ socket: dial(w, port), servername: SERVERNAME, ca: CERT, ALPNProtocols: ['h2'] }),
        });
        const sizes = [10, 100_000, 1_000_000];
        const bodies = await Promise.all(
          sizes.map((n) => {
            const req = session.request({ ':path': `/${n}` });
            req.end();
            return readAll(req);
          }),
        );
        for (const [i, n] of sizes.entries())
          assert.ok(bodies[i]!.equals(Buffer.alloc(n, n % 251)), `stream ${n}`);
        assert.equal(session.alpnProtocol, 'h2');
        session.close();
        await once(session, 'close');
      }));

    test('undici Client with a custom connect', () =>
      inWorld(make, async (w) => {
        const server = http.createServer(handler);
        let connections = 0;
        server.on('connection', () => connections++);
        const port = await feed(w, server);
        const client = new Client(`http://${SERVERNAME}:${port}`, {
          connect: (_options, callback) => {
            const s = dial(w, port);
            s.once('connect', () => callback(null, s));
            s.once('error', (e) => callback(e, null));
          },
        });
        try {
          for (const n of [1, 1000, 2 * MiB]) {
            const res = await client.request({ path: `/big?n=${n}`, method: 'GET' });
            const body = Buffer.from(await res.body.arrayBuffer());
            assert.equal(res.statusCode, 200);
            assert.equal(body.length, n);
            assert.equal(sha256(body), res.headers['x-sha256']);
          }
          const upload = randomBytes(MiB);
          const res = await client.request({ path: '/', method: 'POST', body: upload });
          const answer = (await res.body.json()) as { sha256: string };
          assert.equal(answer.sha256, sha256(upload));
          assert.equal(connections, 1, 'one kept-alive connection');
        } finally {
          await client.close();
          server.closeAllConnections();
        }
      }));

    test('ws client and server (handleUpgrade) over stack.net', () =>
      inWorld(make, async (w) => {
        const server = http.createServer();
        const wss = new WebSocketServer({ noServer: true });
        server.on('upgrade', (req, socket, head) =>
          wss.handleUpgrade(req, socket, head, (ws) => {
            ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
          }),
        );
        const port = await feed(w, server);
        const ws = new WebSocket(`ws://${SERVERNAME}:${port}/`, { createConnection: () => dial(w, port) });
        await once(ws, 'open');
        const replies: Array<{ data: Buffer; binary: boolean }> = [];
        ws.on('message', (data, binary) => replies.push({ data: data as Buffer, binary }));
        const big = randomBytes(MiB);
        ws.send('hello');
        ws.send(big);
        await new Promise<void>((resolve) => {
          const check = () => (replies.length >= 2 ? resolve() : setTimeout(check, 1));
          check();
        });
        assert.equal(replies[0]!.data.toString(), 'hello');
        assert.equal(replies[0]!.binary, false);
        assert.equal(sha256(replies[1]!.data), sha256(big));
        ws.close(1000, 'done');
        const [code] = await once(ws, 'close');
        assert.equal(code, 1000);
        wss.close();
      }));
  });
}
