/**
 * The send buffer: the user's chunks, not copied on `write`, from SND.UNA onwards. Byte offsets
 * count from the first unacknowledged byte; segmentation copies each byte once, straight into the
 * packet buffer (`copyOut`); an ACK drops what it covers (`consume`). A byte `limit` (SO_SNDBUF)
 * bounds what `append` accepts, which is the backpressure of the socket's `write`.
 */

/** The user's unacknowledged data as a list of chunks (see the module comment). */
export class SendBuffer {
  /** Chunks from `head` on hold the data; the first starts `startOffset` bytes in. */
  /** Shared `NO_CHUNKS` while empty (an idle connection holds no array of its own). */
  private chunks: Uint8Array[] = NO_CHUNKS;
  private head = 0;
  private startOffset = 0;
  private bytes = 0;
  /** Lookup cursor: chunk index `cursorIndex` starts at byte offset `cursorOffset`. */
  private cursorIndex = 0;
  private cursorOffset = 0;
  /** The most bytes the buffer holds (SO_SNDBUF); may be changed at any time. */
  limit: number;

  /** An empty buffer of at most `limit` bytes. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held (written and not yet acknowledged). */
  get length(): number {
    return this.bytes;
  }

  /** Bytes `append` would still accept. */
  get space(): number {
    return Math.max(0, this.limit - this.bytes);
  }

  /**
   * Queues as much of `chunk` as fits under the limit, without copying (the buffer keeps a view:
   * the caller must not modify the bytes until they are acknowledged). Returns the bytes accepted.
   */
  append(chunk: Uint8Array): number {
    const n = Math.min(chunk.length, this.space);
    if (n === 0) return 0;
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    this.bytes += n;
    return n;
  }

  /**
   * Copies `length` bytes from byte `offset` (counted from the first unacknowledged byte) into
   * `into` at `intoOffset`; returns the bytes copied (fewer when the buffer ends first).
   */
  copyOut(offset: number, length: number, into: Uint8Array, intoOffset: number): number {
    if (offset < 0 || length <= 0 || offset >= this.bytes) return 0;
    const want = Math.min(length, this.bytes - offset);
    let index = this.locate(offset);
    let chunkStart = this.cursorOffset;
    let copied = 0;
    while (copied < want) {
      const chunk = this.chunks[index] as Uint8Array;
      const skip = index === this.head ? this.startOffset : 0;
      const from = skip + (offset + copied - chunkStart);
      const n = Math.min(chunk.length - from, want - copied);
      into.set(chunk.subarray(from, from + n), intoOffset + copied);
      copied += n;
      if (from + n === chunk.length) {
        chunkStart += chunk.length - skip;
        index++;
      }
    }
    // Keep the cursor on the chunk that holds the next byte: segmentation goes forward.
    if (index < this.chunks.length) {
      this.cursorIndex = index;
      this.cursorOffset = chunkStart;
    }
    return copied;
  }

  /** Drops the first `n` bytes (acknowledged by the peer); whole chunks are released. */
  consume(n: number): void {
    let left = Math.min(Math.max(0, n), this.bytes);
    this.bytes -= left;
    while (left > 0) {
      const chunk = this.chunks[this.head] as Uint8Array;
      const rest = chunk.length - this.startOffset;
      if (left < rest) {
        this.startOffset += left;
        break;
      }
      left -= rest;
      this.chunks[this.head] = EMPTY;
      this.head++;
      this.startOffset = 0;
    }
    if (this.head === this.chunks.length) {
      this.chunks = NO_CHUNKS;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.cursorIndex = this.head;
    this.cursorOffset = 0;
  }

  /** The index of the chunk holding byte `offset`; leaves the cursor at that chunk's start. */
  private locate(offset: number): number {
    let index = this.cursorIndex;
    let start = this.cursorOffset;
    if (index < this.head || offset < start) {
      index = this.head;
      start = 0;
    }
    for (;;) {
      const chunk = this.chunks[index] as Uint8Array;
      const len = chunk.length - (index === this.head ? this.startOffset : 0);
      if (offset < start + len) break;
      start += len;
      index++;
    }
    this.cursorIndex = index;
    this.cursorOffset = start;
    return index;
  }
}

const EMPTY = new Uint8Array(0);
/** The empty list every idle buffer shares (frozen: appending goes to a list of the buffer's own). */
const NO_CHUNKS = Object.freeze([]) as unknown as Uint8Array[];
