/**
 * netstack-ts: the package entry. Importing it installs the Node-compatible APIs on every stack
 * (`stack.dgram`, `stack.dns`, `stack.net`; see api/install.ts) and re-exports the public API: the stack, its
 * environments (virtual time, Node's clock), simulated networks, TAP/TUN devices, captures, the
 * DNS resolver and server, and the wire formats by namespace.
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
// Applications.
export { DnsResolver, type ResolverOptions } from './apps/dns/resolver.ts';
export { DnsServer, type DnsServerOptions, record, rr } from './apps/dns/server.ts';
// Bindings: virtual time and networks, Node's clock, TAP/TUN, captures.
export * from './bindings/memory/index.ts';
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
export { type CaptureSink, captureInterfaces, MemoryCapture } from './bindings/pcap/capture.ts';
export { type CaptureWriter, openCaptureFile } from './bindings/pcap/pcap-file.ts';
export { type CapturedPacket, type CaptureFormat, readCapture } from './bindings/pcap/pcap-format.ts';
export { Counters } from './core/counters.ts';
export type { NetworkInterface } from './core/device/interface.ts';
export type { LinkEndpoint } from './core/device/link.ts';
export type { Environment } from './core/environment.ts';
export { type ErrnoError, errno } from './core/errno.ts';
export { CryptoRng, type Rng, SeededRng } from './core/rng.ts';
// The stack and what it runs on.
export { Stack, type StackOptions } from './core/stack.ts';
export type { TcpListener } from './core/tcp/listener.ts';
export type { TcpSocket } from './core/tcp/tcp-socket.ts';
export { type Clock, type Duration, type Instant, ManualClock } from './core/time.ts';
export { Timer, TimerQueue } from './core/timers.ts';
export type { UdpDatagram, UdpSocket } from './core/udp/udp-socket.ts';

// Wire formats, by namespace.
export * as address from './wire/address.ts';
export * as arp from './wire/arp.ts';
export * as dhcp from './wire/dhcp.ts';
export * as dns from './wire/dns.ts';
export * as dnsName from './wire/dns-name.ts';
export * as ethernet from './wire/ethernet.ts';
export * as icmpv4 from './wire/icmpv4.ts';
export * as icmpv6 from './wire/icmpv6.ts';
export * as igmp from './wire/igmp.ts';
export * as ipv4 from './wire/ipv4.ts';
export * as ipv6 from './wire/ipv6.ts';
export * as mld from './wire/mld.ts';
export * as ndp from './wire/ndp.ts';
export { PacketBuffer } from './wire/packet-buffer.ts';
export * as tcp from './wire/tcp.ts';
export * as udp from './wire/udp.ts';
