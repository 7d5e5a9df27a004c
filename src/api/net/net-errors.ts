/**
 * The errors of `stack.net` that `../errors.ts` does not already build: libuv's messages for
 * `listen` errors (Node's uvExceptionWithHostPort: `listen EADDRINUSE: address already in use
 * 0.0.0.0:80`), and the socket errors Node makes itself.
 */
import { nodeError, type SystemError, systemError } from '../errors.ts';

/** libuv's uv_strerror for the codes `listen` and `bind` report. */
const UV_MESSAGES: Record<string, string> = {
  EACCES: 'permission denied',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EAFNOSUPPORT: 'address family not supported',
  EINVAL: 'invalid argument',
};

/** A system error with libuv's description in the message, as Node gives for `listen`. */
export function uvErrorWithHostPort(
  code: string,
  syscall: string,
  address: string,
  port: number,
): SystemError {
  const e = systemError(code, syscall, address, port);
  const where = port > 0 ? ` ${address}:${port}` : ` ${address}`;
  e.message = `${syscall} ${code}: ${UV_MESSAGES[code] ?? 'unknown error'}${where}`;
  e.stack = `Error: ${e.message}${e.stack?.slice(e.stack.indexOf('\n')) ?? ''}`;
  return e;
}

/** A write after the peer's FIN on a socket that does not allow half-open connections. */
export function endedByPeer(): Error & { code: string } {
  const e = new Error('This socket has been ended by the other party') as Error & { code: string };
  e.code = 'EPIPE';
  return e;
}

export const serverNotRunning = () => nodeError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.');
export const serverAlreadyListening = () =>
  nodeError(
    Error,
    'ERR_SERVER_ALREADY_LISTEN',
    'Listen method has been called more than once without closing.',
  );
export const missingConnectArgs = () =>
  nodeError(TypeError, 'ERR_MISSING_ARGS', 'The "options" or "port" or "path" argument must be specified');
export const invalidIpAddress = (ip: unknown) =>
  nodeError(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(ip)}`);
export const connectionTimeout = () =>
  nodeError(Error, 'ERR_SOCKET_CONNECTION_TIMEOUT', 'Socket connection timeout');
