/**
 * Small servers `netstack up --serve` runs on the stack: echo (RFC 862, port 7) and discard
 * (RFC 863, port 9) over UDP and TCP, chargen (RFC 864, port 19), http (port 80, see
 * src/apps/http/server.ts) and iperf3 (port 5201, see src/apps/iperf3/server.ts) over TCP. A service says what it does once per transport: with a
 * datagram (`udp`) or with a connection (`tcp`); each transport runs that behaviour over its own
 * sockets.
 *
 * On a stack with IPv6 every service listens dual-stack, like a Linux server bound to `::` with
 * IPV6_V6ONLY off: IPv6 clients reach it, and IPv4 clients too (seen as `::ffff:a.b.c.d`, RFC 3493
 * 3.7); on an IPv4-only stack it binds 0.0.0.0.
 *
 * Each service counts what it did under `services.<name>.<transport>.*` in the stack's counters, so
 * the report printed at exit shows it next to the layers' counters. TCP services hold at most
 * `MAX_CONNECTIONS` connections each; more are reset and counted as `refused`.
 */
import { createHash } from 'node:crypto';
import { HttpServer } from '../apps/http/server.ts';
import { Iperf3Server } from '../apps/iperf3/server.ts';
import { SocketWriter } from '../apps/socket-writer.ts';
import type { IpFamily } from '../core/ip-address.ts';
import type { Stack } from '../core/stack.ts';
import type { TcpSocket } from '../core/tcp/tcp-socket.ts';

/** What a service does with one received message: the reply to send back, or nothing. */
type MessageBehaviour = (data: Uint8Array) => Uint8Array | undefined;

/**
 * What a service does with one connection; it calls `done` once it has closed (or lost) the socket.
 * Made once per service start (so it may hold state, like the HTTP server's counters).
 */
type StreamBehaviour = (stack: Stack, prefix: string) => (socket: TcpSocket, done: () => void) => void;

interface ServiceSpec {
  port: number;
  help: string;
  /** Datagram behaviour (the "UDP based" service of the RFCs). */
  udp?: MessageBehaviour;
  /** Connection behaviour (the "TCP based" service). */
  tcp?: StreamBehaviour;
}

/** Connections one TCP service holds at once. */
export const MAX_CONNECTIONS = 10_000;
/** Bytes echo lets wait for the peer to read before it stops reading (and so holds the peer back). */
const ECHO_QUEUE = 256 * 1024;

export const SERVICES: Record<string, ServiceSpec> = {
  // RFC 862: "Once a datagram is received, the data from it is sent back in an answering datagram."
  // "Once a connection is established any data received is sent back. This continues until the
  // calling user terminates the connection."
  echo: {
    port: 7,
    help: 'sends back what it receives (RFC 862)',
    udp: (data) => data,
    tcp: () => echoStream,
  },
  // RFC 863: "When a datagram is received, it is thrown away. An answer is not sent."
  discard: {
    port: 9,
    help: 'throws away what it receives (RFC 863)',
    udp: () => undefined,
    tcp: () => discardStream,
  },
  // RFC 864: "Once a connection is established the server sends a stream of data. Any data received
  // is thrown away. This continues until the calling user terminates the connection."
  chargen: { port: 19, help: 'sends characters until the client closes (RFC 864)', tcp: () => chargenStream },
  http: {
    port: 80,
    help: 'GET /, GET /bytes/N, POST /sha256 (HTTP/1.1)',
    tcp: (stack, prefix) => {
      const server = new HttpServer(stack, {
        createHash: () => {
          const h = createHash('sha256');
          return { update: (d) => h.update(d), digest: () => h.digest('hex') };
        },
        counterPrefix: prefix,
      });
      return (socket, done) => server.serve(socket, done);
    },
  },
  iperf3: {
    port: 5201,
    help: 'iperf3 server (TCP tests, -R, -P; see netstack iperf3)',
    tcp: (stack, prefix) => {
      const server = new Iperf3Server(stack, { counterPrefix: prefix });
      return (socket, done) => server.serve(socket, done);
    },
  },
};

/** `echo udp/7, echo tcp/7, ...`: every transport of the named services. */
export function describeServices(names: readonly string[] = Object.keys(SERVICES)): string {
  return names
    .flatMap((name) => transports(SERVICES[name]!).map((t) => `${name} (${t} ${SERVICES[name]!.port})`))
    .join(', ');
}

function transports(spec: ServiceSpec): Array<'udp' | 'tcp'> {
  return [...(spec.udp ? ['udp' as const] : []), ...(spec.tcp ? ['tcp' as const] : [])];
}

export interface RunningService {
  name: string;
  transport: 'udp' | 'tcp';
  port: number;
  close(): void;
}

/**
 * Starts the named services, every transport each has, on every address of the stack; throws
 * (with a code) if a port is taken.
 */
export function startServices(stack: Stack, names: readonly string[]): RunningService[] {
  const running: RunningService[] = [];
  try {
    for (const name of names) {
      const spec = SERVICES[name];
      if (spec === undefined) throw Object.assign(new Error(`no service named ${name}`), { code: 'EINVAL' });
      if (spec.udp) running.push(startUdp(stack, name, spec.port, spec.udp));
      if (spec.tcp) running.push(startTcp(stack, name, spec.port, spec.tcp));
    }
  } catch (e) {
    for (const r of running) r.close();
    throw e;
  }
  return running;
}

/** 6 (a dual-stack `::` socket) when the stack has IPv6, else 4. */
function familyOf(stack: Stack): IpFamily {
  return stack.ipv6 !== undefined ? 6 : 4;
}

function startUdp(stack: Stack, name: string, port: number, behaviour: MessageBehaviour): RunningService {
  const prefix = `services.${name}.udp`;
  const received = stack.counters.get(`${prefix}.rx`);
  const replied = stack.counters.get(`${prefix}.tx`);
  const failed = stack.counters.drops(`${prefix}.tx.error`);
  const socket = stack.run(() => {
    const s = stack.udp.open({ family: familyOf(stack) });
    try {
      s.bind(port);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  });
  socket.onReadable = () => {
    for (let d = socket.recv(); d; d = socket.recv()) {
      received.value++;
      const reply = behaviour(d.data);
      if (reply === undefined) continue;
      try {
        socket.send(reply, d.address, d.port);
        replied.value++;
      } catch (e) {
        // A reply the stack refuses (no route back, too big for the path) is counted, not fatal.
        failed.drop((e as { code?: string }).code ?? 'unknown');
      }
    }
  };
  return { name, transport: 'udp', port, close: () => stack.run(() => socket.close()) };
}

function startTcp(stack: Stack, name: string, port: number, behaviour: StreamBehaviour): RunningService {
  const prefix = `services.${name}.tcp`;
  const accepted = stack.counters.get(`${prefix}.connections`);
  const refused = stack.counters.get(`${prefix}.refused`);
  const serve = behaviour(stack, prefix);
  const open = new Set<TcpSocket>();
  const listener = stack.run(() => stack.tcp.listen({ port, family: familyOf(stack) }));
  listener.onConnection = () => {
    for (let s = listener.accept(); s; s = listener.accept()) {
      if (open.size >= MAX_CONNECTIONS) {
        refused.value++;
        s.abort();
        continue;
      }
      accepted.value++;
      open.add(s);
      const socket = s;
      serve(socket, () => open.delete(socket));
    }
  };
  return {
    name,
    transport: 'tcp',
    port,
    close: () =>
      stack.run(() => {
        listener.close();
        for (const s of open) s.abort();
        open.clear();
      }),
  };
}

/**
 * Reads what the peer sends, hands it to `use`, and closes once the peer has finished and
 * `flushed()` says our side has too. `use` returns false to stop reading for now (call the
 * returned `pump` to start again). Reset or lost connections end quietly.
 */
function readLoop(
  socket: TcpSocket,
  done: () => void,
  use: (data: Uint8Array) => boolean,
  onPeerEnd: () => void,
): () => void {
  let ended = false;
  // `use` may lead back here (a write that drains at once); the outer loop then reads on.
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const d = socket.read();
        if (d === undefined) break;
        if (!use(d)) return;
      }
    } finally {
      pumping = false;
    }
    if (socket.readableEnded && !ended) {
      ended = true;
      onPeerEnd();
    }
  };
  socket.onReadable = pump;
  socket.onEnd = pump;
  socket.onClose = done;
  return pump;
}

/** Closes `socket` gracefully (FIN after what is queued) and reports it done. */
function finish(socket: TcpSocket, done: () => void): void {
  socket.onClose = undefined;
  socket.close();
  done();
}

function echoStream(socket: TcpSocket, done: () => void): void {
  const writer = new SocketWriter(socket);
  let peerEnded = false;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    finish(socket, done);
  };
  writer.onError = () => {
    closed = true;
    socket.abort();
    done();
  };
  const pump = readLoop(
    socket,
    done,
    (data) => {
      writer.write(data);
      return writer.queued < ECHO_QUEUE;
    },
    () => {
      peerEnded = true;
      if (writer.idle) close();
    },
  );
  writer.onDrain = () => {
    if (peerEnded) close();
    else pump();
  };
}

function discardStream(socket: TcpSocket, done: () => void): void {
  readLoop(
    socket,
    done,
    () => true,
    () => finish(socket, done),
  );
}

/**
 * RFC 864's "one popular pattern": lines of 72 printable ASCII characters (32 to 126), each
 * starting one character further along, followed by CR LF; the pattern repeats every 95 lines.
 * Sent as one immutable block of `CHARGEN_BLOCK_LINES` lines, again and again.
 */
const CHARGEN_BLOCK_LINES = 95 * 9;

let chargenBlock: Uint8Array | undefined;

export function chargenPattern(): Uint8Array {
  if (chargenBlock === undefined) {
    chargenBlock = new Uint8Array(CHARGEN_BLOCK_LINES * 74);
    for (let line = 0; line < CHARGEN_BLOCK_LINES; line++) {
      for (let i = 0; i < 72; i++) chargenBlock[line * 74 + i] = 32 + ((line + i) % 95);
      chargenBlock[line * 74 + 72] = 0x0d;
      chargenBlock[line * 74 + 73] = 0x0a;
    }
  }
  return chargenBlock;
}

function chargenStream(socket: TcpSocket, done: () => void): void {
  const writer = new SocketWriter(socket);
  const block = chargenPattern();
  let stopped = false;
  writer.onError = () => {
    stopped = true;
    socket.abort();
    done();
  };
  // Whatever the peer sends is thrown away; its FIN changes nothing (it may still read).
  readLoop(
    socket,
    () => {
      stopped = true;
      done();
    },
    () => true,
    () => {},
  );
  writer.write(undefined, () => (stopped ? undefined : block));
}
