/**
 * What the IPv4 layer gives the protocols above it (ICMP, IGMP, UDP, TCP), and what they give it.
 */
import type { Ipv4Addr } from '../../wire/address.ts';
import type { Ipv4View } from '../../wire/ipv4.ts';
import type { NetworkInterface } from '../device/interface.ts';

/** How the packet was addressed at the IP layer. */
export type DeliveryKind = 'unicast' | 'broadcast' | 'multicast';

/** A received packet handed to an upper-layer protocol. Views are valid during the call only. */
export interface Ipv4Packet {
  iface: NetworkInterface;
  /** The whole packet (header and payload), e.g. for quoting in an ICMP error. */
  ip: Ipv4View;
  src: Ipv4Addr;
  dst: Ipv4Addr;
  payload: Uint8Array;
  kind: DeliveryKind;
}

/** An ICMP error about a packet we sent, handed to the protocol that sent it (RFC 1122 3.2.2). */
export interface Ipv4ErrorReport {
  /** ICMP type and code. */
  type: number;
  code: number;
  /** The router or host that reported it. */
  reporter: Ipv4Addr;
  /** Next-hop MTU of "fragmentation needed" (RFC 1191), 0 when absent. */
  mtu: number;
  /** The quoted header of our packet. */
  src: Ipv4Addr;
  dst: Ipv4Addr;
  /** The quoted start of our transport header (at least 8 bytes per RFC 792, more per RFC 1812). */
  transport: Uint8Array;
}

export interface Ipv4Protocol {
  receive(packet: Ipv4Packet): void;
  /** ICMP errors about packets of this protocol. */
  error?(report: Ipv4ErrorReport): void;
}

/** Where a packet goes: the result of routing it. */
export interface Ipv4Path {
  iface: NetworkInterface;
  /** The address to resolve on the link. */
  nextHop: Ipv4Addr;
  /** The source address to put in the packet. */
  src: Ipv4Addr;
  /** The MTU of the interface. */
  mtu: number;
  /** The destination is the limited broadcast or this interface's directed broadcast. */
  broadcast: boolean;
}

export interface Ipv4SendParams {
  dst: Ipv4Addr;
  protocol: number;
  /** Default: the stack's default TTL (64), or 1 for multicast. */
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
  options?: Uint8Array;
  /**
   * IP_MULTICAST_LOOP: when the destination is a group joined on the outgoing interface, a copy is
   * also delivered to this host, through the loopback device (so in a later entry).
   */
  multicastLoop?: boolean;
}

/** Errno-style reasons a send fails locally. */
export type Ipv4SendError = 'ENETUNREACH' | 'EHOSTUNREACH' | 'EMSGSIZE' | 'EADDRNOTAVAIL' | 'EACCES';
