/**
 * `stack.net` over IPv6 as Node's `net`: the same bodies over Node's own net on loopback (::1,
 * 127.0.0.1, 127.0.0.2) and over two dual-stack stacks in a Simulation (2001:db8::1/64 +
 * 10.0.0.1/24, 2001:db8::2/64 + 10.0.0.2/24), logs compared after naming addresses and ports
 * (dgram-compare.ts). Then what loopback cannot show: link-local peers with zones, http over IPv6.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import nodeNet, { type AddressInfo, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  compare,
  errorShape6,
  type Host6,
  linkLocal6,
  nodeWorld6,
  normalise6,
  simWorld6,
  type World6,
} from './dgram-compare.ts';

type Net = typeof nodeNet;
const netOf = (h: Host6): Net => (h.stack ? (h.stack.net as unknown as Net) : nodeNet);
const WORLDS = [nodeWorld6, () => simWorld6(3)];

async function listening(server: Server, ...args: unknown[]): Promise<number> {
  (server.listen as (...a: unknown[]) => Server)(...args);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** The addresses and families of both ends of a connection, named. */
function ends(w: World6, s: Socket, ports: Record<string, number>): string[] {
  const own = { ...ports, E: s.localPort! };
  return [
    normalise6(w, `${s.localAddress} ${s.localFamily} | ${s.remoteAddress} ${s.remoteFamily}`, ports),
    normalise6(w, JSON.stringify(s.address()), own),
  ];
}

/** Connects, then logs both ends from both sides; resolves once the server saw the connection. */
async function connectAndLog(
  w: World6,
  server: Server,
  options: nodeNet.NetConnectOpts,
  log: unknown[],
  ports: Record<string, number>,
): Promise<void> {
  const accepted = once(server, 'connection');
  const c = netOf(w.a).connect(options);
  await once(c, 'connect');
  const [s] = (await accepted) as [Socket];
  log.push({ client: ends(w, c, ports), server: ends(w, s, ports) });
  c.destroy();
  s.destroy();
}

async function failure(w: World6, socket: Socket, ports: Record<string, number>): Promise<unknown> {
  const [e] = (await once(socket, 'error').catch((x) => [x])) as [Error];
  return errorShape6(w, e, ports);
}

describe('stack.net over IPv6 compared with Node', () => {
  test('listen() without a host is :: dual-stack; IPv4 clients appear as ::ffff:a.b.c.d', () =>
    compare(
      WORLDS,
      async (w) => {
        const log: unknown[] = [];
        const server = netOf(w.b).createServer();
        const port = await listening(server, 0);
        const ports = { P: port };
        log.push(normalise6(w, JSON.stringify(server.address()), ports));
        await connectAndLog(w, server, { host: w.b.address4, port }, log, ports);
        await connectAndLog(w, server, { host: w.b.address, port }, log, ports);
        await connectAndLog(w, server, { host: w.b.address, port, localAddress: w.a.address }, log, ports);
        server.close();
        return log;
      },
      (log) => {
        assert.equal(log[0], '{"address":"::","family":"IPv6","port":P}');
        const v4 = log[1] as { client: string[]; server: string[] };
        assert.equal(v4.client[0], 'A4 IPv4 | B4 IPv4');
        assert.deepEqual(v4.server, [
          '::ffff:B4 IPv6 | ::ffff:A4 IPv6',
          '{"address":"::ffff:B4","family":"IPv6","port":P}',
        ]);
        assert.equal((log[2] as { server: string[] }).server[0], 'H6 IPv6 | H6 IPv6');
      },
    ));

  test("'::' with ipv6Only: IPv6 only (an IPv4 client is refused); an explicit '::' host", () =>
    compare(
      WORLDS,
      async (w) => {
        const log: unknown[] = [];
        const server = netOf(w.b).createServer();
        const port = await listening(server, { port: 0, host: '::', ipv6Only: true });
        const ports = { P: port };
        log.push(normalise6(w, JSON.stringify(server.address()), ports));
        log.push(await failure(w, netOf(w.a).connect({ host: w.b.address4, port }), ports));
        await connectAndLog(w, server, { host: w.b.address, port }, log, ports);
        server.close();
        const dual = netOf(w.b).createServer();
        const port2 = await listening(dual, 0, '::');
        log.push(normalise6(w, JSON.stringify(dual.address()), { P: port2 }));
        dual.close();
        return log;
      },
      (log) => {
        assert.equal(log[0], '{"address":"::","family":"IPv6","port":P}');
        assert.equal((log[1] as { code: string }).code, 'ECONNREFUSED');
        assert.equal(log[3], '{"address":"::","family":"IPv6","port":P}');
      },
    ));

  test('IPv6 errors as Node: EADDRINUSE, ECONNREFUSED, EADDRNOTAVAIL', () =>
    compare(
      WORLDS,
      async (w) => {
        const log: unknown[] = [];
        const s = netOf(w.b).createServer();
        const port = await listening(s, 0, w.b.address);
        const ports = { P: port };
        const clash = netOf(w.b).createServer();
        clash.listen(port, w.b.address);
        const [inUse] = (await once(clash, 'error')) as [Error];
        log.push(errorShape6(w, inUse, ports));
        s.close();
        await once(s, 'close');
        log.push(await failure(w, netOf(w.a).connect({ host: w.b.address, port }), ports));
        const foreign = netOf(w.b).createServer();
        foreign.listen(port, w.foreign);
        const [notOurs] = (await once(foreign, 'error')) as [Error];
        log.push(errorShape6(w, notOurs, ports));
        return log;
      },
      (log) => {
        assert.deepEqual(
          log.map((e) => (e as { message: string }).message),
          [
            'listen EADDRINUSE: address already in use H6:P',
            'connect ECONNREFUSED H6:P',
            'listen EADDRNOTAVAIL: address not available F6:P',
          ],
        );
      },
    ));
});

describe('stack.net over IPv6 between stacks', () => {
  test('a link-local peer with its zone: connect fe80::…%eth0, addresses keep the zone', async () => {
    const w = simWorld6(4);
    try {
      const until = async (cond: () => boolean) => {
        const end = Date.now() + 20_000;
        while (!cond()) {
          if (Date.now() > end) throw new Error('timed out');
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      await until(() => linkLocal6(w.a) !== undefined && linkLocal6(w.b) !== undefined);
      const llA = linkLocal6(w.a)!;
      const llB = linkLocal6(w.b)!;
      const server = netOf(w.b).createServer();
      const port = await listening(server, 0, `${llB}%eth0`);
      assert.deepEqual(server.address(), { address: `${llB}%eth0`, family: 'IPv6', port });
      const accepted = once(server, 'connection');
      const c = netOf(w.a).connect({ host: `${llB}%eth0`, port });
      await once(c, 'connect');
      const [s] = (await accepted) as [Socket];
      assert.deepEqual(
        [c.remoteAddress, c.remoteFamily, c.localAddress],
        [`${llB}%eth0`, 'IPv6', `${llA}%eth0`],
      );
      assert.deepEqual([s.remoteAddress, s.localAddress], [`${llA}%eth0`, `${llB}%eth0`]);
      // A link-local address without its zone: EINVAL, as Linux's bind without a scope id.
      const bare = netOf(w.b).createServer();
      bare.listen(0, llB);
      const [e] = (await once(bare, 'error')) as [{ code: string }];
      assert.equal(e.code, 'EINVAL');
      c.destroy();
      s.destroy();
      server.close();
    } finally {
      w.close();
    }
  });

  test('http over IPv6: an http.Server fed by a stack.net server on ::, clients over IPv6 and IPv4', async () => {
    const w = simWorld6(5);
    try {
      const httpServer = http.createServer((req, res) =>
        res.end(`${req.socket.remoteAddress} ${req.socket.remoteFamily}`),
      );
      const netServer = netOf(w.b).createServer((s) => httpServer.emit('connection', s));
      const port = await listening(netServer, 0);
      const get = (host: string, family?: number) =>
        new Promise<string>((resolve, reject) => {
          const req = http.get(
            {
              host,
              port,
              path: '/',
              createConnection: (o: http.ClientRequestArgs) =>
                netOf(w.a).createConnection({
                  ...o,
                  ...(family ? { family } : {}),
                } as nodeNet.NetConnectOpts),
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (d: string) => {
                body += d;
              });
              res.on('end', () => resolve(body));
            },
          );
          req.on('error', reject);
        });
      assert.equal(await get(w.b.address), `${w.a.address} IPv6`);
      assert.equal(await get(w.b.address4), `::ffff:${w.a.address4} IPv6`);
      // By name through the stack's resolver (the hosts table), AAAA and A: IPv6 first.
      w.a.stack!.dns.resolver.hosts.add('b.test', w.b.address);
      w.a.stack!.dns.resolver.hosts.add('b.test', w.b.address4);
      assert.equal(await get('b.test'), `${w.a.address} IPv6`);
      assert.equal(await get('b.test', 4), `::ffff:${w.a.address4} IPv6`);
      netServer.close();
    } finally {
      w.close();
    }
  });
});
