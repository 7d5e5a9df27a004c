import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { compare as compareWorlds } from './dgram-compare.ts';
import { attempt, errorShape, inWorld, normalise, sleep, until, WORLDS, type World } from './worlds.ts';

type Body = (w: World) => Promise<unknown[]>;

/** Runs `body` in Node's dgram and in the stack worlds; every stack world must log what Node logged. */
const compare = (body: Body, check: (log: unknown[]) => void) => compareWorlds(WORLDS, body, check);

const bound = async (s: dgram.Socket, port = 0, address?: string) => {
  s.bind(port, address);
  await once(s, 'listening');
  return s.address().port;
};

describe('stack.dgram behaves as Node dgram', () => {
  test('bind: listening comes later, address(), bind callback, options form, errors', async () => {
    await compare(
      async (w) => {
        const log: unknown[] = [];
        const s = w.a.dgram.createSocket('udp4');
        let listening = false;
        s.on('listening', () => {
          listening = true;
        });
        log.push(attempt(w, () => s.bind(0, w.a.address, () => log.push('bind callback', listening))));
        log.push('listening at once', listening);
        log.push(attempt(w, () => s.address()));
        log.push(attempt(w, () => s.bind(0)));
        await once(s, 'listening');
        const a = s.address();
        log.push(normalise(w, a.address), a.family, typeof a.port, a.port > 1023);
        // Options form, and a port taken by another socket.
        const t = w.a.dgram.createSocket('udp4');
        t.bind({ port: a.port, address: w.a.address });
        const [err] = await once(t, 'error');
        log.push(errorShape(w, err, { PORT: a.port }));
        // A non-local address.
        const u = w.a.dgram.createSocket('udp4');
        u.bind(0, w.foreign);
        log.push(errorShape(w, (await once(u, 'error'))[0]));
        log.push(attempt(w, () => u.close()));
        t.close();
        s.close();
        return log;
      },
      (log) => {
        assert.deepEqual(log.slice(0, 2), [{ value: 'object' }, 'listening at once']);
        assert.ok(JSON.stringify(log).includes('EADDRINUSE'));
        assert.ok(JSON.stringify(log).includes('EADDRNOTAVAIL'));
      },
    );
  });

  test('send and receive: every send form, the callback with the size, rinfo', async () => {
    await compare(
      async (w) => {
        const log: unknown[] = [];
        const a = w.a.dgram.createSocket('udp4');
        const port = await bound(a, 0, w.a.address);
        const got: Array<[string, unknown]> = [];
        a.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
          got.push([
            msg.toString(),
            { ...rinfo, address: normalise(w, rinfo.address), port: typeof rinfo.port },
          ]);
        });
        const b = w.b.dgram.createSocket('udp4');
        await bound(b, 0, w.b.address);
        const sent: unknown[] = [];
        const cb = (err: Error | null, n?: number) => sent.push(err ? errorShape(w, err) : n);
        b.send('one', port, w.a.address, cb);
        b.send(Buffer.from('xxtwoxx'), 2, 3, port, w.a.address, cb);
        b.send([Buffer.from('thr'), 'ee'], port, w.a.address, cb);
        b.send(new Uint8Array([0x66, 0x6f, 0x75, 0x72]), port, w.a.address, cb);
        b.send('', port, w.a.address, cb);
        b.send('six', port, w.a.address);
        await until(() => got.length === 6 && sent.length === 5);
        log.push(sent, got);
        log.push(normalise(w, b.address().address));
        b.close();
        a.close();
        return log;
      },
      (log) => {
        assert.deepEqual(log[0], [3, 3, 5, 4, 0]);
        assert.deepEqual(
          (log[1] as Array<[string]>).map((x) => x[0]),
          ['one', 'two', 'three', 'four', '', 'six'],
        );
      },
    );
  });

  test('argument errors are thrown as Node throws them', async () => {
    await compare(
      async (w) => {
        const s = w.a.dgram.createSocket('udp4');
        const log: unknown[] = [];
        const t = (f: () => unknown) => log.push(attempt(w, f));
        t(() => s.send('x'));
        t(() => s.send('x', 0, w.b.address));
        t(() => s.send('x', 70000, w.b.address));
        t(() => s.send(5 as unknown as string, 1234, w.b.address));
        t(() => s.send('x', 1234, 5 as unknown as string));
        t(() => s.send(Buffer.from('abc'), 5, 1, 1234, w.b.address));
        t(() => s.connect(0, w.b.address));
        t(() => s.disconnect());
        t(() => s.remoteAddress());
        t(() => s.address());
        t(() => s.setTTL(64));
        t(() => s.setBroadcast(true));
        t(() => s.setMulticastTTL(1));
        t(() => s.setMulticastLoopback(true));
        t(() => s.getRecvBufferSize());
        t(() => s.setRecvBufferSize(-1));
        t(() => s.addMembership(undefined as unknown as string));
        t(() => s.setTTL('5' as unknown as number));
        await bound(s);
        t(() => s.setTTL(0));
        t(() => s.setTTL(256));
        t(() => s.setTTL(64));
        t(() => s.setMulticastTTL(0));
        t(() => s.setMulticastTTL(256));
        t(() => s.setMulticastLoopback(0 as unknown as boolean));
        t(() => s.setMulticastInterface(5 as unknown as string));
        t(() => s.setMulticastInterface('abc'));
        t(() => s.setMulticastInterface(w.foreign));
        t(() => s.setMulticastInterface(w.a.address));
        t(() => s.addMembership('10.1.2.3'));
        t(() => s.addMembership('239.1.2.3'));
        t(() => s.addMembership('239.1.2.3'));
        t(() => s.dropMembership('239.1.2.3'));
        t(() => s.dropMembership('239.1.2.3'));
        t(() => s.setRecvBufferSize(10000));
        t(() => s.getRecvBufferSize());
        t(() => s.setSendBufferSize(10000));
        t(() => s.getSendBufferSize());
        t(() => s.ref() === s);
        t(() => s.unref() === s);
        const closed: unknown[] = [];
        s.on('close', () => closed.push('event'));
        s.close((...args: unknown[]) => closed.push('callback', args.length));
        t(() => s.close());
        t(() => s.send('x', 9, w.a.address));
        t(() => s.address());
        t(() => s.bind(0));
        await until(() => closed.length === 3);
        log.push(closed);
        return log;
      },
      (log) => {
        const codes = log.map((x) => (x as { threw?: { code?: string } }).threw?.code ?? 'ok');
        assert.deepEqual(codes.slice(0, 6), [
          'ERR_SOCKET_BAD_PORT',
          'ERR_SOCKET_BAD_PORT',
          'ERR_SOCKET_BAD_PORT',
          'ERR_INVALID_ARG_TYPE',
          'ERR_INVALID_ARG_TYPE',
          'ERR_BUFFER_OUT_OF_BOUNDS',
        ]);
        assert.ok(codes.includes('EBADF') && codes.includes('EADDRINUSE') && codes.includes('EADDRNOTAVAIL'));
        assert.ok(codes.includes('ERR_SOCKET_DGRAM_NOT_RUNNING'));
      },
    );
  });

  test('connect, connected sends, remoteAddress, disconnect; ECONNREFUSED from a closed port', async () => {
    await compare(
      async (w) => {
        const log: unknown[] = [];
        const a = w.a.dgram.createSocket('udp4');
        const port = await bound(a, 0, w.a.address);
        const got: string[] = [];
        a.on('message', (m: Buffer) => got.push(m.toString()));
        const b = w.b.dgram.createSocket('udp4');
        await bound(b, 0, w.b.address);
        let connected = false;
        b.connect(port, w.a.address, () => {
          connected = true;
        });
        log.push('connected at once', connected);
        log.push(attempt(w, () => b.connect(port, w.a.address)));
        await once(b, 'connect');
        const r = b.remoteAddress();
        log.push(normalise(w, r.address), r.port === port, r.family);
        // Node takes (msg, port, address) on a connected socket as (msg, callback): sent to the peer.
        log.push(attempt(w, () => b.send('x', port, w.a.address)));
        const sent: unknown[] = [];
        b.send('hello', (err, n) => sent.push(err ?? n));
        b.send(Buffer.from('xworldx'), 1, 5, (err, n) => sent.push(err ?? n));
        await until(() => got.length === 3 && sent.length === 2);
        log.push(got, sent);
        b.disconnect();
        log.push(attempt(w, () => b.remoteAddress()));
        log.push(attempt(w, () => b.disconnect()));
        // A closed port: the ICMP error comes back to the connected socket as an 'error'.
        a.close();
        const c = w.b.dgram.createSocket('udp4');
        c.connect(port, w.a.address);
        await once(c, 'connect');
        c.send('anyone?');
        const [err] = await once(c, 'error');
        log.push(errorShape(w, err));
        c.close();
        b.close();
        return log;
      },
      (log) => {
        assert.deepEqual(log[1], false);
        assert.ok(JSON.stringify(log).includes('ECONNREFUSED'));
      },
    );
  });

  test('datagram size and broadcast errors come to the send callback', async () => {
    await compare(
      async (w) => {
        const log: unknown[] = [];
        const s = w.a.dgram.createSocket('udp4');
        await bound(s);
        const results: unknown[] = [];
        s.send(Buffer.alloc(70000), 9, w.b.address, (err) => results.push(errorShape(w, err)));
        s.send('x', 9, '255.255.255.255', (err) => results.push(err ? errorShape(w, err) : 'sent'));
        await until(() => results.length === 2);
        s.setBroadcast(true);
        s.send('x', 9, '255.255.255.255', (err) => results.push(err ? errorShape(w, err) : 'sent'));
        await until(() => results.length === 3);
        log.push(results);
        s.close();
        return log;
      },
      (log) => assert.ok(JSON.stringify(log).includes('EMSGSIZE') && JSON.stringify(log).includes('EACCES')),
    );
  });

  test('host names are resolved (localhost from the hosts table)', async () => {
    await compare(
      async (w) => {
        const s = w.a.dgram.createSocket('udp4');
        const port = await bound(s);
        const got: unknown[] = [];
        s.on('message', (m: Buffer, r: dgram.RemoteInfo) => got.push(m.toString(), r.address));
        s.send('to myself', port, 'localhost');
        await until(() => got.length === 2);
        s.close();
        return got;
      },
      (log) => assert.deepEqual(log, ['to myself', '127.0.0.1']),
    );
  });
});

describe('stack.dgram on the stack only', () => {
  test('udp6 on a stack without IPv6 is EAFNOSUPPORT; a bad type is ERR_SOCKET_BAD_TYPE', () => {
    const stack = new Simulation({ seed: 1 }).createStack({ name: 'v4only', ipv6: false });
    assert.throws(() => stack.dgram.createSocket('udp6'), { code: 'EAFNOSUPPORT', syscall: 'socket' });
    assert.throws(() => stack.dgram.createSocket('udp5' as 'udp4'), { code: 'ERR_SOCKET_BAD_TYPE' });
  });

  test('multicast between two stacks: membership, TTL, loopback', async () => {
    await inWorld(WORLDS[1]!, async (w) => {
      const a = w.a.dgram.createSocket({ type: 'udp4', reuseAddr: true });
      const port = await bound(a, 0);
      a.addMembership('239.1.2.3', w.a.address);
      const got: string[] = [];
      a.on('message', (m: Buffer, r: dgram.RemoteInfo) => got.push(`${m} from ${normalise(w, r.address)}`));
      const b = w.b.dgram.createSocket('udp4');
      await bound(b);
      b.setMulticastTTL(2);
      b.setMulticastInterface(w.b.address);
      b.send('to the group', port, '239.1.2.3');
      await until(() => got.length === 1);
      a.dropMembership('239.1.2.3', w.a.address);
      b.send('not any more', port, '239.1.2.3');
      await sleep(50);
      assert.deepEqual(got, ['to the group from B']);
      a.close();
      b.close();
    });
  });

  test('the receive buffer bounds what waits: a flood is cut at the buffer size', async () => {
    await inWorld(WORLDS[1]!, async (w) => {
      const a = w.a.dgram.createSocket({ type: 'udp4', recvBufferSize: 4096 });
      const port = await bound(a);
      assert.equal(a.getRecvBufferSize(), 8192);
      const got: number[] = [];
      const b = w.b.dgram.createSocket('udp4');
      // Sent in one stack entry, so they all arrive before the socket is told.
      w.b.stack!.run(() => {
        for (let i = 0; i < 100; i++) b.send(Buffer.alloc(500), port, w.a.address);
      });
      a.on('message', (m: Buffer) => got.push(m.length));
      await until(() => got.length > 0);
      await sleep(20);
      // 8192 bytes of room at 500 + 256 bytes each.
      assert.equal(got.length, 10);
      assert.equal(w.a.stack!.counters.value('udp.rx.drop.rcvbuf-full'), 90);
      a.close();
      b.close();
    });
  });
});
