import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { FRAGMENT_OVERHEAD, Reassembler, type ReassemblyLimits } from '../../src/core/ip/reassembly.ts';
import { RUNS } from '../helpers/fuzz.ts';

const HEADER = new Uint8Array(20).fill(0x45);

function setup(limits: Partial<ReassemblyLimits> = {}) {
  const sim = new Simulation({ seed: 1 });
  const stack = sim.createStack();
  const timeouts: Array<{ header: Uint8Array; data: Uint8Array }> = [];
  const r = new Reassembler(
    stack,
    { timeout: 30_000, maxBytes: 1 << 20, maxDatagrams: 64, maxPacket: 65535, ...limits },
    stack.counters.drops('r.drop'),
    (header, data) => timeouts.push({ header, data }),
  );
  const drops = (reason: string) => stack.counters.value(`r.drop.${reason}`);
  return { sim, stack, r, timeouts, drops };
}

const bytes = (n: number, seed = 0) => new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff);

describe('Reassembler', () => {
  test('fragments in any order, with duplicates, rebuild the payload exactly', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 40 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 1, max: 200 }),
              fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
              fc.array(fc.nat(n - 1), { maxLength: 5 }),
            ),
          ),
        ([n, lastLen, order, dups]) => {
          const { r, drops } = setup();
          const payload = bytes((n - 1) * 64 + lastLen, n);
          const frag = (i: number) => {
            const end = i === n - 1 ? payload.length : (i + 1) * 64;
            return r.insert('k', i * 64, i !== n - 1, payload.subarray(i * 64, end), HEADER);
          };
          // Each duplicate follows its original; none repeats the completing (last) fragment.
          const sequence = [...order];
          for (const d of dups) if (d !== order[n - 1]) sequence.splice(sequence.indexOf(d) + 1, 0, d);
          const results = sequence.map(frag);
          assert.ok(results.slice(0, -1).every((x) => x === undefined));
          const done = results[results.length - 1];
          assert.ok(done !== undefined);
          assert.deepEqual(done.payload, payload);
          assert.deepEqual(done.firstHeader, HEADER);
          assert.deepEqual(r.usage, { datagrams: 0, bytes: 0 });
          assert.equal(drops('overlap'), 0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('an overlapping fragment drops the whole datagram', () => {
    const { r, drops } = setup();
    assert.equal(r.insert('k', 0, true, bytes(64), HEADER), undefined);
    assert.equal(r.insert('k', 56, true, bytes(16), HEADER), undefined);
    assert.equal(drops('overlap'), 1);
    assert.deepEqual(r.usage, { datagrams: 0, bytes: 0 });
    // Same offset, different length: an overlap too, not a duplicate.
    r.insert('k', 0, true, bytes(64), HEADER);
    r.insert('k', 0, true, bytes(32), HEADER);
    assert.equal(drops('overlap'), 2);
  });

  test('a last fragment ending before data already held is inconsistent (not a crash)', () => {
    const { r, drops } = setup();
    // [0, 8) and [24, 32) held; a last fragment [16, 24) would make 24 bytes "complete" with a gap.
    r.insert('k', 0, true, bytes(8), HEADER);
    r.insert('k', 24, true, bytes(8), HEADER);
    assert.equal(r.insert('k', 16, false, bytes(8), HEADER), undefined);
    assert.equal(drops('inconsistent-end'), 1);
    assert.deepEqual(r.usage, { datagrams: 0, bytes: 0 });
  });

  test('a second, different end and a fragment past the end are inconsistent', () => {
    const { r, drops } = setup();
    r.insert('a', 64, false, bytes(8), HEADER);
    r.insert('a', 80, false, bytes(8), HEADER);
    r.insert('b', 64, false, bytes(8), HEADER);
    r.insert('b', 72, true, bytes(8), HEADER);
    assert.equal(drops('inconsistent-end'), 2);
    assert.equal(r.usage.datagrams, 0);
  });

  test('a non-last fragment must carry a non-zero multiple of 8 bytes (RFC 791 3.2)', () => {
    const { r, drops } = setup();
    r.insert('k', 0, true, bytes(12), HEADER);
    r.insert('k', 0, true, bytes(0), HEADER);
    assert.equal(drops('bad-length'), 2);
    assert.equal(r.usage.datagrams, 0);
  });

  test('header plus payload past the largest packet is too big, whatever the header size', () => {
    const { r, drops } = setup();
    r.insert('a', 65512, false, bytes(8), HEADER);
    assert.equal(drops('too-big'), 1);
    // Fits with a 20-byte header, not with the 60-byte header of the first fragment.
    assert.equal(r.insert('b', 65504, false, bytes(8), HEADER), undefined);
    assert.equal(r.insert('b', 0, true, bytes(8), new Uint8Array(60)), undefined);
    assert.equal(drops('too-big'), 2);
    assert.equal(r.usage.datagrams, 0);
  });

  test('a timeout drops the datagram and reports it only when the first fragment was seen', () => {
    const { sim, r, timeouts, drops } = setup();
    r.insert('with-first', 0, true, bytes(16, 3), HEADER);
    r.insert('without-first', 16, false, bytes(16), HEADER);
    sim.advance(29_999);
    assert.equal(r.usage.datagrams, 2);
    sim.advance(1);
    assert.equal(r.usage.datagrams, 0);
    assert.equal(r.usage.bytes, 0);
    assert.equal(drops('timeout'), 2);
    assert.equal(timeouts.length, 1);
    assert.deepEqual(timeouts[0]!.data, bytes(16, 3));
  });

  test('floods of incomplete datagrams stay under the datagram and byte bounds, oldest evicted', () => {
    const { r, drops } = setup({ maxDatagrams: 16, maxBytes: 4096 });
    for (let id = 0; id < 1000; id++) {
      r.insert(`id${id}`, 0, true, bytes(64), HEADER);
      assert.ok(r.usage.datagrams <= 16);
      assert.ok(r.usage.bytes <= 4096);
    }
    assert.ok(drops('evicted') >= 1000 - 16);
    // The newest survive.
    assert.equal(r.insert('id999', 64, false, bytes(8), HEADER)?.payload.length, 72);
  });

  test('tiny fragments are charged their overhead, so one datagram of them cannot outgrow the bound', () => {
    const { r, drops } = setup({ maxBytes: 8192 });
    r.insert('k', 0, true, bytes(8), HEADER);
    assert.equal(r.usage.bytes, 8 + FRAGMENT_OVERHEAD);
    let held = 1;
    for (let off = 16; drops('memory') === 0; off += 16) {
      r.insert('k', off, true, bytes(8), HEADER);
      if (drops('memory') === 0) held++;
      assert.ok(r.usage.bytes <= 8192, `${r.usage.bytes} bytes held`);
    }
    assert.equal(held, Math.floor(8192 / (8 + FRAGMENT_OVERHEAD)));
    assert.equal(r.usage.datagrams, 0);
  });
});
