/**
 * Interop: `stack.net` on a TAP device against Linux in a network namespace. Linux's curl fetches
 * from Node's http and https servers fed by a `stack.net` server (OpenSSL verifies our TLS),
 * Node's http client over `stack.net` fetches from a Node http server running on the Linux side,
 * and Linux refuses a closed port with a RST that `stack.net` reports as ECONNREFUSED.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, iproute2 and curl; without them the tests
 * are skipped with a loud warning (CI runs as root and installs the tools).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import '../../src/api/install.ts';
import type { Stack } from '../../src/core/stack.ts';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason } from '../helpers/netstack-cli.ts';
import { type StackInNamespace, stackInNamespace } from '../helpers/stack-in-namespace.ts';

const KERNEL = '10.220.0.1';
const STACK = '10.220.0.2';
const CERT_PATH = fileURLToPath(new URL('../fixtures/tls/cert.pem', import.meta.url));
const KEY = readFileSync(new URL('../fixtures/tls/key.pem', import.meta.url));
const CERT = readFileSync(CERT_PATH);

const SKIP = cliInteropSkipReason(['curl']);
if (SKIP !== undefined)
  console.warn(`\n!!! SKIPPING the stack.net interop tests against Linux: ${SKIP} !!!\n`);

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Answers GET /n with n bytes of a repeating pattern, their hash in x-sha256; POST with the body's hash. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const hash = createHash('sha256');
  req.on('data', (d: Buffer) => hash.update(d));
  req.on('end', () => {
    if (req.method === 'POST') {
      res.end(hash.digest('hex'));
      return;
    }
    const body = Buffer.alloc(Number(req.url!.slice(1)), 'netstack ');
    res.writeHead(200, { 'x-sha256': sha256(body), 'content-length': body.length });
    res.end(body);
  });
}

/** A node http server for the Linux side: GET /n answers n random bytes with their sha256. */
const LINUX_SERVER = `
const http = require('node:http'), crypto = require('node:crypto');
http.createServer((req, res) => {
  const body = crypto.randomBytes(Number(req.url.slice(1)));
  res.writeHead(200, { 'x-sha256': crypto.createHash('sha256').update(body).digest('hex') });
  res.end(body);
}).listen(8081, '${KERNEL}', () => console.log('ready'));`;

describe('stack.net against Linux over a TAP device', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let ns: string;
  let world: StackInNamespace | undefined;
  let stack: Stack;

  before(async () => {
    netns = new NetnsHarness();
    world = await stackInNamespace(netns, {
      name: 'net-interop',
      ipv6: 'off',
      stack4: `${STACK}/24`,
      kernel4: `${KERNEL}/24`,
    });
    ({ ns, stack } = world);
  });

  after(async () => {
    world?.close();
    await netns?.cleanup();
  });

  /** A stack.net server on our address whose connections go to `server`; resolves with its port. */
  async function feed(server: { emit(event: 'connection', socket: Socket): boolean }): Promise<number> {
    const netServer = stack.net.createServer({ allowHalfOpen: true }, (s) =>
      server.emit('connection', s as unknown as Socket),
    );
    netServer.listen(0, STACK);
    await once(netServer, 'listening');
    return (netServer.address() as AddressInfo).port;
  }

  test('curl fetches and posts to an http.Server fed by stack.net', async () => {
    const server = http.createServer(handler);
    const port = await feed(server);
    try {
      const n = 3 * 1024 * 1024;
      const { stdout } = await netns.exec(
        ns,
        'curl',
        [
          '-sS',
          '--max-time',
          '20',
          '-o',
          '/dev/null',
          '-D',
          '-',
          '-w',
          '%{size_download}',
          `http://${STACK}:${port}/${n}`,
        ],
        { timeout: 30_000 },
      );
      assert.match(stdout, /^HTTP\/1\.1 200 OK/);
      assert.match(stdout, new RegExp(`x-sha256: ${sha256(Buffer.alloc(n, 'netstack '))}`));
      assert.ok(stdout.endsWith(String(n)), stdout);
      const posted = await netns.exec(
        ns,
        'curl',
        ['-sS', '--max-time', '20', '--data-binary', '@/etc/services', `http://${STACK}:${port}/`],
        { timeout: 30_000 },
      );
      assert.equal(posted.stdout, sha256(readFileSync('/etc/services')));
    } finally {
      server.closeAllConnections();
    }
  });

  test('curl (OpenSSL) verifies and fetches from an https.Server fed by stack.net', async () => {
    const server = https.createServer({ key: KEY, cert: CERT }, handler);
    const port = await feed(server);
    try {
      const { stdout } = await netns.exec(
        ns,
        'curl',
        ['-sS', '--max-time', '20', '--cacert', CERT_PATH, `https://${STACK}:${port}/100000`],
        { timeout: 30_000 },
      );
      assert.equal(stdout, Buffer.alloc(100000, 'netstack ').toString());
    } finally {
      server.closeAllConnections();
    }
  });

  test("Node's http client over stack.net fetches from a Node server on Linux", async () => {
    const server = netns.spawn(ns, process.execPath, ['-e', LINUX_SERVER]);
    await waitFor(() => server.stdout.includes('ready'), { what: 'the Linux-side http server' });
    const agent = new http.Agent({ keepAlive: true });
    (agent as unknown as { createConnection: typeof stack.net.createConnection }).createConnection =
      stack.net.createConnection;
    try {
      for (const n of [10, 2 * 1024 * 1024]) {
        const [body, header] = await new Promise<[Buffer, string]>((resolve, reject) => {
          http
            .get({ host: KERNEL, port: 8081, path: `/${n}`, agent }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (d: Buffer) => chunks.push(d));
              res.on('end', () => resolve([Buffer.concat(chunks), String(res.headers['x-sha256'])]));
              res.on('error', reject);
            })
            .on('error', reject);
        });
        assert.equal(body.length, n);
        assert.equal(sha256(body), header);
      }
    } finally {
      agent.destroy();
      server.kill();
    }
  });

  test('a closed port on Linux: ECONNREFUSED from its RST', async () => {
    const c = stack.net.connect(9, KERNEL);
    const [e] = (await once(c, 'error').catch((x) => [x])) as [NodeJS.ErrnoException];
    assert.equal(e.code, 'ECONNREFUSED');
    assert.equal(e.message, `connect ECONNREFUSED ${KERNEL}:9`);
  });
});
