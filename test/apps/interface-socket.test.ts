import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bindToInterface } from '../../src/apps/interface-socket.ts';
import type { UdpDatagram } from '../../src/core/udp/udp-socket.ts';
import { twoHosts } from '../helpers/sim-hosts.ts';

describe('bindToInterface', () => {
  test('binds to the interface and the port (reusable), and hands every datagram to the callback', () => {
    const { sim, a, b } = twoHosts(7);
    const got: string[] = [];
    const onDatagram = (d: UdpDatagram) => got.push(new TextDecoder().decode(d.data));
    const socket = bindToInterface(
      b.stack.udp.open(),
      b.iface,
      6767,
      (s) => s.setBroadcast(true),
      onDatagram,
    );
    assert.equal(socket.boundDevice, b.iface);
    assert.equal(socket.localPort, 6767);
    // SO_REUSEADDR: a second service socket on the port binds too.
    const other = bindToInterface(
      b.stack.udp.open(),
      b.iface,
      6767,
      () => {},
      () => {},
    );
    other.close();
    const client = a.stack.udp.open();
    a.stack.run(() => {
      for (const m of ['one', 'two']) client.send(new TextEncoder().encode(m), b.ip, 6767);
    });
    assert.ok(sim.runUntil(() => got.length === 2, 5000));
    assert.deepEqual(got, ['one', 'two']);
  });

  test('a step that fails closes the socket and throws', () => {
    const { b } = twoHosts(8);
    const socket = b.stack.udp.open();
    assert.throws(
      () =>
        bindToInterface(
          socket,
          b.iface,
          6767,
          () => {
            throw Object.assign(new Error('no'), { code: 'EINVAL' });
          },
          () => {},
        ),
      { code: 'EINVAL' },
    );
    assert.equal(socket.isClosed, true);
  });
});
