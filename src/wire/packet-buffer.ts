/**
 * A byte buffer with headroom, in the manner of lwIP's pbuf: the payload is written first at an
 * offset that leaves room for every lower-layer header, then each layer prepends its header in
 * place. Nothing is copied on the way down the stack.
 *
 *     buf: [ headroom ........ | header | header | payload ]
 *                              ^start                      ^end
 */
export class PacketBuffer {
  readonly buf: Uint8Array;
  start: number;
  end: number;
  /** Made on first use: most packets never need one (one allocation less per packet). */
  private dataView: DataView | undefined;

  constructor(buf: Uint8Array, start: number, end: number) {
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  /** A DataView over the whole of `buf`. */
  get view(): DataView {
    this.dataView ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.dataView;
  }

  /**
   * A buffer of `headroom + payloadLength` zeroed bytes whose payload area starts after the
   * headroom. Buffers of at most `SLAB_MAX_CARVE` bytes are carved out of a shared slab (see
   * `carve`); larger ones get their own memory.
   */
  static alloc(headroom: number, payloadLength: number): PacketBuffer {
    const size = headroom + payloadLength;
    const buf = size <= SLAB_MAX_CARVE ? carve(size) : new Uint8Array(size);
    return new PacketBuffer(buf, headroom, size);
  }

  /** A buffer holding a copy of `payload`, with `headroom` free bytes before it. */
  static from(payload: Uint8Array, headroom: number): PacketBuffer {
    const pb = PacketBuffer.alloc(headroom, payload.length);
    pb.buf.set(payload, headroom);
    return pb;
  }

  /**
   * An empty buffer with room to prepend a whole message of `messageLength` bytes (an ICMP error,
   * an ARP packet) and then every lower-layer header.
   */
  static forMessage(messageLength: number): PacketBuffer {
    return PacketBuffer.alloc(MAX_HEADROOM + messageLength, 0);
  }

  get length(): number {
    return this.end - this.start;
  }

  get headroom(): number {
    return this.start;
  }

  /** Claims `n` bytes in front of the current data and returns their offset in `buf`. */
  prepend(n: number): number {
    if (n > this.start) throw new RangeError(`PacketBuffer: headroom ${this.start} < ${n}`);
    this.start -= n;
    return this.start;
  }

  /** The current data [start, end) as a view (no copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }
}

/** Headroom that fits every header the stack may prepend: Ethernet + 802.1Q + IPv6 + extensions + TCP. */
export const MAX_HEADROOM = 14 + 4 + 40 + 64 + 60;

/** Size of a slab, and the largest buffer carved out of one (an Ethernet frame and its headroom). */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX_CARVE = 4096;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * `size` fresh zeroed bytes from the current slab, in the manner of Node's Buffer pool: a packet
 * costs a view instead of a memory allocation of its own (allocating and zeroing 1.6 KB per
 * segment was the largest single cost of a bulk transfer). Carves never overlap and are never
 * reused, so a buffer handed to a link stays its owner's; carves start at multiples of 8 bytes, so
 * checksums take their aligned path. A view kept alive keeps its whole slab: receivers copy what
 * they queue, except TCP and UDP on links whose frames are keepable (memory links, loopback), which
 * keep views of payloads of at least KEEP_MIN_BYTES until the application reads them (a small
 * unread payload can so hold a 64 KiB slab); what else holds frames (queues awaiting a neighbour,
 * reassembly) is bounded.
 */
function carve(size: number): Uint8Array {
  if (slabUsed + size > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const buf = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += (size + 7) & ~7;
  return buf;
}
