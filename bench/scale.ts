/**
 * Issue 8, item 5: many concurrent TCP connections between two simulated stacks. Opens `n` (in
 * waves of at most one accept queue), holds them idle, closes them all from the client side (the
 * server closes on end of stream; TIME-WAIT shortened to 2 s of virtual time), and reports:
 * - heap per idle connection: heap growth while all `n` are open, divided by the 2n connection
 *   ends (a client and a server block, each with its socket); nothing has been written, so no
 *   buffer holds data;
 * - accepts per second: connections opened and accepted per wall-clock second;
 * - the wall-clock time to open and close all of them.
 * Also Node's own `net` over 127.0.0.1 for comparison (`loopbackAccepts`).
 */
import net from 'node:net';
import type { TcpSocket } from '../src/core/tcp/tcp-socket.ts';
import { twoStacks } from './lib.ts';

export interface ScaleResult {
  readonly connections: number;
  readonly heapPerConnectionBytes: number;
  readonly acceptsPerSecond: number;
  readonly openSeconds: number;
  readonly closeSeconds: number;
}

const WAVE = 4096;
/** Connections per server port: well inside the widened ephemeral range of one destination. */
const PER_PORT = 40_000;

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

export function simScale(n: number): ScaleResult {
  const { sim, a, b } = twoStacks();
  for (const { stack } of [a, b]) {
    stack.tcp.maxConnections = n + WAVE;
    stack.tcp.maxTimeWait = n + WAVE;
    stack.tcp.msl = 1000;
    stack.tcp.ports.range = { min: 1024, max: 65535 };
  }
  const ports = Math.ceil(n / PER_PORT);
  const servers: TcpSocket[] = [];
  const listeners = Array.from({ length: ports }, (_, i) => {
    const l = b.stack.tcp.listen({ port: 80 + i, backlog: WAVE });
    l.onConnection = () => {
      for (let s = l.accept(); s; s = l.accept()) {
        const server = s;
        server.onEnd = () => server.close();
        servers.push(server);
      }
    };
    return l;
  });
  // Warm up (JIT, ARP) with one connection, closed and gone before measuring.
  const warm = a.stack.tcp.connect({ address: b.ip, port: 80 });
  if (!sim.runUntil(() => servers.length === 1, 5000)) throw new Error('warm-up connection failed');
  warm.close();
  servers.length = 0;
  sim.advance(5000);

  const before = heapUsed();
  const t0 = performance.now();
  const clients: TcpSocket[] = [];
  let connected = 0;
  const onConnect = () => {
    connected++;
  };
  for (let opened = 0; opened < n; ) {
    const wave = Math.min(WAVE, n - opened);
    for (let i = 0; i < wave; i++, opened++) {
      const c = a.stack.tcp.connect({ address: b.ip, port: 80 + (opened % ports) });
      c.onConnect = onConnect;
      clients.push(c);
    }
    if (!sim.runUntil(() => servers.length === opened && connected === opened, 60_000)) {
      throw new Error(`only ${servers.length} of ${opened} connections accepted`);
    }
  }
  const openSeconds = (performance.now() - t0) / 1000;
  sim.advance(1000);
  const held = heapUsed();
  const t1 = performance.now();
  for (const c of clients) c.close();
  const gone = () => a.stack.tcp.connectionCount === 0 && b.stack.tcp.connectionCount === 0;
  if (!sim.runUntil(gone, 60_000)) throw new Error('connections left after close');
  const closeSeconds = (performance.now() - t1) / 1000;
  for (const l of listeners) l.close();
  return {
    connections: n,
    heapPerConnectionBytes: (held - before) / (2 * n),
    acceptsPerSecond: n / openSeconds,
    openSeconds,
    closeSeconds,
  };
}

/** Node's `net` over 127.0.0.1: opens `n` connections to one server; accepts per second. */
export async function loopbackAccepts(n: number): Promise<number> {
  const accepted: net.Socket[] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const server = net.createServer((s) => {
    accepted.push(s);
    if (accepted.length === n) done();
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  const t0 = performance.now();
  const clients = Array.from({ length: n }, () => net.connect({ host: '127.0.0.1', port }));
  await all;
  const seconds = (performance.now() - t0) / 1000;
  for (const c of clients) c.destroy();
  for (const s of accepted) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return n / seconds;
}
