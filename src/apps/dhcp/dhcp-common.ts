/**
 * What the DHCPv4 client and server share: hardware addresses in chaddr, client identities, the
 * options a client asks for, receiving and sending DHCP messages over a UDP socket.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Stack } from '../../core/stack.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import { type Ipv4Addr, type MacAddr, readMac, writeMac } from '../../wire/address.ts';
import { DHCP_HTYPE_ETHERNET, type DhcpError, type DhcpRepr, parseDhcp } from '../../wire/dhcp.ts';
import { DHCP_MESSAGE_TYPE, DHCP_OPTION } from '../../wire/dhcp-options.ts';
import { err, ok, type Parsed } from '../../wire/result.ts';
import { bindToInterface } from '../interface-socket.ts';

/** Ethernet's hardware address length (RFC 1700 hardware type 1). */
export const ETHERNET_HLEN = 6;
/** RFC 2132 9.15: an "infinite" lease. */
export const INFINITE_LEASE = 0xffff_ffff;

/** The 6 octets of a MAC address, for chaddr. */
export function macToChaddr(mac: MacAddr): Uint8Array {
  const out = new Uint8Array(ETHERNET_HLEN);
  writeMac(out, 0, mac);
  return out;
}

/** The MAC address in an Ethernet chaddr. */
export function chaddrToMac(chaddr: Uint8Array): MacAddr {
  return readMac(chaddr, 0);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * RFC 2131 4.2: a server identifies a client by its client identifier (option 61) when it sends
 * one, else by chaddr. The key names which it is, so the two spaces never collide.
 */
export function clientKey(repr: Pick<DhcpRepr, 'chaddr' | 'options'>): string {
  const id = repr.options.clientId;
  return id !== undefined ? `id:${toHex(id)}` : `hw:${toHex(repr.chaddr)}`;
}

/** RFC 2132 9.14: the usual client identifier, type 1 (Ethernet) and the MAC address. */
export function ethernetClientId(mac: MacAddr): Uint8Array {
  const id = new Uint8Array(1 + ETHERNET_HLEN);
  id[0] = DHCP_HTYPE_ETHERNET;
  writeMac(id, 1, mac);
  return id;
}

/** The prefix of a classful network (RFC 791), used when a server sends no subnet mask. */
export function classfulPrefix(addr: Ipv4Addr): number {
  if (addr >>> 31 === 0) return 8;
  if (addr >>> 30 === 2) return 16;
  return 24;
}

/** The prefix length of a contiguous mask, or undefined when the mask has holes. */
export function maskPrefix(mask: Ipv4Addr): number | undefined {
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return Math.clz32(inverted);
}

/** The parameters a client asks for (option 55, RFC 2132 9.8). */
export const REQUESTED_PARAMETERS = [
  DHCP_OPTION.subnetMask,
  DHCP_OPTION.classlessRoutes,
  DHCP_OPTION.router,
  DHCP_OPTION.dnsServers,
  DHCP_OPTION.hostName,
  DHCP_OPTION.domainName,
  DHCP_OPTION.domainSearch,
  DHCP_OPTION.interfaceMtu,
  DHCP_OPTION.broadcastAddress,
  DHCP_OPTION.leaseTime,
  DHCP_OPTION.renewalTime,
  DHCP_OPTION.rebindingTime,
];

/** Why a received datagram is not a DHCP message we handle. */
export type DhcpRxDrop =
  | DhcpError
  /** A BOOTREPLY at the server, a BOOTREQUEST at the client. */
  | 'wrong-op'
  /** Not Ethernet (htype 1, hlen 6). */
  | 'bad-hardware'
  /** BOOTP without option 53. */
  | 'no-message-type';

/** Parses a received datagram as a DHCP message with operation `op` from an Ethernet client. */
export function parseDhcpDatagram(d: UdpDatagram, op: number): Parsed<DhcpRepr, DhcpRxDrop> {
  const parsed = parseDhcp(d.data);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (m.op !== op) return err('wrong-op');
  if (m.htype !== DHCP_HTYPE_ETHERNET || m.chaddr.length !== ETHERNET_HLEN) return err('bad-hardware');
  if (m.options.messageType === undefined) return err('no-message-type');
  return ok(m);
}

/**
 * A UDP socket on `port` of `iface` alone (SO_BINDTODEVICE), allowed to broadcast, that calls
 * `onDatagram` for each datagram received.
 */
export function openDhcpSocket(
  stack: Stack,
  iface: NetworkInterface,
  port: number,
  onDatagram: (d: UdpDatagram) => void,
): UdpSocket {
  return bindToInterface(stack.udp.open(), iface, port, (s) => s.setBroadcast(true), onDatagram);
}

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DHCP_MESSAGE_TYPE).map(([name, code]) => [code, name.toLowerCase()]),
);

/** `discover`, `offer`, ... (for counters); `type-N` for others. */
export function messageName(type: number): string {
  return NAMES[type] ?? `type-${type}`;
}
