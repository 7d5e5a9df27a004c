/**
 * The receive side of a connection: data that arrived in order waits for the application as a
 * list of chunks; data that arrived beyond a hole waits in a reassembly structure bounded in bytes
 * and in ranges (overlaps trimmed, adjacent ranges merged) until the hole fills; the ranges held
 * are what SACK reports (RFC 2018 4: the block holding the latest segment first).
 *
 * Incoming payloads are views into the received frame. When the link reuses its receive buffer
 * (TAP), each byte is copied once, when it is queued; when the link leaves its frames alone
 * (`LinkCapabilities.keepableFrames`: memory links, loopback), payloads of at least
 * `KEEP_MIN_BYTES` are kept as views and not copied at all (smaller ones are copied, so that a few
 * bytes do not pin a whole frame buffer). `read` hands out the chunks held (or one joined copy when
 * asked for more than one chunk holds).
 */
import type { SackBlock } from '../../wire/tcp-options.ts';
import { KEEP_MIN_BYTES } from '../device/link.ts';
import { type Seq, seqAdd, seqDiff } from './seq.ts';

/** The most out-of-order ranges kept (each costs bookkeeping whatever its size). */
export const MAX_OUT_OF_ORDER_RANGES = 256;

/** A contiguous run of out-of-order data [start, end) in sequence space. */
interface OooRange {
  start: Seq;
  end: Seq;
  /** The bytes, in order, as owned copies. */
  pieces: Uint8Array[];
  /** When the range last received a segment (insertion counter), for SACK block order. */
  stamp: number;
}

/** The receive queue of one connection (see the module comment). */
export class ReceiveQueue {
  /** RCV.NXT, stored as int32 (a V8 small integer, not a boxed double), read back unsigned. */
  private nextInt32 = 0;
  private get next(): Seq {
    return this.nextInt32 >>> 0;
  }
  private set next(value: Seq) {
    this.nextInt32 = value | 0;
  }
  /** Shared `NO_CHUNKS` while empty (an idle connection holds no array of its own). */
  private inOrder: Uint8Array[] = NO_CHUNKS;
  private inOrderHead = 0;
  private inOrderBytes = 0;
  /** Sorted by start, disjoint and not touching. */
  private ooo: OooRange[] = NO_RANGES;
  private oooBytes = 0;
  private stamp = 0;
  private finSeq: Seq | undefined;
  private fin = false;
  /** The most out-of-order bytes held; may be changed at any time (applies to later arrivals). */
  outOfOrderLimit: number;
  /** Segments dropped because the out-of-order bound (bytes or ranges) was reached. */
  droppedSegments = 0;
  /** Bytes in the segments counted by `droppedSegments`. */
  droppedBytes = 0;
  /**
   * The data of the last `insert` that was already held (below RCV.NXT, or wholly inside the
   * out-of-order data), for a D-SACK block (RFC 2883); the caller takes and clears it.
   */
  duplicate: SackBlock | undefined;

  /** A queue expecting `rcvNxt` next (IRS + 1), holding at most `outOfOrderLimit` bytes out of order. */
  constructor(rcvNxt: Seq, outOfOrderLimit: number) {
    this.next = rcvNxt >>> 0;
    this.outOfOrderLimit = outOfOrderLimit;
  }

  /** Empties the queue and expects `rcvNxt` next. */
  reset(rcvNxt: Seq): void {
    this.next = rcvNxt >>> 0;
    this.inOrder = NO_CHUNKS;
    this.inOrderHead = 0;
    this.inOrderBytes = 0;
    this.ooo = NO_RANGES;
    this.oooBytes = 0;
    this.finSeq = undefined;
    this.fin = false;
  }

  /** RCV.NXT: the next sequence number expected (past the FIN once `finReceived`). */
  get rcvNxt(): Seq {
    return this.next;
  }

  /** In-order bytes waiting for `read`. */
  get readable(): number {
    return this.inOrderBytes;
  }

  /** Out-of-order bytes held. */
  get outOfOrderBytes(): number {
    return this.oooBytes;
  }

  /** All bytes held (in order and out of order): what the advertised window must leave room for. */
  get buffered(): number {
    return this.inOrderBytes + this.oooBytes;
  }

  /** Out-of-order ranges held (the SACK blocks there are to report). */
  get outOfOrderRanges(): number {
    return this.ooo.length;
  }

  /** Whether data beyond a hole is held (the receiver should ACK at once: RFC 5681 4.2). */
  get hasOutOfOrder(): boolean {
    return this.ooo.length > 0;
  }

  /** Whether the peer's FIN has been reached in sequence (`rcvNxt` counts it). */
  get finReceived(): boolean {
    return this.fin;
  }

  /**
   * A segment's data `payload` (a view) at sequence number `seq`, with `fin` when the segment
   * carries FIN; `keepable` when the view stays valid after the call (else the bytes kept are
   * copied). The caller has already trimmed it to the receive window; data before RCV.NXT or after
   * a known FIN is dropped here. Returns the bytes that became readable.
   */
  insert(seq: Seq, payload: Uint8Array, fin = false, keepable = false): number {
    let data = payload;
    let start = seq >>> 0;
    const before = -seqDiff(start, this.next);
    if (before > 0) {
      // Old data (a retransmission): keep only what lies at or after RCV.NXT.
      if (data.length > 0)
        this.duplicate = { left: start, right: seqAdd(start, Math.min(before, data.length)) };
      if (before > data.length) return 0; // also a FIN already passed
      data = data.subarray(before);
      start = this.next;
    }
    if (this.finSeq !== undefined) {
      const room = seqDiff(this.finSeq, start);
      if (room < 0) return 0;
      if (data.length > room) data = data.subarray(0, room);
    } else if (fin && !this.fin) {
      this.finSeq = seqAdd(start, data.length);
    }
    const keep = keepable && data.length >= KEEP_MIN_BYTES;
    if (start !== this.next) {
      if (data.length > 0) this.insertOutOfOrder(start, data, keep);
      return 0;
    }
    const readableBefore = this.inOrderBytes;
    if (data.length > 0) this.pushInOrder(keep ? data : data.slice(), data.length);
    this.pullOutOfOrder();
    if (this.finSeq !== undefined && !this.fin && this.next === this.finSeq) {
      // RFC 9293 3.10.7.4 eighth: advance RCV.NXT over the FIN.
      this.fin = true;
      this.next = seqAdd(this.next, 1);
    }
    return this.inOrderBytes - readableBefore;
  }

  /**
   * Up to `max` bytes of in-order data (all of it by default), or undefined when none waits. One
   * chunk is returned as is (or a view of its first `max` bytes); more are joined into one copy.
   */
  read(max = Number.POSITIVE_INFINITY): Uint8Array | undefined {
    const n = Math.min(max, this.inOrderBytes);
    if (!(n > 0)) return undefined;
    const first = this.inOrder[this.inOrderHead] as Uint8Array;
    if (first.length >= n) {
      if (first.length === n) this.shiftInOrder();
      else this.inOrder[this.inOrderHead] = first.subarray(n);
      this.inOrderBytes -= n;
      return first.length === n ? first : first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.inOrder[this.inOrderHead] as Uint8Array;
      const take = Math.min(chunk.length, n - filled);
      out.set(take === chunk.length ? chunk : chunk.subarray(0, take), filled);
      filled += take;
      if (take === chunk.length) this.shiftInOrder();
      else this.inOrder[this.inOrderHead] = chunk.subarray(take);
    }
    this.inOrderBytes -= n;
    return out;
  }

  /**
   * Up to `max` SACK blocks for the out-of-order data held, the one that received the latest
   * segment first, then the others from the most recently updated (RFC 2018 4).
   */
  sackBlocks(max: number): SackBlock[] {
    return [...this.ooo]
      .sort((a, b) => b.stamp - a.stamp)
      .slice(0, Math.max(0, max))
      .map((r) => ({ left: r.start, right: r.end }));
  }

  private pushInOrder(chunk: Uint8Array, length: number): void {
    if (this.inOrder === NO_CHUNKS) this.inOrder = [];
    this.inOrder.push(chunk);
    this.inOrderBytes += length;
    this.next = seqAdd(this.next, length);
  }

  private shiftInOrder(): void {
    this.inOrder[this.inOrderHead++] = EMPTY;
    if (this.inOrderHead === this.inOrder.length) {
      this.inOrder = NO_CHUNKS;
      this.inOrderHead = 0;
    } else if (this.inOrderHead >= 64 && this.inOrderHead * 2 >= this.inOrder.length) {
      this.inOrder = this.inOrder.slice(this.inOrderHead);
      this.inOrderHead = 0;
    }
  }

  /** Moves the out-of-order ranges the in-order data now reaches into the in-order queue. */
  private pullOutOfOrder(): void {
    while (this.ooo.length > 0) {
      const r = this.ooo[0] as OooRange;
      if (seqDiff(r.start, this.next) > 0) break;
      this.ooo.shift();
      this.oooBytes -= seqDiff(r.end, r.start);
      let skip = seqDiff(this.next, r.start);
      for (const piece of r.pieces) {
        if (skip >= piece.length) {
          skip -= piece.length;
          continue;
        }
        const part = skip > 0 ? piece.subarray(skip) : piece;
        skip = 0;
        this.pushInOrder(part, part.length);
      }
    }
  }

  /** Keeps the bytes of [start, start + data.length) not held yet, merging touching ranges. */
  private insertOutOfOrder(start: Seq, data: Uint8Array, keep: boolean): void {
    const base = this.next;
    const off = (s: Seq) => seqDiff(s, base);
    const segStart = off(start);
    const segEnd = segStart + data.length;
    // The parts of the segment not covered by ranges held (overlaps trimmed).
    const gaps: Array<[number, number]> = [];
    let cur = segStart;
    for (const r of this.ooo) {
      const rs = off(r.start);
      const re = off(r.end);
      if (re <= cur) continue;
      if (rs >= segEnd) break;
      if (rs > cur) gaps.push([cur, rs]);
      cur = Math.max(cur, re);
      if (cur >= segEnd) break;
    }
    if (cur < segEnd) gaps.push([cur, segEnd]);
    const newBytes = gaps.reduce((sum, [a, b]) => sum + (b - a), 0);
    if (newBytes === 0) this.duplicate = { left: start, right: seqAdd(start, data.length) };
    if (
      this.oooBytes + newBytes > this.outOfOrderLimit ||
      this.ooo.length + gaps.length > MAX_OUT_OF_ORDER_RANGES
    ) {
      this.droppedSegments++;
      this.droppedBytes += data.length;
      return;
    }
    const stamp = ++this.stamp;
    for (const [a, b] of gaps) {
      const piece = keep ? data.subarray(a - segStart, b - segStart) : data.slice(a - segStart, b - segStart);
      this.addRange({ start: seqAdd(base, a), end: seqAdd(base, b), pieces: [piece], stamp });
    }
    this.oooBytes += newBytes;
    // The block holding this segment is the most recent, even if all of it was a duplicate.
    const holder = this.ooo.find((r) => off(r.start) <= segStart && segStart < off(r.end));
    if (holder) holder.stamp = stamp;
  }

  /** Inserts a range that overlaps none held, merging it with ranges it touches. */
  private addRange(range: OooRange): void {
    const base = this.next;
    const off = (s: Seq) => seqDiff(s, base);
    let i = 0;
    if (this.ooo === NO_RANGES) this.ooo = [];
    while (i < this.ooo.length && off((this.ooo[i] as OooRange).start) < off(range.start)) i++;
    this.ooo.splice(i, 0, range);
    const next = this.ooo[i + 1];
    if (next && next.start === range.end) {
      range.end = next.end;
      range.pieces.push(...next.pieces);
      range.stamp = Math.max(range.stamp, next.stamp);
      this.ooo.splice(i + 1, 1);
    }
    const prev = this.ooo[i - 1];
    if (prev && prev.end === range.start) {
      prev.end = range.end;
      prev.pieces.push(...range.pieces);
      prev.stamp = Math.max(prev.stamp, range.stamp);
      this.ooo.splice(i, 1);
    }
  }
}

const EMPTY = new Uint8Array(0);
/** The empty lists every idle queue shares (frozen: adding goes to a list of the queue's own). */
const NO_CHUNKS = Object.freeze([]) as unknown as Uint8Array[];
const NO_RANGES = Object.freeze([]) as unknown as OooRange[];
