/**
 * The body of `GET /bytes/N`: N bytes that are cheap to send and still catch a stack that reorders
 * or repeats data. The body is cut into blocks of 64 KiB; every block is the same xorshift32
 * stream (seed 1) except its first 8 bytes, which hold the block's offset in the body as a
 * big-endian integer. So no two blocks are equal, and a client can check every byte.
 */

export const BYTES_BLOCK = 64 * 1024;

let pattern: Uint8Array | undefined;

/** The 64 KiB xorshift32 stream, made once. */
function basePattern(): Uint8Array {
  if (pattern === undefined) {
    pattern = new Uint8Array(BYTES_BLOCK);
    let x = 1;
    for (let i = 0; i < BYTES_BLOCK; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      pattern[i] = x & 0xff;
    }
  }
  return pattern;
}

/** The block at `offset` (a multiple of `BYTES_BLOCK`), cut to `length` bytes; a fresh copy. */
export function bytesBlock(offset: number, length = BYTES_BLOCK): Uint8Array {
  const block = basePattern().slice(0, length);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(offset));
  block.set(head.subarray(0, Math.min(8, length)));
  return block;
}

/** A source of the body of `length` bytes, block after block (for `SocketWriter.write`). */
export function bytesSource(length: number): () => Uint8Array | undefined {
  let offset = 0;
  return () => {
    if (offset >= length) return undefined;
    const block = bytesBlock(offset, Math.min(BYTES_BLOCK, length - offset));
    offset += block.length;
    return block;
  };
}
