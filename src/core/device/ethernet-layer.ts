/**
 * The Ethernet layer: validates received frames, filters by destination address, and dispatches
 * by EtherType to packet sockets, ARP and IPv4; on the way out, prepends the Ethernet header.
 */
import { MAC_BROADCAST, type MacAddr, macIsMulticast } from '../../wire/address.ts';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  EthernetView,
  emitEthernet,
} from '../../wire/ethernet.ts';
import type { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { DeliveryKind } from '../ip/ipv4-types.ts';
import type { Stack } from '../stack.ts';
import type { NetworkInterface } from './interface.ts';

export type EthernetDropReason = 'truncated' | 'not-for-us' | 'unknown-ethertype';

export class EthernetLayer {
  private readonly rxFrames: Counter;
  private readonly rxBytes: Counter;
  private readonly drops: DropCounters<EthernetDropReason>;
  private readonly txFrames: Counter;

  constructor(private readonly stack: Stack) {
    this.rxFrames = stack.counters.get('eth.rx.frames');
    this.rxBytes = stack.counters.get('eth.rx.bytes');
    this.drops = stack.counters.drops('eth.rx.drop');
    this.txFrames = stack.counters.get('eth.tx.frames');
  }

  receive(iface: NetworkInterface, frame: Uint8Array): void {
    this.rxFrames.value++;
    this.rxBytes.value += frame.length;
    const error = EthernetView.check(frame);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const eth = new EthernetView(frame);
    const dst = eth.dst;
    const kind: DeliveryKind | undefined =
      dst === iface.mac
        ? 'unicast'
        : dst === MAC_BROADCAST
          ? 'broadcast'
          : macIsMulticast(dst)
            ? 'multicast'
            : undefined;
    const taken = this.stack.packetSockets.deliver(iface, eth, kind !== undefined);
    if (kind === undefined) {
      if (!taken) this.drops.drop('not-for-us');
      return;
    }
    switch (eth.ethertype) {
      case ETHERTYPE_IPV4:
        this.stack.ipv4.receive(iface, eth.payload, kind);
        return;
      case ETHERTYPE_IPV6:
        if (this.stack.ipv6 === undefined) break;
        this.stack.ipv6.receive(iface, eth.payload, kind);
        return;
      case ETHERTYPE_ARP:
        this.stack.arp.receive(iface, eth.payload);
        return;
    }
    if (!taken) this.drops.drop('unknown-ethertype');
  }

  /** Prepends the Ethernet header to a network-layer packet and queues the frame on `iface`. */
  output(iface: NetworkInterface, dst: MacAddr, ethertype: number, pb: PacketBuffer): void {
    emitEthernet(pb, { dst, src: iface.mac, ethertype });
    this.txFrames.value++;
    iface.enqueue(pb.bytes());
  }
}
