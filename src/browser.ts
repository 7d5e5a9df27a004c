/**
 * netstack-ts for browsers: the sans-IO core, the in-memory bindings (virtual time, simulated
 * networks), in-memory captures, the DNS applications and the wire formats, with nothing that
 * needs Node.js (no TAP/TUN, no files, no Node-compatible `net`/`dgram`, which build on Node's
 * streams and events). `bench/bundle.ts` bundles this file for the browser and
 * `test/bundle/browser-bundle.test.ts` fails when a Node built-in reaches it.
 */

export { DnsResolver, type ResolverOptions } from './apps/dns/resolver.ts';
export { DnsServer, type DnsServerOptions, record, rr } from './apps/dns/server.ts';
export * from './bindings/memory/index.ts';
export { type CaptureSink, captureInterfaces, MemoryCapture } from './bindings/pcap/capture.ts';
export { type CapturedPacket, type CaptureFormat, readCapture } from './bindings/pcap/pcap-format.ts';
export { Counters } from './core/counters.ts';
export type { NetworkInterface } from './core/device/interface.ts';
export type { LinkEndpoint } from './core/device/link.ts';
export type { Environment } from './core/environment.ts';
export { type ErrnoError, errno } from './core/errno.ts';
export { CryptoRng, type Rng, SeededRng } from './core/rng.ts';
export { Stack, type StackOptions } from './core/stack.ts';
export type { TcpListener } from './core/tcp/listener.ts';
export type { TcpSocket } from './core/tcp/tcp-socket.ts';
export { type Clock, type Duration, type Instant, ManualClock } from './core/time.ts';
export { Timer, TimerQueue } from './core/timers.ts';
export type { UdpDatagram, UdpSocket } from './core/udp/udp-socket.ts';

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
