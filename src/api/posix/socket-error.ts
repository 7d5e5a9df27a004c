/**
 * The one error style of the POSIX API: a failing call throws a `SocketError` whose `code` is the
 * errno name (`EAGAIN`), `errno` its positive Linux number (what C's `errno` would hold) and
 * `syscall` the call that failed. Errors the core throws (`errno(code, ...)`) are converted.
 */
import { errnoNumber } from './constants.ts';

export class SocketError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(code: string, syscall: string, detail?: string) {
    super(`${syscall} ${code}${detail !== undefined ? `: ${detail}` : ''}`);
    this.name = 'SocketError';
    this.code = code;
    this.errno = errnoNumber(code);
    this.syscall = syscall;
  }
}

/** Throws the errno `code` for `syscall`. */
export function fail(code: string, syscall: string, detail?: string): never {
  throw new SocketError(code, syscall, detail);
}

/**
 * Runs `body`; an error with a `code` (from the core) is thrown again as a `SocketError` of
 * `syscall`; anything else (a bug) goes through unchanged.
 */
export function syscall<T>(name: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof SocketError) throw e;
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string') throw new SocketError(code, name, (e as Error).message);
    throw e;
  }
}
