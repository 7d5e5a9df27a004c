/**
 * Message bodies (RFC 9112 6-7): how long a body is, and a decoder that takes stream chunks and
 * hands out the body's bytes as slices of them (no copy), for a Content-Length, the chunked
 * transfer coding, or "until the connection closes" (responses only).
 */
import type { Fields } from './head.ts';

export type BodyError = 'bad-content-length' | 'unsupported-coding' | 'both-length-and-coding' | 'bad-chunk';

/** How a body is delimited. */
export type Framing =
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Responses without a length: the body ends when the connection does (RFC 9112 6.3 item 8). */
  | { kind: 'close' };

/** Largest Content-Length or chunk size accepted: 2^53 - 1, the largest exact integer. */
const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/** RFC 9112 6.3 for a request: chunked, a length, or none (length 0). */
export function requestFraming(fields: Fields): Framing | BodyError {
  return framing(fields, false);
}

/** RFC 9112 6.3 for the response to `method` with `status`. */
export function responseFraming(fields: Fields, method: string, status: number): Framing | BodyError {
  // Item 1: HEAD, 1xx, 204 and 304 have no body whatever the fields say.
  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304)
    return { kind: 'length', length: 0 };
  return framing(fields, true);
}

function framing(fields: Fields, response: boolean): Framing | BodyError {
  const te = fields.get('transfer-encoding');
  const cl = fields.get('content-length');
  if (te !== undefined) {
    // A request with both is refused (RFC 9112 6.1 allows it; it is how requests get smuggled).
    if (cl !== undefined && !response) return 'both-length-and-coding';
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    // Only chunked is implemented; it must come last (RFC 9112 6.3 items 4).
    if (codings.length !== 1 || codings[0] !== 'chunked') return 'unsupported-coding';
    return { kind: 'chunked' };
  }
  if (cl !== undefined) {
    // RFC 9110 8.6: a list of identical values may be taken as one value.
    const values = new Set(cl.split(',').map((v) => v.trim()));
    const [v] = values;
    if (values.size !== 1 || v === undefined || !/^[0-9]{1,16}$/.test(v) || Number(v) > MAX_LENGTH)
      return 'bad-content-length';
    return { kind: 'length', length: Number(v) };
  }
  return response ? { kind: 'close' } : { kind: 'length', length: 0 };
}

/** Bytes of a chunk-size line with its extensions, and of the trailer section. */
const MAX_CHUNK_LINE = 4096;
const MAX_TRAILERS = 16 * 1024;

/** States of the chunked decoder. */
const Chunk = {
  Size: 0,
  Extension: 1,
  SizeLf: 2,
  Data: 3,
  DataCr: 4,
  DataLf: 5,
  Trailer: 6,
  Done: 7,
} as const;

export type DecodeResult =
  /** Every byte of the chunk belonged to the body; more is to come. */
  | { status: 'more' }
  /** The body is complete; `rest` is what followed it in the chunk. */
  | { status: 'done'; rest: Uint8Array }
  | { status: 'error'; error: BodyError };

/** Decodes one body; `onData` gets its bytes in order, as slices of the pushed chunks. */
export class BodyDecoder {
  /** Body bytes handed out so far. */
  received = 0;
  private remaining: number;
  private state: number = Chunk.Size;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** In the trailer section: bytes of the current line (0 means an empty line ends it). */
  private trailerLine = 0;

  constructor(
    private readonly framing: Framing,
    private readonly onData: (data: Uint8Array) => void,
  ) {
    this.remaining = framing.kind === 'length' ? framing.length : 0;
  }

  get done(): boolean {
    return this.framing.kind === 'length' ? this.remaining === 0 : this.state === Chunk.Done;
  }

  /** Takes the next bytes of the stream. */
  push(chunk: Uint8Array): DecodeResult {
    switch (this.framing.kind) {
      case 'close':
        this.deliver(chunk);
        return { status: 'more' };
      case 'length': {
        const n = Math.min(this.remaining, chunk.length);
        if (n > 0) this.deliver(chunk.subarray(0, n));
        this.remaining -= n;
        return this.remaining === 0 ? { status: 'done', rest: chunk.subarray(n) } : { status: 'more' };
      }
      case 'chunked':
        return this.chunked(chunk);
    }
  }

  /** The connection closed: complete for a body delimited by the close, truncated otherwise. */
  end(): boolean {
    return this.framing.kind === 'close' || this.done;
  }

  private deliver(data: Uint8Array): void {
    this.received += data.length;
    this.onData(data);
  }

  /** RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk, trailers, CRLF. */
  private chunked(chunk: Uint8Array): DecodeResult {
    const bad: DecodeResult = { status: 'error', error: 'bad-chunk' };
    let i = 0;
    while (i < chunk.length) {
      if (this.state === Chunk.Data) {
        const n = Math.min(this.size, chunk.length - i);
        this.deliver(chunk.subarray(i, i + n));
        this.size -= n;
        i += n;
        if (this.size === 0) this.state = Chunk.DataCr;
        continue;
      }
      const b = chunk[i++]!;
      switch (this.state) {
        case Chunk.Size: {
          if (++this.lineBytes > MAX_CHUNK_LINE) return bad;
          const d = hexDigit(b);
          if (d >= 0) {
            // 13 hex digits stay below 2^53.
            if (++this.digits > 13) return bad;
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) return bad;
          else if (b === 0x0d) this.state = Chunk.SizeLf;
          else if (b === 0x3b || b === 0x20 || b === 0x09) this.state = Chunk.Extension;
          else return bad;
          break;
        }
        case Chunk.Extension:
          // Extensions are ignored (RFC 9112 7.1.1 "MUST ignore unrecognized chunk extensions").
          if (++this.lineBytes > MAX_CHUNK_LINE) return bad;
          if (b === 0x0d) this.state = Chunk.SizeLf;
          else if (b === 0x0a) return bad;
          break;
        case Chunk.SizeLf:
          if (b !== 0x0a) return bad;
          this.lineBytes = 0;
          this.digits = 0;
          if (this.size === 0) {
            this.state = Chunk.Trailer;
            this.trailerLine = 0;
          } else this.state = Chunk.Data;
          break;
        case Chunk.DataCr:
          if (b !== 0x0d) return bad;
          this.state = Chunk.DataLf;
          break;
        case Chunk.DataLf:
          if (b !== 0x0a) return bad;
          this.state = Chunk.Size;
          break;
        case Chunk.Trailer:
          // Trailer fields are read and dropped (RFC 9112 7.1.2 allows discarding them).
          if (++this.trailerBytes > MAX_TRAILERS) return bad;
          if (b === 0x0a) {
            if (this.trailerLine === 0) {
              this.state = Chunk.Done;
              return { status: 'done', rest: chunk.subarray(i) };
            }
            this.trailerLine = 0;
          } else if (b !== 0x0d) this.trailerLine++;
          break;
      }
    }
    return { status: 'more' };
  }
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}
