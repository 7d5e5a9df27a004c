/**
 * The `http` service: a small HTTP/1.1 origin server (RFC 9110, RFC 9112) on the stack's TCP
 * sockets, for trying the stack with curl and browsers and for measuring it.
 *
 *   GET /           a small page listing what is here
 *   GET /bytes/N    N bytes (bytes-body.ts), streamed block by block with backpressure
 *   POST /sha256    the lowercase hex SHA-256 of the request body (Content-Length or chunked),
 *                   hashed as it arrives
 *
 * HEAD works wherever GET does. Connections are persistent (RFC 9112 9.3) unless the client says
 * otherwise or speaks HTTP/1.0 without keep-alive; pipelined requests are answered in order (the
 * next request is not read before the response to the last one has gone into the send buffer, so
 * TCP's flow control holds back a client that pipelines too much). Heads are bounded in bytes and
 * fields; a connection idle for `idleTimeout` (no complete request head) is closed.
 *
 * The hash is injected (`createHash`), so the service needs nothing from Node.
 */
import type { Counters, DropCounters } from '../../core/counters.ts';
import type { Stack } from '../../core/stack.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Timer } from '../../core/timers.ts';
import { SocketWriter } from '../socket-writer.ts';
import { BodyDecoder, type BodyError, requestFraming } from './body.ts';
import { bytesSource } from './bytes-body.ts';
import {
  DEFAULT_HEAD_LIMITS,
  type Fields,
  formatHead,
  type HeadError,
  type HeadLimits,
  HeadReader,
  parseRequestLine,
} from './head.ts';

export interface Hash {
  update(data: Uint8Array): void;
  /** The digest as lowercase hex. */
  digest(): string;
}
export type HashFactory = () => Hash;

export interface HttpServerOptions {
  createHash: HashFactory;
  head?: HeadLimits;
  /** Largest N of `/bytes/N` (default 1 TiB). */
  maxBytes?: number;
  /** Milliseconds a connection may wait for a complete request head (default 60 s). */
  idleTimeout?: number;
  /** Counter names start with this (default `http.server`). */
  counterPrefix?: string;
}

const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

const INDEX = `<!doctype html>
<html><head><title>netstack-ts</title></head>
<body>
<h1>netstack-ts</h1>
<p>This page came over a TCP/IP stack written in TypeScript.</p>
<ul>
<li><code>GET /bytes/N</code>: N bytes of data</li>
<li><code>POST /sha256</code>: the SHA-256 of the request body, in hex</li>
</ul>
</body></html>
`;

const encoder = new TextEncoder();

/** A response: status, extra fields, and a body given whole or as a source of `length` bytes. */
interface Response {
  status: number;
  fields?: Array<[string, string]>;
  body: Uint8Array | { length: number; source: () => Uint8Array | undefined };
  type?: string;
}

function text(status: number, message: string, fields?: Array<[string, string]>): Response {
  return { status, body: encoder.encode(`${message}\n`), type: 'text/plain; charset=utf-8', ...{ fields } };
}

/** What the server does with one request once its head is read. */
interface Route {
  /** Takes the request body's bytes. */
  consume?: (data: Uint8Array) => void;
  /** The response, once the whole body was consumed. */
  respond: () => Response;
}

export class HttpServer {
  readonly limits: HeadLimits;
  readonly maxBytes: number;
  readonly idleTimeout: number;
  readonly requests;
  readonly responses: DropCounters<string>;
  readonly errors: DropCounters<HeadError | BodyError | 'truncated'>;

  constructor(
    readonly stack: Stack,
    private readonly options: HttpServerOptions,
  ) {
    this.limits = options.head ?? DEFAULT_HEAD_LIMITS;
    this.maxBytes = options.maxBytes ?? 2 ** 40;
    this.idleTimeout = options.idleTimeout ?? 60_000;
    const c: Counters = stack.counters;
    const prefix = options.counterPrefix ?? 'http.server';
    this.requests = c.get(`${prefix}.requests`);
    this.responses = c.drops(`${prefix}.status`);
    this.errors = c.drops(`${prefix}.error`);
  }

  /** Serves requests on `socket` until it closes; calls `done` once the server is finished with it. */
  serve(socket: TcpSocket, done: () => void): void {
    new HttpConnection(this, socket, done).start();
  }

  /** Picks what to do with a request (RFC 9110 9.1: 405 with Allow for a known path). */
  route(method: string, target: string): Route {
    const path = originPath(target);
    const get = method === 'GET' || method === 'HEAD';
    const notAllowed = (allow: string): Route => ({
      respond: () => text(405, 'method not allowed', [['Allow', allow]]),
    });
    if (path === '/')
      return get
        ? { respond: () => ({ status: 200, body: encoder.encode(INDEX), type: 'text/html; charset=utf-8' }) }
        : notAllowed('GET, HEAD');
    const bytes = /^\/bytes\/([0-9]{1,16})$/.exec(path);
    if (bytes !== null) {
      if (!get) return notAllowed('GET, HEAD');
      const n = Number(bytes[1]);
      if (n > this.maxBytes) return { respond: () => text(400, `at most ${this.maxBytes} bytes`) };
      return {
        respond: () => ({
          status: 200,
          body: { length: n, source: bytesSource(n) },
          type: 'application/octet-stream',
        }),
      };
    }
    if (path === '/sha256') {
      if (method !== 'POST') return notAllowed('POST');
      const hash = this.options.createHash();
      return { consume: (d) => hash.update(d), respond: () => text(200, hash.digest()) };
    }
    return { respond: () => text(404, 'not found') };
  }
}

/** The path of an origin-form or absolute-form target (RFC 9112 3.2), without the query. */
function originPath(target: string): string {
  let t = target;
  const abs = /^https?:\/\/[^/?#]*/i.exec(t);
  if (abs !== null) t = t.slice(abs[0].length) || '/';
  const q = t.search(/[?#]/);
  return q === -1 ? t : t.slice(0, q);
}

function headErrorStatus(e: HeadError | BodyError): number {
  switch (e) {
    case 'head-too-large':
    case 'too-many-fields':
      return 431;
    case 'bad-version':
      return 505;
    case 'unsupported-coding':
      return 501;
    default:
      return 400;
  }
}

type State = 'head' | 'body' | 'respond' | 'closing' | 'closed';

class HttpConnection {
  private state: State = 'head';
  private readonly reader: HeadReader;
  private readonly writer: SocketWriter;
  private readonly idle: Timer;
  /** Bytes read from the socket and not yet processed (the next pipelined request). */
  private pending: Uint8Array | undefined;
  private decoder: BodyDecoder | undefined;
  private route: Route | undefined;
  private method = 'GET';
  private keepAlive = true;
  private pumping = false;

  constructor(
    private readonly server: HttpServer,
    private readonly socket: TcpSocket,
    private readonly done: () => void,
  ) {
    this.reader = new HeadReader(server.limits);
    this.writer = new SocketWriter(socket);
    this.idle = server.stack.createTimer(() => this.onIdle());
  }

  start(): void {
    const s = this.socket;
    s.onReadable = () => this.pump();
    s.onEnd = () => this.pump();
    s.onClose = () => this.finish('gone');
    this.writer.onDrain = () => this.responded();
    this.writer.onError = () => this.finish('abort');
    this.armIdle();
    this.pump();
  }

  private armIdle(): void {
    const stack = this.server.stack;
    stack.schedule(this.idle, stack.now() + this.server.idleTimeout);
  }

  private onIdle(): void {
    if (this.state === 'closing') this.finish('abort');
    else if (this.state === 'head') this.close();
  }

  /** Processes what has arrived, as far as the state allows. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const s = this.state;
        if (s === 'respond' || s === 'closed') return;
        const chunk = this.pending ?? this.socket.read();
        this.pending = undefined;
        if (chunk === undefined) break;
        if (s === 'closing') continue;
        if (s === 'head') this.onHeadBytes(chunk);
        else this.onBodyBytes(chunk);
      }
      if (!this.socket.readableEnded) return;
      // The peer has finished sending.
      if (this.state === 'closing') this.finish('close');
      else if (this.state === 'body') {
        this.server.errors.drop('truncated');
        this.finish('close');
      } else if (this.state === 'head') this.close();
    } finally {
      this.pumping = false;
    }
  }

  private onHeadBytes(chunk: Uint8Array): void {
    const r = this.reader.push(chunk);
    if (r.status === 'more') return;
    if (r.status === 'error') {
      this.fail(r.error);
      return;
    }
    if (r.rest.length > 0) this.pending = r.rest;
    this.server.stack.cancel(this.idle);
    const line = parseRequestLine(r.head.startLine);
    if (typeof line === 'string') {
      this.fail(line);
      return;
    }
    this.server.requests.value++;
    const fields = r.head.fields;
    this.method = line.method;
    this.keepAlive = persistent(line.minor, fields);
    // RFC 9112 3.2: a 1.1 request without exactly one Host is answered 400.
    if (line.minor === 1 && fields.count('host') !== 1) {
      this.fail('bad-field');
      return;
    }
    const framing = requestFraming(fields);
    if (typeof framing === 'string') {
      this.fail(framing);
      return;
    }
    this.route = this.server.route(line.method, line.target);
    const consume = this.route.consume ?? (() => {});
    this.decoder = new BodyDecoder(framing, consume);
    if (this.decoder.done) {
      this.respond(this.route.respond());
      return;
    }
    // RFC 9110 10.1.1: a client waiting with "Expect: 100-continue" is told to send the body.
    if (line.minor === 1 && fields.hasToken('expect', '100-continue'))
      this.writer.write(formatHead('HTTP/1.1 100 Continue', []));
    this.state = 'body';
    if (this.pending !== undefined) {
      const p = this.pending;
      this.pending = undefined;
      this.onBodyBytes(p);
    }
  }

  private onBodyBytes(chunk: Uint8Array): void {
    const r = this.decoder!.push(chunk);
    if (r.status === 'more') return;
    if (r.status === 'error') {
      this.fail(r.error);
      return;
    }
    if (r.rest.length > 0) this.pending = r.rest;
    this.respond(this.route!.respond());
  }

  /** A request that cannot be read further: an error response, then the connection closes. */
  private fail(error: HeadError | BodyError): void {
    this.server.errors.drop(error);
    this.keepAlive = false;
    this.pending = undefined;
    this.respond(text(headErrorStatus(error), REASONS[headErrorStatus(error)]!.toLowerCase()));
  }

  private respond(r: Response): void {
    this.state = 'respond';
    this.server.responses.drop(String(r.status));
    const whole = r.body instanceof Uint8Array;
    const length = r.body.length;
    const fields: Array<[string, string]> = [
      ['Server', 'netstack-ts'],
      ['Content-Length', String(length)],
      ...(r.type !== undefined ? [['Content-Type', r.type] as [string, string]] : []),
      ...(r.fields ?? []),
      ['Connection', this.keepAlive ? 'keep-alive' : 'close'],
    ];
    const head = formatHead(`HTTP/1.1 ${r.status} ${REASONS[r.status] ?? ''}`, fields);
    if (this.method === 'HEAD') this.writer.write(head);
    else if (whole) this.writer.write(concat(head, r.body as Uint8Array));
    else this.writer.write(head, (r.body as { source: () => Uint8Array | undefined }).source);
  }

  /** The response went into the send buffer: the next request, or the end of the connection. */
  private responded(): void {
    if (this.state !== 'respond') return;
    this.decoder = undefined;
    this.route = undefined;
    if (!this.keepAlive) {
      this.close();
      return;
    }
    this.state = 'head';
    this.armIdle();
    // Inside the pump loop, the loop reads the next request itself.
    if (!this.pumping) this.pump();
  }

  /** Our side is done: FIN after the queued data, then read until the peer's FIN. */
  private close(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.socket.shutdown();
    this.armIdle();
    this.pump();
  }

  /**
   * The end, told to the server once: the socket is closed (`close`: gracefully; `abort`: with a
   * RST) or already gone.
   */
  private finish(how: 'close' | 'abort' | 'gone'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.server.stack.cancel(this.idle);
    if (how === 'close') this.socket.close();
    else if (how === 'abort') this.socket.abort();
    this.done();
  }
}

/** RFC 9112 9.3: whether the connection persists after this exchange. */
function persistent(minor: 0 | 1, fields: Fields): boolean {
  if (fields.hasToken('connection', 'close')) return false;
  return minor === 1 || fields.hasToken('connection', 'keep-alive');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
