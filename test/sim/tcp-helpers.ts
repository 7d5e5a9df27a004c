/** Helpers for TCP simulation tests: pumping data through sockets and hashing what arrived. */
import { createHash } from 'node:crypto';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';

/** Deterministic pseudo-random bytes for a payload (xorshift from `seed`). */
export function payload(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(chunks: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** Writes `data` through `socket` in pieces of `piece` bytes, honouring backpressure; then shuts down. */
export function sendAll(
  socket: TcpSocket,
  data: Uint8Array,
  piece = 65536,
  shutdown = true,
): { done: () => boolean } {
  let offset = 0;
  const pump = () => {
    while (offset < data.length) {
      const chunk = data.subarray(offset, Math.min(data.length, offset + piece));
      const n = socket.write(chunk);
      offset += n;
      if (n < chunk.length) return;
    }
    if (shutdown) socket.shutdown();
  };
  socket.onWritable = pump;
  if (socket.state === 'ESTABLISHED' || socket.state === 'CLOSE-WAIT') pump();
  else {
    const prev = socket.onConnect;
    socket.onConnect = () => {
      prev?.();
      pump();
    };
  }
  return { done: () => offset === data.length };
}

/** Collects everything `socket` receives until the peer's FIN. */
export function collect(socket: TcpSocket): {
  chunks: Uint8Array[];
  bytes: () => number;
  ended: () => boolean;
} {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const drain = () => {
    for (let c = socket.read(); c; c = socket.read()) {
      chunks.push(c);
      total += c.length;
    }
  };
  socket.onReadable = drain;
  socket.onEnd = () => {
    drain();
    ended = true;
  };
  return { chunks, bytes: () => total, ended: () => ended };
}
