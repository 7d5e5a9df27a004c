/** Records the IPv4 packets arriving at a stack, before its IPv4 layer sees them. */
import type { Stack } from '../../src/core/stack.ts';
import { ETHERTYPE_IPV4, EthernetView } from '../../src/wire/ethernet.ts';
import { Ipv4View } from '../../src/wire/ipv4.ts';

/** Copies of the well-formed IPv4 packets in frames addressed to `stack` (any interface). */
export function ipv4Capture(stack: Stack): Ipv4View[] {
  const packets: Ipv4View[] = [];
  stack.packetSockets.open({
    ethertype: ETHERTYPE_IPV4,
    onFrame: (frame) => {
      const bytes = new EthernetView(frame).payload;
      if (Ipv4View.check(bytes) !== undefined) return;
      packets.push(new Ipv4View(bytes.slice(0, new Ipv4View(bytes).totalLength)));
    },
  });
  return packets;
}
