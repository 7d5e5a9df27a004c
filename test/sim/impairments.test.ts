import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Impairments } from '../../src/bindings/memory/index.ts';
import { type Arrival, listen, sender, testFrame, wiredPair } from './link-helpers.ts';

/**
 * Sends `count` frames a to b, one every `gap` ms (all in one batch when `gap` is 0), runs the
 * simulation to the end, and returns what b received and the wire.
 */
function run(seed: number, impairments: Impairments, count: number, gap = 0, payloadLength = 46) {
  const pair = wiredPair(seed, { impairments });
  const { sim, a, b, ia, ib } = pair;
  const arrivals = listen(b);
  const send = sender(a, ia);
  if (gap === 0) {
    send(Array.from({ length: count }, (_, seq) => testFrame(ia.mac, ib.mac, seq, payloadLength)));
  } else {
    for (let seq = 0; seq < count; seq++) {
      send([testFrame(ia.mac, ib.mac, seq, payloadLength)]);
      sim.advance(gap);
    }
  }
  sim.runUntilIdle();
  return { ...pair, arrivals, stats: pair.wire.stats['a-to-b'] };
}

/** Latency of each arrival when frame `seq` was sent at `seq * gap`. */
const latencies = (arrivals: Arrival[], gap: number) => arrivals.map((x) => x.at - x.seq * gap);

function inversions(arrivals: Arrival[]): number {
  let n = 0;
  for (let i = 1; i < arrivals.length; i++) if (arrivals[i]!.seq < arrivals[i - 1]!.seq) n++;
  return n;
}

function bitsDiffering(x: Uint8Array, y: Uint8Array): number {
  assert.equal(x.length, y.length);
  let bits = 0;
  for (let i = 0; i < x.length; i++) for (let v = x[i]! ^ y[i]!; v !== 0; v &= v - 1) bits++;
  return bits;
}

describe('impairments', () => {
  test('loss: 5% of 10^4 frames, reproducible for a seed', () => {
    const first = run(42, { loss: 0.05 }, 10_000);
    const again = run(42, { loss: 0.05 }, 10_000);
    const lost = first.stats.lost;
    assert.equal(again.stats.lost, lost, 'same seed, same losses');
    assert.deepEqual(
      again.arrivals.map((x) => x.seq),
      first.arrivals.map((x) => x.seq),
    );
    // Binomial(10^4, 0.05): mean 500, standard deviation 21.8; the band is beyond 4.5 sigma.
    assert.ok(lost >= 400 && lost <= 600, `lost ${lost}`);
    assert.equal(first.arrivals.length, 10_000 - lost);
    assert.equal(first.stats.delivered, 10_000 - lost);
  });

  test('burst loss (Gilbert-Elliott): long-run rate p/(p+r), mean burst 1/r', () => {
    const p = 0.02;
    const r = 0.25;
    const count = 50_000;
    const { arrivals, stats } = run(7, { loss: { p, r } }, count);
    const rate = stats.lost / count;
    assert.ok(Math.abs(rate - p / (p + r)) < 0.015, `loss rate ${rate}`);
    const bursts: number[] = [];
    let expected = 0;
    for (const { seq } of arrivals) {
      if (seq > expected) bursts.push(seq - expected);
      expected = seq + 1;
    }
    const meanBurst = bursts.reduce((x, y) => x + y, 0) / bursts.length;
    assert.ok(meanBurst > 3.3 && meanBurst < 4.8, `mean burst ${meanBurst}`);
    // Independent loss at the same rate would give bursts of 1.08 frames on average.
    const independent = run(7, { loss: p / (p + r) }, count).arrivals;
    let isolated = 0;
    for (let i = 1; i < independent.length; i++)
      if (independent[i]!.seq - independent[i - 1]!.seq === 2) isolated++;
    assert.ok(bursts.filter((n) => n === 1).length < isolated / 2);
  });

  test('delay without jitter: every frame exactly 10 ms later, in order', () => {
    const { arrivals } = run(1, { delay: 10 }, 100, 1);
    assert.equal(arrivals.length, 100);
    assert.deepEqual(new Set(latencies(arrivals, 1)), new Set([10]));
    assert.equal(inversions(arrivals), 0);
  });

  test('delay and jitter: uniform within delay ± jitter on virtual time', () => {
    const { arrivals } = run(2, { delay: 10, jitter: 2 }, 2000, 1);
    const l = latencies(arrivals, 1);
    assert.equal(l.length, 2000);
    assert.ok(
      l.every((x) => x >= 8 && x <= 12),
      'within the band',
    );
    assert.ok(Math.min(...l) < 8.1 && Math.max(...l) > 11.9, 'spread over the band');
    const mean = l.reduce((x, y) => x + y, 0) / l.length;
    assert.ok(Math.abs(mean - 10) < 0.1, `mean ${mean}`);
    assert.ok(inversions(arrivals) > 0, 'jitter beyond the sending gap reorders, as in netem');
  });

  test('jitter larger than the delay never makes a frame arrive before it was sent', () => {
    const { arrivals } = run(3, { delay: 1, jitter: 5 }, 1000, 1);
    const l = latencies(arrivals, 1);
    assert.ok(l.every((x) => x >= 0 && x <= 6));
    assert.ok(l.filter((x) => x === 0).length > 300, 'negative draws are clamped to zero');
  });

  test('reorder: some frames skip the delay and overtake earlier ones', () => {
    const { arrivals, stats } = run(4, { delay: 10, reorder: 0.2 }, 1000, 1);
    const l = latencies(arrivals, 1);
    assert.ok(l.every((x) => x === 0 || x === 10));
    const skipped = l.filter((x) => x === 0).length;
    assert.equal(skipped, stats.reordered);
    assert.ok(skipped > 150 && skipped < 250, `reordered ${skipped}`);
    assert.ok(inversions(arrivals) > 100);
  });

  test('duplicate: extra copies, each arrival owning its bytes', () => {
    const pair = wiredPair(5, { impairments: { duplicate: 0.1 } });
    const { sim, a, ia, ib, wire } = pair;
    const received: Uint8Array[] = [];
    ib.addObserver((direction, frame) => {
      if (direction === 'rx') received.push(frame);
    });
    const arrivals = listen(pair.b);
    sender(a, ia)(Array.from({ length: 2000 }, (_, seq) => testFrame(ia.mac, ib.mac, seq)));
    sim.runUntilIdle();
    const duplicated = wire.stats['a-to-b'].duplicated;
    assert.ok(duplicated > 150 && duplicated < 250, `duplicated ${duplicated}`);
    assert.equal(arrivals.length, 2000 + duplicated);
    const seen = new Map<number, number>();
    for (const { seq } of arrivals) seen.set(seq, (seen.get(seq) ?? 0) + 1);
    assert.equal(seen.size, 2000);
    assert.equal([...seen.values()].filter((n) => n === 2).length, duplicated);
    assert.ok([...seen.values()].every((n) => n === 1 || n === 2));
    // A copy follows its original directly (no delay here), in its own buffer.
    for (let i = 1; i < arrivals.length; i++) {
      if (arrivals[i]!.seq !== arrivals[i - 1]!.seq) continue;
      assert.notEqual(received[i]!.buffer, received[i - 1]!.buffer);
    }
  });

  test('corrupt: exactly one bit flipped, in a copy; the sender bytes untouched', () => {
    const pair = wiredPair(6, { impairments: { corrupt: 0.05 } });
    const { sim, a, ia, ib, wire } = pair;
    const received: Uint8Array[] = [];
    ib.addObserver((direction, frame) => {
      if (direction === 'rx') received.push(frame.slice());
    });
    const frames = Array.from({ length: 2000 }, (_, seq) => testFrame(ia.mac, ib.mac, seq));
    const pristine = frames.map((f) => f.slice());
    sender(a, ia)(frames);
    sim.runUntilIdle();
    assert.equal(received.length, 2000);
    const flips = received.map((f, i) => bitsDiffering(f, pristine[i]!));
    assert.ok(flips.every((n) => n <= 1));
    const corrupted = flips.filter((n) => n === 1).length;
    assert.equal(corrupted, wire.stats['a-to-b'].corrupted);
    assert.ok(corrupted > 60 && corrupted < 140, `corrupted ${corrupted}`);
    frames.forEach((f, i) => {
      assert.deepEqual(f, pristine[i], 'the sent frame is never modified');
    });
  });

  test('rate limit: serialization time per frame, tail drop when the queue is full', () => {
    // 1000-byte frames at 1 Mbit/s: 8 ms each; the queue holds 5 of them.
    const pair = wiredPair(8, { impairments: { rateBitsPerSecond: 1e6, queueBytes: 5000, delay: 3 } });
    const { sim, a, b, ia, ib, wire } = pair;
    const arrivals = listen(b);
    const send = sender(a, ia);
    send(Array.from({ length: 10 }, (_, seq) => testFrame(ia.mac, ib.mac, seq, 986)));
    assert.equal(wire.stats['a-to-b'].droppedQueue, 5);
    sim.advance(12);
    // In the queue now: the frames finishing at 16, 24, 32 and 40 ms: room for one more.
    send([testFrame(ia.mac, ib.mac, 10, 986), testFrame(ia.mac, ib.mac, 11, 986)]);
    sim.runUntilIdle();
    assert.deepEqual(
      arrivals.map((x) => [x.seq, x.at]),
      [
        [0, 11],
        [1, 19],
        [2, 27],
        [3, 35],
        [4, 43],
        [10, 51],
      ],
    );
    assert.equal(arrivals[0]!.frame.length, 1000);
    assert.equal(wire.stats['a-to-b'].droppedQueue, 6);
    // An idle link sends at once again.
    sim.advance(100);
    const t0 = sim.now;
    send([testFrame(ia.mac, ib.mac, 12, 986)]);
    sim.runUntilIdle();
    assert.equal(arrivals.at(-1)!.at - t0, 11);
  });

  test('MTU: payloads over the MTU are dropped and counted; the 802.1Q tag does not count', () => {
    const { sim, a, b, ia, ib, wire } = wiredPair(9);
    const arrivals = listen(b);
    const send = sender(a, ia);
    const vlan = { pcp: 0, dei: false, id: 7 };
    send([
      testFrame(ia.mac, ib.mac, 1, 1500),
      testFrame(ia.mac, ib.mac, 2, 1504),
      testFrame(ia.mac, ib.mac, 3, 1500, vlan),
    ]);
    sim.runUntilIdle();
    assert.deepEqual(
      arrivals.map((x) => x.seq),
      [1, 3],
    );
    assert.equal(wire.stats['a-to-b'].droppedMtu, 1);
    // A narrower hop in one direction.
    wire.setImpairments({ mtu: 1280 }, 'a-to-b');
    send([testFrame(ia.mac, ib.mac, 4, 1280), testFrame(ia.mac, ib.mac, 5, 1281)]);
    sim.runUntilIdle();
    assert.deepEqual(
      arrivals.map((x) => x.seq),
      [1, 3, 4],
    );
    assert.equal(wire.stats['a-to-b'].droppedMtu, 2);
  });

  test('determinism: one seed gives one delivery log, another seed another', () => {
    const all: Impairments = {
      loss: 0.05,
      delay: 10,
      jitter: 2,
      reorder: 0.05,
      duplicate: 0.01,
      corrupt: 0.001,
      rateBitsPerSecond: 10e6,
      queueBytes: 64_000,
      mtu: 1500,
    };
    const log = (seed: number) => {
      const { sim, a, b, ia, ib, wire } = wiredPair(seed, { impairments: all });
      const lines: string[] = [];
      for (const [iface, name] of [
        [ia, 'a'],
        [ib, 'b'],
      ] as const) {
        iface.addObserver((direction, frame, now) => {
          if (direction === 'rx') lines.push(`${now} ${name} ${Buffer.from(frame).toString('hex')}`);
        });
      }
      const sendA = sender(a, ia);
      const sendB = sender(b, ib);
      for (let i = 0; i < 500; i++) {
        sendA([testFrame(ia.mac, ib.mac, i, 200), testFrame(ia.mac, ib.mac, i + 10_000, 1400)]);
        sendB([testFrame(ib.mac, ia.mac, i, 100)]);
        sim.advance(0.5);
      }
      sim.runUntilIdle();
      return { lines, stats: structuredClone(wire.stats) };
    };
    const first = log(42);
    const again = log(42);
    const other = log(43);
    assert.ok(first.lines.length > 1000);
    assert.deepEqual(again.lines, first.lines);
    assert.deepEqual(again.stats, first.stats);
    assert.notDeepEqual(other.lines, first.lines);
    const s = first.stats['a-to-b'];
    assert.ok(s.lost > 0 && s.reordered > 0 && s.duplicated > 0 && s.droppedQueue > 0, JSON.stringify(s));
    assert.equal(
      s.delivered,
      s.sent - s.lost - s.droppedMtu - s.droppedQueue - s.droppedNoPeer + s.duplicated,
      'every frame offered has one outcome',
    );
  });

  test('invalid impairments are refused with ERR_OUT_OF_RANGE', () => {
    const { wire } = wiredPair();
    for (const bad of [
      { loss: 1.5 },
      { loss: { p: 2, r: 0.1 } },
      { delay: -1 },
      { jitter: Number.NaN },
      { duplicate: -0.1 },
      { rateBitsPerSecond: 0 },
      { queueBytes: -1 },
      { mtu: Number.POSITIVE_INFINITY },
    ] as Impairments[]) {
      assert.throws(
        () => wire.setImpairments(bad),
        { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' },
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(wire.impairments('a-to-b'), {});
  });
});
