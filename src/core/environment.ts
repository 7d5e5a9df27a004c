/**
 * What the core gets from the outside world: a clock, a timer queue and a source of randomness.
 * Bindings make one (`src/bindings/node/node-environment.ts` on Node's real clock; a `Simulation`
 * in `src/bindings/memory` on virtual time shared by many stacks and links).
 */
import type { Rng } from './rng.ts';
import type { Clock } from './time.ts';
import type { TimerQueue } from './timers.ts';

export interface Environment {
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly rng: Rng;
}
