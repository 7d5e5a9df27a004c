import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { LinkEndpoint } from '../../src/core/device/link.ts';
import { emitEthernet } from '../../src/wire/ethernet.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';

const MAC_A = 0x02_00_00_00_00_0a;
const MAC_B = 0x02_00_00_00_00_0b;

/** A link that records each batch the stack hands it. */
function recordingLink(mac: number): LinkEndpoint & { batches: Uint8Array[][] } {
  const batches: Uint8Array[][] = [];
  return { kind: 'ethernet', mtu: 1500, mac, batches, transmit: (frames) => batches.push([...frames]) };
}

function frame(dst: number, src: number, ethertype: number, payload = new Uint8Array(46)): Uint8Array {
  const pb = PacketBuffer.from(payload, 14);
  emitEthernet(pb, { dst, src, ethertype });
  return pb.bytes();
}

describe('Stack', () => {
  test('packet sockets receive frames for us, broadcast and multicast, by EtherType', () => {
    const sim = new Simulation({ seed: 1 });
    const stack = sim.createStack();
    const eth0 = stack.addInterface('eth0', recordingLink(MAC_A));
    const got: number[] = [];
    stack.packetSockets.open({ ethertype: 0x88b5, onFrame: (f) => got.push(f.length) });
    eth0.receive([
      frame(MAC_A, MAC_B, 0x88b5),
      frame(0xffff_ffff_ffff, MAC_B, 0x88b5),
      frame(0x01_00_5e_00_00_01, MAC_B, 0x88b5),
      frame(MAC_B, MAC_A, 0x88b5), // another station's frame
      frame(MAC_A, MAC_B, 0x88b6), // nobody listens to this type
      new Uint8Array(10), // truncated
    ]);
    assert.deepEqual(got, [60, 60, 60]);
    assert.deepEqual(stack.counters.snapshot(), {
      'eth.rx.bytes': 5 * 60 + 10,
      'eth.rx.drop.not-for-us': 1,
      'eth.rx.drop.truncated': 1,
      'eth.rx.drop.unknown-ethertype': 1,
      'eth.rx.frames': 6,
    });
  });

  test('a promiscuous socket sees frames for other stations', () => {
    const stack = new Simulation().createStack();
    const eth0 = stack.addInterface('eth0', recordingLink(MAC_A));
    let seen = 0;
    stack.packetSockets.open({ promiscuous: true, onFrame: () => seen++ });
    eth0.receive([frame(MAC_B, MAC_A, 0x88b5)]);
    assert.equal(seen, 1);
  });

  test('frames sent within one entry reach the link as one batch', () => {
    const stack = new Simulation().createStack();
    const link = recordingLink(MAC_A);
    const eth0 = stack.addInterface('eth0', link);
    const sock = stack.packetSockets.open({ onFrame: () => {} });
    stack.run(() => {
      for (let i = 0; i < 5; i++) sock.send(eth0, frame(MAC_B, MAC_A, 0x88b5));
    });
    sock.send(eth0, frame(MAC_B, MAC_A, 0x88b5));
    assert.deepEqual(
      link.batches.map((b) => b.length),
      [5, 1],
    );
  });

  test('API misuse gets Node-style errors with a code', () => {
    const stack = new Simulation().createStack();
    const eth0 = stack.addInterface('eth0', recordingLink(MAC_A));
    assert.throws(() => stack.addInterface('eth0', recordingLink(MAC_B)), { code: 'EEXIST' });
    const sock = stack.packetSockets.open({ onFrame: () => {} });
    assert.throws(() => sock.send(eth0, new Uint8Array(5)), { code: 'EINVAL' });
    assert.throws(() => sock.send(eth0, new Uint8Array(2000)), { code: 'EMSGSIZE' });
    sock.close();
    assert.throws(() => sock.send(eth0, frame(MAC_B, MAC_A, 0x88b5)), { code: 'EBADF' });
    assert.equal(stack.getInterface(2), eth0);
    assert.equal(stack.getInterface(1), stack.loopback);
    assert.equal(stack.getInterface('eth0'), eth0);
  });

  test('observers see frames in both directions with the time they passed', () => {
    const sim = new Simulation();
    const stack = sim.createStack();
    const eth0 = stack.addInterface('eth0', recordingLink(MAC_A));
    const seen: string[] = [];
    // Only the test's frames (EtherType 0x88b5), not the stack's IPv6 autoconfiguration.
    const remove = eth0.addObserver((dir, f, now) => {
      if (f[12] === 0x88 && f[13] === 0xb5) seen.push(`${dir}:${f.length}@${now}`);
    });
    sim.advance(5);
    eth0.receive([frame(MAC_A, MAC_B, 0x88b5)]);
    stack.packetSockets
      .open({ onFrame: () => {} })
      .send(eth0, frame(MAC_B, MAC_A, 0x88b5, new Uint8Array(50)));
    remove();
    eth0.receive([frame(MAC_A, MAC_B, 0x88b5)]);
    assert.deepEqual(seen, ['rx:60@5', 'tx:64@5']);
  });

  test('stack timers run as entries on virtual time; nextDeadline tells when to poll', () => {
    const sim = new Simulation();
    // No IPv6: its autoconfiguration timers would be the next deadline.
    const stack = sim.createStack({ ipv6: false });
    const link = recordingLink(MAC_A);
    const eth0 = stack.addInterface('eth0', link);
    const sock = stack.packetSockets.open({ onFrame: () => {} });
    const t = stack.createTimer(() => {
      sock.send(eth0, frame(MAC_B, MAC_A, 0x88b5));
      sock.send(eth0, frame(MAC_B, MAC_A, 0x88b5));
    });
    stack.schedule(t, 250);
    assert.equal(stack.nextDeadline(), 250);
    assert.equal(stack.poll(), 0);
    sim.advance(300);
    assert.deepEqual(
      link.batches.map((b) => b.length),
      [2],
    );
    assert.equal(stack.nextDeadline(), Number.POSITIVE_INFINITY);
  });
});

describe('entry end', () => {
  test('atEntryEnd callbacks run once, at the end of the outermost entry, before frames leave', () => {
    const stack = new Simulation().createStack();
    const link = recordingLink(MAC_A);
    const eth0 = stack.addInterface('eth0', link);
    const sock = stack.packetSockets.open({ onFrame: () => {} });
    const log: string[] = [];
    stack.run(() => {
      stack.atEntryEnd(() => {
        log.push(`end, ${link.batches.length} batches so far`);
        sock.send(eth0, frame(MAC_B, MAC_A, 0x88b5));
        stack.atEntryEnd(() => log.push('queued by a callback'));
      });
      stack.run(() => log.push('inner entry'));
      log.push('body');
    });
    assert.deepEqual(log, ['inner entry', 'body', 'end, 0 batches so far', 'queued by a callback']);
    assert.deepEqual(
      link.batches.map((b) => b.length),
      [1],
    );
    stack.atEntryEnd(() => log.push('outside an entry'));
    assert.equal(log.at(-1), 'outside an entry');
  });
});
