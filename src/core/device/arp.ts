/**
 * ARP (RFC 826) over the neighbor table: resolves IPv4 next hops to MAC addresses, answers
 * requests for our addresses, announces addresses when they are added (gratuitous ARP, RFC 5227
 * 2.3), and detects other hosts using our addresses (RFC 5227 2.4).
 */
import {
  type Ipv4Addr,
  ipv4ToString,
  MAC_BROADCAST,
  MAC_ZERO,
  type MacAddr,
  macToString,
} from '../../wire/address.ts';
import { ARP_REPLY, ARP_REQUEST, ArpView, emitArp } from '../../wire/arp.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../wire/ethernet.ts';
import { ICMPV4_DEST_UNREACHABLE, UNREACH_HOST } from '../../wire/icmpv4.ts';
import { Ipv4View } from '../../wire/ipv4.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { Ipv4InterfaceAddress } from '../ip/ipv4.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { NetworkInterface } from './interface.ts';
import { DEFAULT_NEIGHBOR_PARAMS } from './neighbor-params.ts';
import { NeighborTable } from './neighbor-table.ts';

export type ArpDropReason =
  | 'truncated'
  | 'unsupported-hardware'
  | 'unsupported-protocol'
  | 'bad-address-length'
  | 'bad-sender'
  | 'own-frame';

/** RFC 5227 1.1: announcements sent when an address is added, and their spacing. */
const ANNOUNCE_NUM = 2;
const ANNOUNCE_INTERVAL = 2 * SECOND;
/** RFC 5227 2.4 (b): defend an address at most once per DEFEND_INTERVAL. */
const DEFEND_INTERVAL = 10 * SECOND;

/** Another host uses one of our addresses. */
export interface AddressConflict {
  iface: NetworkInterface;
  addr: Ipv4Addr;
  mac: MacAddr;
}

export class ArpLayer {
  readonly table: NeighborTable<Ipv4Addr>;
  /** Told about every address conflict (a DHCP client declines, a user is warned). */
  readonly onConflict: Array<(c: AddressConflict) => void> = [];
  private readonly drops: DropCounters<ArpDropReason>;
  private readonly requestsReceived: Counter;
  private readonly repliesSent: Counter;
  private readonly conflicts: Counter;
  private readonly lastDefended = new Map<string, number>();

  constructor(private readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('arp.rx.drop');
    this.requestsReceived = c.get('arp.rx.requests');
    this.repliesSent = c.get('arp.tx.replies');
    this.conflicts = c.get('arp.conflicts');
    this.table = new NeighborTable<Ipv4Addr>(
      stack,
      {
        key: (a) => a,
        solicit: (iface, target, unicastTo) => this.sendRequest(iface, target, unicastTo),
        transmit: (iface, mac, pb) => stack.ethernet.output(iface, mac, ETHERTYPE_IPV4, pb),
        failed: (_iface, _target, dropped) => this.unreachable(dropped),
      },
      { ...DEFAULT_NEIGHBOR_PARAMS },
      'arp',
    );
    stack.ipv4.onAddressAdded.push((a) => this.announce(a, ANNOUNCE_NUM));
  }

  /** Sends an IPv4 packet to `nextHop` on `iface`, resolving it first when needed. */
  output(iface: NetworkInterface, nextHop: Ipv4Addr, pb: PacketBuffer): void {
    this.table.output(iface, nextHop, pb);
  }

  /** An ARP packet from the Ethernet layer. */
  receive(iface: NetworkInterface, bytes: Uint8Array): void {
    const error = ArpView.check(bytes);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const arp = new ArpView(bytes);
    const senderMac = arp.senderMac;
    const senderIp = arp.senderIp;
    const targetIp = arp.targetIp;
    if (senderMac === iface.mac) {
      this.drops.drop('own-frame');
      return;
    }
    if (senderMac === MAC_BROADCAST || (Math.floor(senderMac / 0x100_0000_0000) & 1) === 1) {
      this.drops.drop('bad-sender');
      return;
    }
    const ours = this.ourAddress(iface, targetIp);
    // RFC 5227 2.4: a packet whose sender address is ours, from another MAC, is a conflict.
    if (senderIp !== 0 && this.ourAddress(iface, senderIp)) {
      this.conflict(iface, senderIp, senderMac);
      return;
    }
    if (senderIp !== 0) {
      // RFC 826 "merge": update an existing entry; a request for us also creates one (STALE).
      this.table.update(iface, senderIp, senderMac, {
        solicited: arp.operation === ARP_REPLY && targetIp !== senderIp && arp.targetMac === iface.mac,
        create: ours && arp.operation === ARP_REQUEST,
      });
    }
    if (arp.operation === ARP_REQUEST) {
      this.requestsReceived.value++;
      // An RFC 5227 probe (sender 0.0.0.0) for our address is answered like any request.
      if (ours) this.sendReply(iface, targetIp, senderMac, senderIp);
    }
  }

  /** Sends the announcements of a new address (gratuitous ARP requests). */
  private announce(a: Ipv4InterfaceAddress, count: number): void {
    if (a.iface.link.kind !== 'ethernet' || a.iface === this.stack.loopback) return;
    this.sendRequest(a.iface, a.addr, undefined, a.addr);
    if (count > 1) {
      const t = this.stack.createTimer(() => {
        if (this.stack.ipv4.listAddresses(a.iface).includes(a)) this.announce(a, count - 1);
      });
      this.stack.schedule(t, this.stack.now() + ANNOUNCE_INTERVAL);
    }
  }

  private conflict(iface: NetworkInterface, addr: Ipv4Addr, mac: MacAddr): void {
    this.conflicts.value++;
    for (const l of this.onConflict) l({ iface, addr, mac });
    // RFC 5227 2.4 (b): defend with one announcement if we have not defended recently.
    const key = `${iface.index}/${addr}`;
    const now = this.stack.now();
    const last = this.lastDefended.get(key);
    if (last !== undefined && now - last < DEFEND_INTERVAL) return;
    this.lastDefended.set(key, now);
    this.sendRequest(iface, addr, undefined, addr);
  }

  private ourAddress(iface: NetworkInterface, addr: Ipv4Addr): boolean {
    for (const a of this.stack.ipv4.listAddresses(iface)) if (a.addr === addr) return true;
    return false;
  }

  /** A request for `target`; `senderIp` defaults to the interface address on the target's subnet. */
  private sendRequest(
    iface: NetworkInterface,
    target: Ipv4Addr,
    unicastTo: MacAddr | undefined,
    senderIp?: Ipv4Addr,
  ): void {
    const from = senderIp ?? this.sourceFor(iface, target);
    const pb = PacketBuffer.forMessage(28);
    emitArp(pb, {
      operation: ARP_REQUEST,
      senderMac: iface.mac,
      senderIp: from,
      targetMac: MAC_ZERO,
      targetIp: target,
    });
    this.stack.ethernet.output(iface, unicastTo ?? MAC_BROADCAST, ETHERTYPE_ARP, pb);
  }

  private sendReply(iface: NetworkInterface, ourIp: Ipv4Addr, toMac: MacAddr, toIp: Ipv4Addr): void {
    const pb = PacketBuffer.forMessage(28);
    emitArp(pb, {
      operation: ARP_REPLY,
      senderMac: iface.mac,
      senderIp: ourIp,
      targetMac: toMac,
      targetIp: toIp,
    });
    this.repliesSent.value++;
    this.stack.ethernet.output(iface, toMac, ETHERTYPE_ARP, pb);
  }

  private sourceFor(iface: NetworkInterface, target: Ipv4Addr): Ipv4Addr {
    const path = this.stack.ipv4.route(target, { iface });
    return typeof path === 'string' ? 0 : path.src;
  }

  /** Packets whose next hop did not answer: host unreachable to their senders (RFC 1122 3.2.2.1). */
  private unreachable(dropped: PacketBuffer[]): void {
    for (const pb of dropped) {
      const bytes = pb.bytes();
      if (Ipv4View.checkHeader(bytes) !== undefined) continue;
      this.stack.icmpv4.sendError(new Ipv4View(bytes), ICMPV4_DEST_UNREACHABLE, UNREACH_HOST);
    }
  }

  /** Neighbor entries as `ip neigh` lines. */
  describe(): string[] {
    return this.table
      .list()
      .map(
        (e) =>
          `${ipv4ToString(e.addr)} dev ${e.iface.name}${e.mac !== undefined ? ` lladdr ${macToString(e.mac)}` : ''} ${e.state.toUpperCase()}`,
      );
  }
}
