/**
 * The iperf3 wire protocol (as iperf 3.x speaks it over TCP), the part both ends share.
 *
 * A test has one control connection and one connection per test stream, all to the server's port.
 * Each connection opens with the client's cookie: 36 characters from a 32-letter alphabet and a NUL
 * (37 bytes), so the server can tell the streams of the running test from a stranger. On the control
 * connection the server then drives the test with one-byte states (signed chars), and both sides
 * exchange JSON objects, each preceded by its length as a 32-bit big-endian integer:
 *
 *   client: cookie                    server: PARAM_EXCHANGE
 *   client: parameters JSON           server: CREATE_STREAMS
 *   client: one connection per stream, each opening with the cookie
 *                                     server: TEST_START, TEST_RUNNING
 *   ... data flows on the streams (client to server, or server to client in reverse mode) ...
 *   client: TEST_END                  server: EXCHANGE_RESULTS
 *   client: results JSON              server: results JSON, DISPLAY_RESULTS
 *   client: IPERF_DONE, closes
 *
 * A busy server answers another client's cookie with ACCESS_DENIED; a server that fails sends
 * SERVER_ERROR followed by two 32-bit big-endian integers (iperf3's error number and an errno).
 */
import type { Rng } from '../../core/rng.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';

/** The states the control connection carries, one signed byte each. */
export const State = {
  TEST_START: 1,
  TEST_RUNNING: 2,
  TEST_END: 4,
  PARAM_EXCHANGE: 9,
  CREATE_STREAMS: 10,
  SERVER_TERMINATE: 11,
  CLIENT_TERMINATE: 12,
  EXCHANGE_RESULTS: 13,
  DISPLAY_RESULTS: 14,
  IPERF_START: 15,
  IPERF_DONE: 16,
  ACCESS_DENIED: -1,
  SERVER_ERROR: -2,
} as const;

export type StateName = keyof typeof State;

export function stateName(value: number): string {
  for (const [name, v] of Object.entries(State)) if (v === value) return name;
  return `state ${value}`;
}

/** iperf3's error numbers this implementation sends with SERVER_ERROR (from its `iperf_api.h`). */
export const ServerErrorCode = {
  /** Test duration out of range. */
  DURATION: 5,
  /** Too many parallel streams. */
  NUM_STREAMS: 6,
  /** Block size out of range. */
  BLOCK_SIZE: 7,
  /** Not implemented (UDP, SCTP, bidirectional tests here). */
  UNIMPLEMENTED: 13,
} as const;

export const DEFAULT_PORT = 5201;
/** Cookie characters, then a NUL. */
export const COOKIE_SIZE = 37;
const COOKIE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** iperf3's default TCP block (the bytes of one write): 128 KiB. */
export const DEFAULT_BLOCK = 128 * 1024;
/** iperf3's largest TCP block. */
export const MAX_BLOCK = 1024 * 1024;
/** iperf3's largest number of parallel streams. */
export const MAX_STREAMS = 128;
/** The longest test, in seconds (a day, as iperf3's MAX_TIME). */
export const MAX_TIME = 86_400;
/** The protocol revision this implementation follows (sent as `client_version`). */
export const PROTOCOL_VERSION = '3.12';

/** A fresh cookie from `rng`: 36 letters of the alphabet and the NUL. */
export function makeCookie(rng: Rng): Uint8Array {
  const cookie = new Uint8Array(COOKIE_SIZE);
  for (let i = 0; i < COOKIE_SIZE - 1; i++) cookie[i] = COOKIE_ALPHABET.charCodeAt(rng.nextU32() & 31);
  return cookie;
}

export function cookieText(cookie: Uint8Array): string {
  const end = cookie.indexOf(0);
  return String.fromCharCode(...cookie.subarray(0, end < 0 ? cookie.length : end));
}

export function sameCookie(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * iperf3 numbers its streams 1, 3, 4, 5, ... in the order they connect (the second stream skips
 * 2); both ends number them the same way, and the results name streams by these numbers.
 */
export function streamId(index: number): number {
  return index === 0 ? 1 : index + 2;
}

/** The test parameters the client sends (the fields this implementation reads or writes). */
export interface TestParams {
  tcp?: boolean;
  udp?: boolean;
  sctp?: boolean;
  omit?: number;
  /** Seconds (0 when the test ends on bytes or blocks). */
  time?: number;
  /** Bytes to send (0: no limit). */
  num?: number;
  blockcount?: number;
  parallel?: number;
  reverse?: boolean;
  bidirectional?: boolean;
  len?: number;
  pacing_timer?: number;
  client_version?: string;
  [other: string]: unknown;
}

/** One stream's line in the results each side sends the other. */
export interface StreamResult {
  id: number;
  bytes: number;
  retransmits: number;
  jitter: number;
  errors: number;
  omitted_errors?: number;
  packets: number;
  start_time?: number;
  end_time?: number;
}

/** The results object of the EXCHANGE_RESULTS step. */
export interface TestResults {
  cpu_util_total: number;
  cpu_util_user: number;
  cpu_util_system: number;
  /** 1: the retransmits are counted; 0: not; -1: this side did not send. */
  sender_has_retransmits: number;
  congestion_used?: string;
  streams: StreamResult[];
}

/** CPU use in percent, as the results carry it. */
export interface CpuUtil {
  total: number;
  user: number;
  system: number;
}

export const NO_CPU: CpuUtil = { total: 0, user: 0, system: 0 };

/** Checks the shape of received results; returns why they are unusable, or undefined. */
export function checkResults(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'results are not an object';
  const r = value as Record<string, unknown>;
  for (const key of ['cpu_util_total', 'cpu_util_user', 'cpu_util_system', 'sender_has_retransmits'])
    if (typeof r[key] !== 'number') return `results lack ${key}`;
  if (!Array.isArray(r.streams)) return 'results lack streams';
  for (const s of r.streams as unknown[]) {
    if (typeof s !== 'object' || s === null) return 'a stream result is not an object';
    const o = s as Record<string, unknown>;
    for (const key of ['id', 'bytes', 'retransmits', 'jitter', 'errors', 'packets'])
      if (typeof o[key] !== 'number') return `a stream result lacks ${key}`;
  }
  return undefined;
}

/** A JSON object framed for the control connection: its length (32 bits, big-endian), then it. */
export function frameJson(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A state byte (a signed char on the wire). */
export function stateByte(state: number): Uint8Array {
  return Uint8Array.of(state & 0xff);
}

/** SERVER_ERROR and its two numbers. */
export function serverError(code: number, errnoValue = 0): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = State.SERVER_ERROR & 0xff;
  const view = new DataView(out.buffer);
  view.setInt32(1, code);
  view.setInt32(5, errnoValue);
  return out;
}

/**
 * Reads what the control connection carries, piece by piece, straight from the socket: never more
 * than the piece asked for, so a peer that sends too much only fills its TCP window. A piece that
 * is not complete yet returns undefined (ask again when the socket is readable).
 */
export class ControlReader {
  private buffer: Uint8Array | undefined;
  private filled = 0;
  private jsonLength: number | undefined;

  constructor(private readonly socket: TcpSocket) {}

  /** Exactly `n` bytes, or undefined until they are all here. */
  bytes(n: number): Uint8Array | undefined {
    if (this.buffer === undefined) {
      this.buffer = new Uint8Array(n);
      this.filled = 0;
    }
    while (this.filled < n) {
      const d = this.socket.read(n - this.filled);
      if (d === undefined) return undefined;
      this.buffer.set(d, this.filled);
      this.filled += d.length;
    }
    const out = this.buffer;
    this.buffer = undefined;
    return out;
  }

  /** One state byte as a signed number, or undefined. */
  state(): number | undefined {
    const b = this.bytes(1);
    return b === undefined ? undefined : (b[0]! << 24) >> 24;
  }

  /**
   * One framed JSON value: `{ value }`, `{ error }` (too long or not JSON), or undefined until
   * it has all arrived.
   */
  json(maxLength: number): { value: unknown } | { error: string } | undefined {
    if (this.jsonLength === undefined) {
      const head = this.bytes(4);
      if (head === undefined) return undefined;
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (length > maxLength) return { error: `JSON of ${length} bytes (at most ${maxLength})` };
      this.jsonLength = length;
    }
    const body = this.bytes(this.jsonLength);
    if (body === undefined) return undefined;
    this.jsonLength = undefined;
    try {
      return { value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as unknown };
    } catch {
      return { error: 'malformed JSON' };
    }
  }
}
