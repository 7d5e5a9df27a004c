/**
 * Runs the core on Node.js's real clock: a monotonic clock from `performance.now()`, one Node
 * timer armed at the earliest deadline of the stack's timer queue, and cryptographic randomness.
 * A deadline already due (the stack defers work "to now", e.g. waking a reader) runs from
 * `setImmediate`: Node clamps `setTimeout(fn, 0)` to 1 ms, which cost every request/response
 * turn a millisecond.
 */
import { performance } from 'node:perf_hooks';
import type { Environment } from '../../core/environment.ts';
import { CryptoRng, type Rng } from '../../core/rng.ts';
import type { Clock } from '../../core/time.ts';
import { TimerQueue } from '../../core/timers.ts';

export interface NodeEnvironmentOptions {
  rng?: Rng;
  /** Whether pending stack timers keep the process alive (default true, like open sockets). */
  ref?: boolean;
}

export class NodeEnvironment implements Environment {
  readonly clock: Clock = { now: () => performance.now() };
  readonly timers = new TimerQueue();
  readonly rng: Rng;
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private readonly ref: boolean;
  private closed = false;

  constructor(options: NodeEnvironmentOptions = {}) {
    this.rng = options.rng ?? new CryptoRng();
    this.ref = options.ref ?? true;
    this.timers.onEarlier = () => this.arm();
  }

  /** Arms the one Node timer for the earliest deadline. */
  private arm(): void {
    if (this.closed) return;
    const deadline = this.timers.nextDeadline();
    if (deadline === this.armedFor) return;
    this.disarm();
    this.armedFor = deadline;
    if (!Number.isFinite(deadline)) return;
    const delay = deadline - this.clock.now();
    if (delay <= 0) {
      this.immediate = setImmediate(() => this.fire());
      if (!this.ref) this.immediate.unref();
    } else {
      this.timeout = setTimeout(() => this.fire(), Math.ceil(delay));
      if (!this.ref) this.timeout.unref();
    }
  }

  private disarm(): void {
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
  }

  private fire(): void {
    this.timeout = undefined;
    this.immediate = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    this.timers.runDue(this.clock.now());
    this.arm();
  }

  /** Stops the Node timer; pending stack timers no longer run. */
  close(): void {
    this.closed = true;
    this.disarm();
  }
}
