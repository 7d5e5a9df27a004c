/**
 * Interop: `stack.net` over IPv6 on a TAP device against Linux in a network namespace. Node's
 * `http.get` over `stack.net` fetches from a Node http server on the kernel's IPv6 address (by
 * address, and by a name with AAAA and A through Happy Eyeballs); Linux's `curl -6` (and plain
 * IPv4 curl) fetch from an http.Server fed by a `stack.net` server listening on `::` dual-stack,
 * which sees the IPv4 client as `::ffff:a.b.c.d`.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, iproute2 and curl; without them the tests
 * are skipped with a loud warning.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import '../../src/api/install.ts';
import type { Stack } from '../../src/core/stack.ts';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason } from '../helpers/netstack-cli.ts';
import { type StackInNamespace, stackInNamespace } from '../helpers/stack-in-namespace.ts';

const KERNEL6 = '2001:db8:5e::1';
const STACK6 = '2001:db8:5e::2';
const KERNEL4 = '10.222.0.1';
const STACK4 = '10.222.0.2';

const SKIP = cliInteropSkipReason(['curl']);
if (SKIP !== undefined)
  console.warn(`\n!!! SKIPPING the stack.net IPv6 interop tests against Linux: ${SKIP} !!!\n`);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A Node http server on the kernel side, on `::` (both families): GET /n answers n random bytes. */
const LINUX_SERVER = `
const http = require('node:http'), crypto = require('node:crypto');
http.createServer((req, res) => {
  const body = crypto.randomBytes(Number(req.url.slice(1)));
  res.writeHead(200, { 'x-sha256': crypto.createHash('sha256').update(body).digest('hex'),
    'x-peer': req.socket.remoteAddress });
  res.end(body);
}).listen(8082, '::', () => console.log('ready'));`;

describe('stack.net over IPv6 against Linux over a TAP device', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let world: StackInNamespace | undefined;
  let ns: string;
  let stack: Stack;

  before(async () => {
    netns = new NetnsHarness();
    world = await stackInNamespace(netns, {
      name: 'net6-interop',
      stack4: `${STACK4}/24`,
      stack6: `${STACK6}/64`,
      kernel4: `${KERNEL4}/24`,
      kernel6: `${KERNEL6}/64`,
    });
    ({ ns, stack } = world);
  });

  after(async () => {
    world?.close();
    await netns?.cleanup();
  });

  /** GETs /n from the kernel's server through stack.net; the body, its hash header and the peer seen. */
  function get(
    host: string,
    n: number,
  ): Promise<{ body: Buffer; sha: string; peer: string; remote: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        {
          host,
          port: 8082,
          path: `/${n}`,
          createConnection: (o: http.ClientRequestArgs) =>
            stack.net.createConnection(o as Parameters<typeof stack.net.createConnection>[0]),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({
              body: Buffer.concat(chunks),
              sha: String(res.headers['x-sha256']),
              peer: String(res.headers['x-peer']),
              remote: String(req.socket?.remoteAddress),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
  }

  test("Node's http.get over stack.net to a kernel server on IPv6, by address and by name", async () => {
    const server = netns.spawn(ns, process.execPath, ['-e', LINUX_SERVER]);
    try {
      await waitFor(() => server.stdout.includes('ready'), { what: 'the Linux-side http server' });
      for (const n of [10, 2 * 1024 * 1024]) {
        const r = await get(KERNEL6, n);
        assert.equal(r.body.length, n);
        assert.equal(sha256(r.body), r.sha);
        assert.equal(r.peer, STACK6, 'Linux saw our IPv6 address');
      }
      // A name with AAAA and A (the hosts table): Happy Eyeballs tries IPv6 first, and it wins.
      stack.dns.resolver.hosts.add('kernel.test', KERNEL4);
      stack.dns.resolver.hosts.add('kernel.test', KERNEL6);
      const named = await get('kernel.test', 1000);
      assert.equal(named.remote, KERNEL6);
      assert.equal(named.peer, STACK6);
      // With IPv6 dropped by Linux, IPv4 wins after the attempt delay.
      await netns.exec(ns, 'ip6tables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '8082', '-j', 'DROP']);
      const fallback = await get('kernel.test', 1000);
      assert.equal(fallback.remote, KERNEL4);
      assert.equal(fallback.peer, `::ffff:${STACK4}`);
      const stuck = stack.tcp.list().filter((c) => c.state === 'SYN-SENT');
      assert.deepEqual(stuck, [], 'the losing IPv6 attempt was cancelled');
    } finally {
      server.kill();
      await netns.exec(ns, 'ip6tables', ['-F', 'INPUT']).catch(() => undefined);
    }
  });

  test('curl -6 (and IPv4 curl) to an http.Server fed by a stack.net server on ::', async () => {
    const httpServer = http.createServer((req, res) => {
      const body = Buffer.alloc(Number(req.url!.slice(1)), 'netstack ');
      res.writeHead(200, {
        'x-peer': `${req.socket.remoteAddress} ${req.socket.remoteFamily}`,
      });
      res.end(body);
    });
    const netServer = stack.net.createServer({ allowHalfOpen: true }, (s) =>
      httpServer.emit('connection', s as unknown as Socket),
    );
    netServer.listen(0);
    await once(netServer, 'listening');
    const { address, family, port } = netServer.address() as AddressInfo;
    assert.deepEqual([address, family], ['::', 'IPv6']);
    try {
      const n = 3 * 1024 * 1024;
      // The body's SHA-256 as curl received it on standard output; the head on standard error.
      const curl = (args: string) =>
        netns.exec(
          ns,
          'sh',
          ['-c', `h=$(mktemp); curl -sS --max-time 20 -D $h ${args} | sha256sum; cat $h >&2; rm -f $h`],
          {
            timeout: 30_000,
          },
        );
      const v6 = await curl(`-6 'http://[${STACK6}]:${port}/${n}'`);
      assert.match(v6.stderr, /^HTTP\/1\.1 200 OK/);
      assert.equal(v6.stdout.split(' ')[0], sha256(Buffer.alloc(n, 'netstack ')));
      assert.match(v6.stderr, new RegExp(`x-peer: ${KERNEL6} IPv6`));
      const v4 = await curl(`http://${STACK4}:${port}/100`);
      assert.equal(v4.stdout.split(' ')[0], sha256(Buffer.alloc(100, 'netstack ')));
      assert.match(v4.stderr, new RegExp(`x-peer: ::ffff:${KERNEL4} IPv6`));
    } finally {
      httpServer.closeAllConnections();
      netServer.close();
    }
  });
});
