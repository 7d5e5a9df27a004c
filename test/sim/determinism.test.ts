import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { captureInterfaces, MemoryCapture } from '../../src/bindings/pcap/capture.ts';
import { LINKTYPE_ETHERNET, readCapture } from '../../src/bindings/pcap/pcap-format.ts';
import { emitEthernet } from '../../src/wire/ethernet.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';

const ETHERTYPE_EXPERIMENTAL = 0x88b5;

/**
 * Two stacks on an impaired wire: `a` sends `count` numbered frames of random sizes at random
 * times; `b` echoes each one back. Returns the pcap of a's interface and what each side saw.
 */
function run(seed: number, count: number) {
  const sim = new Simulation({ seed });
  const wire = new VirtualNetwork(sim).wire({
    impairments: {
      loss: 0.05,
      delay: 5,
      jitter: 1,
      reorder: 0.05,
      duplicate: 0.01,
      corrupt: 0.001,
      rateBitsPerSecond: 1e9,
    },
  });
  const a = sim.createStack({ name: 'a' });
  const b = sim.createStack({ name: 'b' });
  const ia = wire.attach(a, 'eth0');
  const ib = wire.attach(b, 'eth0');
  const capture = new MemoryCapture('pcapng', [{ linkType: LINKTYPE_ETHERNET, name: 'a-eth0' }]);
  captureInterfaces([ia], capture, { toWallClock: (t) => sim.wallClock(t) });

  const frame = (dst: number, src: number, payload: Uint8Array) => {
    const pb = PacketBuffer.from(payload, 14);
    emitEthernet(pb, { dst, src, ethertype: ETHERTYPE_EXPERIMENTAL });
    return pb.bytes();
  };
  const echoer = b.packetSockets.open({
    ethertype: ETHERTYPE_EXPERIMENTAL,
    onFrame: (f) => echoer.send(ib, frame(ia.mac, ib.mac, f.slice(14))),
  });
  let echoes = 0;
  const sender = a.packetSockets.open({ ethertype: ETHERTYPE_EXPERIMENTAL, onFrame: () => echoes++ });
  const rng = a.env.rng;
  let time = 0;
  for (let i = 0; i < count; i++) {
    time += (rng.nextU32() % 100) / 100; // 0..0.99 ms apart
    const size = 46 + (rng.nextU32() % 200);
    sim.at(time, () => {
      const payload = new Uint8Array(size);
      new DataView(payload.buffer).setUint32(0, i);
      sender.send(ia, frame(ib.mac, ia.mac, payload));
    });
  }
  sim.runUntilIdle();
  return { pcap: capture.bytes(), packets: capture.packets, echoes, stats: wire.stats };
}

const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('determinism', () => {
  test('10^5 frames over an impaired link: the same seed gives a byte-identical pcap', () => {
    const first = run(2024, 50_000);
    const second = run(2024, 50_000);
    // 50,000 sent by a plus the echoes a received: about 10^5 frames crossed the wire.
    assert.ok(first.packets > 90_000, `packets ${first.packets}`);
    assert.equal(first.stats['a-to-b'].sent + first.stats['b-to-a'].sent >= 95_000, true);
    assert.equal(digest(first.pcap), digest(second.pcap));
    assert.equal(first.echoes, second.echoes);
    const parsed = readCapture(first.pcap);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.packets.length, first.packets);
    // Impairments really happened.
    assert.ok(first.stats['a-to-b'].lost > 1000 && first.stats['a-to-b'].duplicated > 100);
  });

  test('another seed gives another run', () => {
    assert.notEqual(digest(run(1, 2000).pcap), digest(run(2, 2000).pcap));
  });
});
