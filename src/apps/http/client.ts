/**
 * A tiny HTTP/1.1 client (RFC 9112) on the stack's TCP sockets, for `netstack fetch` and tests:
 * one GET per connection (`Connection: close`), the response head bounded like the server's, the
 * body delimited by Content-Length, the chunked coding or the end of the connection, handed out as
 * it arrives. `pause`/`resume` stop and restart reading, so a slow consumer holds the sender back
 * through TCP's window instead of buffering.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import { errno } from '../../core/errno.ts';
import type { IpAddr } from '../../core/ip-address.ts';
import type { Stack } from '../../core/stack.ts';
import type { TcpInfo } from '../../core/tcp/tcp-info.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import { BodyDecoder, responseFraming } from './body.ts';
import {
  DEFAULT_HEAD_LIMITS,
  type Fields,
  formatHead,
  type HeadLimits,
  HeadReader,
  parseStatusLine,
} from './head.ts';

export interface HttpGetOptions {
  /** The server: IPv4 or IPv6 (with `scope`, the device of a link-local one). */
  address: IpAddr;
  scope?: NetworkInterface;
  port: number;
  /** The Host field (RFC 9110 7.2): the URL's authority. */
  host: string;
  /** The request target, origin-form (`/path?query`). */
  path: string;
  head?: HeadLimits;
}

export interface HttpResponseHead {
  status: number;
  reason: string;
  fields: Fields;
  /** The body's length when the response says it (Content-Length). */
  length: number | undefined;
}

export class HttpGet {
  /** The connection is established and the request is sent. */
  onConnect: (() => void) | undefined;
  onResponse: ((head: HttpResponseHead) => void) | undefined;
  /** The body's bytes, in order (slices, valid until the next call into the stack). */
  onData: ((data: Uint8Array) => void) | undefined;
  /** The whole body has arrived. */
  onEnd: (() => void) | undefined;
  /** The request failed (a Node errno `code`: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPROTO...). */
  onError: ((e: Error) => void) | undefined;
  private readonly socket: TcpSocket;
  private readonly reader: HeadReader;
  private decoder: BodyDecoder | undefined;
  private paused = false;
  private finished = false;

  constructor(stack: Stack, options: HttpGetOptions) {
    this.reader = new HeadReader(options.head ?? DEFAULT_HEAD_LIMITS);
    const { address, scope, port } = options;
    const s = stack.tcp.connect({ address, port, ...(scope !== undefined ? { scope } : {}) });
    this.socket = s;
    s.onConnect = () => {
      const head = formatHead(`GET ${options.path} HTTP/1.1`, [
        ['Host', options.host],
        ['User-Agent', 'netstack-ts'],
        ['Accept', '*/*'],
        ['Connection', 'close'],
      ]);
      try {
        // A head is far smaller than any send buffer: it all goes in.
        s.write(head);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      this.onConnect?.();
    };
    s.onReadable = () => this.pump();
    s.onEnd = () => this.pump();
    s.onClose = (err) => {
      if (!this.finished) this.fail(err ?? errno('ECONNRESET', 'connection closed before the response'));
    };
  }

  /** The connection's TCP state (for progress reports). */
  info(): TcpInfo {
    return this.socket.info();
  }

  /** Stops reading: what arrives waits in the receive buffer and the window closes. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pump();
  }

  /** Gives up: a RST, no more callbacks. */
  abort(): void {
    this.finished = true;
    this.socket.abort();
  }

  private pump(): void {
    while (!this.paused && !this.finished) {
      const chunk = this.socket.read();
      if (chunk === undefined) break;
      if (this.decoder === undefined) this.onHead(chunk);
      else this.onBody(chunk);
    }
    if (this.paused || this.finished || !this.socket.readableEnded) return;
    // The server closed: the end of a body delimited by the close, or a truncated response.
    if (this.decoder?.end()) this.complete();
    else this.fail(errno('EPROTO', 'the connection closed before the end of the response'));
  }

  private onHead(chunk: Uint8Array): void {
    const r = this.reader.push(chunk);
    if (r.status === 'more') return;
    if (r.status === 'error') {
      this.fail(errno('EPROTO', `bad response head (${r.error})`));
      return;
    }
    const line = parseStatusLine(r.head.startLine);
    if (typeof line === 'string') {
      this.fail(errno('EPROTO', `bad status line (${line})`));
      return;
    }
    // RFC 9110 15.2: interim responses (100 Continue...) are skipped; the final one follows.
    if (line.status < 200) {
      if (r.rest.length > 0) this.onHead(r.rest);
      return;
    }
    const framing = responseFraming(r.head.fields, 'GET', line.status);
    if (typeof framing === 'string') {
      this.fail(errno('EPROTO', `bad response framing (${framing})`));
      return;
    }
    this.decoder = new BodyDecoder(framing, (d) => this.onData?.(d));
    this.onResponse?.({
      status: line.status,
      reason: line.reason,
      fields: r.head.fields,
      length: framing.kind === 'length' ? framing.length : undefined,
    });
    if (this.finished) return;
    if (this.decoder.done) this.complete();
    else if (r.rest.length > 0) this.onBody(r.rest);
  }

  private onBody(chunk: Uint8Array): void {
    const r = this.decoder!.push(chunk);
    if (r.status === 'error') this.fail(errno('EPROTO', `bad response body (${r.error})`));
    else if (r.status === 'done') this.complete();
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    // Anything after the body is not ours to read; closing with it unread resets, as it should.
    this.socket.close();
    this.onEnd?.();
  }

  private fail(e: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.abort();
    this.onError?.(e);
  }
}
