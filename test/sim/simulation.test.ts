import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';

describe('Simulation', () => {
  test('runs 10^6 timer events on virtual time, in order, in far less real time', () => {
    const sim = new Simulation({ seed: 11 });
    let count = 0;
    let last = 0;
    let ordered = true;
    // 1000 periodic "protocol timers", each re-arming itself 1000 times with its own period.
    for (let i = 0; i < 1000; i++) {
      const period = 1 + (sim.rng.nextU32() % 1000);
      let left = 1000;
      const tick = (now: number) => {
        count++;
        if (now < last) ordered = false;
        last = now;
        if (--left > 0) sim.after(period, tick);
      };
      sim.after(period, tick);
    }
    const started = performance.now();
    sim.runUntilIdle();
    assert.equal(count, 1_000_000);
    assert.equal(sim.eventsRun, 1_000_000);
    assert.ok(ordered);
    assert.ok(sim.now > 100_000, `virtual time ${sim.now}`);
    assert.ok(performance.now() - started < 60_000);
  });

  test('advance stops at the horizon; runUntil checks a condition; idle detection is bounded', () => {
    const sim = new Simulation();
    const log: number[] = [];
    sim.at(10, (t) => log.push(t));
    sim.at(20, (t) => log.push(t));
    assert.equal(sim.advance(15), 1);
    assert.equal(sim.now, 15);
    assert.equal(
      sim.runUntil(() => log.length === 2),
      true,
    );
    assert.equal(sim.now, 20);
    assert.equal(
      sim.runUntil(() => false, 100),
      false,
    );
    assert.equal(sim.now, 120);
    const forever = () => sim.after(1, forever);
    forever();
    assert.throws(() => sim.runUntilIdle({ maxEvents: 1000 }), /not idle/);
    assert.throws(() => sim.runUntilIdle({ maxTime: 10 }), /not idle/);
  });

  test('stacks get independent random streams determined by the seed', () => {
    const draws = (seed: number) => {
      const sim = new Simulation({ seed });
      return [sim.createStack(), sim.createStack()].map((s) => s.env.rng.nextU32());
    };
    assert.deepEqual(draws(5), draws(5));
    assert.notDeepEqual(draws(5), draws(6));
    const [a, b] = draws(5);
    assert.notEqual(a, b);
  });
});
