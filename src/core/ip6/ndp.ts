/**
 * Neighbor Discovery, neighbor side (RFC 4861 7): address resolution over the shared neighbor
 * table with unreachability detection (RFC 4861 7.3, `neighbor-table.ts`), answers to
 * solicitations for our addresses, and the processing of advertisements (7.2.5). DAD messages
 * (solicitations from ::, advertisements for tentative addresses) go to `dad.ts`.
 *
 * Counters: `ndp.rx.solicitations`, `ndp.rx.advertisements`, `ndp.tx.advertisements`,
 * `ndp.rx.drop.<reason>`, and the neighbor table's (`ndp.tx.solicitations`, `ndp.tx.drop.*`, ...).
 */
import {
  IPV6_UNSPECIFIED,
  type Ipv6Addr,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  ipv6Key,
  ipv6SolicitedNode,
  ipv6ToString,
  type MacAddr,
  macToString,
} from '../../wire/address.ts';
import { ETHERTYPE_IPV6 } from '../../wire/ethernet.ts';
import { ICMPV6_DEST_UNREACHABLE, IP_PROTOCOL_ICMPV6, UNREACH_ADDRESS } from '../../wire/icmpv6.ts';
import { Ipv6View } from '../../wire/ipv6.ts';
import {
  emitNdp,
  findNdpOption,
  NDP_HOP_LIMIT,
  type NdpOption,
  type NdpRepr,
  ndpLength,
} from '../../wire/ndp.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { DEFAULT_NEIGHBOR_PARAMS } from '../device/neighbor-params.ts';
import { NeighborTable } from '../device/neighbor-table.ts';
import type { Stack } from '../stack.ts';
import { isUsable } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';
import { ALL_NODES, ipv6Equal } from './ipv6-addr.ts';
import type { Ipv6Packet } from './ipv6-types.ts';

export type NdpDropReason =
  | 'bad-dad-destination'
  | 'lladdr-from-unspecified'
  | 'solicited-to-multicast'
  | 'not-our-target'
  | 'own-address';

type Ns = Extract<NdpRepr, { kind: 'neighbor-solicitation' }>;
type Na = Extract<NdpRepr, { kind: 'neighbor-advertisement' }>;

export class Ndp {
  readonly table: NeighborTable<Ipv6Addr>;
  private readonly drops: DropCounters<NdpDropReason>;
  private readonly solicitationsIn: Counter;
  private readonly advertisementsIn: Counter;
  private readonly advertisementsOut: Counter;
  private readonly conflicts: Counter;

  constructor(
    stack: Stack,
    private readonly ip: Ipv6Layer,
  ) {
    const c = stack.counters;
    this.drops = c.drops('ndp.rx.drop');
    this.solicitationsIn = c.get('ndp.rx.solicitations');
    this.advertisementsIn = c.get('ndp.rx.advertisements');
    this.advertisementsOut = c.get('ndp.tx.advertisements');
    this.conflicts = c.get('ndp.conflicts');
    this.table = new NeighborTable<Ipv6Addr>(
      stack,
      {
        key: ipv6Key,
        solicit: (iface, target, unicastTo) => this.solicit(iface, target, unicastTo),
        transmit: (iface, mac, pb) => stack.ethernet.output(iface, mac, ETHERTYPE_IPV6, pb),
        failed: (_iface, _target, dropped) => this.unreachable(dropped),
      },
      { ...DEFAULT_NEIGHBOR_PARAMS },
      'ndp',
    );
  }

  /** Sends an IPv6 packet to the neighbor `nextHop` on `iface`, resolving it first when needed. */
  output(iface: NetworkInterface, nextHop: Ipv6Addr, pb: PacketBuffer): void {
    this.table.output(iface, nextHop, pb);
  }

  /** A Neighbor Solicitation or Advertisement (hop limit and format already checked). */
  receive(packet: Ipv6Packet, m: Ns | Na): void {
    if (m.kind === 'neighbor-solicitation') this.solicitation(packet, m);
    else this.advertisement(packet, m);
  }

  /** RFC 4861 7.1.1 validity, then 7.2.3 (answer) or DAD (RFC 4862 5.4.3). */
  private solicitation(packet: Ipv6Packet, m: Ns): void {
    this.solicitationsIn.value++;
    const iface = packet.iface;
    const lladdr = findNdpOption(m.options, 'source-lladdr');
    const fromUnspecified = ipv6IsUnspecified(packet.src);
    if (fromUnspecified) {
      // RFC 4861 7.1.1: a DAD probe goes to the solicited-node group and has no link address.
      if (!ipv6Equal(packet.dst, ipv6SolicitedNode(m.target))) {
        this.drops.drop('bad-dad-destination');
        return;
      }
      if (lladdr !== undefined) {
        this.drops.drop('lladdr-from-unspecified');
        return;
      }
    }
    const ours = this.ip.addresses.find(m.target, iface);
    if (ours === undefined) {
      this.drops.drop('not-our-target');
      return;
    }
    if (!isUsable(ours)) {
      // RFC 4862 5.4.3: a probe for our tentative address from someone else means it is taken;
      // a solicitation from a unicast source for it is (being resolved) silently ignored.
      if (fromUnspecified) this.ip.dad.heardProbe(ours, findNdpOption(m.options, 'nonce')?.nonce);
      return;
    }
    // RFC 4861 7.2.3: learn the sender (STALE), then advertise; to all nodes when it has no address.
    if (lladdr !== undefined && !fromUnspecified) {
      this.table.update(iface, packet.src, lladdr.mac, { solicited: false, create: true });
    }
    this.advertise(iface, m.target, {
      to: fromUnspecified ? ALL_NODES : packet.src,
      solicited: !fromUnspecified,
      // RFC 4429 3.3: an optimistic address never overrides an existing cache entry.
      override: ours.state !== 'optimistic',
    });
  }

  /** RFC 4861 7.1.2 validity and 7.2.5 processing; RFC 4862 5.4.4 for our tentative addresses. */
  private advertisement(packet: Ipv6Packet, m: Na): void {
    this.advertisementsIn.value++;
    const iface = packet.iface;
    if (m.solicited && ipv6IsMulticast(packet.dst)) {
      this.drops.drop('solicited-to-multicast');
      return;
    }
    const lladdr = findNdpOption(m.options, 'target-lladdr');
    const ours = this.ip.addresses.find(m.target, iface);
    if (ours !== undefined) {
      if (lladdr !== undefined && lladdr.mac === iface.mac) {
        this.drops.drop('own-address');
        return;
      }
      if (!isUsable(ours)) this.ip.dad.heardAdvertisement(ours);
      else this.conflicts.value++;
      return;
    }
    const entry = this.table.lookup(iface, m.target);
    if (entry === undefined) return;
    // RFC 4861 7.2.5: the router flag going off removes the neighbor from the default routers.
    if (!m.router) this.ip.routerDiscovery.notRouter(iface, m.target);
    if (lladdr === undefined) {
      if (entry.mac !== undefined && m.solicited) this.table.confirm(iface, m.target);
      return;
    }
    // Without the override flag a different link address does not replace a known one.
    if (!m.override && entry.mac !== undefined && entry.mac !== lladdr.mac) return;
    this.table.update(iface, m.target, lladdr.mac, { solicited: m.solicited, create: false });
  }

  /** Sends a Neighbor Advertisement for our `target`, with our link address (RFC 4861 7.2.4). */
  advertise(
    iface: NetworkInterface,
    target: Ipv6Addr,
    how: { to: Ipv6Addr; solicited: boolean; override: boolean },
  ): void {
    this.advertisementsOut.value++;
    this.send(iface, how.to, undefined, target, {
      kind: 'neighbor-advertisement',
      router: this.ip.forwarding,
      solicited: how.solicited,
      override: how.override,
      target,
      options: [{ kind: 'target-lladdr', mac: iface.mac }],
    });
  }

  /**
   * Sends a Neighbor Solicitation for `target` (RFC 4861 7.2.2): to its solicited-node group, or
   * to `unicastTo` when probing a known neighbor; from `src` when given (:: for DAD), else from
   * our best address on the link, with our link address unless the source is :: or optimistic.
   */
  sendSolicitation(
    iface: NetworkInterface,
    target: Ipv6Addr,
    unicastTo: MacAddr | undefined,
    src?: Ipv6Addr,
    nonce?: Uint8Array,
  ): void {
    const from = src ?? this.ip.sourceFor(target, iface) ?? IPV6_UNSPECIFIED;
    const optimistic = this.ip.addresses.find(from, iface)?.state === 'optimistic';
    const options: NdpOption[] = [];
    if (!ipv6IsUnspecified(from) && !optimistic) options.push({ kind: 'source-lladdr', mac: iface.mac });
    if (nonce !== undefined) options.push({ kind: 'nonce', nonce });
    const dst = unicastTo === undefined ? ipv6SolicitedNode(target) : target;
    this.send(iface, dst, unicastTo, from, { kind: 'neighbor-solicitation', target, options });
  }

  private solicit(iface: NetworkInterface, target: Ipv6Addr, unicastTo: MacAddr | undefined): void {
    this.sendSolicitation(iface, target, unicastTo);
  }

  /** Sends an ND message with hop limit 255, straight to the link (ND never waits for ND). */
  send(
    iface: NetworkInterface,
    dst: Ipv6Addr,
    mac: MacAddr | undefined,
    srcHint: Ipv6Addr | undefined,
    repr: NdpRepr,
  ): void {
    const src =
      repr.kind === 'neighbor-advertisement'
        ? repr.target
        : (srcHint ?? this.ip.sourceFor(dst, iface) ?? IPV6_UNSPECIFIED);
    const pb = PacketBuffer.forMessage(ndpLength(repr));
    emitNdp(pb, repr, src, dst);
    const path = { iface, nextHop: dst, src, mtu: iface.mtu };
    if (mac !== undefined) {
      // A unicast probe of a known neighbor goes to its link address without a new resolution.
      this.ip.sendToNeighbor(path, { dst, nextHeader: IP_PROTOCOL_ICMPV6, hopLimit: NDP_HOP_LIMIT }, pb, mac);
      return;
    }
    this.ip.send(path, { dst, nextHeader: IP_PROTOCOL_ICMPV6, hopLimit: NDP_HOP_LIMIT }, pb);
  }

  /** Packets whose next hop did not answer: address unreachable to their senders (RFC 4861 7.2.2). */
  private unreachable(dropped: PacketBuffer[]): void {
    for (const pb of dropped) {
      const bytes = pb.bytes();
      if (Ipv6View.check(bytes) !== undefined) continue;
      this.ip.icmp.sendError(new Ipv6View(bytes), ICMPV6_DEST_UNREACHABLE, UNREACH_ADDRESS);
    }
  }

  /** Neighbor entries as `ip -6 neigh` lines. */
  describe(): string[] {
    return this.table
      .list()
      .map(
        (e) =>
          `${ipv6ToString(e.addr)} dev ${e.iface.name}${e.mac !== undefined ? ` lladdr ${macToString(e.mac)}` : ''} ${e.state.toUpperCase()}`,
      );
  }
}
