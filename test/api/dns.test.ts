import assert from 'node:assert/strict';
import nodeDgram from 'node:dgram';
import nodeDns from 'node:dns';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { DnsServer } from '../../src/apps/dns/server.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { Stack } from '../../src/core/stack.ts';
import { emitDns, parseDns } from '../../src/wire/dns.ts';
import { testZone } from '../sim/dns-helpers.ts';
import { errorShape, inWorld, simWorld, type World } from './worlds.ts';

/** What both resolvers are asked: [method, ...arguments]. */
const QUERIES: Array<[string, ...unknown[]]> = [
  ['resolve4', 'www.example.test'],
  ['resolve4', 'www.example.test', { ttl: true }],
  ['resolve4', 'alias2.example.test'],
  ['resolve6', 'www.example.test'],
  ['resolveCname', 'alias.example.test'],
  ['resolveTxt', 'txt.example.test'],
  ['resolveSrv', '_sip._udp.example.test'],
  ['resolveMx', 'example.test'],
  ['resolveSoa', 'example.test'],
  ['resolvePtr', '80.0.0.10.in-addr.arpa'],
  ['reverse', '10.0.0.80'],
  ['resolve', 'www.example.test', 'A'],
  ['resolve', 'txt.example.test', 'TXT'],
  ['resolve4', 'nope.example.test'],
  ['resolve6', 'v4only.example.test'],
  ['resolveTxt', 'www.other.test'],
];

type Api = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** Runs every query on `api`; results, or error shapes with the host names kept. */
async function askAll(w: World | undefined, api: Api): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [method, ...args] of QUERIES) {
    try {
      const r = await api[method]!.apply(api, args);
      // Node's order of TXT and SRV records is the server's: sort to compare sets.
      out.push([
        method,
        args[0],
        Array.isArray(r) ? [...r].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)) : r,
      ]);
    } catch (e) {
      out.push([method, args[0], w ? errorShape(w, e) : e]);
    }
  }
  return out;
}

/** A DNS server for Node's resolver: a Node UDP socket on loopback answering from the test zone. */
async function nodeZoneServer(): Promise<{ port: number; close: () => void }> {
  const zone = new DnsServer(new Simulation({ seed: 1 }).createStack(), { records: testZone(), tcp: false });
  const s = nodeDgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => {
    const q = parseDns(msg);
    if (!q.ok) return;
    s.send(emitDns(zone.answer(q.value), 0).bytes(), rinfo.port, rinfo.address);
  });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return { port: s.address().port, close: () => s.close() };
}

const STACK_WORLD: Pick<World, 'a' | 'b'> = {
  a: { dgram: nodeDgram, address: '10.0.0.1' },
  b: { dgram: nodeDgram, address: '10.0.0.2' },
};

describe('stack.dns behaves as dns.promises', () => {
  test('resolve*, reverse: the same answers and the same errors as Node over the same zone', async () => {
    const server = await nodeZoneServer();
    const resolver = new nodeDns.promises.Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([`127.0.0.1:${server.port}`]);
    const fake = { ...STACK_WORLD, name: 'node', foreign: '', close() {} } as World;
    let expected: unknown[];
    try {
      expected = await askAll(fake, resolver as unknown as Api);
    } finally {
      server.close();
    }
    assert.ok(JSON.stringify(expected).includes('10.0.0.81'));
    assert.ok(JSON.stringify(expected).includes('queryA ENOTFOUND nope.example.test'));
    assert.ok(JSON.stringify(expected).includes('queryAaaa ENODATA v4only.example.test'));
    assert.ok(JSON.stringify(expected).includes('EREFUSED'));
    const got = await inWorld(simWorld, async (w) => {
      new DnsServer(w.b.stack!, { records: testZone() });
      const dns = w.a.stack!.dns;
      dns.setServers([w.b.address]);
      return askAll(w, dns as unknown as Api);
    });
    assert.deepEqual(got, expected);
  });

  test('setServers/getServers, argument errors, lookup of literals and localhost', async () => {
    const body = async (dns: Api & { setServers(s: string[]): void; getServers(): string[] }, w: World) => {
      const log: unknown[] = [];
      const attempt = async (f: () => unknown) => {
        try {
          log.push(await f());
        } catch (e) {
          log.push(errorShape(w, e));
        }
      };
      dns.setServers(['10.0.0.53', '10.0.0.54:5353', '[2001:db8::1]:5353', '2001:db8::2', '10.0.0.53:53']);
      log.push(dns.getServers());
      await attempt(() => dns.setServers(['not-an-ip']));
      await attempt(() => dns.resolve!('www.example.test', 'BOGUS'));
      await attempt(() => dns.resolve4!(42));
      await attempt(() => dns.lookup!('10.1.2.3'));
      await attempt(() => dns.lookup!('::1', { all: true }));
      await attempt(() => dns.lookup!('localhost', 4));
      await attempt(() => dns.lookup!('localhost', { family: 'IPv4', all: true }));
      await attempt(() => dns.lookup!('', { all: true }));
      await attempt(() => dns.lookup!('', 6));
      await attempt(() => dns.lookup!('x', { family: 5 }));
      await attempt(() => dns.lookup!(42));
      await attempt(() => dns.reverse!('not-an-ip'));
      return log;
    };
    const fake = { ...STACK_WORLD, name: 'node', foreign: '', close() {} } as World;
    // Node's Resolver has no lookup: it is taken from the module.
    const nodeLog = await body(
      Object.assign(Object.create(nodeDns.promises), {
        ...bindAll(new nodeDns.promises.Resolver()),
        lookup: nodeDns.promises.lookup,
      }) as never,
      fake,
    );
    const stackLog = await inWorld(simWorld, async (w) => body(w.a.stack!.dns as never, w));
    assert.deepEqual(stackLog, nodeLog);
    assert.ok(JSON.stringify(nodeLog).includes('ERR_INVALID_IP_ADDRESS'));
  });
});

/** The methods of a Node Resolver, bound to it. */
function bindAll(r: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.getOwnPropertyNames(Object.getPrototypeOf(r))) {
    const v = (r as Record<string, unknown>)[k];
    if (typeof v === 'function' && k !== 'constructor') out[k] = v.bind(r);
  }
  return out;
}

describe('stack.dns on the stack only', () => {
  test('lookup: search domains, errors shaped as getaddrinfo (ENOTFOUND, EAI_AGAIN), order', async () => {
    await inWorld(simWorld, async (w) => {
      new DnsServer(w.b.stack!, { records: testZone() });
      const dns = (w.a.stack as Stack).dns;
      dns.setServers([w.b.address]);
      dns.resolver.configure({ search: ['example.test'] });
      assert.deepEqual(await dns.lookup('www'), { address: '10.0.0.80', family: 4 });
      assert.deepEqual(await dns.lookup('www', { all: true, order: 'ipv6first' }), [
        { address: '2001:db8::80', family: 6 },
        { address: '10.0.0.80', family: 4 },
        { address: '10.0.0.81', family: 4 },
      ]);
      await assert.rejects(dns.lookup('nope.example.test'), {
        code: 'ENOTFOUND',
        errno: -3008,
        syscall: 'getaddrinfo',
        hostname: 'nope.example.test',
        message: 'getaddrinfo ENOTFOUND nope.example.test',
      });
      dns.setServers(['10.0.0.77']);
      dns.resolver.configure({ timeout: 100, attempts: 1 });
      await assert.rejects(dns.lookup('other.test'), { code: 'EAI_AGAIN', errno: -3001 });
      await assert.rejects(dns.resolve4('other.test'), {
        code: 'ETIMEOUT',
        syscall: 'queryA',
        errno: undefined,
      });
      // The resolver class: its own settings, cancel.
      const r = new dns.Resolver({ timeout: 5000, tries: 1 });
      const pending = r.resolve4('slow.test');
      r.cancel();
      await assert.rejects(pending, { code: 'ECANCELLED' });
    });
  });

  test('stack.dgram resolves host names with stack.dns', async () => {
    await inWorld(simWorld, async (w) => {
      new DnsServer(w.b.stack!, {
        records: [
          ...testZone(),
          { ...testZone()[1]!, name: 'a.example.test', data: { type: 'A', address: 0x0a000001 } },
        ],
      });
      w.a.stack!.dns.setServers([w.b.address]);
      w.b.stack!.dns.setServers([w.b.address]);
      const a = w.a.dgram.createSocket('udp4');
      a.bind(0);
      await once(a, 'listening');
      const b = w.b.dgram.createSocket('udp4');
      const got = once(a, 'message');
      b.send('by name', a.address().port, 'a.example.test');
      const [msg] = await got;
      assert.equal(String(msg), 'by name');
      const err = await new Promise<Error | null>((resolve) => b.send('x', 9, 'nope.example.test', resolve));
      assert.equal((err as Error & { code: string }).code, 'ENOTFOUND');
      assert.equal(err?.message, 'getaddrinfo ENOTFOUND nope.example.test');
      a.close();
      b.close();
    });
  });
});
