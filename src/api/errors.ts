/**
 * Errors shaped like Node's own, so code written against `dgram`, `dns` and `net` can inspect them
 * the same way:
 *
 * - system errors (libuv's): message `<syscall> <CODE>[ <address>[:<port>]]`, with `errno` (the
 *   negative Linux number, as libuv reports on Linux), `code`, `syscall`, `address`, `port`;
 * - DNS errors: message `<syscall> <CODE> <hostname>` with `code`, `syscall`, `hostname`, and
 *   `errno` undefined (c-ares queries) or libuv's EAI number (getaddrinfo);
 * - Node's internal `ERR_*` errors: a TypeError, RangeError or Error with `code`, the message Node
 *   uses, and `[ERR_*]` in its name when printed.
 */
import { ERRNO, errnoNumber } from './posix/constants.ts';

/** libuv's getaddrinfo error numbers (UV_EAI_*), which Node puts in `errno` for lookup errors. */
const UV_EAI_ERRNO: Record<string, number> = {
  EAI_AGAIN: -3001,
  EAI_FAIL: -3002,
  EAI_FAMILY: -3003,
  EAI_MEMORY: -3005,
  ENOTFOUND: -3008,
  EAI_NODATA: -3007,
  EAI_CANCELED: -3003,
};

export interface SystemError extends Error {
  errno: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
}

export interface DnsError extends Error {
  errno: number | undefined;
  code: string;
  syscall: string;
  hostname: string;
}

/** The negative errno libuv reports for `code` (EIO's when unknown). */
export function uvErrno(code: string): number {
  return -errnoNumber(code);
}

/** The code of an error thrown by the stack's core (`errno(code, ...)`), or EIO when it has none. */
export function codeOf(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

/**
 * A libuv-style system error, as Node's `ErrnoException` (no address) and `ExceptionWithHostPort`
 * (with one) build them.
 */
export function systemError(code: string, syscall: string, address?: string, port?: number): SystemError {
  let where = '';
  if (address) where = port ? ` ${address}:${port}` : ` ${address}`;
  const e = new Error(`${syscall} ${code}${where}`) as SystemError;
  e.errno = uvErrno(code);
  e.code = code;
  e.syscall = syscall;
  if (address) e.address = address;
  if (port) e.port = port;
  return e;
}

/**
 * An error of `dns.promises`: `errno` is libuv's EAI number for getaddrinfo, the negative errno
 * for a system error (EINVAL), undefined for the c-ares codes (ENOTFOUND, ETIMEOUT...).
 */
export function dnsError(code: string, syscall: string, hostname: string): DnsError {
  const e = new Error(`${syscall} ${code} ${hostname}`) as DnsError;
  e.errno = syscall === 'getaddrinfo' ? UV_EAI_ERRNO[code] : code in ERRNO ? uvErrno(code) : undefined;
  e.code = code;
  e.syscall = syscall;
  e.hostname = hostname;
  return e;
}

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

/** One of Node's internal errors: `new TypeError(message)` with `code`, printed as `TypeError [CODE]: ...`. */
export function nodeError(Base: ErrorClass, code: string, message: string): Error & { code: string } {
  const e = new Base(message) as Error & { code: string };
  Object.defineProperty(e, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  // Node prints `${name} [${code}]: ${message}`, in the stack and from toString.
  e.stack = `${Base.name} [${code}]: ${message}${e.stack?.slice(e.stack.indexOf('\n')) ?? ''}`;
  Object.defineProperty(e, 'toString', {
    value(this: Error) {
      return `${this.name} [${code}]: ${this.message}`;
    },
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return e;
}

/** Node's class for `SystemError`s such as ERR_SOCKET_BUFFER_SIZE (its constructor is named NodeError). */
class NodeError extends Error {
  declare code: string;
  declare info: { errno: number; code: string; message: string; syscall: string };
  declare errno: number;
  declare syscall: string;
}
Object.defineProperty(NodeError.prototype, 'name', {
  value: 'SystemError',
  writable: true,
  configurable: true,
});

/**
 * A Node `SystemError` (`key` such as ERR_SOCKET_BUFFER_SIZE) wrapping the libuv error `code` of
 * `syscall`: message `<prefix>: <syscall> returned <code> (<description>)`.
 */
export function nodeSystemError(
  key: string,
  prefix: string,
  code: string,
  description: string,
  syscall: string,
): Error & { code: string } {
  const e = new NodeError(`${prefix}: ${syscall} returned ${code} (${description})`);
  const errno = uvErrno(code);
  e.code = key;
  e.info = { errno, code, message: description, syscall };
  e.errno = errno;
  e.syscall = syscall;
  e.stack = `SystemError [${key}]: ${e.message}${e.stack?.slice(e.stack.indexOf('\n')) ?? ''}`;
  Object.defineProperty(e, 'toString', {
    value: () => `SystemError [${key}]: ${e.message}`,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return e;
}

/** How Node's messages describe a received value (`determineSpecificType`). */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? `an instance of ${name}` : 'an object';
  }
  let shown = typeof value === 'string' ? `'${value}'` : String(value);
  if (typeof value === 'bigint') shown += 'n';
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

/** ERR_INVALID_ARG_TYPE. */
export function invalidArgType(name: string, expected: string, value: unknown): Error & { code: string } {
  return nodeError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" argument must be ${expected}. Received ${describeValue(value)}`,
  );
}

/** ERR_INVALID_ARG_VALUE. */
export function invalidArgValue(
  name: string,
  value: unknown,
  reason = 'is invalid',
): Error & { code: string } {
  const kind = name.includes('.') ? 'property' : 'argument';
  let shown = typeof value === 'string' ? `'${value}'` : String(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`);
}
