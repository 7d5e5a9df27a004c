/**
 * The IPv4 layer (RFC 791, RFC 1122 3.2-3.3, RFC 1812 for forwarding): addresses and routes,
 * receive validation and local delivery, forwarding, fragmentation on send and reassembly on
 * receive.
 *
 * The host model is the weak one (RFC 1122 3.3.4.2), as in Linux: a packet for any of our
 * addresses is accepted on any interface.
 */
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4Mask,
  ipv4MulticastMac,
  ipv4ToString,
  MAC_BROADCAST,
} from '../../wire/address.ts';
import { ETHERTYPE_IPV4 } from '../../wire/ethernet.ts';
import {
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_PARAMETER_PROBLEM,
  ICMPV4_REDIRECT,
  ICMPV4_TIME_EXCEEDED,
  TIME_EXCEEDED_REASSEMBLY,
  TIME_EXCEEDED_TTL,
  UNREACH_FRAG_NEEDED,
  UNREACH_NET,
  UNREACH_PROTOCOL,
} from '../../wire/icmpv4.ts';
import { decrementIpv4Ttl, emitIpv4, IPV4_HEADER_LEN, Ipv4View } from '../../wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import { checkReceivedOptions, fragmentOptions } from './fragment-options.ts';
import { Ipv4IdGenerator } from './ip-id.ts';
import type { DeliveryKind, Ipv4Path, Ipv4Protocol, Ipv4SendError, Ipv4SendParams } from './ipv4-types.ts';
import { Reassembler, type ReassemblyDropReason } from './reassembly.ts';
import { Ipv4RouteTable } from './routing.ts';

/** RFC 792: Redirect code 1, for the host. */
const REDIRECT_HOST = 1;

export interface Ipv4InterfaceAddress {
  readonly addr: Ipv4Addr;
  readonly prefixLen: number;
  readonly iface: NetworkInterface;
  /** The directed broadcast address of the subnet (none for /31 and /32, RFC 3021). */
  readonly broadcast: Ipv4Addr | undefined;
}

export type Ipv4DropReason =
  | 'truncated'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-total-length'
  | 'bad-checksum'
  | 'bad-source'
  | 'martian'
  | 'not-for-us'
  | 'link-broadcast'
  | 'bad-options'
  | 'source-route'
  | 'unknown-protocol'
  | 'ttl-exceeded'
  | 'no-route'
  | 'fragmentation-needed'
  | 'mtu-too-small'
  | 'not-forwardable';

/** Default TTL (RFC 1700 suggested 64; Linux's ip_default_ttl). */
export const DEFAULT_TTL = 64;

/** RFC 1191: the smallest MTU every IPv4 link must carry. */
export const IPV4_MIN_MTU = 68;

export class Ipv4Layer {
  readonly routes = new Ipv4RouteTable();
  /** Forward packets not addressed to us (RFC 1812); off by default, as for a host. */
  forwarding = false;
  defaultTtl = DEFAULT_TTL;
  /** Answer echo requests sent to a broadcast or multicast address (Linux: ignored by default). */
  echoBroadcasts = false;

  private readonly addresses: Ipv4InterfaceAddress[] = [];
  private readonly protocols: Array<Ipv4Protocol | undefined> = new Array(256);
  /** Multicast groups joined per interface index, with reference counts. */
  private readonly groups = new Map<number, Map<Ipv4Addr, number>>();
  private readonly ids: Ipv4IdGenerator;
  private readonly reassembler: Reassembler;
  private readonly drops: DropCounters<Ipv4DropReason>;
  private readonly rxPackets: Counter;
  private readonly rxDelivered: Counter;
  private readonly txPackets: Counter;
  private readonly forwarded: Counter;
  private readonly fragmentsSent: Counter;
  private readonly fragmentsReceived: Counter;
  private readonly reassembled: Counter;
  /** Listeners for address and membership changes (ARP announces, IGMP reports). */
  readonly onAddressAdded: Array<(a: Ipv4InterfaceAddress) => void> = [];
  readonly onMembershipChanged: Array<(iface: NetworkInterface, group: Ipv4Addr, joined: boolean) => void> =
    [];

  constructor(private readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('ipv4.rx.drop');
    this.rxPackets = c.get('ipv4.rx.packets');
    this.rxDelivered = c.get('ipv4.rx.delivered');
    this.txPackets = c.get('ipv4.tx.packets');
    this.forwarded = c.get('ipv4.forwarded');
    this.fragmentsSent = c.get('ipv4.tx.fragments');
    this.fragmentsReceived = c.get('ipv4.rx.fragments');
    this.reassembled = c.get('ipv4.rx.reassembled');
    this.ids = new Ipv4IdGenerator(stack.env.rng);
    this.reassembler = new Reassembler(
      stack,
      // Linux: ipfrag_time 30 s, ipfrag_high_thresh 4 MiB.
      { timeout: 30 * SECOND, maxBytes: 4 << 20, maxDatagrams: 1024, maxPacket: 0xffff },
      c.drops<ReassemblyDropReason>('ipv4.reassembly.drop'),
      (header, data) => this.reassemblyTimedOut(header, data),
    );
  }

  // ---- configuration ----

  /** Adds an address with its prefix to `iface`, with the on-link route of its subnet. */
  addAddress(iface: NetworkInterface, addr: Ipv4Addr, prefixLen: number): Ipv4InterfaceAddress {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) {
      throw Object.assign(new Error(`bad prefix length ${prefixLen}`), { code: 'EINVAL' });
    }
    if (ipv4IsMulticast(addr) || addr === IPV4_BROADCAST || addr === 0) {
      throw Object.assign(new Error(`${ipv4ToString(addr)} is not a unicast address`), { code: 'EINVAL' });
    }
    if (this.addresses.some((a) => a.addr === addr && a.iface === iface)) {
      throw Object.assign(new Error(`${ipv4ToString(addr)} is already on ${iface.name}`), { code: 'EEXIST' });
    }
    const mask = ipv4Mask(prefixLen);
    const entry: Ipv4InterfaceAddress = {
      addr,
      prefixLen,
      iface,
      broadcast: prefixLen < 31 ? (addr | ~mask) >>> 0 : undefined,
    };
    this.addresses.push(entry);
    const dest = (addr & mask) >>> 0;
    if (
      !this.routes
        .list()
        .some(
          (r) => r.iface === iface && r.dest === dest && r.prefixLen === prefixLen && r.gateway === undefined,
        )
    ) {
      this.routes.add({ dest, prefixLen, iface, metric: 0, src: addr, origin: 'connected' });
    }
    for (const listener of this.onAddressAdded) listener(entry);
    return entry;
  }

  /** Removes an address and the on-link route it brought. */
  removeAddress(iface: NetworkInterface, addr: Ipv4Addr): boolean {
    const i = this.addresses.findIndex((a) => a.addr === addr && a.iface === iface);
    if (i < 0) return false;
    const [entry] = this.addresses.splice(i, 1);
    this.routes.remove({ iface, origin: 'connected', src: entry!.addr });
    return true;
  }

  /** Every address, or those of one interface. */
  listAddresses(iface?: NetworkInterface): readonly Ipv4InterfaceAddress[] {
    return iface === undefined ? this.addresses : this.addresses.filter((a) => a.iface === iface);
  }

  /** True when `addr` is one of our unicast addresses (any interface: weak host model). */
  isLocal(addr: Ipv4Addr): boolean {
    for (const a of this.addresses) if (a.addr === addr) return true;
    return false;
  }

  /** Registers the handler of an IP protocol number. */
  register(protocol: number, handler: Ipv4Protocol): void {
    this.protocols[protocol] = handler;
  }

  /** Joins a multicast group on an interface (reference counted, like IP_ADD_MEMBERSHIP). */
  joinGroup(iface: NetworkInterface, group: Ipv4Addr): void {
    if (!ipv4IsMulticast(group)) {
      throw Object.assign(new Error(`${ipv4ToString(group)} is not multicast`), { code: 'EINVAL' });
    }
    let map = this.groups.get(iface.index);
    if (map === undefined) {
      map = new Map();
      this.groups.set(iface.index, map);
    }
    const n = map.get(group) ?? 0;
    map.set(group, n + 1);
    if (n === 0) for (const l of this.onMembershipChanged) l(iface, group, true);
  }

  /** Leaves a group joined with `joinGroup`. */
  leaveGroup(iface: NetworkInterface, group: Ipv4Addr): void {
    const map = this.groups.get(iface.index);
    const n = map?.get(group);
    if (map === undefined || n === undefined) {
      throw Object.assign(new Error(`not a member of ${ipv4ToString(group)}`), { code: 'EADDRNOTAVAIL' });
    }
    if (n > 1) {
      map.set(group, n - 1);
      return;
    }
    map.delete(group);
    for (const l of this.onMembershipChanged) l(iface, group, false);
  }

  /** The groups joined on an interface. */
  memberships(iface: NetworkInterface): Ipv4Addr[] {
    return [...(this.groups.get(iface.index)?.keys() ?? [])];
  }

  /** RFC 1112 4: every host belongs to 224.0.0.1 on every multicast-capable interface. */
  isMember(iface: NetworkInterface, group: Ipv4Addr): boolean {
    return group === 0xe000_0001 || (this.groups.get(iface.index)?.has(group) ?? false);
  }

  // ---- receive ----

  /** A packet from the link layer. `linkKind` says how the frame was addressed. */
  receive(iface: NetworkInterface, bytes: Uint8Array, linkKind: DeliveryKind): void {
    this.rxPackets.value++;
    const error = Ipv4View.check(bytes);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const ip = new Ipv4View(bytes);
    const src = ip.src;
    const dst = ip.dst;
    // RFC 1122 3.2.1.3: a source that is broadcast or multicast is discarded; so is a loopback
    // address arriving from outside (RFC 1122 3.2.1.3 (g)).
    if (ipv4IsMulticast(src) || src === IPV4_BROADCAST || this.isDirectedBroadcast(src)) {
      this.drops.drop('bad-source');
      return;
    }
    if (iface !== this.stack.loopback && (ipv4IsLoopback(src) || ipv4IsLoopback(dst))) {
      this.drops.drop('martian');
      return;
    }
    let kind: DeliveryKind | 'forward';
    if (this.isLocal(dst) || (iface === this.stack.loopback && ipv4IsLoopback(dst))) {
      kind = 'unicast';
      // RFC 1122 3.3.6: a unicast datagram that came as a link-layer broadcast SHOULD be silently
      // discarded (and so never causes an ICMP error, RFC 1122 3.2.2).
      if (linkKind !== 'unicast') {
        this.drops.drop('link-broadcast');
        return;
      }
    } else if (dst === IPV4_BROADCAST || this.isDirectedBroadcast(dst, iface)) {
      kind = 'broadcast';
    } else if (ipv4IsMulticast(dst)) {
      // Our own multicast, looped back (IP_MULTICAST_LOOP), arrives on lo, which joins no group.
      if (iface !== this.stack.loopback && !this.isMember(iface, dst)) {
        this.drops.drop('not-for-us');
        return;
      }
      kind = 'multicast';
    } else if (this.forwarding && linkKind === 'unicast') {
      // RFC 1812 5.3.4: only link-layer unicast is forwarded.
      kind = 'forward';
    } else {
      this.drops.drop('not-for-us');
      return;
    }
    if (ip.headerLength > IPV4_HEADER_LEN) {
      const verdict = checkReceivedOptions(ip.options);
      if (verdict !== undefined) {
        this.drops.drop(verdict.reason);
        if (verdict.reason === 'bad-options') {
          this.stack.icmpv4.sendError(ip, ICMPV4_PARAMETER_PROBLEM, 0, { pointer: verdict.pointer });
        }
        return;
      }
    }
    if (kind === 'forward') {
      this.forward(iface, ip);
      return;
    }
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      this.fragmentsReceived.value++;
      const key = `${src}:${dst}:${ip.protocol}:${ip.id}`;
      const whole = this.reassembler.insert(
        key,
        ip.fragmentOffset,
        ip.moreFragments,
        ip.payload,
        bytes.subarray(0, ip.headerLength),
      );
      if (whole === undefined) return;
      this.reassembled.value++;
      this.deliver(iface, rebuild(whole.firstHeader, whole.payload), kind);
      return;
    }
    this.deliver(iface, ip, kind);
  }

  private deliver(iface: NetworkInterface, ip: Ipv4View, kind: DeliveryKind): void {
    const handler = this.protocols[ip.protocol];
    if (handler === undefined) {
      this.drops.drop('unknown-protocol');
      // RFC 1122 3.2.2.1: protocol unreachable, for packets addressed to us alone.
      if (kind === 'unicast') this.stack.icmpv4.sendError(ip, ICMPV4_DEST_UNREACHABLE, UNREACH_PROTOCOL);
      return;
    }
    this.rxDelivered.value++;
    handler.receive({ iface, ip, src: ip.src, dst: ip.dst, payload: ip.payload, kind });
  }

  /** Hands an ICMP error about one of our packets to the protocol that sent it. */
  deliverError(protocol: number, report: Parameters<NonNullable<Ipv4Protocol['error']>>[0]): void {
    this.protocols[protocol]?.error?.(report);
  }

  // ---- forwarding (RFC 1812 5.2-5.3) ----

  private forward(iface: NetworkInterface, ip: Ipv4View): void {
    const dst = ip.dst;
    // RFC 1812 5.3.7: never forward to or from 0/8 or Class E (240/4; 127/8 is already refused
    // as martian), nor link-local 169.254/16 (RFC 3927 2.7); RFC 2644: directed broadcasts to our
    // subnets are not forwarded by default.
    if (!forwardable(dst) || !forwardable(ip.src) || this.isDirectedBroadcast(dst)) {
      this.drops.drop('not-forwardable');
      return;
    }
    // RFC 1812 5.3.1: a packet whose TTL would reach 0 is discarded with time exceeded.
    if (ip.ttl <= 1) {
      this.drops.drop('ttl-exceeded');
      this.stack.icmpv4.sendError(ip, ICMPV4_TIME_EXCEEDED, TIME_EXCEEDED_TTL);
      return;
    }
    const hop = this.routes.lookup(dst);
    if (hop === undefined) {
      this.drops.drop('no-route');
      this.stack.icmpv4.sendError(ip, ICMPV4_DEST_UNREACHABLE, UNREACH_NET);
      return;
    }
    const length = ip.totalLength;
    if (length > hop.iface.mtu && ip.dontFragment) {
      this.drops.drop('fragmentation-needed');
      this.stack.icmpv4.sendError(ip, ICMPV4_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED, { mtu: hop.iface.mtu });
      return;
    }
    if (length > hop.iface.mtu && !fragmentable(hop.iface.mtu, ip.headerLength)) {
      this.drops.drop('mtu-too-small');
      return;
    }
    // RFC 1812 5.2.7.2: back out of the interface it came from, the source and the next hop on
    // one subnet, no options (no source route): redirect the sender (host redirect), forward anyway.
    if (
      hop.iface === iface &&
      ip.headerLength === IPV4_HEADER_LEN &&
      this.oneSubnet(iface, ip.src, hop.nextHop)
    )
      this.stack.icmpv4.sendError(ip, ICMPV4_REDIRECT, REDIRECT_HOST, { gateway: hop.nextHop });
    // The received bytes belong to the binding: forward a copy with headroom for the new link header.
    const pb = PacketBuffer.from(ip.bytes.subarray(0, length), MAX_HEADROOM);
    decrementIpv4Ttl(pb.bytes());
    this.forwarded.value++;
    if (length <= hop.iface.mtu) {
      this.linkOutput(hop.iface, hop.nextHop, pb, false);
      return;
    }
    const copy = new Ipv4View(pb.bytes());
    this.fragmentAndSend(hop.iface, hop.nextHop, copy, hop.iface.mtu, false);
  }

  /** True when `a` and `b` are both in the subnet of one address of `iface`. */
  private oneSubnet(iface: NetworkInterface, a: Ipv4Addr, b: Ipv4Addr): boolean {
    return this.listAddresses(iface).some((x) => {
      const mask = ipv4Mask(x.prefixLen);
      return ((x.addr ^ a) & mask) === 0 && ((x.addr ^ b) & mask) === 0;
    });
  }

  // ---- send ----

  /**
   * Chooses the interface, next hop and source address for `dst` (RFC 1122 3.3.4.3: the route's
   * source, else the interface address on the next hop's subnet, else its first address).
   * `iface` restricts the choice (SO_BINDTODEVICE, IP_MULTICAST_IF); `src` is a bound address.
   */
  route(dst: Ipv4Addr, options: { iface?: NetworkInterface; src?: Ipv4Addr } = {}): Ipv4Path | Ipv4SendError {
    const { src } = options;
    if (src !== undefined && src !== 0 && !this.isLocal(src) && !ipv4IsLoopback(src)) return 'EADDRNOTAVAIL';
    if (this.isLocal(dst) || ipv4IsLoopback(dst)) {
      const lo = this.stack.loopback;
      return { iface: lo, nextHop: dst, src: src || dst, mtu: lo.mtu, broadcast: false };
    }
    let iface = options.iface;
    if (
      iface === undefined &&
      src !== undefined &&
      src !== 0 &&
      (dst === IPV4_BROADCAST || ipv4IsMulticast(dst))
    ) {
      iface = this.addresses.find((a) => a.addr === src)?.iface;
    }
    if (dst === IPV4_BROADCAST || ipv4IsMulticast(dst)) {
      // Limited broadcast and multicast go out of the chosen interface, or the default route's.
      const out = iface ?? this.routes.lookup(dst)?.iface;
      if (out === undefined) return 'ENETUNREACH';
      const from = src || this.sourceFor(out, dst);
      return { iface: out, nextHop: dst, src: from, mtu: out.mtu, broadcast: dst === IPV4_BROADCAST };
    }
    const hop = this.routes.lookup(dst, iface);
    if (hop === undefined) return 'ENETUNREACH';
    const from = src || hop.route.src || this.sourceFor(hop.iface, hop.nextHop);
    if (from === 0) return 'EADDRNOTAVAIL';
    return {
      iface: hop.iface,
      nextHop: hop.nextHop,
      src: from,
      mtu: hop.iface.mtu,
      broadcast: this.isDirectedBroadcast(dst, hop.iface),
    };
  }

  private sourceFor(iface: NetworkInterface, nextHop: Ipv4Addr): Ipv4Addr {
    let first: Ipv4Addr = 0;
    for (const a of this.addresses) {
      if (a.iface !== iface) continue;
      if (first === 0) first = a.addr;
      const mask = ipv4Mask(a.prefixLen);
      if (((a.addr ^ nextHop) & mask) === 0) return a.addr;
    }
    return first;
  }

  /**
   * Sends the transport payload in `pb` along `path`: prepends the IPv4 header, fragments when
   * the packet exceeds the MTU (unless DF), and hands it to the link.
   */
  send(path: Ipv4Path, params: Ipv4SendParams, pb: PacketBuffer): Ipv4SendError | undefined {
    const multicast = ipv4IsMulticast(params.dst);
    const ttl = params.ttl ?? (multicast ? 1 : this.defaultTtl);
    const id = this.ids.next(path.src, params.dst, params.protocol);
    const headerLen = IPV4_HEADER_LEN + (((params.options?.length ?? 0) + 3) & ~3);
    if (headerLen + pb.length > 0xffff) return 'EMSGSIZE';
    // Too big for the link and not fragmentable: DF, or a link below the RFC 791 minimum of 68
    // octets that cannot carry a header and 8 octets of data.
    if (headerLen + pb.length > path.mtu && (params.dontFragment || !fragmentable(path.mtu, headerLen))) {
      return 'EMSGSIZE';
    }
    emitIpv4(pb, {
      src: path.src,
      dst: params.dst,
      protocol: params.protocol,
      ttl,
      id,
      tos: params.tos ?? 0,
      dontFragment: params.dontFragment ?? false,
      ...(params.options !== undefined ? { options: params.options } : {}),
    });
    this.txPackets.value++;
    if (params.multicastLoop && multicast && this.isMember(path.iface, params.dst)) {
      this.stack.loopback.enqueue(pb.bytes().slice());
    }
    const broadcast = path.broadcast || params.dst === IPV4_BROADCAST;
    if (pb.length <= path.mtu) {
      this.linkOutput(path.iface, path.nextHop, pb, broadcast);
    } else {
      this.fragmentAndSend(path.iface, path.nextHop, new Ipv4View(pb.bytes()), path.mtu, broadcast);
    }
    return undefined;
  }

  /**
   * RFC 791 3.2 "Fragmentation": splits a packet into fragments whose payloads are multiples of
   * 8 bytes; options without the "copied" flag go in the first fragment only.
   */
  private fragmentAndSend(
    iface: NetworkInterface,
    nextHop: Ipv4Addr,
    ip: Ipv4View,
    mtu: number,
    broadcast: boolean,
  ): void {
    const payload = ip.payload;
    const baseOffset = ip.fragmentOffset;
    const finalMore = ip.moreFragments;
    const laterOptions = fragmentOptions(ip.options);
    let offset = 0;
    while (offset < payload.length) {
      const options = offset === 0 ? ip.options : laterOptions;
      const headerLen = IPV4_HEADER_LEN + options.length;
      const room = ((mtu - headerLen) >> 3) << 3;
      const size = Math.min(room, payload.length - offset);
      const last = offset + size >= payload.length;
      const pb = PacketBuffer.from(payload.subarray(offset, offset + size), MAX_HEADROOM);
      emitIpv4(pb, {
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol,
        ttl: ip.ttl,
        id: ip.id,
        tos: ip.tos,
        moreFragments: !last || finalMore,
        fragmentOffset: baseOffset + offset,
        ...(options.length > 0 ? { options } : {}),
      });
      this.fragmentsSent.value++;
      this.linkOutput(iface, nextHop, pb, broadcast);
      offset += size;
    }
  }

  /** Hands a finished IPv4 packet to the link of `iface`. */
  private linkOutput(iface: NetworkInterface, nextHop: Ipv4Addr, pb: PacketBuffer, broadcast: boolean): void {
    if (iface.link.kind !== 'ethernet') {
      iface.enqueue(pb.bytes());
      return;
    }
    if (broadcast || nextHop === IPV4_BROADCAST) {
      this.stack.ethernet.output(iface, MAC_BROADCAST, ETHERTYPE_IPV4, pb);
    } else if (ipv4IsMulticast(nextHop)) {
      this.stack.ethernet.output(iface, ipv4MulticastMac(nextHop), ETHERTYPE_IPV4, pb);
    } else {
      this.stack.arp.output(iface, nextHop, pb);
    }
  }

  // ---- helpers ----

  /** True when `addr` is the directed broadcast of one of our subnets (on `iface`, if given). */
  isDirectedBroadcast(addr: Ipv4Addr, iface?: NetworkInterface): boolean {
    for (const a of this.addresses) {
      if (a.broadcast === addr && (iface === undefined || a.iface === iface)) return true;
    }
    return false;
  }

  private reassemblyTimedOut(header: Uint8Array, data: Uint8Array): void {
    // RFC 792 "Time Exceeded" code 1, quoting the first fragment.
    const quoted = new Uint8Array(header.length + Math.min(8, data.length));
    quoted.set(header);
    quoted.set(data.subarray(0, 8), header.length);
    if (Ipv4View.checkHeader(quoted) !== undefined) return;
    this.stack.icmpv4.sendError(new Ipv4View(quoted), ICMPV4_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY);
  }

  /** Reassembly state, for tests and reports. */
  get reassembly(): { datagrams: number; bytes: number } {
    return this.reassembler.usage;
  }
}

/** True when fragments with a header of `headerLen` octets carry data over a link of `mtu`. */
function fragmentable(mtu: number, headerLen: number): boolean {
  return mtu - headerLen >= 8;
}

/** An address a router may forward to or from (RFC 1812 5.3.7, RFC 3927 2.7). */
function forwardable(addr: Ipv4Addr): boolean {
  return addr >>> 24 !== 0 && addr >>> 28 !== 0xf && addr >>> 16 !== 0xa9fe;
}

/** Builds the whole packet from the first fragment's header and the reassembled payload. */
function rebuild(firstHeader: Uint8Array, payload: Uint8Array): Ipv4View {
  const pb = PacketBuffer.from(payload, firstHeader.length);
  const first = new Ipv4View(firstHeader);
  emitIpv4(pb, {
    src: first.src,
    dst: first.dst,
    protocol: first.protocol,
    ttl: first.ttl,
    id: first.id,
    tos: first.tos,
    dontFragment: first.dontFragment,
    ...(first.options.length > 0 ? { options: first.options } : {}),
  });
  return new Ipv4View(pb.bytes());
}
