/**
 * One iperf3 test stream: a TCP connection that either sends one block again and again as fast as
 * the socket takes it, or reads and counts what arrives. Bytes count from creation until `stop`;
 * after `stop` a receiver still reads (and throws away) what comes, so the peer is not held back
 * while the results are exchanged.
 *
 * A sender counts the bytes its TCP has sent, not those written into the send buffer as iperf3
 * does on Linux: our send buffer (16 MiB) would otherwise count seconds of data that never left
 * at a slow rate, where Linux sizes the buffer after the congestion window.
 */

import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Instant } from '../../core/time.ts';

export class TestStream {
  /** Bytes written into the socket (sender) or read from it (receiver) while counting. */
  private total = 0;
  /** When counting stopped, or undefined while it goes on. */
  stoppedAt: Instant | undefined;
  /** A connection error while counting (the test fails). */
  onError: ((e: Error) => void) | undefined;
  private sending = false;
  private offset = 0;

  /** `block` makes this a sender (the block must not change); without it, a receiver. */
  constructor(
    readonly id: number,
    readonly socket: TcpSocket,
    private readonly block: Uint8Array | undefined,
  ) {
    socket.onReadable = () => this.drain();
    socket.onEnd = () => this.drain();
    socket.onWritable = () => this.pump();
    socket.onClose = (err) => {
      if (this.stoppedAt === undefined && err !== undefined) this.onError?.(err);
    };
  }

  get isSender(): boolean {
    return this.block !== undefined;
  }

  /** Bytes counted so far: read (receiver), or written and sent at least once (sender). */
  get bytes(): number {
    if (this.block === undefined || this.stoppedAt !== undefined) return this.total;
    return this.total - this.socket.info().notSent;
  }

  /** Starts sending (a sender; a receiver counts from the start anyway). */
  start(): void {
    if (this.block === undefined) {
      this.drain();
      return;
    }
    this.sending = true;
    this.pump();
  }

  /** Stops counting (and sending) at `now`. */
  stop(now: Instant): void {
    if (this.stoppedAt !== undefined) return;
    this.total = this.bytes;
    this.stoppedAt = now;
    this.sending = false;
  }

  /** Closes the connection (a reset if unread data is left, as Linux does). */
  close(): void {
    this.sending = false;
    this.socket.onClose = undefined;
    this.socket.close();
  }

  abort(): void {
    this.sending = false;
    this.socket.onClose = undefined;
    this.socket.abort();
  }

  /** Writes blocks until the socket takes no more; `onWritable` resumes. */
  private pump(): void {
    const block = this.block;
    if (block === undefined) return;
    try {
      while (this.sending) {
        const chunk = this.offset === 0 ? block : block.subarray(this.offset);
        const n = this.socket.write(chunk);
        this.total += n;
        this.offset = (this.offset + n) % block.length;
        if (n < chunk.length) return;
      }
    } catch (e) {
      this.sending = false;
      if (this.stoppedAt === undefined) this.onError?.(e as Error);
    }
  }

  private drain(): void {
    for (let d = this.socket.read(); d !== undefined; d = this.socket.read())
      if (this.stoppedAt === undefined) this.total += d.length;
  }
}
