import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { NodeEnvironment } from '../../src/bindings/node/node-environment.ts';
import { Stack } from '../../src/core/stack.ts';
import { Timer } from '../../src/core/timers.ts';
import { emitIcmpv4 } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';

describe('NodeEnvironment', () => {
  test('stack timers fire on the real clock, in order, and an earlier timer re-arms the Node timer', async () => {
    const env = new NodeEnvironment();
    const stack = new Stack(env, { name: 'real' });
    const fired: string[] = [];
    const start = env.clock.now();
    await new Promise<void>((resolve) => {
      const late = stack.createTimer(() => {
        fired.push('late');
        resolve();
      });
      stack.schedule(late, start + 60);
      stack.schedule(
        stack.createTimer(() => fired.push('early')),
        start + 20,
      );
    });
    assert.deepEqual(fired, ['early', 'late']);
    assert.ok(env.clock.now() - start >= 59, `elapsed ${env.clock.now() - start}`);
    env.close();
  });

  test('a cancelled timer never fires and close() stops the environment', async () => {
    const env = new NodeEnvironment();
    let fired = false;
    const t = new Timer(() => {
      fired = true;
    });
    env.timers.schedule(t, env.clock.now() + 10);
    env.timers.cancel(t);
    const probe = new Promise<void>((resolve) =>
      env.timers.schedule(new Timer(() => resolve()), env.clock.now() + 30),
    );
    await probe;
    assert.equal(fired, false);
    env.close();
  });

  test('two real-time stacks ping each other over a virtual wire (ARP and ICMP on real timers)', async () => {
    const env = new NodeEnvironment();
    const wire = new VirtualNetwork(env).wire({ impairments: { delay: 5 } });
    const a = new Stack(env, { name: 'a' });
    const b = new Stack(env, { name: 'b' });
    const ia = wire.attach(a, 'eth0');
    const ib = wire.attach(b, 'eth0');
    a.ipv4.addAddress(ia, 0x0a00_0001, 24);
    b.ipv4.addAddress(ib, 0x0a00_0002, 24);
    const start = env.clock.now();
    const rtt = await new Promise<number>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no echo reply within 5 s')), 5000);
      a.icmpv4.echoReplyHandler = () => {
        clearTimeout(deadline);
        resolve(env.clock.now() - start);
        return true;
      };
      a.run(() => {
        const pb = PacketBuffer.forMessage(8 + 32);
        emitIcmpv4(pb, { type: 'echo-request', id: 1, seq: 1, data: new Uint8Array(32) });
        const path = a.ipv4.route(0x0a00_0002);
        assert.ok(typeof path !== 'string');
        a.ipv4.send(path, { dst: 0x0a00_0002, protocol: IP_PROTOCOL_ICMP }, pb);
      });
    });
    // ARP request, reply, echo and echo reply each crossed the 5 ms wire.
    assert.ok(rtt >= 19, `rtt ${rtt}`);
    assert.equal(b.arp.table.lookup(ib, 0x0a00_0001)?.mac, ia.mac);
    env.close();
  });
});
