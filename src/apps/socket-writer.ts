/**
 * Writing into a `TcpSocket` with backpressure, for the small servers and clients: a queue of
 * chunks (not copied) and, when it runs dry, an optional source asked for the next chunk. What the
 * send buffer does not take waits for the socket's `onWritable`; the queue is bounded by whoever
 * fills it (`queued` tells them how much waits).
 */
import type { TcpSocket } from '../core/tcp/tcp-socket.ts';

export class SocketWriter {
  /** Called when the queue is empty and the source (if any) is exhausted. */
  onDrain: (() => void) | undefined;
  /** Called once if a write fails (the connection is gone); nothing more is written. */
  onError: ((e: Error) => void) | undefined;
  private readonly queue: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;
  private source: (() => Uint8Array | undefined) | undefined;
  private failed = false;
  private flushing = false;

  constructor(private readonly socket: TcpSocket) {
    socket.onWritable = () => this.flush();
  }

  /** Bytes waiting to enter the socket's send buffer. */
  get queued(): number {
    return this.bytes;
  }

  /** Whether nothing waits and no source is set. */
  get idle(): boolean {
    return this.bytes === 0 && this.source === undefined;
  }

  /**
   * Queues `chunk` (it must not change until sent), then, when given, takes chunks from `then` until
   * it returns undefined; writes what the socket takes now. A source's chunk is written as it is, so
   * a source may hand out the same immutable block again and again.
   */
  write(chunk: Uint8Array | undefined, then?: () => Uint8Array | undefined): void {
    if (this.failed) return;
    if (chunk !== undefined && chunk.length > 0) {
      this.queue.push(chunk);
      this.bytes += chunk.length;
    }
    if (then !== undefined) this.source = then;
    this.flush();
  }

  /** Writes as much as the socket takes; `onDrain` when everything went. */
  flush(): void {
    if (this.failed || this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        if (this.head === this.queue.length) {
          if (!this.refill()) break;
        }
        const chunk = this.queue[this.head]!;
        const n = this.socket.write(chunk);
        this.bytes -= n;
        if (n < chunk.length) {
          this.queue[this.head] = chunk.subarray(n);
          return;
        }
        this.head++;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
      }
    } catch (e) {
      this.failed = true;
      this.queue.length = 0;
      this.head = 0;
      this.bytes = 0;
      this.source = undefined;
      this.onError?.(e as Error);
      return;
    } finally {
      this.flushing = false;
    }
    this.onDrain?.();
  }

  /** Moves the source's next chunk into the queue; false when there is none. */
  private refill(): boolean {
    this.queue.length = 0;
    this.head = 0;
    const next = this.source?.();
    if (next === undefined) {
      this.source = undefined;
      return false;
    }
    this.queue.push(next);
    this.bytes += next.length;
    return true;
  }
}
