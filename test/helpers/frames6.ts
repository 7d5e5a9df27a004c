/** Builds whole Ethernet frames carrying IPv6 from the wire builders, for tests and tshark dissection. */
import { ipv6IsMulticast, ipv6MulticastMac, type MacAddr } from '../../src/wire/address.ts';
import { ETHERTYPE_IPV6, emitEthernet } from '../../src/wire/ethernet.ts';
import { emitIpv6, type Ipv6EmitParams } from '../../src/wire/ipv6.ts';
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
