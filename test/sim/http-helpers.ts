/** Helpers for the HTTP simulation tests: a server on one stack, raw exchanges and GETs from another. */
import { createHash } from 'node:crypto';
import { HttpGet, type HttpResponseHead } from '../../src/apps/http/client.ts';
import { HttpServer, type HttpServerOptions } from '../../src/apps/http/server.ts';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import type { Ipv4Addr } from '../../src/wire/address.ts';
import { type Host, twoHosts } from '../helpers/sim-hosts.ts';

export const nodeHash = () => {
  const h = createHash('sha256');
  return { update: (d: Uint8Array) => h.update(d), digest: () => h.digest('hex') };
};

/** a (client) and b (server on port 80), on one wire. */
export function httpPair(
  seed: number,
  impairments: Impairments = {},
  options: Partial<HttpServerOptions> = {},
) {
  const hosts = twoHosts(seed, impairments);
  const { b } = hosts;
  const server = new HttpServer(b.stack, { createHash: nodeHash, ...options });
  const open = new Set<TcpSocket>();
  let finished = 0;
  const listener = b.stack.tcp.listen({ port: 80 });
  listener.onConnection = () => {
    for (let s = listener.accept(); s; s = listener.accept()) {
      const socket = s;
      open.add(socket);
      server.serve(socket, () => {
        open.delete(socket);
        finished++;
      });
    }
  };
  return { ...hosts, server, open, finished: () => finished };
}

/** Sends `request` on a new connection and collects what comes back until the server's FIN. */
export function rawExchange(from: Host, to: Ipv4Addr, request: Uint8Array | string, port = 80) {
  const socket = from.stack.tcp.connect({ address: to, port });
  const bytes = typeof request === 'string' ? new TextEncoder().encode(request) : request;
  const chunks: Uint8Array[] = [];
  let ended = false;
  let closedWith: Error | undefined;
  let offset = 0;
  const send = () => {
    while (offset < bytes.length) {
      const n = socket.write(bytes.subarray(offset));
      offset += n;
      if (n === 0) return;
    }
  };
  socket.onConnect = send;
  socket.onWritable = send;
  const drain = () => {
    for (let c = socket.read(); c; c = socket.read()) chunks.push(c.slice());
    if (socket.readableEnded) ended = true;
  };
  socket.onReadable = drain;
  socket.onEnd = drain;
  socket.onClose = (e) => {
    closedWith = e;
    ended = true;
  };
  return {
    socket,
    sent: () => offset === bytes.length,
    ended: () => ended,
    error: () => closedWith,
    text: () => Buffer.concat(chunks).toString('latin1'),
    bytes: () => Buffer.concat(chunks),
  };
}

/** A GET with the client; its body hashed as it arrives. */
export function get(from: Host, to: Ipv4Addr, path: string, port = 80) {
  const g = new HttpGet(from.stack, { address: to, port, host: 'test', path });
  const hash = createHash('sha256');
  let head: HttpResponseHead | undefined;
  let received = 0;
  let done = false;
  let error: (Error & { code?: string }) | undefined;
  g.onResponse = (h) => {
    head = h;
  };
  g.onData = (d) => {
    received += d.length;
    hash.update(d);
  };
  g.onEnd = () => {
    done = true;
  };
  g.onError = (e) => {
    error = e;
  };
  return {
    request: g,
    head: () => head,
    received: () => received,
    done: () => done,
    error: () => error,
    finished: () => done || error !== undefined,
    digest: () => hash.digest('hex'),
  };
}

/** The SHA-256 of the body of `/bytes/N`, computed from the generator. */
export function expectedBytesDigest(n: number, source: () => Uint8Array | undefined): string {
  const h = createHash('sha256');
  let total = 0;
  for (let b = source(); b; b = source()) {
    h.update(b);
    total += b.length;
  }
  if (total !== n) throw new Error(`generator made ${total} bytes, not ${n}`);
  return h.digest('hex');
}
