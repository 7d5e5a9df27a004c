/**
 * The POSIX socket API as one namespace (the package entry exports it as `posix`): the `Posix`
 * class behind `stack.posix`, Linux's constants, sockaddr helpers and the error type.
 */
export * from './constants.ts';
export type { IpMreq, Ipv6Mreq, LingerValue, OptionValue } from './options.ts';
export { MAX_POLL_WAITERS, type PollFd } from './poll.ts';
export { type AcceptResult, Posix, type PosixOptions, type RecvFromResult } from './posix.ts';
export { type SockAddr, sockaddrIn, sockaddrIn6 } from './sockaddr.ts';
export { SocketError } from './socket-error.ts';
export { DEFAULT_MAX_FDS } from './socket-table.ts';
