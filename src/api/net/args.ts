/**
 * The argument forms of Node's `net` functions: `normalizeArgs` for `connect(port[, host][, cb])`,
 * `connect(options[, cb])`, `listen(...)`; port validation; the lookup function's shape; the
 * options of sockets and servers.
 */
import { describeValue, invalidArgType, nodeError } from '../errors.ts';
import { MIN_ATTEMPT_DELAY } from './happy-eyeballs.ts';

/** One address from a lookup. */
export interface LookupAddress {
  address: string;
  family: number;
}

/**
 * Node's `lookup` option (the shape of `dns.lookup`): called with `all: true`, it answers with a
 * list; a function that answers with one address (`(err, address, family)`) is accepted too.
 */
export type LookupFunction = (
  hostname: string,
  options: { family?: number; hints?: number; all?: boolean },
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export interface SocketOptions {
  /** Keep our side open after the peer's FIN (default false: end it too, as Node). */
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** Milliseconds of idleness before the first keepalive probe. */
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}

export interface ConnectOptions extends SocketOptions {
  port?: number | string;
  host?: string;
  localAddress?: string;
  localPort?: number;
  family?: number;
  hints?: number;
  lookup?: LookupFunction;
  /** Milliseconds of inactivity before 'timeout' (as `setTimeout`). */
  timeout?: number;
  /** Happy Eyeballs (RFC 8305): try every address of the name, both families, staggered. */
  autoSelectFamily?: boolean;
  /** RFC 8305's Connection Attempt Delay in ms (at least 10; default 250). */
  autoSelectFamilyAttemptTimeout?: number;
  /** RFC 8305 4's First Address Family Count (not in Node): addresses of the first family tried first. */
  firstAddressFamilyCount?: number;
  /** Unix domain sockets do not exist on this stack: rejected. */
  path?: string;
}

export interface ServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused. */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

export interface ListenOptions {
  port?: number | string | null;
  host?: string;
  backlog?: number;
  exclusive?: boolean;
  /** IPV6_V6ONLY on `::`: no IPv4 connections. */
  ipv6Only?: boolean;
  path?: string;
  signal?: AbortSignal;
}

/** Node's toNumber in net.js: a non-negative number, or false. */
export function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/**
 * Node's normalizeArgs: `(options[, cb])`, `(port[, host][, ...][, cb])` or `(path[, cb])` as
 * `[options, cb]`.
 */
export function normalizeArgs<T extends { port?: unknown; host?: string; path?: string }>(
  args: readonly unknown[],
): [T, ((...a: unknown[]) => void) | null] {
  if (args.length === 0) return [{} as T, null];
  const arg0 = args[0];
  let options = {} as T;
  if (typeof arg0 === 'object' && arg0 !== null) options = arg0 as T;
  else if (typeof arg0 === 'string' && toNumber(arg0) === false) options.path = arg0;
  else {
    options.port = arg0;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const cb = args[args.length - 1];
  return [options, typeof cb === 'function' ? (cb as (...a: unknown[]) => void) : null];
}

/** Node's validatePort: an integer (or numeric string) in 0..65535 (1..65535 without `allowZero`). */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  const n = typeof port === 'string' && port.trim() !== '' ? Number(port) : port;
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    typeof n !== 'number' ||
    !Number.isInteger(n) ||
    n < (allowZero ? 0 : 1) ||
    n > 0xffff
  ) {
    throw nodeError(
      RangeError,
      'ERR_SOCKET_BAD_PORT',
      `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeValue(port)}.`,
    );
  }
  return n;
}

/**
 * Node's check of an attempt delay (validateInt32 with a minimum of 1), raised to RFC 8305 5's
 * 10 ms as Node does.
 */
export function validateAttemptTimeout(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) {
    throw nodeError(
      RangeError,
      'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be an integer. Received ${describeValue(value)}`,
    );
  }
  if (value < 1 || value > 2 ** 31 - 1) {
    throw nodeError(
      RangeError,
      'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be >= 1 && <= 2147483647. Received ${describeValue(value)}`,
    );
  }
  return Math.max(value, MIN_ATTEMPT_DELAY);
}
