/**
 * Work done "soon" on the stack's timers: Node emits socket events and calls send callbacks on a
 * later tick, never inside the call that caused them; the Node-compatible layers do the same with
 * a zero-delay stack timer, so they keep that order both on Node's clock and in a simulation.
 */
import type { Stack } from '../core/stack.ts';
import type { Timer } from '../core/timers.ts';

export class Deferred {
  private readonly queue: Array<() => void> = [];
  private readonly timer: Timer;

  constructor(private readonly stack: Stack) {
    this.timer = stack.createTimer(() => this.flush());
  }

  /** Runs `fn` in a stack entry of its own after the current one, in the order pushed. */
  push(fn: () => void): void {
    this.queue.push(fn);
    if (!this.timer.scheduled) this.stack.schedule(this.timer, this.stack.now());
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const fn = this.queue.shift()!;
      try {
        fn();
      } catch (e) {
        // The rest still runs, later, as Node's next ticks would after an uncaught exception.
        if (this.queue.length > 0) this.stack.schedule(this.timer, this.stack.now());
        throw e;
      }
    }
  }
}
