/**
 * The Ethernet layer: validates received frames, filters by destination address, and dispatches
 * by EtherType to packet sockets and (in later layers) to ARP, IPv4 and IPv6.
 */
import { MAC_BROADCAST, macIsMulticast } from '../../wire/address.ts';
import { EthernetView } from '../../wire/ethernet.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { Stack } from '../stack.ts';
import type { NetworkInterface } from './interface.ts';

export type EthernetDropReason = 'truncated' | 'not-for-us' | 'unknown-ethertype';

export class EthernetLayer {
  private readonly rxFrames: Counter;
  private readonly rxBytes: Counter;
  private readonly drops: DropCounters<EthernetDropReason>;

  constructor(private readonly stack: Stack) {
    this.rxFrames = stack.counters.get('eth.rx.frames');
    this.rxBytes = stack.counters.get('eth.rx.bytes');
    this.drops = stack.counters.drops('eth.rx.drop');
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
    const forUs = dst === iface.mac || dst === MAC_BROADCAST || macIsMulticast(dst);
    const taken = this.stack.packetSockets.deliver(iface, eth, forUs);
    if (!forUs) {
      if (!taken) this.drops.drop('not-for-us');
      return;
    }
    // Network-layer protocols are dispatched here by EtherType as they are added.
    if (!taken) this.drops.drop('unknown-ethertype');
  }
}
