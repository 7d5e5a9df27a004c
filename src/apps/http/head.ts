/**
 * HTTP/1.1 message heads (RFC 9112 2-5): the start line and the header fields up to the empty line,
 * read from stream chunks of any size with a bound on the bytes and the number of fields, and
 * parsed strictly enough that a request cannot be read two ways (no whitespace before the colon,
 * no obsolete line folding: RFC 9112 5.1, 5.2).
 */

/** Why a head was refused. */
export type HeadError = 'head-too-large' | 'too-many-fields' | 'bad-start-line' | 'bad-field' | 'bad-version';

export interface HeadLimits {
  /** Bytes of the start line and fields together, CRLFs included (default 16 KiB). */
  maxBytes: number;
  /** Header fields (default 100). */
  maxFields: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = { maxBytes: 16 * 1024, maxFields: 100 };

/** Header fields in the order received, names in lower case. */
export class Fields {
  constructor(readonly list: ReadonlyArray<readonly [string, string]>) {}

  /** Every value of `name` joined by ", " (RFC 9110 5.3), or undefined. */
  get(name: string): string | undefined {
    const values = this.list.filter(([n]) => n === name).map(([, v]) => v);
    return values.length === 0 ? undefined : values.join(', ');
  }

  /** How many field lines named `name` there are. */
  count(name: string): number {
    return this.list.filter(([n]) => n === name).length;
  }

  /** Whether the comma-separated list `name` holds `token` (case-insensitive). */
  hasToken(name: string, token: string): boolean {
    const v = this.get(name);
    return v?.split(',').some((t) => t.trim().toLowerCase() === token) === true;
  }
}

/** A complete head: the start line split at its spaces, and the fields. */
export interface Head {
  startLine: string;
  fields: Fields;
}

export type HeadResult =
  | { status: 'more' }
  | { status: 'done'; head: Head; rest: Uint8Array }
  | { status: 'error'; error: HeadError };

const LF = 0x0a;
const CR = 0x0d;
/** RFC 9110 5.6.2 tchar. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Collects the bytes of one head. `push` returns `more` until the empty line has arrived, then the
 * parsed head and the bytes after it (the start of the body, or of the next message).
 */
export class HeadReader {
  private buf = new Uint8Array(256);
  private length = 0;

  constructor(private readonly limits: HeadLimits = DEFAULT_HEAD_LIMITS) {}

  /** Bytes held so far (0 between messages). */
  get buffered(): number {
    return this.length;
  }

  push(chunk: Uint8Array): HeadResult {
    const start = this.length;
    // Before the head: RFC 9112 2.2 "SHOULD ignore at least one empty line (CRLF) received prior to
    // the request-line".
    let from = 0;
    if (start === 0) while (from < chunk.length && (chunk[from] === CR || chunk[from] === LF)) from++;
    const take = chunk.subarray(from);
    // Look for the end (LF, optional CR, LF) in the new bytes, starting just before them.
    let end = -1;
    for (let i = 0; i < take.length; i++) {
      if (take[i] !== LF) continue;
      const at = start + i;
      const prev = at >= 1 ? this.byteAt(at - 1, take, start) : -1;
      const prev2 = at >= 2 ? this.byteAt(at - 2, take, start) : -1;
      if (prev === LF || (prev === CR && prev2 === LF)) {
        end = i + 1;
        break;
      }
    }
    const used = end === -1 ? take.length : end;
    if (start + used > this.limits.maxBytes) return { status: 'error', error: 'head-too-large' };
    this.append(take.subarray(0, used));
    if (end === -1) return { status: 'more' };
    const bytes = this.buf.subarray(0, this.length);
    this.length = 0;
    const parsed = parseHead(bytes, this.limits);
    if ('error' in parsed) return { status: 'error', error: parsed.error };
    return { status: 'done', head: parsed, rest: take.subarray(end) };
  }

  private byteAt(index: number, take: Uint8Array, start: number): number {
    return index < start ? this.buf[index]! : take[index - start]!;
  }

  private append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + bytes.length));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096)
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  return s;
}

function parseHead(bytes: Uint8Array, limits: HeadLimits): Head | { error: HeadError } {
  // RFC 9112 2.2: a recipient MAY take a lone LF as a line terminator; a stray CR is an error.
  const lines = latin1(bytes)
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  // The head ends with an empty line, which split leaves as two empty strings.
  lines.length -= 2;
  const startLine = lines[0] ?? '';
  if (startLine.includes('\r') || startLine === '') return { error: 'bad-start-line' };
  if (lines.length - 1 > limits.maxFields) return { error: 'too-many-fields' };
  const list: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    // RFC 9112 5.1: no whitespace between the name and the colon; 5.2: obs-fold may be refused.
    if (colon <= 0) return { error: 'bad-field' };
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    // RFC 9110 5.5: CR, LF and NUL are never allowed in a field value.
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) return { error: 'bad-field' };
    list.push([name.toLowerCase(), value]);
  }
  return { startLine, fields: new Fields(list) };
}

/** A request line (RFC 9112 3). */
export interface RequestLine {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
}

/** `GET /path HTTP/1.1` split and checked; `bad-version` for a version other than 1.0 and 1.1. */
export function parseRequestLine(line: string): RequestLine | HeadError {
  const parts = line.split(' ');
  if (parts.length !== 3) return 'bad-start-line';
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method) || target === '' || /[\s\0]/.test(target)) return 'bad-start-line';
  const v = /^HTTP\/([0-9])\.([0-9])$/.exec(version);
  if (v === null) return 'bad-start-line';
  if (v[1] !== '1' || (v[2] !== '0' && v[2] !== '1')) return 'bad-version';
  return { method, target, minor: v[2] === '1' ? 1 : 0 };
}

/** A status line (RFC 9112 4). */
export interface StatusLine {
  minor: 0 | 1;
  status: number;
  reason: string;
}

export function parseStatusLine(line: string): StatusLine | HeadError {
  const m = /^HTTP\/1\.([01]) ([0-9]{3})(?: (.*))?$/.exec(line);
  if (m === null) return 'bad-start-line';
  return { minor: m[1] === '1' ? 1 : 0, status: Number(m[2]), reason: m[3] ?? '' };
}

/** A head to send: the start line and fields, CRLF-terminated (ASCII). */
export function formatHead(startLine: string, fields: ReadonlyArray<readonly [string, string]>): Uint8Array {
  let text = `${startLine}\r\n`;
  for (const [name, value] of fields) text += `${name}: ${value}\r\n`;
  text += '\r\n';
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
