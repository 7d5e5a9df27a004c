import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { twoHosts } from '../helpers/sim-hosts.ts';
import { collect, payload, sendAll, sha256 } from './tcp-helpers.ts';

describe('tcp smoke', () => {
  test('connect, transfer, close', () => {
    const { sim, a, b } = twoHosts(1);
    const l = b.stack.tcp.listen({ port: 80 });
    let server: TcpSocket | undefined;
    l.onConnection = () => {
      server = l.accept();
    };
    const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
    let connected = false;
    c.onConnect = () => {
      connected = true;
    };
    assert.ok(sim.runUntil(() => connected && server !== undefined, 5000));
    const data = payload(200_000, 7);
    sendAll(c, data);
    const got = collect(server!);
    assert.ok(
      sim.runUntil(() => got.ended(), 60_000),
      `got ${got.bytes()}`,
    );
    assert.equal(sha256(got.chunks), sha256([data]));
  });
});
