/** Builds whole Ethernet frames carrying IPv6 from the wire builders, for tests and tshark dissection. */
import assert from 'node:assert/strict';
import { ipv6IsMulticast, ipv6MulticastMac, type MacAddr } from '../../src/wire/address.ts';
import { ETHERTYPE_IPV6, emitEthernet, parseEthernet } from '../../src/wire/ethernet.ts';
import { IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { emitIpv6, IPV6_HEADER_LEN, type Ipv6EmitParams, Ipv6View } from '../../src/wire/ipv6.ts';
import {
  type ExtChain,
  emitOptionsHeader,
  type Ipv6OptionRepr,
  NH_HOP_BY_HOP,
  walkExtensionHeaders,
} from '../../src/wire/ipv6-ext.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { MAC_A, MAC_B } from './frames.ts';

/**
 * Prepends an IPv6 header then an Ethernet header to the payload in `pb` (which may already hold
 * extension headers) and returns the frame. Without `macs`, the source is MAC_A and the destination
 * is the RFC 2464 7 group MAC for a multicast destination, MAC_B otherwise.
 */
export function ipv6Frame(
  pb: PacketBuffer,
  p: Ipv6EmitParams,
  macs?: { src: MacAddr; dst: MacAddr },
): Uint8Array {
  emitIpv6(pb, p);
  const dst = macs?.dst ?? (ipv6IsMulticast(p.dst) ? ipv6MulticastMac(p.dst) : MAC_B);
  emitEthernet(pb, { dst, src: macs?.src ?? MAC_A, ethertype: ETHERTYPE_IPV6 });
  return pb.bytes();
}

/** The same, from a payload: copies it into a fresh buffer with room for every header. */
export function ipv6FrameOf(
  payload: Uint8Array,
  p: Ipv6EmitParams,
  macs?: { src: MacAddr; dst: MacAddr },
): Uint8Array {
  return ipv6Frame(PacketBuffer.from(payload, MAX_HEADROOM), p, macs);
}

/**
 * A frame carrying a message that `emit` prepends to an empty buffer (ICMPv6, NDP, MLD), with an
 * optional Hop-by-Hop header (MLD's Router Alert) between the IPv6 header and the message.
 */
export function messageFrame6(
  emit: (pb: PacketBuffer) => void,
  p: Ipv6EmitParams & { hopByHop?: Ipv6OptionRepr[] },
  macs?: { src: MacAddr; dst: MacAddr },
): Uint8Array {
  const pb = PacketBuffer.alloc(4096, 0);
  emit(pb);
  const { hopByHop, ...ip } = p;
  if (hopByHop === undefined) return ipv6Frame(pb, ip, macs);
  emitOptionsHeader(pb, p.nextHeader, hopByHop);
  return ipv6Frame(pb, { ...ip, nextHeader: NH_HOP_BY_HOP }, macs);
}

/** The IPv6 packets of untagged Ethernet frames, trimmed to their payload length. */
export function ipv6PacketsOf(frames: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of frames) {
    const eth = parseEthernet(f);
    if (!eth.ok || eth.value.ethertype !== ETHERTYPE_IPV6 || Ipv6View.check(eth.value.payload)) continue;
    const v = new Ipv6View(eth.value.payload);
    out.push(eth.value.payload.subarray(0, IPV6_HEADER_LEN + v.payloadLength));
  }
  return out;
}

/** An ICMPv6 message found in a captured packet (not fragmented), with what carried it. */
export interface Icmpv6Sample {
  ip: Ipv6View;
  chain: ExtChain;
  message: Uint8Array;
}

/** The unfragmented ICMPv6 messages of untagged Ethernet frames, in order. */
export function icmpv6MessagesOf(frames: Uint8Array[]): Icmpv6Sample[] {
  const out: Icmpv6Sample[] = [];
  for (const packet of ipv6PacketsOf(frames)) {
    const ip = new Ipv6View(packet);
    const chain = walkExtensionHeaders(ip.nextHeader, ip.payload);
    if (!chain.ok || chain.value.protocol !== IP_PROTOCOL_ICMPV6 || chain.value.fragment) continue;
    out.push({ ip, chain: chain.value, message: chain.value.payload });
  }
  return out;
}

/**
 * Deep equality of parsed forms by their JSON, byte arrays shown as arrays: fast-check builds
 * null-prototype records that `deepStrictEqual` would tell apart from parsed objects.
 */
export function assertSameRepr(actual: unknown, expected: unknown): void {
  const replacer = (_key: string, value: unknown) => (value instanceof Uint8Array ? [...value] : value);
  assert.equal(JSON.stringify(actual, replacer), JSON.stringify(expected, replacer));
}
