/**
 * netstack-ts: the package entry. Importing it installs the Node-compatible APIs on every stack
 * (`stack.dgram`, `stack.dns`, `stack.net`; see api/install.ts) and exports the public API: all of
 * the browser entry (browser.ts: the stack, virtual time, simulated networks, captures, the DNS
 * resolver and server, the wire formats by namespace), plus what needs Node.js: the
 * Node-compatible APIs, Node's clock, TAP/TUN devices and capture files.
 */
import './api/install.ts';

// Node-compatible APIs (also reachable as stack.dgram and stack.dns).
export { DgramModule, type RemoteInfo, Socket as DgramSocket, type SocketOptions } from './api/dgram.ts';
export {
  DNS_ERROR_CODES,
  DnsPromises,
  DnsResolverApi,
  type LookupAddress,
  type LookupOptions,
} from './api/dns.ts';
// Node's net (also reachable as stack.net).
export {
  type ConnectOptions as NetConnectOptions,
  type ListenOptions as NetListenOptions,
  NetModule,
  Server as NetServer,
  type ServerOptions as NetServerOptions,
  Socket as NetSocket,
  type SocketOptions as NetSocketOptions,
} from './api/net/index.ts';
// The POSIX socket API (also reachable as stack.posix): constants, sockaddr helpers, errors.
export * as posix from './api/posix/index.ts';
// Node-side bindings: Node's clock, TAP/TUN devices, capture files.
export { NodeEnvironment, type NodeEnvironmentOptions } from './bindings/node/node-environment.ts';
export {
  type AttachedDevice,
  attachTap,
  attachTun,
  TapDevice,
  type TapOptions,
  TunDevice,
  type TunTapOptions,
} from './bindings/node/tap.ts';
export { type CaptureWriter, openCaptureFile } from './bindings/pcap/pcap-file.ts';
// Everything the browser entry has: the stack and what it runs on, virtual time and networks,
// in-memory captures, the DNS applications, the wire formats by namespace.
export * from './browser.ts';
