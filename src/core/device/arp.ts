/**
 * ARP (RFC 826) over the neighbor table: resolves IPv4 next hops to MAC addresses, answers
 * requests for our addresses, announces addresses when they are added (gratuitous ARP, RFC 5227
 * 2.3), probes addresses before use on request (RFC 5227 2.1, `probe`), and detects other hosts
 * using our addresses (RFC 5227 2.4).
 *
 * Counters: `arp.rx.requests`, `arp.rx.replies`, `arp.tx.requests` (of which
 * `arp.tx.announcements`, `arp.tx.probes`, `arp.tx.solicitations`), `arp.tx.replies`,
 * `arp.conflicts`, `arp.defended`, `arp.rx.drop.<reason>`, and the neighbor table's.
 */
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4Mask,
  ipv4ToString,
  MAC_BROADCAST,
  MAC_ZERO,
  type MacAddr,
  macIsMulticast,
  macToString,
} from '../../wire/address.ts';
import { ARP_PACKET_LEN, ARP_REPLY, ARP_REQUEST, ArpView, emitArp } from '../../wire/arp.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../wire/ethernet.ts';
import { ICMPV4_DEST_UNREACHABLE, UNREACH_HOST } from '../../wire/icmpv4.ts';
import { Ipv4View } from '../../wire/ipv4.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { Ipv4InterfaceAddress } from '../ip/ipv4.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import { type ArpProbeHandle, ArpProber } from './arp-probe.ts';
import type { NetworkInterface } from './interface.ts';
import { DEFAULT_NEIGHBOR_PARAMS } from './neighbor-params.ts';
import { NeighborTable } from './neighbor-table.ts';

export type ArpDropReason =
  | 'truncated'
  | 'unsupported-hardware'
  | 'unsupported-protocol'
  | 'bad-address-length'
  | 'unknown-operation'
  /** The sender hardware address is zero, broadcast or multicast. */
  | 'bad-sender'
  /** The sender protocol address is multicast, broadcast or loopback. */
  | 'bad-sender-ip'
  /** The target protocol address is multicast or loopback. */
  | 'bad-target'
  /** Our own frame, looped back by the link. */
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
  private readonly repliesReceived: Counter;
  private readonly requestsSent: Counter;
  private readonly repliesSent: Counter;
  private readonly announcements: Counter;
  private readonly probesSent: Counter;
  private readonly conflicts: Counter;
  private readonly defended: Counter;
  /** When each of our addresses was last defended, by `ifindex/addr` (entries older than DEFEND_INTERVAL are pruned). */
  private readonly lastDefended = new Map<string, number>();
  private readonly prober: ArpProber;

  constructor(private readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('arp.rx.drop');
    this.requestsReceived = c.get('arp.rx.requests');
    this.repliesReceived = c.get('arp.rx.replies');
    this.requestsSent = c.get('arp.tx.requests');
    this.repliesSent = c.get('arp.tx.replies');
    this.announcements = c.get('arp.tx.announcements');
    this.probesSent = c.get('arp.tx.probes');
    this.conflicts = c.get('arp.conflicts');
    this.defended = c.get('arp.defended');
    this.prober = new ArpProber(stack, (iface, addr) => {
      this.probesSent.value++;
      this.sendRequest(iface, addr, undefined, 0);
    });
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

  /**
   * Probes `addr` on `iface` before it is used (RFC 5227 2.1.1); `done(true)` on a conflict.
   * Throws EINVAL for an address that cannot be probed, EALREADY when it is being probed, ENOBUFS
   * when too many probes run.
   */
  probe(iface: NetworkInterface, addr: Ipv4Addr, done: (conflict: boolean) => void): ArpProbeHandle {
    if (iface.link.kind !== 'ethernet' || !isUnicast(addr)) {
      throw Object.assign(new Error(`cannot probe ${ipv4ToString(addr)} on ${iface.name}`), {
        code: 'EINVAL',
      });
    }
    return this.stack.run(() => this.prober.start(iface, addr, done));
  }

  /** An ARP packet from the Ethernet layer. */
  receive(iface: NetworkInterface, bytes: Uint8Array): void {
    const error = ArpView.check(bytes);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const arp = new ArpView(bytes);
    const operation = arp.operation;
    const senderMac = arp.senderMac;
    const senderIp = arp.senderIp;
    const targetIp = arp.targetIp;
    if (operation !== ARP_REQUEST && operation !== ARP_REPLY) {
      this.drops.drop('unknown-operation');
      return;
    }
    if (senderMac === iface.mac) {
      this.drops.drop('own-frame');
      return;
    }
    if (senderMac === MAC_ZERO || macIsMulticast(senderMac)) {
      this.drops.drop('bad-sender');
      return;
    }
    // 0.0.0.0 is a probe's sender (RFC 5227 2.1.1); no host sends from a group or loopback.
    if (senderIp !== 0 && !isUnicast(senderIp)) {
      this.drops.drop('bad-sender-ip');
      return;
    }
    if (ipv4IsMulticast(targetIp) || ipv4IsLoopback(targetIp)) {
      this.drops.drop('bad-target');
      return;
    }
    if (operation === ARP_REQUEST) this.requestsReceived.value++;
    else this.repliesReceived.value++;
    this.prober.observe(iface, { operation, senderMac, senderIp, targetIp });
    // RFC 5227 2.4: a request or reply whose sender address is ours, from another MAC, is a conflict.
    if (senderIp !== 0 && this.ourAddress(iface, senderIp)) {
      this.conflict(iface, senderIp, senderMac);
      return;
    }
    const ours = this.ourAddress(iface, targetIp);
    if (senderIp !== 0) {
      // RFC 826 "Packet Reception": update the sender's entry if there is one (merge); when we are
      // the target of a request, also create it (Linux creates it STALE, RFC 4861 7.2.3 style).
      // A reply to our own request confirms reachability (RFC 4861 7.3.3).
      this.table.update(iface, senderIp, senderMac, {
        solicited: operation === ARP_REPLY && ours && targetIp !== senderIp && arp.targetMac === iface.mac,
        create: ours && operation === ARP_REQUEST,
      });
    }
    // RFC 826: answer requests for our addresses; an RFC 5227 probe (sender 0.0.0.0) too, which is
    // how a prober learns that the address is taken.
    if (operation === ARP_REQUEST && ours) this.sendReply(iface, targetIp, senderMac, senderIp);
  }

  /** Sends the announcements of a new address (gratuitous ARP requests). */
  private announce(a: Ipv4InterfaceAddress, count: number): void {
    if (a.iface.link.kind !== 'ethernet' || a.iface === this.stack.loopback) return;
    this.announcements.value++;
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
    // RFC 5227 2.4 (b): defend with one announcement if we have not defended in DEFEND_INTERVAL;
    // whether to give the address up is for the listeners (a DHCP client declines, a user decides).
    const key = `${iface.index}/${addr}`;
    const now = this.stack.now();
    const last = this.lastDefended.get(key);
    if (last !== undefined && now - last < DEFEND_INTERVAL) return;
    for (const [k, t] of this.lastDefended) if (now - t >= DEFEND_INTERVAL) this.lastDefended.delete(k);
    this.lastDefended.set(key, now);
    this.defended.value++;
    this.announcements.value++;
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
    this.requestsSent.value++;
    const pb = PacketBuffer.forMessage(ARP_PACKET_LEN);
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
    const pb = PacketBuffer.forMessage(ARP_PACKET_LEN);
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

  /** The sender address of a solicitation: ours on the target's subnet, else the interface's first. */
  private sourceFor(iface: NetworkInterface, target: Ipv4Addr): Ipv4Addr {
    const addresses = this.stack.ipv4.listAddresses(iface);
    const onLink = addresses.find((a) => ((a.addr ^ target) & ipv4Mask(a.prefixLen)) === 0);
    return (onLink ?? addresses[0])?.addr ?? 0;
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

/** A unicast address a host may use: not 0, broadcast, multicast or loopback. */
function isUnicast(addr: Ipv4Addr): boolean {
  return addr !== 0 && addr !== IPV4_BROADCAST && !ipv4IsMulticast(addr) && !ipv4IsLoopback(addr);
}
