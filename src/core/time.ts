/**
 * Time in the core. An `Instant` is a point on a monotonic clock in milliseconds (fractional
 * values allowed, so microsecond precision is kept). The core never reads a real clock: it asks the
 * `Clock` its environment gives it. A simulation's clock stands still until the simulation moves it.
 */
export type Instant = number;
export type Duration = number;

export interface Clock {
  /** The current instant, in milliseconds on a monotonic clock. */
  now(): Instant;
}

export const SECOND: Duration = 1000;
export const MINUTE: Duration = 60 * SECOND;
export const HOUR: Duration = 60 * MINUTE;

/** A clock whose time is set by its owner (the simulation, or a test). */
export class ManualClock implements Clock {
  constructor(private time: Instant = 0) {}
  now(): Instant {
    return this.time;
  }
  set(time: Instant): void {
    if (time < this.time) throw new RangeError(`ManualClock: time moves backwards (${time} < ${this.time})`);
    this.time = time;
  }
}
