import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import {
  attempt6,
  compare,
  errorShape6,
  linkLocal6,
  normalise6,
  simWorld6,
  WORLDS6,
  type World6,
} from './dgram-compare.ts';
import { sleep, until } from './worlds.ts';

const bound = async (s: dgram.Socket, port = 0, address?: string) => {
  s.bind(port, address);
  await once(s, 'listening');
  return s.address().port;
};

const byText = (x: [string, unknown], y: [string, unknown]) => (x[0] < y[0] ? -1 : 1);

/** A socket's address() with the world's addresses named. */
const where = (w: World6, s: dgram.Socket) => {
  const a = s.address();
  return { ...a, address: normalise6(w, a.address), port: typeof a.port };
};

/** The outcome of a bind: listening with address(), or the error. */
async function bindOutcome(w: World6, s: dgram.Socket, port: number, address?: string): Promise<unknown> {
  s.bind(port, address);
  return new Promise((resolve) => {
    s.once('listening', () => resolve({ event: 'listening', value: where(w, s) }));
    s.once('error', (e) => resolve({ event: 'error', value: errorShape6(w, e, { PORT: port }) }));
  });
}

/** The result of a send with a callback: the byte count or the error. */
const sendResult = (w: World6, s: dgram.Socket, ports: Record<string, number>, ...args: unknown[]) =>
  new Promise<unknown>((resolve) =>
    (s.send as (...a: unknown[]) => void)(...args, (err: Error | null, n?: number) =>
      resolve(err ? errorShape6(w, err, ports) : n),
    ),
  );

describe('stack.dgram udp6 behaves as Node dgram (on ::1)', () => {
  test('bind: the default is :: (dual-stack), literals of the wrong family, mapped, zones, conflicts', async () => {
    await compare(
      WORLDS6,
      async (w) => {
        const log: unknown[] = [];
        const s = w.a.dgram.createSocket('udp6');
        log.push(await bindOutcome(w, s, 0));
        const port = s.address().port;
        for (const address of [
          w.a.address,
          w.a.address4,
          `::ffff:${w.a.address4}`,
          `${w.a.address}%${w.a.zone}`,
          `${w.a.address}%nosuchif`,
          'fe80::1',
          `fe80::1%${w.a.zone}`,
          w.foreign,
        ]) {
          const t = w.a.dgram.createSocket('udp6');
          log.push(
            address === w.a.address4 ? 'A4' : normalise6(w, address),
            await bindOutcome(w, t, 0, address),
          );
          t.close();
        }
        // A dual-stack wildcard holds the port for IPv4 too; an IPv6-only one does not.
        log.push('same port', await bindOutcome(w, w.a.dgram.createSocket('udp6'), port));
        const v4 = w.a.dgram.createSocket('udp4');
        log.push('udp4 on it', await bindOutcome(w, v4, port));
        const only = w.a.dgram.createSocket({ type: 'udp6', ipv6Only: true });
        const onlyPort = await bound(only);
        const v4b = w.a.dgram.createSocket('udp4');
        log.push('udp4 beside ipv6Only', await bindOutcome(w, v4b, onlyPort));
        log.push('udp6 beside ipv6Only', await bindOutcome(w, w.a.dgram.createSocket('udp6'), onlyPort));
        v4b.close();
        only.close();
        s.close();
        return log;
      },
      (log) => {
        assert.deepEqual(log[0], {
          event: 'listening',
          value: { address: '::', family: 'IPv6', port: 'number' },
        });
        const text = JSON.stringify(log);
        for (const code of ['EINVAL', 'EADDRINUSE', 'EADDRNOTAVAIL']) assert.ok(text.includes(code), code);
        assert.ok(text.includes('::ffff:A4'));
      },
    );
  });

  test('send and receive: rinfo is IPv6, IPv4 peers are mapped, replies reach them; errors to the callback', async () => {
    await compare(
      WORLDS6,
      async (w) => {
        const log: unknown[] = [];
        const a = w.a.dgram.createSocket('udp6');
        const port = await bound(a);
        const got: Array<[string, unknown]> = [];
        const replies: Array<[string, unknown]> = [];
        a.on('message', (m: Buffer, r: dgram.RemoteInfo) => {
          got.push([m.toString(), { ...r, address: normalise6(w, r.address), port: typeof r.port }]);
          a.send(`re ${m}`, r.port, r.address);
        });
        const b6 = w.b.dgram.createSocket('udp6');
        await bound(b6, 0, w.b.address);
        const b4 = w.b.dgram.createSocket('udp4');
        await bound(b4, 0, w.b.address4);
        for (const s of [b6, b4]) {
          s.on('message', (m: Buffer, r: dgram.RemoteInfo) =>
            replies.push([m.toString(), { ...r, address: normalise6(w, r.address), port: r.port === port }]),
          );
        }
        const ports = { PORT: port };
        log.push(await sendResult(w, b6, ports, 'over six', port, w.a.address));
        log.push(await sendResult(w, b4, ports, 'over four', port, w.a.address4));
        log.push(await sendResult(w, b6, ports, Buffer.from('xxsplitxx'), 2, 5, port, w.a.address));
        await until(() => got.length === 3 && replies.length === 3);
        // By text: IPv4 and IPv6 datagrams may overtake each other (neighbor resolution differs).
        log.push(got.sort(byText), replies.sort(byText));
        // An IPv4 literal on udp6, a datagram over the IPv6 maximum, a mapped peer from IPv6-only.
        log.push(await sendResult(w, b6, ports, 'x', port, w.a.address4));
        log.push(await sendResult(w, b6, ports, Buffer.alloc(65528), port, w.a.address));
        const only = w.b.dgram.createSocket({ type: 'udp6', ipv6Only: true });
        log.push(await sendResult(w, only, ports, 'x', port, `::ffff:${w.a.address4}`));
        // An IPv6-only socket gets no IPv4 datagram.
        const o = w.a.dgram.createSocket({ type: 'udp6', ipv6Only: true });
        const oPort = await bound(o);
        const oGot: string[] = [];
        o.on('message', (m: Buffer) => oGot.push(m.toString()));
        b4.send('lost', oPort, w.a.address4);
        b6.send('kept', oPort, w.a.address);
        await until(() => oGot.length === 1);
        await sleep(30);
        log.push(oGot);
        for (const s of [a, b6, b4, only, o]) s.close();
        return log;
      },
      (log) => {
        assert.deepEqual(log.slice(0, 3), [8, 9, 5]);
        const text = JSON.stringify(log);
        assert.ok(text.includes('"address":"::ffff:B4","family":"IPv6"'), text);
        assert.ok(text.includes('"address":"A4","family":"IPv4"'), text);
        for (const code of ['EINVAL', 'EMSGSIZE', 'ENETUNREACH']) assert.ok(text.includes(code), code);
        assert.deepEqual(log.at(-1), ['kept']);
      },
    );
  });

  test('connect: the default peer is ::1, remoteAddress, mapped peers, a wrong family', async () => {
    await compare(
      WORLDS6,
      async (w) => {
        const log: unknown[] = [];
        const a = w.a.dgram.createSocket('udp6');
        const port = await bound(a);
        const got: unknown[] = [];
        a.on('message', (m: Buffer, r: dgram.RemoteInfo) => got.push(m.toString(), normalise6(w, r.address)));
        const c = w.a.dgram.createSocket('udp6');
        c.connect(port);
        await once(c, 'connect');
        const r = c.remoteAddress();
        log.push(normalise6(w, r.address), r.family, r.port === port, where(w, c));
        c.send('connected');
        await until(() => got.length === 2);
        const d = w.b.dgram.createSocket('udp6');
        await bound(d, 0, `::ffff:${w.b.address4}`);
        d.connect(port, `::ffff:${w.a.address4}`);
        await once(d, 'connect');
        log.push(normalise6(w, d.remoteAddress().address), normalise6(w, d.address().address));
        d.send('mapped');
        await until(() => got.length === 4);
        log.push(got);
        d.disconnect();
        const e = w.b.dgram.createSocket('udp6');
        const err = await new Promise((resolve) =>
          e.connect(port, w.a.address4, resolve as (err?: Error) => void),
        );
        log.push(errorShape6(w, err, { PORT: port }));
        for (const s of [a, c, d, e]) s.close();
        return log;
      },
      (log) => {
        assert.equal(log[0], 'H6');
        assert.ok(JSON.stringify(log).includes('connect EINVAL A4:PORT'));
      },
    );
  });

  test('options: hop limits, broadcast, multicast interface by zone, IPv6 and IPv4 memberships', async () => {
    await compare(
      WORLDS6,
      async (w) => {
        const log: unknown[] = [];
        const s = w.a.dgram.createSocket('udp6');
        const t = (f: () => unknown) => log.push(attempt6(w, f));
        t(() => s.setTTL(64));
        t(() => s.setMulticastInterface('::'));
        await bound(s);
        const zone = `::%${w.a.zone}`;
        t(() => s.setTTL(0));
        t(() => s.setTTL(255));
        t(() => s.setMulticastTTL(256));
        t(() => s.setMulticastTTL(0));
        t(() => s.setMulticastLoopback(false));
        t(() => s.setBroadcast(true));
        t(() => s.setMulticastInterface(zone));
        t(() => s.setMulticastInterface('::'));
        t(() => s.setMulticastInterface('::%nosuchif'));
        t(() => s.setMulticastInterface(w.a.address));
        t(() => s.setMulticastInterface(w.a.address4));
        t(() => s.setMulticastInterface('abc'));
        t(() => s.addMembership('ff12::1:3', zone));
        t(() => s.addMembership('ff12::1:3', zone));
        t(() => s.addMembership(w.a.address, zone));
        t(() => s.addMembership('ff12::1:4', 'abc'));
        t(() => s.addMembership('ff12::1:4', w.a.address4));
        t(() => s.addMembership('239.1.2.3'));
        t(() => s.dropMembership('239.1.2.3'));
        t(() => s.dropMembership('ff12::1:3', zone));
        t(() => s.dropMembership('ff12::1:3', zone));
        // A membership binds a socket that has no port yet, to ::.
        const u = w.a.dgram.createSocket('udp6');
        t(() => u.addMembership('ff12::1:5', zone));
        log.push(where(w, u));
        u.close();
        s.close();
        return log;
      },
      (log) => {
        const codes = log.map((x) => (x as { threw?: { code?: string } }).threw?.code ?? 'ok');
        assert.deepEqual(codes.slice(0, 2), ['EBADF', 'EBADF']);
        assert.ok(
          codes.includes('EINVAL') && codes.includes('EADDRINUSE') && codes.includes('EADDRNOTAVAIL'),
        );
        assert.deepEqual(log.at(-1), { address: '::', family: 'IPv6', port: 'number' });
      },
    );
  });
});

describe('stack.dgram udp6 between two stacks', () => {
  test('link-local with the zone: send, rinfo with %eth0, reply, bind and connect with a zone', async () => {
    const w = simWorld6(2);
    try {
      await until(() => linkLocal6(w.a) !== undefined && linkLocal6(w.b) !== undefined);
      const llA = linkLocal6(w.a)!;
      const llB = linkLocal6(w.b)!;
      const a = w.a.dgram.createSocket('udp6');
      const port = await bound(a, 0, `${llA}%eth0`);
      assert.deepEqual(a.address(), { address: `${llA}%eth0`, family: 'IPv6', port });
      const got: dgram.RemoteInfo[] = [];
      a.on('message', (m: Buffer, r: dgram.RemoteInfo) => {
        got.push(r);
        a.send(`re ${m}`, r.port, r.address);
      });
      const b = w.b.dgram.createSocket('udp6');
      const replies: Array<[string, string]> = [];
      b.on('message', (m: Buffer, r: dgram.RemoteInfo) => replies.push([m.toString(), r.address]));
      b.send('hello', port, `${llA}%eth0`);
      await until(() => replies.length === 1);
      assert.equal(got[0]!.address, `${llB}%eth0`);
      assert.equal(got[0]!.family, 'IPv6');
      assert.deepEqual(replies, [['re hello', `${llA}%eth0`]]);
      // Connected to a link-local peer: remoteAddress and address() carry the zone.
      const c = w.b.dgram.createSocket('udp6');
      c.connect(port, `${llA}%eth0`);
      await once(c, 'connect');
      assert.equal(c.remoteAddress().address, `${llA}%eth0`);
      assert.equal(c.address().address, `${llB}%eth0`);
      // A link-local bind needs the zone; an unknown zone is no zone (as if_nametoindex's 0).
      for (const addr of [llA, `${llA}%nosuchif`]) {
        const x = w.a.dgram.createSocket('udp6');
        x.bind(0, addr);
        const [err] = await once(x, 'error');
        assert.equal((err as { code: string }).code, 'EINVAL');
        assert.equal((err as Error).message, `bind EINVAL ${addr}`);
        x.close();
      }
      for (const s of [a, b, c]) s.close();
    } finally {
      w.close();
    }
  });

  test('IPv6 multicast between stacks: membership on ::%eth0, hop limit, interface by zone, drop', async () => {
    const w = simWorld6(3);
    try {
      await until(() => linkLocal6(w.a) !== undefined && linkLocal6(w.b) !== undefined);
      const a = w.a.dgram.createSocket({ type: 'udp6', reuseAddr: true });
      const port = await bound(a);
      a.addMembership('ff12::1:3', '::%eth0');
      const got: string[] = [];
      a.on('message', (m: Buffer, r: dgram.RemoteInfo) => got.push(`${m} from ${r.family}`));
      const b = w.b.dgram.createSocket('udp6');
      await bound(b);
      b.setMulticastTTL(2);
      b.setMulticastInterface('::%eth0');
      b.send('to the group', port, 'ff12::1:3');
      await until(() => got.length === 1);
      a.dropMembership('ff12::1:3', '::%eth0');
      b.send('not any more', port, 'ff12::1:3');
      await sleep(50);
      assert.deepEqual(got, ['to the group from IPv6']);
      for (const s of [a, b]) s.close();
    } finally {
      w.close();
    }
  });
});
