/**
 * What the DHCPv6 client and server share: DUIDs (RFC 8415 11), the multicast group servers
 * listen on, a UDP socket on one interface, and the parsing and counting of what it receives.
 */
import type { DropCounters } from '../../core/counters.ts';
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Stack } from '../../core/stack.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import { type Ipv6Addr, type MacAddr, parseIpv6, writeMac } from '../../wire/address.ts';
import { DHCPV6_MSG, type Dhcpv6Repr, parseDhcpv6 } from '../../wire/dhcpv6.ts';
import { bindToInterface } from '../interface-socket.ts';

/** RFC 8415 7.1: All_DHCP_Relay_Agents_and_Servers. */
export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = parseIpv6('ff02::1:2')!;

/** RFC 8415 11.4: DUID-LL, type 3, hardware type 1 (Ethernet) and the MAC address. */
export function duidLl(mac: MacAddr): Uint8Array {
  const duid = new Uint8Array(10);
  duid[1] = 3;
  duid[3] = 1;
  writeMac(duid, 4, mac);
  return duid;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * An IPv6-only UDP socket on `port` of `iface` alone (SO_BINDTODEVICE, so link-scope multicast
 * leaves and arrives there) that calls `onDatagram` for each datagram received.
 */
export function openDhcp6Socket(
  stack: Stack,
  iface: NetworkInterface,
  port: number,
  onDatagram: (d: UdpDatagram<Ipv6Addr>) => void,
): UdpSocket<Ipv6Addr> {
  return bindToInterface(stack.udp.open({ family: 6 }), iface, port, (s) => s.setV6Only(true), onDatagram);
}

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DHCPV6_MSG).map(([name, code]) => [
    code,
    name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
  ]),
);

/** `solicit`, `information-request`, ... (for counters); `type-N` for others. */
export function messageName(type: number): string {
  return NAMES[type] ?? `type-${type}`;
}

/**
 * A received message, parsed and counted as `dhcp6.<role>.rx.<message name>`; undefined for one
 * that does not parse, counted as the drop `parse`.
 */
export function parseReceived(
  stack: Stack,
  role: 'client' | 'server',
  drops: Pick<DropCounters<'parse'>, 'drop'>,
  data: Uint8Array,
): Dhcpv6Repr | undefined {
  const parsed = parseDhcpv6(data);
  if (!parsed.ok) {
    drops.drop('parse');
    return undefined;
  }
  stack.counters.add(`dhcp6.${role}.rx.${messageName(parsed.value.type)}`);
  return parsed.value;
}
