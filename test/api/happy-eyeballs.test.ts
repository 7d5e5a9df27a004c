/**
 * Happy Eyeballs v2 (RFC 8305) in `stack.net`, on virtual time. A client and a server joined by
 * three wires: one IPv6 (2001:db8::/64), one IPv4 (10.0.0.0/24), one for DNS (10.53.0.0/24, the
 * server's DnsServer answering `dual.test` with the server's IPv6 and IPv4 addresses). Impairing
 * one wire breaks or slows one family alone. The pure parts (interleaving, the Resolution Delay with
 * a lookup on the stack's timers) are tested apart.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { describe, test } from 'node:test';
import '../../src/api/install.ts';
import type { LookupAddress, LookupFunction } from '../../src/api/net/args.ts';
import { interleave, resolveBoth } from '../../src/api/net/happy-eyeballs.ts';
import { DnsServer, rr } from '../../src/apps/dns/server.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { VirtualWire } from '../../src/bindings/memory/virtual-wire.ts';
import type { Stack } from '../../src/core/stack.ts';
import { parseIpv6 } from '../../src/wire/address.ts';
import { configure } from '../helpers/sim-hosts.ts';
import { pumpedSimulation } from '../helpers/sim-pump.ts';

const V6 = '2001:db8::2';
const V4 = '10.0.0.2';
const NAME = 'dual.test';

interface World {
  sim: Simulation;
  client: Stack;
  server: Stack;
  wire6: VirtualWire;
  wire4: VirtualWire;
  /** Sees each DNS query first: 'drop' loses it. */
  onQuery: ((type: number) => 'drop' | undefined) | undefined;
  close(): void;
}

/** The three-wire world, pumped one simulation event per macrotask. */
function world(seed: number, delay = { v6: 5, v4: 5 }): World {
  const { sim, stop } = pumpedSimulation(seed);
  const net = new VirtualNetwork(sim);
  const wire6 = net.wire({ impairments: { delay: delay.v6 } });
  const wire4 = net.wire({ impairments: { delay: delay.v4 } });
  const wireDns = net.wire({ impairments: { delay: 1 } });
  const host = (name: string, n: number) => {
    const stack = sim.createStack({ name });
    const i6 = wire6.attach(stack, 'eth0');
    stack.ipv6!.addAddress(i6, parseIpv6(`2001:db8::${n}`)!, 64, { dad: false });
    configure(stack, wire4.attach(stack, 'eth1'), `10.0.0.${n}/24`);
    configure(stack, wireDns.attach(stack, 'eth2'), `10.53.0.${n}/24`);
    return stack;
  };
  const client = host('client', 1);
  const server = host('server', 2);
  const w: World = {
    sim,
    client,
    server,
    wire6,
    wire4,
    onQuery: undefined,
    close: stop,
  };
  new DnsServer(server, {
    records: [rr.soa('test'), rr.aaaa(NAME, V6, 60), rr.a(NAME, V4, 60)],
    tcp: false,
    handler: (q) => w.onQuery?.(q.questions[0]!.type),
  });
  client.dns.setServers(['10.53.0.2']);
  return w;
}

async function inWorld(w: World, body: (w: World) => Promise<void>): Promise<void> {
  try {
    await body(w);
  } finally {
    w.close();
  }
}

/** A dual-stack server on `::` answering "hi"; its port. */
async function serve(w: World): Promise<{ server: Server; port: number }> {
  const server = (w.server.net as unknown as typeof import('node:net')).createServer((s) => s.end('hi'));
  server.listen(0);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** What a connect did, with the virtual times of its events (ms after it began). */
interface Trace {
  events: Array<[number, string, string]>;
  socket: Socket;
}

function traced(w: World, socket: Socket): Trace {
  const t0 = w.sim.now;
  const events: Trace['events'] = [];
  const at = () => w.sim.now - t0;
  socket.on('connectionAttempt', (ip: string) => events.push([at(), 'attempt', ip]));
  socket.on('connectionAttemptFailed', (ip: string, _p: number, _f: number, e: { code: string }) =>
    events.push([at(), `failed ${e.code}`, ip]),
  );
  socket.on('connectionAttemptTimeout', (ip: string) => events.push([at(), 'delay', ip]));
  socket.on('connect', () => events.push([at(), 'connect', socket.remoteAddress!]));
  return { events, socket };
}

const connect = (w: World, options: object) =>
  (w.client.net as unknown as typeof import('node:net')).connect(options as never);

/**
 * The client's connection blocks (the TCP layer's table), checked in the same turn as the event
 * awaited before: the simulation has not moved on, so a loser still in SYN-SENT would count.
 */
function connections(w: World, n: number): void {
  assert.equal(w.client.tcp.connectionCount, n, 'connection blocks of the client');
}

describe('Happy Eyeballs: the pure parts', () => {
  test('interleave alternates families from the first address, firstAddressFamilyCount of it first', () => {
    const a = (address: string): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 });
    const list = ['::1', '::2', '::3', '1.0.0.1', '1.0.0.2', '::1'].map(a);
    assert.deepEqual(
      interleave(list).map((x) => x.address),
      ['::1', '1.0.0.1', '::2', '1.0.0.2', '::3'],
    );
    assert.deepEqual(
      interleave(list, 2).map((x) => x.address),
      ['::1', '::2', '1.0.0.1', '::3', '1.0.0.2'],
    );
    assert.deepEqual(
      interleave([a('1.0.0.1'), a('::1'), a('::2')]).map((x) => x.address),
      ['1.0.0.1', '::1', '::2'],
    );
  });

  test('the Resolution Delay: A first waits 50 ms for AAAA; AAAA first is used at once', () => {
    const sim = new Simulation({ seed: 1 });
    const stack = sim.createStack({ name: 'r' });
    /** A lookup answering each family after its own delay on the stack's clock. */
    const lookupAfter =
      (ms: { 4: number; 6: number }, none6 = false): LookupFunction =>
      (_h, o, cb) => {
        const fam = o.family as 4 | 6;
        sim.after(ms[fam], () =>
          fam === 6 && none6
            ? cb(Object.assign(new Error('no AAAA'), { code: 'ENOTFOUND' }), [])
            : cb(null, [{ address: fam === 6 ? '2001:db8::1' : '192.0.2.1', family: fam }]),
        );
      };
    const run = (lookup: LookupFunction) => {
      const t0 = sim.now;
      const got: Array<[number, string[]]> = [];
      let done: [number, string | undefined] | undefined;
      resolveBoth(stack, lookup, 'x', 0, {
        addresses: (l) => got.push([sim.now - t0, l.map((x) => x.address)]),
        done: (e) => {
          done = [sim.now - t0, (e as { code?: string } | undefined)?.code];
        },
      });
      sim.runUntil(() => done !== undefined, 10_000);
      return { got, done };
    };
    // AAAA within the delay: both together, IPv6 first.
    assert.deepEqual(run(lookupAfter({ 4: 10, 6: 40 })).got, [[40, ['2001:db8::1', '192.0.2.1']]]);
    // AAAA later than the delay: A alone at 10 + 50, AAAA added when it comes.
    assert.deepEqual(run(lookupAfter({ 4: 10, 6: 200 })).got, [
      [60, ['192.0.2.1']],
      [200, ['2001:db8::1']],
    ]);
    // AAAA first: used at once.
    assert.deepEqual(run(lookupAfter({ 4: 30, 6: 10 })).got, [
      [10, ['2001:db8::1']],
      [30, ['192.0.2.1']],
    ]);
    // No AAAA: A as soon as the AAAA failure is known.
    const noV6 = run(lookupAfter({ 4: 10, 6: 20 }, true));
    assert.deepEqual(noV6.got, [[20, ['192.0.2.1']]]);
    assert.deepEqual(noV6.done, [20, undefined]);
  });
});

describe('Happy Eyeballs over a simulated network (RFC 8305)', () => {
  test('both families work: IPv6 first and wins at once; no IPv4 attempt', () =>
    inWorld(world(1), async (w) => {
      const { server, port } = await serve(w);
      const t = traced(w, connect(w, { host: NAME, port }));
      await once(t.socket, 'connect');
      assert.equal(t.socket.remoteAddress, V6);
      assert.equal(t.socket.remoteFamily, 'IPv6');
      assert.deepEqual(
        t.events.map((e) => e.slice(1)),
        [
          ['attempt', V6],
          ['connect', V6],
        ],
      );
      assert.ok(t.events.at(-1)![0] < 100, `connected after ${t.events.at(-1)![0]} ms`);
      assert.deepEqual(t.socket.autoSelectFamilyAttemptedAddresses, [`${V6}:${port}`]);
      t.socket.destroy();
      server.close();
    }));

  test('IPv6 blackholed (AAAA answered): IPv4 starts 250 ms later and wins; the IPv6 attempt is gone', () =>
    inWorld(world(2), async (w) => {
      const { server, port } = await serve(w);
      w.wire6.setImpairments({ loss: 1 });
      const t = traced(w, connect(w, { host: NAME, port }));
      await once(t.socket, 'connect');
      assert.equal(t.socket.remoteAddress, V4);
      assert.equal(t.socket.remoteFamily, 'IPv4');
      const [first, delay, second, won] = t.events;
      assert.deepEqual(
        [first![1], first![2], delay![1], second![1], second![2], won![1]],
        ['attempt', V6, 'delay', 'attempt', V4, 'connect'],
      );
      assert.equal(second![0] - first![0], 250, 'the Connection Attempt Delay');
      assert.ok(won![0] - second![0] < 50, 'IPv4 connects at once');
      assert.deepEqual(t.socket.autoSelectFamilyAttemptedAddresses, [`${V6}:${port}`, `${V4}:${port}`]);
      // The losing IPv6 attempt left no connection block behind.
      connections(w, 1);
      t.socket.destroy();
      server.close();
    }));

  test('IPv4 slow: IPv6 wins at once, whatever IPv4 does', () =>
    inWorld(world(3, { v6: 5, v4: 400 }), async (w) => {
      const { server, port } = await serve(w);
      const t = traced(w, connect(w, { host: NAME, port }));
      await once(t.socket, 'connect');
      assert.equal(t.socket.remoteAddress, V6);
      assert.ok(t.events.at(-1)![0] < 100);
      connections(w, 1);
      t.socket.destroy();
      server.close();
    }));

  test('IPv6 slower than the delay, IPv4 slower still: both attempts overlap, IPv6 (started first) wins', () =>
    inWorld(world(4, { v6: 200, v4: 400 }), async (w) => {
      const { server, port } = await serve(w);
      const t = traced(w, connect(w, { host: NAME, port }));
      await once(t.socket, 'connect');
      // IPv6's handshake (and its neighbour discovery) takes more than 250 ms: IPv4 starts beside it.
      assert.deepEqual(
        t.events.map((e) => e[1]),
        ['attempt', 'delay', 'attempt', 'connect'],
      );
      assert.equal(t.socket.remoteAddress, V6, 'the first attempt still won');
      // The IPv4 loser: cancelled, its block gone (a late SYN-ACK gets a RST).
      connections(w, 1);
      t.socket.destroy();
      server.close();
    }));

  test('AAAA slow beyond the Resolution Delay: IPv4 starts 50 ms after the A answer', () =>
    inWorld(world(5), async (w) => {
      const { server, port } = await serve(w);
      let aAnswered = 0;
      let dropped = 0;
      // The first AAAA query is lost: the resolver asks again after its timeout.
      w.onQuery = (type) => {
        if (type === 28 && dropped++ === 0) return 'drop';
        if (type === 1) aAnswered = w.sim.now;
        return undefined;
      };
      const start = w.sim.now;
      const t = traced(w, connect(w, { host: NAME, port }));
      await once(t.socket, 'connect');
      assert.equal(dropped, 1);
      assert.equal(t.socket.remoteAddress, V4);
      const [first] = t.events;
      assert.deepEqual(first!.slice(1), ['attempt', V4]);
      // The answer reaches the client 1 ms after the server sent it; then 50 ms of Resolution Delay.
      assert.equal(start + first![0], aAnswered + 1 + 50);
      t.socket.destroy();
      server.close();
    }));

  test('both families broken: the errors of every attempt in an AggregateError, no block left', () =>
    inWorld(world(6), async (w) => {
      const { server, port } = await serve(w);
      server.close();
      w.wire6.setImpairments({ loss: 1 });
      const t = traced(w, connect(w, { host: NAME, port }));
      const [e] = (await once(t.socket, 'error').catch((x) => [x])) as [
        AggregateError & { code: string; errors: Array<{ code: string; address: string }> },
      ];
      assert.equal(e.constructor, AggregateError);
      assert.equal(e.message, '');
      assert.deepEqual(Object.keys(e), ['code']);
      // Attempt order: IPv6 (no neighbour: EHOSTUNREACH after address resolution gave up), IPv4 (RST).
      assert.deepEqual(
        e.errors.map((x) => [x.code, x.address]),
        [
          ['EHOSTUNREACH', V6],
          ['ECONNREFUSED', V4],
        ],
      );
      assert.equal(e.code, 'EHOSTUNREACH', "the first error's code, as Node");
      connections(w, 0);
    }));

  test('the attempt delay: per connect and by default (10 ms at least, as Node)', () =>
    inWorld(world(7), async (w) => {
      const { server, port } = await serve(w);
      w.wire6.setImpairments({ loss: 1 });
      const net = w.client.net;
      const gap = async (options: object) => {
        const t = traced(w, connect(w, { host: NAME, port, ...options }));
        await once(t.socket, 'connect');
        t.socket.destroy();
        return t.events[2]![0] - t.events[0]![0];
      };
      assert.equal(await gap({ autoSelectFamilyAttemptTimeout: 100 }), 100);
      assert.equal(await gap({ autoSelectFamilyAttemptTimeout: 3 }), 10);
      assert.equal(net.getDefaultAutoSelectFamilyAttemptTimeout(), 250);
      net.setDefaultAutoSelectFamilyAttemptTimeout(40);
      assert.equal(net.getDefaultAutoSelectFamilyAttemptTimeout(), 40);
      assert.equal(await gap({}), 40);
      net.setDefaultAutoSelectFamilyAttemptTimeout(1);
      assert.equal(net.getDefaultAutoSelectFamilyAttemptTimeout(), 10);
      assert.throws(() => net.setDefaultAutoSelectFamilyAttemptTimeout(0), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => connect(w, { host: NAME, port, autoSelectFamilyAttemptTimeout: 0 }), {
        code: 'ERR_OUT_OF_RANGE',
      });
      server.close();
    }));

  test('an injected lookup: asked once, its order kept (IPv4 first), families interleaved', () =>
    inWorld(world(8), async (w) => {
      const { server, port } = await serve(w);
      w.wire4.setImpairments({ loss: 1 });
      let asked = 0;
      const lookup: LookupFunction = (_h, o, cb) => {
        asked++;
        assert.equal(o.all, true);
        setImmediate(() =>
          cb(null, [
            { address: V4, family: 4 },
            { address: '10.0.0.3', family: 4 },
            { address: V6, family: 6 },
          ]),
        );
      };
      const t = traced(w, connect(w, { host: 'any.test', port, lookup, autoSelectFamilyAttemptTimeout: 50 }));
      await once(t.socket, 'connect');
      assert.equal(asked, 1);
      assert.deepEqual(t.socket.autoSelectFamilyAttemptedAddresses, [`${V4}:${port}`, `${V6}:${port}`]);
      assert.equal(t.socket.remoteAddress, V6);
      connections(w, 1);
      t.socket.destroy();
      // A lookup that answers no address at all.
      const empty = connect(w, {
        host: 'none.test',
        port,
        lookup: ((_h, _o, cb) => cb(null, [])) as LookupFunction,
      });
      const [e] = (await once(empty, 'error').catch((x) => [x])) as [{ code: string }];
      assert.equal(e.code, 'ERR_SOCKET_CONNECTION_TIMEOUT');
      server.close();
    }));
});
