/** Builds whole Ethernet frames from the wire builders, for tests and tshark dissection. */
import {
  IPV4_BROADCAST,
  ipv4IsMulticast,
  ipv4MulticastMac,
  MAC_BROADCAST,
  type MacAddr,
} from '../../src/wire/address.ts';
import { ARP_REQUEST, type ArpRepr, emitArp } from '../../src/wire/arp.ts';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  emitEthernet,
  parseEthernet,
  type VlanTag,
} from '../../src/wire/ethernet.ts';
import { emitIpv4, type Ipv4EmitParams, Ipv4View } from '../../src/wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';

/** Locally administered unicast MACs used when a test does not care. */
export const MAC_A: MacAddr = 0x02_00_00_00_00_0a;
export const MAC_B: MacAddr = 0x02_00_00_00_00_0b;

/**
 * Prepends an IPv4 header then an Ethernet header to the payload in `pb` and returns the frame.
 * Without `macs`, the source is MAC_A and the destination is the RFC 1112 6.4 group MAC for a
 * multicast destination, broadcast for 255.255.255.255, MAC_B otherwise.
 */
export function ipv4Frame(
  pb: PacketBuffer,
  p: Ipv4EmitParams,
  macs?: { src: MacAddr; dst: MacAddr },
  vlan?: VlanTag,
): Uint8Array {
  emitIpv4(pb, p);
  const dst =
    macs?.dst ??
    (ipv4IsMulticast(p.dst) ? ipv4MulticastMac(p.dst) : p.dst === IPV4_BROADCAST ? MAC_BROADCAST : MAC_B);
  emitEthernet(pb, { dst, src: macs?.src ?? MAC_A, ethertype: ETHERTYPE_IPV4, ...(vlan ? { vlan } : {}) });
  return pb.bytes();
}

/** The same, from a payload: copies it into a fresh buffer with room for every header. */
export function ipv4FrameOf(
  payload: Uint8Array,
  p: Ipv4EmitParams,
  macs?: { src: MacAddr; dst: MacAddr },
  vlan?: VlanTag,
): Uint8Array {
  return ipv4Frame(PacketBuffer.from(payload, MAX_HEADROOM), p, macs, vlan);
}

/**
 * An ARP packet in an Ethernet frame from its sender MAC, to broadcast for a request and to the
 * target MAC otherwise (unless `dst` says).
 */
export function arpFrame(repr: ArpRepr, opts: { dst?: MacAddr; vlan?: VlanTag } = {}): Uint8Array {
  const pb = PacketBuffer.alloc(MAX_HEADROOM, 0);
  emitArp(pb, repr);
  const dst = opts.dst ?? (repr.operation === ARP_REQUEST ? MAC_BROADCAST : repr.targetMac);
  emitEthernet(pb, {
    dst,
    src: repr.senderMac,
    ethertype: ETHERTYPE_ARP,
    ...(opts.vlan ? { vlan: opts.vlan } : {}),
  });
  return pb.bytes();
}

/** The IPv4 packets (bounded by their total length) of the untagged IPv4 frames of a capture. */
export function ipv4PacketsOf(frames: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const frame of frames) {
    const eth = parseEthernet(frame);
    if (
      !eth.ok ||
      eth.value.ethertype !== ETHERTYPE_IPV4 ||
      Ipv4View.check(eth.value.payload) !== undefined
    ) {
      continue;
    }
    const ip = new Ipv4View(eth.value.payload);
    out.push(ip.bytes.subarray(0, ip.totalLength));
  }
  return out;
}
