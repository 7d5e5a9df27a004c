/**
 * Virtual time for many stacks and links at once. A `Simulation` is an `Environment`: every stack
 * and link made from it shares one clock and one timer queue, and draws randomness from streams
 * forked from one seed, so a run is a pure function of its seed and its inputs. Time moves only
 * when the simulation runs events: two hours of keepalives take as long as the events they hold.
 */
import type { Environment } from '../../core/environment.ts';
import { SeededRng } from '../../core/rng.ts';
import { Stack, type StackOptions } from '../../core/stack.ts';
import { type Duration, type Instant, ManualClock } from '../../core/time.ts';
import { Timer, TimerQueue } from '../../core/timers.ts';

export interface SimulationOptions {
  /** The seed of every random stream in the simulation. */
  seed?: number;
  /** Wall-clock milliseconds at virtual time 0, for capture timestamps (fixed for determinism). */
  epoch?: number;
}

/** 2026-01-01T00:00:00Z: the default wall-clock time of virtual time 0. */
export const DEFAULT_EPOCH = 1_767_225_600_000;

export class Simulation implements Environment {
  readonly clock = new ManualClock(0);
  readonly timers = new TimerQueue();
  readonly rng: SeededRng;
  readonly seed: number;
  readonly epoch: number;
  /** Events run so far. */
  eventsRun = 0;

  constructor(options: SimulationOptions = {}) {
    this.seed = (options.seed ?? 1) >>> 0;
    this.rng = new SeededRng(this.seed);
    this.epoch = options.epoch ?? DEFAULT_EPOCH;
  }

  get now(): Instant {
    return this.clock.now();
  }

  /** An environment on this simulation's clock and timers with its own random stream. */
  fork(): Environment {
    return { clock: this.clock, timers: this.timers, rng: this.rng.fork() };
  }

  /** A new stack living in this simulation. */
  createStack(options: StackOptions = {}): Stack {
    return new Stack(this.fork(), options);
  }

  /** Runs `fn` at virtual time `time` (not before now). */
  at(time: Instant, fn: (now: Instant) => void): Timer {
    const timer = new Timer(fn);
    this.timers.schedule(timer, Math.max(time, this.now));
    return timer;
  }

  /** Runs `fn` after `delay` milliseconds of virtual time. */
  after(delay: Duration, fn: (now: Instant) => void): Timer {
    return this.at(this.now + delay, fn);
  }

  /** Runs the earliest pending event, moving the clock to its time; false when none is pending. */
  step(): boolean {
    const timer = this.timers.popDue(Number.POSITIVE_INFINITY);
    if (timer === undefined) return false;
    const time = timer.deadline;
    timer.deadline = Number.POSITIVE_INFINITY;
    this.clock.set(time);
    this.eventsRun++;
    timer.fire(time);
    return true;
  }

  /** Runs every event up to `now + duration`, then leaves the clock there. Returns events run. */
  advance(duration: Duration): number {
    const end = this.now + duration;
    let count = 0;
    while (this.timers.nextDeadline() <= end) {
      this.step();
      count++;
    }
    this.clock.set(end);
    return count;
  }

  /**
   * Runs events until none is pending. Stops with an error after `maxEvents` events or past
   * `maxTime` of virtual time, because a protocol with a periodic timer is never idle.
   */
  runUntilIdle(limits: { maxEvents?: number; maxTime?: Duration } = {}): number {
    const maxEvents = limits.maxEvents ?? 10_000_000;
    const end = this.now + (limits.maxTime ?? Number.POSITIVE_INFINITY);
    let count = 0;
    while (this.timers.size > 0) {
      if (count >= maxEvents)
        throw new Error(`simulation not idle after ${count} events (seed ${this.seed})`);
      if (this.timers.nextDeadline() > end)
        throw new Error(`simulation not idle at ${end} ms (seed ${this.seed})`);
      this.step();
      count++;
    }
    return count;
  }

  /**
   * Runs events until `done()` holds (checked after every event); returns false if it still does
   * not hold after `timeout` of virtual time or when nothing is left to run.
   */
  runUntil(done: () => boolean, timeout: Duration = Number.POSITIVE_INFINITY): boolean {
    const end = this.now + timeout;
    while (!done()) {
      if (this.timers.nextDeadline() > end) {
        if (Number.isFinite(end)) this.clock.set(end);
        return false;
      }
      this.step();
    }
    return true;
  }

  /** The wall-clock time (ms since the epoch) of a virtual instant, for captures. */
  wallClock(time: Instant = this.now): number {
    return this.epoch + time;
  }
}
