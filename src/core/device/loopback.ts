/**
 * The loopback device (`lo`): IP packets sent on it come back in as received packets in a later
 * entry of the same stack, never re-entering the sender. It carries 127.0.0.0/8 and every packet a
 * stack sends to one of its own addresses. Nothing on it can be corrupted, so no checksums.
 */
import type { Counter } from '../counters.ts';
import type { Stack } from '../stack.ts';
import { Timer } from '../timers.ts';
import type { NetworkInterface } from './interface.ts';
import type { LinkEndpoint } from './link.ts';

/** Linux's loopback MTU. */
export const LOOPBACK_MTU = 65536;
/** Packets waiting for delivery at once (like Linux's netdev_max_backlog). */
const MAX_PENDING = 1000;

export class LoopbackLink implements LinkEndpoint {
  readonly kind = 'ip' as const;
  readonly mtu = LOOPBACK_MTU;
  readonly capabilities = { noChecksums: true, keepableFrames: true };
  iface: NetworkInterface | undefined;
  private pending: Uint8Array[] = [];
  private readonly timer: Timer;
  private readonly dropped: Counter;

  constructor(private readonly stack: Stack) {
    this.timer = new Timer(() => this.deliver());
    this.dropped = stack.counters.get('lo.drop.backlog-full');
  }

  transmit(frames: readonly Uint8Array[]): void {
    for (const f of frames) {
      if (this.pending.length >= MAX_PENDING) {
        this.dropped.value++;
        continue;
      }
      this.pending.push(f);
    }
    if (!this.timer.scheduled && this.pending.length > 0) this.stack.schedule(this.timer, this.stack.now());
  }

  private deliver(): void {
    const batch = this.pending;
    this.pending = [];
    this.iface?.receive(batch);
  }
}
