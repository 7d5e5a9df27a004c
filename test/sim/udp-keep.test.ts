/**
 * UDP's receive queue keeps a view of the frame instead of a copy on links that leave their frames
 * alone (`keepableFrames`: memory wires and switches), for payloads of at least KEEP_MIN_BYTES that
 * go to one socket; smaller payloads and datagrams delivered to several sockets are copied.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEEP_MIN_BYTES } from '../../src/core/device/link.ts';
import type { UdpDatagram } from '../../src/core/udp/udp-socket.ts';
import { ip, twoHosts } from '../helpers/sim-hosts.ts';

/** True when `data` owns its whole buffer (a copy), false when it is a view into a larger one. */
const owned = (data: Uint8Array) => data.byteOffset === 0 && data.buffer.byteLength === data.byteLength;

/** `sockets` sockets on b's port 7000 that collect what they receive, and a socket on a to send. */
function collect(sockets: number, broadcast = false) {
  const { sim, a, b } = twoHosts(11);
  const rx = Array.from({ length: sockets }, () => {
    const s = b.stack.udp.open();
    b.stack.run(() => s.bind(7000, undefined, { reuseAddr: sockets > 1 }));
    return s;
  });
  const got: UdpDatagram[][] = rx.map(() => []);
  rx.forEach((s, i) => {
    s.onReadable = () => {
      for (let d = s.recv(); d; d = s.recv()) got[i]!.push(d);
    };
  });
  const tx = a.stack.udp.open();
  tx.setBroadcast(broadcast);
  return { sim, tx, got, b };
}

test('a unicast payload of KEEP_MIN_BYTES or more is a view of the frame, a smaller one a copy', () => {
  const { sim, tx, got, b } = collect(1);
  const big = new Uint8Array(KEEP_MIN_BYTES).fill(7);
  const small = new Uint8Array(KEEP_MIN_BYTES - 1).fill(9);
  tx.send(big, b.ip, 7000);
  tx.send(small, b.ip, 7000);
  assert.ok(sim.runUntil(() => got[0]!.length === 2, 5000));
  const [d1, d2] = got[0]!;
  assert.deepEqual(d1!.data, big);
  assert.equal(owned(d1!.data), false, 'kept as a view');
  assert.deepEqual(d2!.data, small);
  assert.equal(owned(d2!.data), true, 'copied');
});

test('a broadcast to several sockets gives each its own copy', () => {
  const { sim, tx, got } = collect(2, true);
  const big = new Uint8Array(1000).fill(3);
  tx.send(big, ip('10.0.0.255'), 7000);
  assert.ok(sim.runUntil(() => got[0]!.length === 1 && got[1]!.length === 1, 5000));
  const [x, y] = [got[0]![0]!.data, got[1]![0]!.data];
  assert.ok(owned(x) && owned(y));
  x[0] = 99;
  assert.equal(y[0], 3, 'one socket changing its datagram does not change the other');
});
