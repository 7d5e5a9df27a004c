import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation, VirtualNetwork } from '../../src/bindings/memory/index.ts';
import { NodeEnvironment } from '../../src/bindings/node/node-environment.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { Stack } from '../../src/core/stack.ts';
import { macIsMulticast } from '../../src/wire/address.ts';
import { ETHERTYPE_TEST, listen, quietStack, sender, seqOf, testFrame, wiredPair } from './link-helpers.ts';

describe('virtual wire', () => {
  test('delivers both ways, asynchronously, a same-instant burst as one batch', () => {
    const { sim, a, b, wire, ia, ib } = wiredPair();
    const atA = listen(a);
    const atB = listen(b);
    const batchOf: number[] = [];
    b.packetSockets.open({ ethertype: ETHERTYPE_TEST, onFrame: () => batchOf.push(sim.eventsRun) });

    sender(a, ia)([testFrame(ia.mac, ib.mac, 1), testFrame(ia.mac, ib.mac, 2)]);
    assert.equal(atB.length, 0, 'nothing is delivered inside transmit');
    assert.equal(wire.pending, 2);
    sim.runUntilIdle();
    assert.deepEqual(
      atB.map((x) => [x.seq, x.at, x.iface]),
      [
        [1, 0, ib],
        [2, 0, ib],
      ],
    );
    assert.equal(batchOf.length, 2);
    assert.equal(batchOf[0], batchOf[1], 'both frames arrived in the same event');

    sender(b, ib)([testFrame(ib.mac, ia.mac, 3)]);
    sim.runUntilIdle();
    assert.deepEqual(
      atA.map((x) => x.seq),
      [3],
    );
    assert.deepEqual(wire.stats['a-to-b'], {
      sent: 2,
      delivered: 2,
      lost: 0,
      duplicated: 0,
      corrupted: 0,
      reordered: 0,
      droppedMtu: 0,
      droppedQueue: 0,
      droppedNoPeer: 0,
    });
    assert.equal(wire.stats['b-to-a'].delivered, 1);
    assert.deepEqual(wire.interfaces, [ia, ib]);
  });

  test('a reply sent from the receive callback crosses the wire in its own event', () => {
    const { sim, a, b, ia, ib } = wiredPair(1, { impairments: { delay: 7 } });
    const socketB = b.packetSockets.open({
      ethertype: ETHERTYPE_TEST,
      onFrame: (frame, iface) => socketB.send(iface, testFrame(ib.mac, ia.mac, seqOf(frame) + 100)),
    });
    const atA = listen(a);
    sender(a, ia)([testFrame(ia.mac, ib.mac, 5)]);
    sim.runUntilIdle();
    assert.deepEqual(
      atA.map((x) => [x.seq, x.at]),
      [[105, 14]],
    );
  });

  test('link endpoints: Ethernet, MTU, deterministic locally administered MACs, or the given one', () => {
    const { sim, net, ia, ib } = wiredPair();
    assert.equal(ia.link.kind, 'ethernet');
    assert.equal(ia.mtu, 1500);
    assert.equal(ia.mac, 0x02_00_00_00_00_01);
    assert.equal(ib.mac, 0x02_00_00_00_00_02);
    for (const mac of [ia.mac, ib.mac]) assert.ok(!macIsMulticast(mac));
    assert.equal(ia.link.capabilities?.noChecksums, undefined);

    const big = net.wire({ mtu: 65520 });
    const ic = big.attach(quietStack(sim), 'eth0', { mac: 0x02_aa_00_00_00_01 });
    const id = big.attach(quietStack(sim), 'eth0');
    assert.equal(ic.mac, 0x02_aa_00_00_00_01);
    assert.equal(id.mac, 0x02_00_00_00_00_03);
    assert.equal(id.mtu, 65520);
  });

  test('a 65520-byte MTU carries big frames', () => {
    const { sim, b, wire, ia, ib, a } = wiredPair(1, { mtu: 65520 });
    const atB = listen(b);
    sender(a, ia)([testFrame(ia.mac, ib.mac, 1, 65520)]);
    sim.runUntilIdle();
    assert.equal(atB.length, 1);
    assert.equal(atB[0]!.frame.length, 65534);
    assert.equal(wire.stats['a-to-b'].droppedMtu, 0);
  });

  test('a third attach is refused with EISCONN; the stack refuses duplicate names with EEXIST', () => {
    const { sim, net, a, wire } = wiredPair();
    assert.throws(() => wire.attach(quietStack(sim), 'eth0'), { code: 'EISCONN' });
    assert.throws(() => net.wire().attach(a, 'eth0'), { code: 'EEXIST' });
    assert.throws(() => net.wire({ mtu: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  });

  test('noChecksums only on request, never together with corruption', () => {
    const { sim, net } = wiredPair();
    const wire = net.wire({ noChecksums: true, impairments: { loss: 0.1 } });
    const i = wire.attach(quietStack(sim), 'eth0');
    assert.equal(i.link.capabilities?.noChecksums, true);
    assert.throws(() => wire.setImpairments({ corrupt: 0.01 }), { code: 'EINVAL' });
    assert.throws(() => net.wire({ noChecksums: true, impairments: { corrupt: 0.5 } }), { code: 'EINVAL' });
    const plain = net.wire({ impairments: { corrupt: 0.5 } }).attach(quietStack(sim), 'eth0');
    assert.notEqual(plain.link.capabilities?.noChecksums, true);
  });

  test('frames sent before the other end is attached are counted, not delivered', () => {
    const sim = new Simulation({ seed: 3 });
    const wire = new VirtualNetwork(sim).wire();
    const a = quietStack(sim);
    const ia = wire.attach(a, 'eth0');
    sender(a, ia)([testFrame(ia.mac, 0x02_00_00_00_00_09, 1)]);
    sim.runUntilIdle();
    assert.equal(wire.stats['a-to-b'].droppedNoPeer, 1);
    assert.equal(wire.stats['a-to-b'].delivered, 0);
  });

  test('per-direction impairments: a-to-b loses everything, b-to-a is clean', () => {
    const { sim, a, b, wire, ia, ib } = wiredPair();
    wire.setImpairments({ loss: 1 }, 'a-to-b');
    assert.deepEqual(wire.impairments('a-to-b'), { loss: 1 });
    assert.deepEqual(wire.impairments('b-to-a'), {});
    const atA = listen(a);
    const atB = listen(b);
    sender(a, ia)([testFrame(ia.mac, ib.mac, 1)]);
    sender(b, ib)([testFrame(ib.mac, ia.mac, 2)]);
    sim.runUntilIdle();
    assert.equal(atB.length, 0);
    assert.deepEqual(
      atA.map((x) => x.seq),
      [2],
    );
    assert.equal(wire.stats['a-to-b'].lost, 1);
    wire.setImpairments({ ...wire.impairments('a-to-b'), loss: 0 }, 'a-to-b');
    sender(a, ia)([testFrame(ia.mac, ib.mac, 3)]);
    sim.runUntilIdle();
    assert.deepEqual(
      atB.map((x) => x.seq),
      [3],
    );
  });

  test('works on the real clock of NodeEnvironment', async () => {
    const env = new NodeEnvironment({ rng: new SeededRng(7), ref: false });
    try {
      const net = new VirtualNetwork(env);
      const a = new Stack(env, { name: 'a' });
      const b = new Stack(env, { name: 'b' });
      const wire = net.wire({ impairments: { delay: 5 } });
      const ia = wire.attach(a, 'eth0');
      const ib = wire.attach(b, 'eth0');
      const atB = listen(b);
      const sentAt = env.clock.now();
      sender(a, ia)([testFrame(ia.mac, ib.mac, 1), testFrame(ia.mac, ib.mac, 2)]);
      const deadline = Date.now() + 2000;
      while (atB.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      assert.deepEqual(
        atB.map((x) => x.seq),
        [1, 2],
      );
      assert.ok(atB[0]!.at - sentAt >= 5, `arrived after ${atB[0]!.at - sentAt} ms`);
    } finally {
      env.close();
    }
  });
});
