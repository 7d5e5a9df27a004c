/**
 * Timers: an indexed binary min-heap of `Timer` objects ordered by (deadline, order of scheduling).
 *
 * - schedule, reschedule and cancel are O(log n) and allocate nothing: a protocol owns its `Timer`
 *   objects (one per purpose, made once) and moves them.
 * - Nothing runs while no timer is due: the owner asks `nextDeadline()` and sleeps until then, so
 *   an idle stack costs nothing (no periodic tick).
 * - Equal deadlines fire in the order they were scheduled, so runs are deterministic.
 */
import type { Instant } from './time.ts';

export type TimerCallback = (now: Instant) => void;

export class Timer {
  /** When the timer fires; Infinity when not scheduled. */
  deadline: Instant = Number.POSITIVE_INFINITY;
  /** Position in the heap, -1 when not scheduled. */
  heapIndex = -1;
  /** Tie-breaker: the sequence number of the scheduling. */
  sequence = 0;

  /** `callback` runs when the timer is due; a subclass may override `fire` instead of giving one. */
  constructor(private readonly callback?: TimerCallback) {}

  /** What a queue runs when the timer is due. */
  fire(now: Instant): void {
    this.callback?.(now);
  }

  get scheduled(): boolean {
    return this.heapIndex >= 0;
  }
}

export class TimerQueue {
  private readonly heap: Timer[] = [];
  private sequence = 0;
  /** Called when the earliest deadline becomes earlier (a driver re-arms its one real timer). */
  onEarlier: ((deadline: Instant) => void) | undefined;

  get size(): number {
    return this.heap.length;
  }

  /** The earliest deadline, or Infinity when nothing is scheduled. */
  nextDeadline(): Instant {
    return this.heap.length > 0 ? this.heap[0]!.deadline : Number.POSITIVE_INFINITY;
  }

  /** Schedules (or moves) `timer` to fire at `deadline`. */
  schedule(timer: Timer, deadline: Instant): void {
    const before = this.nextDeadline();
    timer.deadline = deadline;
    timer.sequence = this.sequence++;
    if (timer.heapIndex < 0) {
      timer.heapIndex = this.heap.length;
      this.heap.push(timer);
      this.siftUp(timer.heapIndex);
    } else {
      this.fix(timer.heapIndex);
    }
    if (deadline < before) this.onEarlier?.(deadline);
  }

  /** Cancels `timer` if it is scheduled. */
  cancel(timer: Timer): void {
    const i = timer.heapIndex;
    if (i < 0) return;
    const last = this.heap.pop()!;
    if (last !== timer) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.fix(i);
    }
    timer.heapIndex = -1;
    timer.deadline = Number.POSITIVE_INFINITY;
  }

  /**
   * Removes and returns the earliest timer if it is due at `now`, or undefined. The caller runs it;
   * this lets a simulation set its clock to the timer's deadline before running it.
   */
  popDue(now: Instant): Timer | undefined {
    const top = this.heap[0];
    if (top === undefined || top.deadline > now) return undefined;
    const deadline = top.deadline;
    this.cancel(top);
    top.deadline = deadline;
    return top;
  }

  /** Runs every timer due at `now`, in order; returns how many ran. Timers scheduled for `now` or
   * earlier by the callbacks also run. */
  runDue(now: Instant): number {
    let count = 0;
    for (let t = this.popDue(now); t !== undefined; t = this.popDue(now)) {
      t.deadline = Number.POSITIVE_INFINITY;
      t.fire(now);
      count++;
    }
    return count;
  }

  private less(a: Timer, b: Timer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.sequence < b.sequence);
  }

  private fix(i: number): void {
    if (i > 0 && this.less(this.heap[i]!, this.heap[(i - 1) >> 1]!)) this.siftUp(i);
    else this.siftDown(i);
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    const item = heap[start]!;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.less(item, p)) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[start]!;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(heap[child + 1]!, heap[child]!)) child++;
      const c = heap[child]!;
      if (!this.less(c, item)) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = item;
    item.heapIndex = i;
  }
}
