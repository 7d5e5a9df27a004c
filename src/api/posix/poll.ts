/**
 * poll(2) over the descriptors of one stack: `pollNow` fills each entry's `revents` at once (a
 * poll with timeout 0), `poll` returns a promise that resolves with the number of ready entries as
 * soon as one is ready, or with 0 when `timeout` ms have passed on the stack's clock (a stack
 * timer, so virtual time in a simulation). A negative timeout waits for ever. Readiness is looked
 * at again whenever an endpoint says it may have changed (`wake`).
 */
import type { Stack } from '../../core/stack.ts';
import type { Timer } from '../../core/timers.ts';
import { POLLERR, POLLHUP, POLLNVAL } from './constants.ts';
import { SocketError } from './socket-error.ts';

/** C's `struct pollfd`: `revents` is filled in. A negative `fd` is ignored (revents 0). */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

interface Waiter {
  fds: PollFd[];
  resolve(n: number): void;
  timer: Timer | undefined;
}

/** The bound on concurrent poll calls waiting on one stack. */
export const MAX_POLL_WAITERS = 4096;

export class Poller {
  private readonly waiters = new Set<Waiter>();
  /** poll calls refused at MAX_POLL_WAITERS. */
  refused = 0;

  /** @param readiness the unmasked revents of an open descriptor, undefined when it is not open. */
  constructor(
    private readonly stack: Stack,
    private readonly readiness: (fd: number) => number | undefined,
  ) {}

  /** Fills `revents` of every entry; returns how many are non-zero. */
  pollNow(fds: PollFd[]): number {
    let ready = 0;
    for (const p of fds) {
      if (p.fd < 0) {
        p.revents = 0;
        continue;
      }
      const r = this.readiness(p.fd);
      // POLLERR, POLLHUP and POLLNVAL are reported whether asked for or not (POSIX).
      p.revents = r === undefined ? POLLNVAL : r & (p.events | POLLERR | POLLHUP);
      if (p.revents !== 0) ready++;
    }
    return ready;
  }

  /** Resolves with the ready count when one entry is ready, or 0 after `timeout` ms. */
  poll(fds: PollFd[], timeout: number): Promise<number> {
    const ready = this.pollNow(fds);
    if (ready > 0 || timeout === 0) return Promise.resolve(ready);
    if (this.waiters.size >= MAX_POLL_WAITERS) {
      this.refused++;
      return Promise.reject(new SocketError('ENOMEM', 'poll', `${MAX_POLL_WAITERS} polls are waiting`));
    }
    return new Promise((resolve) => {
      const w: Waiter = { fds, resolve, timer: undefined };
      if (timeout > 0) {
        w.timer = this.stack.createTimer(() => this.finish(w, 0));
        this.stack.schedule(w.timer, this.stack.now() + timeout);
      }
      this.waiters.add(w);
    });
  }

  /** Readiness may have changed: every waiting poll looks again. */
  wake(): void {
    for (const w of [...this.waiters]) {
      const ready = this.pollNow(w.fds);
      if (ready > 0) this.finish(w, ready);
    }
  }

  /** Polls waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  private finish(w: Waiter, ready: number): void {
    if (!this.waiters.delete(w)) return;
    if (w.timer !== undefined) this.stack.cancel(w.timer);
    w.resolve(ready);
  }
}
