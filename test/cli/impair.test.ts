import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { impairReceive, parseImpairments } from '../../src/cli/impair.ts';

/** A device as impairReceive sees a TAP: an MTU, offloads or not, a receiver. */
function device(offload: boolean) {
  const got: number[] = [];
  const dev = {
    mtu: 1500,
    offload,
    receiver: (frames: readonly Uint8Array[]) => {
      for (const f of frames) got.push(f.length);
    },
  } as { mtu: number; offload: boolean; receiver: ((frames: readonly Uint8Array[]) => void) | undefined };
  return { dev, got };
}

/** An Ethernet frame carrying an IPv4 packet of `ipLength` bytes. */
function frame(ipLength: number): Uint8Array {
  const f = new Uint8Array(14 + ipLength);
  f[12] = 0x08;
  f[14] = 0x45;
  f[16] = ipLength >> 8;
  f[17] = ipLength & 0xff;
  return f;
}

describe('--impair on a device', () => {
  test('a GSO super-frame from an offloading device passes the delay channel; without offloads the MTU holds', () => {
    const sim = new Simulation({ seed: 1 });
    const impairments = parseImpairments('delay=20')!;
    const withOffload = device(true);
    impairReceive(sim.fork(), withOffload.dev, impairments);
    withOffload.dev.receiver!([frame(1500), frame(65_000)]);
    const plain = device(false);
    impairReceive(sim.fork(), plain.dev, impairments);
    plain.dev.receiver!([frame(1500), frame(65_000)]);
    sim.advance(100);
    assert.deepEqual(withOffload.got, [14 + 1500, 14 + 65_000], 'the super-frame arrives after the delay');
    assert.deepEqual(plain.got, [14 + 1500], 'a frame above the MTU on a plain device is dropped');
  });
});
