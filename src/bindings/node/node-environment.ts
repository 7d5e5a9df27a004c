/**
 * Runs the core on Node.js's real clock: a monotonic clock from `performance.now()`, one Node
 * timer armed at the earliest deadline of the stack's timer queue, and cryptographic randomness.
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
  private handle: NodeJS.Timeout | undefined;
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
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
    this.armedFor = deadline;
    if (!Number.isFinite(deadline)) return;
    const delay = Math.max(0, deadline - this.clock.now());
    this.handle = setTimeout(() => this.fire(), Math.ceil(delay));
    if (!this.ref) this.handle.unref();
  }

  private fire(): void {
    this.handle = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    this.timers.runDue(this.clock.now());
    this.arm();
  }

  /** Stops the Node timer; pending stack timers no longer run. */
  close(): void {
    this.closed = true;
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
  }
}
