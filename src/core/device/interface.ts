/**
 * A network interface of a stack: a link endpoint plus the stack's per-interface state. Frames
 * sent during one entry into the stack are queued and handed to the link as one batch when the
 * stack returns (`flush`), so a burst costs one call into the binding.
 */
import { type MacAddr, macToString } from '../../wire/address.ts';
import type { FrameDirection, FrameObserver, LinkEndpoint } from './link.ts';

export class NetworkInterface {
  /** Frames waiting for the end of the current entry into the stack. */
  private txQueue: Uint8Array[] = [];
  private readonly observers: FrameObserver[] = [];
  up = true;

  constructor(
    /** 1-based, unique within the stack (like Linux's ifindex). */
    readonly index: number,
    readonly name: string,
    readonly link: LinkEndpoint,
    /** Called with each received batch; set by the stack. */
    private readonly onReceive: (iface: NetworkInterface, frames: readonly Uint8Array[]) => void,
    private readonly clock: () => number,
  ) {}

  get mtu(): number {
    return this.link.mtu;
  }

  get mac(): MacAddr {
    return this.link.mac ?? 0;
  }

  /** Hands a batch of received frames to the stack (called by the binding). */
  receive(frames: readonly Uint8Array[]): void {
    if (!this.up) return;
    if (this.observers.length > 0) for (const f of frames) this.notify('rx', f);
    this.onReceive(this, frames);
  }

  /** Queues a frame for the end of the current entry. */
  enqueue(frame: Uint8Array): void {
    if (!this.up) return;
    if (this.observers.length > 0) this.notify('tx', frame);
    this.txQueue.push(frame);
  }

  /** Sends the queued frames as one batch. */
  flush(): void {
    if (this.txQueue.length === 0) return;
    const batch = this.txQueue;
    this.txQueue = [];
    this.link.transmit(batch);
  }

  /** Adds an observer of every frame in both directions; returns a function that removes it. */
  addObserver(observer: FrameObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  private notify(direction: FrameDirection, frame: Uint8Array): void {
    const now = this.clock();
    for (const o of this.observers) o(direction, frame, now);
  }

  toString(): string {
    return `${this.name} (${this.link.kind}, mtu ${this.mtu}${this.link.mac !== undefined ? `, ${macToString(this.mac)}` : ''})`;
  }
}
