/**
 * Routing and sending one UDP datagram over either IP family, for `UdpSocket`: the socket works
 * out the destination's family (an IPv4-mapped destination of a dual-stack socket goes over
 * IPv4), this module finds the path, writes the UDP header with its checksum over the final
 * bytes and hands the datagram to the IP layer of that family.
 */
import { type Ipv4Addr, type Ipv6Addr, ipv4IsMulticast, ipv6IsMulticast } from '../../wire/address.ts';
import { IP_PROTOCOL_UDP } from '../../wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../wire/packet-buffer.ts';
import { emitUdp, NO_CHECKSUM } from '../../wire/udp.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { errno } from '../errno.ts';
import type { Ipv4Path } from '../ip/ipv4-types.ts';
import { ipToString } from '../ip-address.ts';
import type { Ipv6Path } from '../ip6/ipv6-types.ts';
import type { Stack } from '../stack.ts';

/** RFC 768 over IPv4: 65535 minus the IPv4 (20) and UDP (8) headers. */
export const MAX_UDP_PAYLOAD = 65507;
/** Over IPv6 the payload length excludes the IPv6 header: 65535 minus UDP's 8 (no jumbograms). */
export const MAX_UDP6_PAYLOAD = 65527;

/** Where a datagram goes: the family's path and the destination in that family. */
export type UdpRoute =
  | { family: 4; path: Ipv4Path; dst: Ipv4Addr }
  | { family: 6; path: Ipv6Path; dst: Ipv6Addr };

/** The per-socket settings that go into the IP header. */
export interface UdpSendSettings {
  srcPort: number;
  dstPort: number;
  /** IP_TTL / IPV6_UNICAST_HOPS (undefined: the route's default). */
  ttl: number | undefined;
  /** IP_TOS / IPV6_TCLASS. */
  tos: number;
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS. */
  multicastTtl: number;
  multicastLoop: boolean;
}

/**
 * The route to `dst` (IPv4 as a number, IPv6 never mapped) from `src` (of the same family, or
 * undefined to let the layer choose) out of `iface` when given. Throws the route's errno; a
 * link-local destination without an interface is EINVAL, as Linux asks for a scope id.
 */
export function routeUdp(
  stack: Stack,
  dst: Ipv4Addr | Ipv6Addr,
  src: Ipv4Addr | Ipv6Addr | undefined,
  iface: NetworkInterface | undefined,
): UdpRoute {
  // One options object, absent fields undefined: this runs once per datagram sent.
  const options = { iface, src: src as never };
  if (typeof dst === 'number') {
    const path = stack.ipv4.route(dst, options);
    if (typeof path === 'string') throw errno(path, `no route to ${ipToString(dst)}`);
    return { family: 4, path, dst };
  }
  const ip = stack.ipv6;
  if (ip === undefined) throw errno('EAFNOSUPPORT', 'the stack has no IPv6');
  const path = ip.route(dst, options);
  if (typeof path === 'string') {
    const why = path === 'EINVAL' ? ': a link-local destination needs an interface (scope id)' : '';
    throw errno(path, `no route to ${ipToString(dst)}${why}`);
  }
  return { family: 6, path, dst };
}

/**
 * Sends `data` along `route`: the UDP header with its checksum (mandatory over IPv6, RFC 8200
 * 8.1; skipped on links that carry none), then the IP layer. Throws the layer's errno.
 */
export function sendUdp(stack: Stack, route: UdpRoute, data: Uint8Array, s: UdpSendSettings): void {
  const pb = PacketBuffer.from(data, MAX_HEADROOM);
  const noChecksums = route.path.iface.link.capabilities?.noChecksums === true;
  let error: string | undefined;
  if (route.family === 4) {
    const { path, dst } = route;
    emitUdp(pb, s.srcPort, s.dstPort, noChecksums ? NO_CHECKSUM : { kind: 'v4', src: path.src, dst });
    const multicast = ipv4IsMulticast(dst);
    // RFC 1122 4.1.4: UDP passes TTL and TOS through to IP; UDP datagrams may fragment (no DF).
    // (An undefined TTL is the layer's default.)
    error = stack.ipv4.send(
      path,
      {
        dst,
        protocol: IP_PROTOCOL_UDP,
        tos: s.tos,
        ttl: multicast ? s.multicastTtl : s.ttl,
        multicastLoop: multicast && s.multicastLoop,
      },
      pb,
    );
  } else {
    const { path, dst } = route;
    const ip = stack.ipv6!;
    emitUdp(pb, s.srcPort, s.dstPort, noChecksums ? NO_CHECKSUM : { kind: 'v6', src: path.src, dst });
    const multicast = ipv6IsMulticast(dst);
    error = ip.send(
      path,
      {
        dst,
        nextHeader: IP_PROTOCOL_UDP,
        trafficClass: s.tos,
        // RFC 6437 3: one label per flow, the 5-tuple hashed under a secret key.
        flowLabel: ip.flowLabel(path.src, dst, IP_PROTOCOL_UDP, s.srcPort, s.dstPort),
        hopLimit: multicast ? s.multicastTtl : s.ttl,
        multicastLoop: multicast && s.multicastLoop,
      },
      pb,
    );
  }
  if (error !== undefined) throw errno(error, `send to ${ipToString(route.dst)}`);
}
