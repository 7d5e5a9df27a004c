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

  /** A buffer of `headroom + payloadLength` bytes whose payload area starts after the headroom. */
  static alloc(headroom: number, payloadLength: number): PacketBuffer {
    return new PacketBuffer(new Uint8Array(headroom + payloadLength), headroom, headroom + payloadLength);
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
