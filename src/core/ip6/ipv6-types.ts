/**
 * What the IPv6 layer gives the protocols above it (ICMPv6, UDP, TCP), and what they give it: the
 * same shapes as IPv4's (`ipv4-types.ts`) with IPv6 addresses, so a transport can be dual-stack by
 * switching on the family.
 */
import type { Ipv6Addr } from '../../wire/address.ts';
import type { Ipv6View } from '../../wire/ipv6.ts';
import type { Ipv6OptionRepr } from '../../wire/ipv6-ext.ts';
import type { NetworkInterface } from '../device/interface.ts';

/** How the packet was addressed at the IP layer (IPv6 has no broadcast). */
export type Ipv6DeliveryKind = 'unicast' | 'multicast';

/** A received packet handed to an upper-layer protocol. Views are valid during the call only. */
export interface Ipv6Packet {
  iface: NetworkInterface;
  /** The whole packet (reassembled when it came in fragments), e.g. for quoting in ICMPv6 errors. */
  ip: Ipv6View;
  src: Ipv6Addr;
  dst: Ipv6Addr;
  /** The upper-layer data, after every extension header. */
  payload: Uint8Array;
  kind: Ipv6DeliveryKind;
  /** RFC 2711 Router Alert value from the Hop-by-Hop header, if there was one. */
  routerAlert: number | undefined;
}

/** An ICMPv6 error about a packet we sent, handed to the protocol that sent it (RFC 4443 2.4 (d)). */
export interface Ipv6ErrorReport {
  /** ICMPv6 type and code. */
  type: number;
  code: number;
  /** The router or host that reported it. */
  reporter: Ipv6Addr;
  /** MTU of "packet too big" (RFC 4443 3.2), 0 otherwise. */
  mtu: number;
  /** Pointer of "parameter problem" (RFC 4443 3.4), 0 otherwise. */
  pointer: number;
  /** The quoted header of our packet. */
  src: Ipv6Addr;
  dst: Ipv6Addr;
  /** The quoted start of our transport header (after the quoted extension headers). */
  transport: Uint8Array;
}

export interface Ipv6Protocol {
  receive(packet: Ipv6Packet): void;
  /** ICMPv6 errors about packets of this protocol. */
  error?(report: Ipv6ErrorReport): void;
}

/** Where a packet goes: the result of routing it. */
export interface Ipv6Path {
  iface: NetworkInterface;
  /** The address to resolve on the link (the destination when on-link, else a router). */
  nextHop: Ipv6Addr;
  /** The source address to put in the packet. */
  src: Ipv6Addr;
  /** The path MTU: the link's, or less when Packet Too Big said so (RFC 8201). */
  mtu: number;
}

export interface Ipv6SendParams {
  dst: Ipv6Addr;
  /** The upper-layer protocol (Next Header of the last header). */
  nextHeader: number;
  /** Default: the interface's (from router advertisements, else 64); 1 for link-scope multicast. */
  hopLimit?: number;
  trafficClass?: number;
  /** RFC 6437 flow label; default: a keyed hash of source, destination and next header. */
  flowLabel?: number;
  /** Options of a Hop-by-Hop header (MLD's Router Alert). */
  hopByHop?: readonly Ipv6OptionRepr[];
  /** IPV6_DONTFRAG: fail with EMSGSIZE instead of fragmenting at the source. */
  dontFragment?: boolean;
  /** IPV6_MULTICAST_LOOP: a copy of multicast to a group joined on the interface comes back via lo. */
  multicastLoop?: boolean;
}

/** Errno-style reasons a route or send fails locally. */
export type Ipv6SendError = 'ENETUNREACH' | 'EHOSTUNREACH' | 'EMSGSIZE' | 'EADDRNOTAVAIL' | 'EINVAL';
