/**
 * Routing and sending TCP segments over either IP family: a connection's path is an IPv4 or an
 * IPv6 path (told apart by the type of its source address), the MSS follows from the path MTU less
 * that family's headers, and a segment goes out with the checksum over that family's
 * pseudo-header (RFC 9293 3.1, RFC 8200 8.1).
 */
import { type Ipv4Addr, type Ipv6Addr, ipv6IsLinkLocal } from '../../wire/address.ts';
import { IPV6_MIN_MTU } from '../../wire/ipv6.ts';
import type { PacketBuffer } from '../../wire/packet-buffer.ts';
import { emitTcp, TCP_PROTOCOL } from '../../wire/tcp.ts';
import type { TcpOptions } from '../../wire/tcp-options.ts';
import { NO_CHECKSUM } from '../../wire/udp.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { Ipv4Path } from '../ip/ipv4-types.ts';
import type { IpAddr, IpFamily } from '../ip-address.ts';
import type { Ipv6Path } from '../ip6/ipv6-types.ts';
import type { Stack } from '../stack.ts';
import type { Seq } from './seq.ts';
import type { TcpLayer } from './tcp-layer.ts';

/** Where a connection's segments go: the route of its family. */
export type TcpPath = Ipv4Path | Ipv6Path;

/** IPv4 (20) + TCP (20) and IPv6 (40) + TCP (20) header bytes (RFC 9293 3.7.1, RFC 8200 8.3). */
const HEADERS_V4 = 40;
const HEADERS_V6 = 60;

export function pathFamily(path: TcpPath): IpFamily {
  return typeof path.src === 'number' ? 4 : 6;
}

/**
 * The MSS for an MTU (RFC 9293 3.7.1, MUST-14: the MTU less the fixed IP and TCP headers); over
 * IPv6 never below 1220 (RFC 8200 8.3: every IPv6 link carries 1280 bytes).
 */
export function mssForMtu(family: IpFamily, mtu: number): number {
  return family === 4 ? mtu - HEADERS_V4 : Math.max(IPV6_MIN_MTU, mtu) - HEADERS_V6;
}

/**
 * The route to `remote` (a wire address: never IPv4-mapped) from `local` (undefined or the
 * wildcard: IP chooses, RFC 6724 for IPv6) out of `iface` (a bound device, or the scope of a
 * link-local peer). An errno string when there is none; a link-local IPv6 peer without a scope
 * on a host of several links is EINVAL (Linux asks for a scope id).
 */
export function routeTcp(
  stack: Stack,
  remote: IpAddr,
  local: IpAddr | undefined,
  iface: NetworkInterface | undefined,
): TcpPath | string {
  const where = iface !== undefined ? { iface } : {};
  if (typeof remote === 'number') {
    const src = local !== undefined && local !== 0 ? { src: local as Ipv4Addr } : {};
    return stack.ipv4.route(remote, { ...where, ...src });
  }
  const ip = stack.ipv6;
  if (ip === undefined) return 'EAFNOSUPPORT';
  return ip.route(remote, { ...where, ...(local !== undefined ? { src: local as Ipv6Addr } : {}) });
}

/**
 * The interface a reply to a segment from `src` that came in on `iface` must leave by: that one
 * for a link-local IPv6 peer (RFC 4007 6: link-local addresses mean something on one link only).
 */
export function replyScope(src: IpAddr, iface: NetworkInterface): NetworkInterface | undefined {
  return typeof src !== 'number' && ipv6IsLinkLocal(src) ? iface : undefined;
}

export interface SegmentHeader {
  srcPort: number;
  dstPort: number;
  seq: Seq;
  ack: Seq;
  flags: number;
  window: number;
  options: TcpOptions;
}

/**
 * Prepends the TCP header to `pb` and hands the packet to the IP layer of `path`'s family. The
 * checksum is skipped on links that need none (memory links, loopback). Returns false when IP
 * refused it.
 */
export function transmit(
  layer: TcpLayer,
  path: TcpPath,
  dst: IpAddr,
  h: SegmentHeader,
  pb: PacketBuffer,
): boolean {
  const noChecksums = path.iface.link.capabilities?.noChecksums === true;
  const header = {
    srcPort: h.srcPort,
    dstPort: h.dstPort,
    seqNumber: h.seq,
    ackNumber: h.ack,
    flags: h.flags,
    window: h.window,
    urgentPointer: 0,
    options: h.options,
  };
  layer.counters.segmentsSent.value++;
  const stack = layer.stack;
  if (typeof path.src === 'number') {
    const v4 = path as Ipv4Path;
    emitTcp(pb, header, noChecksums ? NO_CHECKSUM : { kind: 'v4', src: v4.src, dst: dst as Ipv4Addr });
    // RFC 1191: DF set, so a narrower hop answers with "fragmentation needed" (PMTU discovery).
    return (
      stack.ipv4.send(v4, { dst: dst as Ipv4Addr, protocol: TCP_PROTOCOL, dontFragment: true }, pb) ===
      undefined
    );
  }
  const v6 = path as Ipv6Path;
  const to = dst as Ipv6Addr;
  const ip = stack.ipv6!;
  // RFC 8200 8.1: the checksum covers the IPv6 pseudo-header.
  emitTcp(pb, header, noChecksums ? NO_CHECKSUM : { kind: 'v6', src: v6.src, dst: to });
  // RFC 6437 3: one flow label per connection, from its addresses and ports.
  const flowLabel = ip.flowLabel(v6.src, to, TCP_PROTOCOL, h.srcPort, h.dstPort);
  return ip.send(v6, { dst: to, nextHeader: TCP_PROTOCOL, flowLabel }, pb) === undefined;
}
