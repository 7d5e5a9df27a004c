/** Helpers for TCP simulation tests: pumping data through sockets and hashing what arrived. */
import { createHash } from 'node:crypto';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import type { IpAddr } from '../../src/core/ip-address.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import type { Ipv4Addr } from '../../src/wire/address.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitTcp, type TcpHeader } from '../../src/wire/tcp.ts';
import { injector } from '../helpers/inject.ts';
import { type Host, twoHosts } from '../helpers/sim-hosts.ts';

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
  socket: TcpSocket<IpAddr>,
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
export function collect(socket: TcpSocket<IpAddr>): {
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

/** A connected pair: `client` on a to `server` on b (port 80), after the handshake. */
export function connectedPair(
  seed: number,
  impairments: Impairments = {},
  port = 80,
  setup?: (a: Host, b: Host) => void,
) {
  const hosts = twoHosts(seed, impairments);
  const { sim, a, b } = hosts;
  setup?.(a, b);
  const listener = b.stack.tcp.listen({ port });
  let server: TcpSocket | undefined;
  listener.onConnection = () => {
    server ??= listener.accept();
  };
  const client = a.stack.tcp.connect({ address: b.ip, port });
  if (!sim.runUntil(() => server !== undefined && client.state === 'ESTABLISHED', 60_000)) {
    throw new Error(`no connection (seed ${seed})`);
  }
  return { ...hosts, listener, client, server: server! };
}

/** The bytes of a TCP segment from `src` to `dst` with a valid checksum. */
export function tcpBytes(
  src: Ipv4Addr,
  dst: Ipv4Addr,
  h: Partial<TcpHeader> & { srcPort: number; dstPort: number },
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const pb = PacketBuffer.from(data, MAX_HEADROOM);
  emitTcp(
    pb,
    { seqNumber: 0, ackNumber: 0, flags: 0, window: 65535, urgentPointer: 0, options: {}, ...h },
    { kind: 'v4', src, dst },
  );
  return pb.bytes().slice();
}

/** Sends a forged TCP segment from `from`'s interface to `to` (claiming source `src`). */
export function injectTcp(
  from: Host,
  to: Host,
  src: Ipv4Addr,
  h: Partial<TcpHeader> & { srcPort: number; dstPort: number },
  data?: Uint8Array,
): void {
  const inj = injector(from);
  inj.send(to.iface.mac, { src, dst: to.ip, protocol: 6, ttl: 64 }, tcpBytes(src, to.ip, h, data));
}

/** The TCP header fields of an Ethernet frame carrying IPv4/TCP, or undefined for anything else. */
export function tcpOfFrame(
  frame: Uint8Array,
): { seq: number; ack: number; flags: number; len: number } | undefined {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 6) return undefined;
  const ihl = (frame[14]! & 0x0f) * 4;
  const total = (frame[16]! << 8) | frame[17]!;
  const t = 14 + ihl;
  const seq = ((frame[t + 4]! << 24) | (frame[t + 5]! << 16) | (frame[t + 6]! << 8) | frame[t + 7]!) >>> 0;
  const ack = ((frame[t + 8]! << 24) | (frame[t + 9]! << 16) | (frame[t + 10]! << 8) | frame[t + 11]!) >>> 0;
  const dataOffset = (frame[t + 12]! >>> 4) * 4;
  return { seq, ack, flags: frame[t + 13]!, len: total - ihl - dataOffset };
}

/**
 * Drops the frames `host` sends for which `drop` says so (the others go on unchanged); returns a
 * function that restores the link.
 */
export function dropSent(host: Host, drop: (frame: Uint8Array) => boolean): () => void {
  const link = host.iface.link as { transmit(frames: readonly Uint8Array[]): void };
  const original = link.transmit.bind(link);
  link.transmit = (frames) => original(frames.filter((f) => !drop(f)));
  return () => {
    link.transmit = original;
  };
}
