import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SeededRng } from '../../src/core/rng.ts';
import { Timer, TimerQueue } from '../../src/core/timers.ts';
import { RUNS } from '../helpers/fuzz.ts';

describe('TimerQueue', () => {
  test('fires in deadline order, ties in scheduling order', () => {
    const q = new TimerQueue();
    const log: string[] = [];
    const make = (name: string) => new Timer(() => log.push(name));
    const [a, b, c, d] = [make('a'), make('b'), make('c'), make('d')];
    q.schedule(a, 30);
    q.schedule(b, 10);
    q.schedule(c, 10);
    q.schedule(d, 20);
    assert.equal(q.nextDeadline(), 10);
    assert.equal(q.runDue(15), 2);
    assert.deepEqual(log, ['b', 'c']);
    assert.equal(q.runDue(100), 2);
    assert.deepEqual(log, ['b', 'c', 'd', 'a']);
    assert.equal(q.nextDeadline(), Number.POSITIVE_INFINITY);
  });

  test('reschedule and cancel move timers; a cancelled timer never fires', () => {
    const q = new TimerQueue();
    const fired: number[] = [];
    const timers = [0, 1, 2, 3, 4].map((i) => new Timer(() => fired.push(i)));
    timers.forEach((t, i) => {
      q.schedule(t, 10 * (i + 1));
    });
    q.schedule(timers[4]!, 5); // earlier
    q.schedule(timers[0]!, 100); // later
    q.cancel(timers[2]!);
    q.cancel(timers[2]!); // idempotent
    assert.equal(timers[2]!.scheduled, false);
    q.runDue(1000);
    assert.deepEqual(fired, [4, 1, 3, 0]);
  });

  test('onEarlier reports only a new earliest deadline', () => {
    const q = new TimerQueue();
    const seen: number[] = [];
    q.onEarlier = (d) => seen.push(d);
    q.schedule(new Timer(() => {}), 50);
    q.schedule(new Timer(() => {}), 70);
    q.schedule(new Timer(() => {}), 20);
    assert.deepEqual(seen, [50, 20]);
  });

  test('callbacks may schedule timers that are already due; they run in the same pass', () => {
    const q = new TimerQueue();
    const log: number[] = [];
    const second = new Timer((now) => log.push(now));
    q.schedule(
      new Timer(() => {
        log.push(-1);
        q.schedule(second, 5);
      }),
      5,
    );
    q.runDue(10);
    assert.deepEqual(log, [-1, 10]);
  });

  test('property: pops equal a stable sort by deadline, under random schedules and cancels', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 200 }),
        (ops) => {
          const q = new TimerQueue();
          const order: number[] = [];
          const timers = ops.map((_, i) => new Timer(() => order.push(i)));
          ops.forEach(([deadline], i) => {
            q.schedule(timers[i]!, deadline);
          });
          ops.forEach(([, cancel], i) => {
            if (cancel) q.cancel(timers[i]!);
          });
          q.runDue(Number.POSITIVE_INFINITY);
          const expected = ops
            .map(([deadline, cancel], i) => ({ deadline, cancel, i }))
            .filter((o) => !o.cancel)
            .sort((x, y) => x.deadline - y.deadline || x.i - y.i)
            .map((o) => o.i);
          assert.deepEqual(order, expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('a million pending timers stay cheap to schedule, move and run', () => {
    const q = new TimerQueue();
    const rng = new SeededRng(7);
    let fired = 0;
    const cb = () => {
      fired++;
    };
    const timers: Timer[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const t = new Timer(cb);
      timers.push(t);
      q.schedule(t, rng.nextU32() % 1_000_000);
    }
    // Move a tenth of them (as TCP does with its retransmission timer on every ACK).
    for (let i = 0; i < 100_000; i++) q.schedule(timers[i]!, rng.nextU32() % 1_000_000);
    assert.equal(q.size, 1_000_000);
    assert.equal(q.runDue(Number.POSITIVE_INFINITY), 1_000_000);
    assert.equal(fired, 1_000_000);
  });
});
