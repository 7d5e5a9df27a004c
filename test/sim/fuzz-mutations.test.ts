/**
 * Whole-stack fuzzing with mutated frames: frames the simulated stacks sent themselves and the
 * golden captures of test/fixtures, readdressed to a busy victim (host or router), bit-flipped,
 * truncated, extended or with a length/offset field rewritten, mostly with their checksums
 * recomputed so the damage reaches the layers behind them. Nothing may throw out of the stack,
 * every frame must leave a counted trace, the tables stay bounded and the established
 * connections keep delivering intact data.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadFixture } from '../helpers/fixtures.ts';
import { fixChecksums, mutate, mutationArb, readdress } from '../helpers/hostile-frames.ts';
import {
  assertBounded,
  assertStillTransfers,
  dropTotal,
  hostileWorld,
  inject,
} from '../helpers/hostile-world.ts';

const RUNS = Number(process.env.NETSTACK_FUZZ_RUNS ?? 120);
/** Worlds to fuzz; NETSTACK_FUZZ_SEEDS (comma-separated) picks others for a soak. */
const SEEDS = (process.env.NETSTACK_FUZZ_SEEDS ?? '1,2').split(',').map(Number);

/** Counters every received frame moves: a frame that moved only these vanished silently. */
const RECEIVE_ONLY = new Set(['eth.rx.frames', 'eth.rx.bytes']);

function fixtureFrames(): Uint8Array[] {
  const dir = new URL('../fixtures/', import.meta.url);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.pcap'))
    .flatMap((n) => loadFixture(n).map((p) => p.data));
}

const inputArb = fc.record({
  source: fc.nat(),
  fromFixture: fc.boolean(),
  toRouter: fc.boolean(),
  readdressed: fc.boolean(),
  fix: fc.integer({ min: 0, max: 3 }),
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
});

for (const seed of SEEDS) {
  describe(`whole stack under mutated frames (seed ${seed})`, () => {
    it('counts and drops, never throws, stays bounded and keeps its connections', () => {
      const w = hostileWorld(seed);
      const own = w.sent.slice();
      const fixtures = fixtureFrames();
      assert.ok(
        own.length > 50 && fixtures.length > 50,
        `${own.length} own frames, ${fixtures.length} captured`,
      );
      const drops0 = dropTotal(w.host.stack) + dropTotal(w.gateway.stack);
      let batches = 0;
      fc.assert(
        fc.property(fc.array(inputArb, { minLength: 1, maxLength: 8 }), (batch) => {
          for (const input of batch) {
            const pool = input.fromFixture ? fixtures : own;
            const victim = input.toRouter ? w.gateway : w.host;
            let frame = pool[input.source % pool.length]!;
            if (input.readdressed) frame = readdress(frame, victim.mac, victim.ip4, victim.ip6);
            for (const m of input.mutations) frame = mutate(frame, m);
            // Checksums recomputed three times in four: the case that reaches deep layers.
            if (input.fix > 0) frame = fixChecksums(frame);
            const before = victim.stack.counters.snapshot();
            inject(victim, [frame], seed);
            const after = victim.stack.counters.snapshot();
            const moved = Object.keys(after).filter((k) => !RECEIVE_ONLY.has(k) && after[k] !== before[k]);
            assert.ok(
              moved.length > 0,
              `seed ${seed}: ${victim.name} took a frame without counting anything: ${Buffer.from(frame).toString('hex')}`,
            );
          }
          w.sim.advance(50);
          assertBounded(w, seed);
          if (++batches % 20 === 0) assertStillTransfers(w, seed, 8 * 1024);
        }),
        { seed, numRuns: RUNS, endOnFailure: true },
      );
      assert.ok(dropTotal(w.host.stack) + dropTotal(w.gateway.stack) > drops0, 'no drop was counted');
      assertStillTransfers(w, seed);
      assert.ok(w.lookups() > 1, 'DNS kept working');
      assert.notEqual(w.dhcp.info().state, 'stopped', 'the DHCP client kept running');
    });
  });
}

describe('whole stack under mutated in-window segments of its live connections', () => {
  it('takes them without a throw, counted, bounded, and still connects afterwards', () => {
    const seed = 3;
    const w = hostileWorld(seed);
    // Mutated copies of what the router just sent to a: current sequence numbers, checksums
    // fixed, so they reach the established connections' state machines. A forged segment with a
    // right sequence number may legitimately reset or corrupt a connection, so only the stack's
    // health is checked here, by a new connection afterwards.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), mutationArb), { minLength: 1, maxLength: 8 }), (batch) => {
        const live = w.recent.slice();
        for (const [pick, m] of batch) {
          const frame = fixChecksums(mutate(live[pick % live.length]!, m));
          inject(w.host, [frame], seed);
        }
        w.sim.advance(20);
        assertBounded(w, seed);
      }),
      { seed, numRuns: Math.ceil(RUNS / 2), endOnFailure: true },
    );
    const c = w.a.tcp.connect({ address: w.bAddr, port: 80 });
    assert.ok(
      w.sim.runUntil(() => c.state === 'ESTABLISHED', 60_000),
      `seed ${seed}: no new connection: ${c.state}`,
    );
    assertBounded(w, seed);
  });
});
