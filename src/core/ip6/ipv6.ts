/**
 * The IPv6 layer (RFC 8200, RFC 4291, RFC 4861/4862 for the host side): addresses with DAD and
 * lifetimes, routes, receive validation with extension header processing, local delivery,
 * forwarding (hop limit, ICMPv6 errors, redirects: RFC 4861 8.2, never fragmenting: RFC 8200 5),
 * fragmentation at the source and reassembly (RFC 8200 4.5, RFC 5722, RFC 8021; no Neighbor
 * Discovery from fragments: RFC 6980), multicast groups, path MTUs.
 *
 * The host model is the weak one, as in Linux: a packet for any of our addresses is accepted on
 * any interface. The API mirrors `Ipv4Layer` (`route`, `send`, `register`, `joinGroup`, ...).
 */
import {
  type Ipv6Addr,
  ipv6IsLinkLocal,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  ipv6Key,
  ipv6MulticastMac,
  ipv6SolicitedNode,
  ipv6ToString,
  type MacAddr,
} from '../../wire/address.ts';
import { ETHERTYPE_IPV6 } from '../../wire/ethernet.ts';
import {
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_SOLICITATION,
  ICMPV6_TIME_EXCEEDED,
  IP_PROTOCOL_ICMPV6,
  PARAM_ERRONEOUS_FIELD,
  PARAM_INCOMPLETE_CHAIN,
  PARAM_UNRECOGNIZED_NEXT_HEADER,
  TIME_EXCEEDED_HOP_LIMIT,
  TIME_EXCEEDED_REASSEMBLY,
  UNREACH_BEYOND_SCOPE,
  UNREACH_NO_ROUTE,
} from '../../wire/icmpv6.ts';
import { emitIpv6, IPV6_HEADER_LEN, IPV6_MAX_PAYLOAD, IPV6_MIN_MTU, Ipv6View } from '../../wire/ipv6.ts';
import {
  emitFragmentHeader,
  emitOptionsHeader,
  extHeaderAt,
  FRAGMENT_HEADER_LEN,
  NH_FRAGMENT,
  NH_HOP_BY_HOP,
  NH_NO_NEXT_HEADER,
  optionsHeaderLength,
  walkExtensionHeaders,
} from '../../wire/ipv6-ext.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { Reassembler, type ReassemblyDropReason } from '../ip/reassembly.ts';
import { type HashKey, keyedHash, randomHashKey } from '../keyed-hash.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import { Ipv6Addresses, type Ipv6AddressOptions, type Ipv6InterfaceAddress, isUsable } from './addresses6.ts';
import { Dad } from './dad.ts';
import { type ExtVerdict, FIXED_NEXT_HEADER, processExtensionHeaders } from './ext-headers.ts';
import { Icmpv6Layer } from './icmpv6.ts';
import {
  ALL_NODES,
  ALL_ROUTERS,
  addressScope,
  ipv6IsLoopback,
  LOOPBACK6,
  multicastScope,
  needsInterface,
  SCOPE_INTERFACE,
  SCOPE_LINK,
} from './ipv6-addr.ts';
import type {
  Ipv6DeliveryKind,
  Ipv6ErrorReport,
  Ipv6Path,
  Ipv6Protocol,
  Ipv6SendError,
  Ipv6SendParams,
} from './ipv6-types.ts';
import { MldLayer } from './mld.ts';
import { Ndp } from './ndp.ts';
import { PathMtuCache } from './pmtu.ts';
import { RedirectSender } from './redirect.ts';
import { type AdvertiserConfig, RouterAdvertiser } from './router-advertiser.ts';
import { RouterDiscovery } from './router-discovery.ts';
import { type Ipv6Route, Ipv6RouteTable } from './routing6.ts';
import { Slaac } from './slaac.ts';
import { selectSource } from './source-selection.ts';

export type Ipv6DropReason =
  | 'truncated'
  | 'bad-version'
  | 'bad-source'
  | 'martian'
  | 'not-for-us'
  | 'bad-multicast-scope'
  | 'tentative-destination'
  | 'unknown-next-header'
  | 'no-next-header'
  | 'hop-limit-exceeded'
  | 'no-route'
  | 'packet-too-big'
  | 'beyond-scope'
  | 'fragment-length'
  | 'fragment-too-big'
  | 'incomplete-chain'
  | 'fragmented-nd'
  | ExtVerdictDrop;
type ExtVerdictDrop = Extract<ExtVerdict, { kind: 'drop' }>['reason'];

/** RFC 8200 / RFC 4861 6.3.2: the default hop limit (Linux's hop_limit 64). */
export const DEFAULT_HOP_LIMIT = 64;
/** RFC 8200 4.5: reassembly gives up 60 seconds after the first fragment arrived. */
export const REASSEMBLY_TIMEOUT = 60 * SECOND;

/** Per-interface IPv6 state learned from routers or configured. */
export interface Ipv6InterfaceConfig {
  /** Cur Hop Limit from router advertisements (RFC 4861 6.3.4), else the stack's default. */
  hopLimit: number | undefined;
  /** MTU option of router advertisements (RFC 4861 6.3.4), within the link's. */
  mtu: number | undefined;
}

export interface Ipv6LayerOptions {
  /**
   * Configure every Ethernet interface as it is added (default on: "link-local always"): its
   * link-local address with DAD, the solicited-node group and its MLD reports, router
   * solicitations, SLAAC from advertisements. With `false`, `autoconfigure(iface)` starts it for
   * one interface.
   */
  autoconfigure?: boolean;
  /**
   * Global addresses from the autonomous prefixes of router advertisements (RFC 4862 5.5.3;
   * Linux's `autoconf`), default on. Off, advertisements still give routes, hop limit and MTU.
   */
  slaac?: boolean;
  /**
   * How router solicitations are retransmitted: `rfc4861` (default) sends at most
   * MAX_RTR_SOLICITATIONS (3), RTR_SOLICITATION_INTERVAL apart, then concludes there is no router
   * (RFC 4861 6.3.7), so an idle link goes quiet; `rfc7559` backs off exponentially up to an hour
   * and never gives up.
   */
  routerSolicitations?: 'rfc4861' | 'rfc7559';
  /** 16-byte secret of RFC 7217 stable interface identifiers (default: from the stack's rng). */
  stableSecret?: Uint8Array;
}

export class Ipv6Layer {
  readonly routes = new Ipv6RouteTable();
  readonly addresses: Ipv6Addresses;
  readonly icmp: Icmpv6Layer;
  readonly ndp: Ndp;
  readonly dad: Dad;
  readonly mld: MldLayer;
  readonly routerDiscovery: RouterDiscovery;
  readonly slaac: Slaac;
  readonly pmtu: PathMtuCache;
  readonly redirects: RedirectSender;
  defaultHopLimit = DEFAULT_HOP_LIMIT;
  /** RFC 4862 5.1 DupAddrDetectTransmits (0 turns DAD off). */
  dupAddrDetectTransmits = 1;
  /** RFC 4429: SLAAC and link-local addresses are optimistic while DAD runs. */
  optimisticDad = false;
  /** RFC 8981: make temporary addresses for SLAAC prefixes (and prefer them as sources). */
  useTemporaryAddresses = false;
  /** Global addresses from advertised autonomous prefixes (`Ipv6LayerOptions.slaac`). */
  slaacEnabled: boolean;

  /** DNS servers from RDNSS options (RFC 8106 5.1): lifetime in seconds, 0 to remove. */
  readonly onDnsServers: Array<(iface: NetworkInterface, servers: Ipv6Addr[], lifetime: number) => void> = [];
  /** Search domains from DNSSL options (RFC 8106 5.2). */
  readonly onSearchList: Array<(iface: NetworkInterface, domains: string[], lifetime: number) => void> = [];
  /** M and O flags of each router advertisement (RFC 4861 4.2), for a DHCPv6 client. */
  readonly onRaFlags: Array<
    (iface: NetworkInterface, flags: { managed: boolean; other: boolean }, router: Ipv6Addr) => void
  > = [];
  readonly onMembershipChanged: Array<(iface: NetworkInterface, group: Ipv6Addr, joined: boolean) => void> =
    [];

  private forwardingOn = false;
  private readonly protocols: Array<Ipv6Protocol | undefined> = new Array(256);
  /** Multicast groups joined per interface index (by key), with reference counts. */
  private readonly groups = new Map<number, Map<string, { group: Ipv6Addr; count: number }>>();
  private readonly config = new Map<number, Ipv6InterfaceConfig>();
  private readonly advertisers = new Map<number, RouterAdvertiser>();
  private flowKey: HashKey | undefined;
  private readonly autoconfigureAll: boolean;
  private readonly reassembler: Reassembler;
  private readonly drops: DropCounters<Ipv6DropReason>;
  private readonly rxPackets: Counter;
  private readonly rxDelivered: Counter;
  private readonly txPackets: Counter;
  private readonly forwarded: Counter;
  private readonly fragmentsSent: Counter;
  private readonly fragmentsReceived: Counter;
  private readonly reassembled: Counter;

  constructor(
    private readonly stack: Stack,
    options: Ipv6LayerOptions = {},
  ) {
    const c = stack.counters;
    this.drops = c.drops('ipv6.rx.drop');
    this.rxPackets = c.get('ipv6.rx.packets');
    this.rxDelivered = c.get('ipv6.rx.delivered');
    this.txPackets = c.get('ipv6.tx.packets');
    this.forwarded = c.get('ipv6.forwarded');
    this.fragmentsSent = c.get('ipv6.tx.fragments');
    this.fragmentsReceived = c.get('ipv6.rx.fragments');
    this.reassembled = c.get('ipv6.rx.reassembled');
    this.autoconfigureAll = options.autoconfigure ?? true;
    this.slaacEnabled = options.slaac ?? true;
    this.reassembler = new Reassembler(
      stack,
      // Linux: ip6frag_time 60 s, ip6frag_high_thresh 4 MiB.
      {
        timeout: REASSEMBLY_TIMEOUT,
        maxBytes: 4 << 20,
        maxDatagrams: 1024,
        // The first fragment's headers include the Fragment header, which reassembly removes.
        maxPacket: IPV6_HEADER_LEN + FRAGMENT_HEADER_LEN + IPV6_MAX_PAYLOAD,
      },
      c.drops<ReassemblyDropReason>('ipv6.reassembly.drop'),
      (header, data) => this.reassemblyTimedOut(header, data),
    );
    this.addresses = new Ipv6Addresses(stack);
    this.pmtu = new PathMtuCache(stack);
    this.icmp = new Icmpv6Layer(stack, this);
    this.ndp = new Ndp(stack, this);
    this.dad = new Dad(stack, this);
    this.mld = new MldLayer(stack, this);
    this.routerDiscovery = new RouterDiscovery(stack, this, options.routerSolicitations ?? 'rfc4861');
    this.slaac = new Slaac(stack, this, options.stableSecret);
    this.redirects = new RedirectSender(stack, this);
    this.addresses.onAdded.push((a) => this.addressAdded(a));
    this.addresses.onRemoved.push((a) => this.addressRemoved(a));
  }

  // ---- interfaces ----

  /**
   * A new interface (called by the stack): lo gets ::1/128; an Ethernet link gets its link-local
   * address (RFC 4862 5.3) with DAD, then router solicitations.
   */
  interfaceAdded(iface: NetworkInterface): void {
    // lo is the stack's first interface, added before `stack.loopback` is set.
    if ((this.stack.loopback ?? iface) === iface) {
      this.addresses.add(iface, LOOPBACK6, 128, 'preferred', FOREVER, 'loopback');
      return;
    }
    // Links without link-layer addresses (TUN) have no link-local address to make nor NDP.
    if (this.autoconfigureAll && iface.link.kind === 'ethernet') this.autoconfigure(iface);
  }

  /**
   * Starts autoconfiguration of an Ethernet interface (RFC 4862): its link-local address with
   * DAD, then router solicitations and SLAAC from the advertisements. Starts in a timer entry.
   */
  autoconfigure(iface: NetworkInterface): void {
    if (iface.link.kind !== 'ethernet' || iface === this.stack.loopback) {
      throw Object.assign(new Error(`${iface.name} is not an Ethernet interface`), { code: 'EINVAL' });
    }
    const start = this.stack.createTimer(() => this.slaac.startInterface(iface));
    this.stack.schedule(start, this.stack.now());
  }

  /** IPv6 settings of an interface. */
  interfaceConfig(iface: NetworkInterface): Ipv6InterfaceConfig {
    let c = this.config.get(iface.index);
    if (c === undefined) {
      c = { hopLimit: undefined, mtu: undefined };
      this.config.set(iface.index, c);
    }
    return c;
  }

  /** The IPv6 MTU of a link: the link's, or the smaller one a router advertised. */
  linkMtu(iface: NetworkInterface): number {
    const mtu = this.config.get(iface.index)?.mtu;
    return mtu !== undefined ? Math.min(mtu, iface.mtu) : iface.mtu;
  }

  hopLimitOf(iface: NetworkInterface): number {
    return this.config.get(iface.index)?.hopLimit ?? this.defaultHopLimit;
  }

  /** Forward packets not addressed to us (a router): also joins all-routers and stops soliciting. */
  get forwarding(): boolean {
    return this.forwardingOn;
  }
  set forwarding(on: boolean) {
    this.forwardingOn = on;
  }

  /**
   * Sends router advertisements on `iface` (RFC 4861 6.2) and answers its solicitations; turns
   * forwarding on. Returns the advertiser, whose configuration can be changed later.
   */
  advertise(iface: NetworkInterface, config: AdvertiserConfig): RouterAdvertiser {
    this.forwarding = true;
    let adv = this.advertisers.get(iface.index);
    if (adv === undefined) {
      adv = new RouterAdvertiser(this.stack, this, iface, config);
      this.advertisers.set(iface.index, adv);
    } else {
      adv.configure(config);
    }
    return adv;
  }

  /** The advertiser of an interface, if it advertises. */
  advertiser(iface: NetworkInterface): RouterAdvertiser | undefined {
    return this.advertisers.get(iface.index);
  }

  // ---- addresses ----

  /**
   * Adds an address with its prefix to `iface`: tentative while DAD runs (or optimistic when
   * asked), then preferred, deprecated after the preferred lifetime, removed after the valid one.
   * Lifetimes are in milliseconds. Also adds the on-link route of the prefix.
   */
  addAddress(
    iface: NetworkInterface,
    addr: Ipv6Addr,
    prefixLen: number,
    options: Ipv6AddressOptions = {},
  ): Ipv6InterfaceAddress {
    return this.stack.run(() => {
      const valid = options.validLifetime ?? FOREVER.valid;
      const preferred = options.preferredLifetime ?? valid;
      const dad = (options.dad ?? true) && this.dadApplies(iface);
      const state = !dad ? 'preferred' : options.optimistic ? 'optimistic' : 'tentative';
      const entry = this.addresses.add(
        iface,
        addr,
        prefixLen,
        state,
        { valid, preferred },
        options.origin ?? 'manual',
        options.origin === 'temporary',
      );
      if (dad) this.dad.start(entry);
      else if (entry.preferredUntil <= this.stack.now()) this.addresses.setState(entry, 'deprecated');
      if ((options.onLinkRoute ?? prefixLen < 128) && !ipv6IsLinkLocal(addr))
        this.addOnLinkRoute(iface, addr, prefixLen);
      return entry;
    });
  }

  /** Removes an address (and, when no other address has its prefix, its on-link route). */
  removeAddress(iface: NetworkInterface, addr: Ipv6Addr): boolean {
    return this.stack.run(() => {
      const entry = this.addresses.find(addr, iface);
      return entry !== undefined && this.addresses.remove(entry);
    });
  }

  /** Every address, or those of one interface. */
  listAddresses(iface?: NetworkInterface): readonly Ipv6InterfaceAddress[] {
    return this.addresses.list(iface);
  }

  /** True when `addr` is one of our usable unicast addresses (any interface: weak host model). */
  isLocal(addr: Ipv6Addr): boolean {
    const a = this.addresses.find(addr);
    return a !== undefined && isUsable(a);
  }

  private dadApplies(iface: NetworkInterface): boolean {
    return this.dupAddrDetectTransmits > 0 && iface.link.kind === 'ethernet' && iface !== this.stack.loopback;
  }

  private addOnLinkRoute(iface: NetworkInterface, addr: Ipv6Addr, prefixLen: number): void {
    if (this.routes.find({ dest: addr, prefixLen, iface }) !== undefined) return;
    this.routes.add({ dest: addr, prefixLen, iface, metric: 256, origin: 'connected' });
  }

  private addressAdded(a: Ipv6InterfaceAddress): void {
    // RFC 4861 7.2.1 / RFC 4862 5.4.2: join the solicited-node group of every address, before DAD.
    if (a.iface !== this.stack.loopback) this.joinGroup(a.iface, ipv6SolicitedNode(a.addr));
  }

  private addressRemoved(a: Ipv6InterfaceAddress): void {
    if (a.iface !== this.stack.loopback) this.leaveGroup(a.iface, ipv6SolicitedNode(a.addr));
    this.dad.stop(a);
    const samePrefix = this.addresses
      .list(a.iface)
      .some((o) => o.prefixLen === a.prefixLen && sameNet(o.addr, a.addr, a.prefixLen));
    if (!samePrefix)
      this.routes.remove({ iface: a.iface, origin: 'connected', dest: a.addr, prefixLen: a.prefixLen });
  }

  // ---- protocols and groups ----

  /** Registers the handler of an upper-layer protocol (Next Header value). */
  register(nextHeader: number, handler: Ipv6Protocol): void {
    this.protocols[nextHeader] = handler;
  }

  /** Hands an ICMPv6 error about one of our packets to the protocol that sent it. */
  deliverError(protocol: number, report: Ipv6ErrorReport): void {
    this.protocols[protocol]?.error?.(report);
  }

  /** Joins a multicast group on an interface (reference counted, like IPV6_JOIN_GROUP). */
  joinGroup(iface: NetworkInterface, group: Ipv6Addr): void {
    if (!ipv6IsMulticast(group)) {
      throw Object.assign(new Error(`${ipv6ToString(group)} is not multicast`), { code: 'EINVAL' });
    }
    let map = this.groups.get(iface.index);
    if (map === undefined) {
      map = new Map();
      this.groups.set(iface.index, map);
    }
    const key = ipv6Key(group);
    const e = map.get(key);
    if (e !== undefined) {
      e.count++;
      return;
    }
    map.set(key, { group: group.slice(), count: 1 });
    for (const l of this.onMembershipChanged) l(iface, group, true);
  }

  /** Leaves a group joined with `joinGroup`. EADDRNOTAVAIL when not a member. */
  leaveGroup(iface: NetworkInterface, group: Ipv6Addr): void {
    const map = this.groups.get(iface.index);
    const key = ipv6Key(group);
    const e = map?.get(key);
    if (map === undefined || e === undefined) {
      throw Object.assign(new Error(`not a member of ${ipv6ToString(group)}`), { code: 'EADDRNOTAVAIL' });
    }
    if (--e.count > 0) return;
    map.delete(key);
    for (const l of this.onMembershipChanged) l(iface, group, false);
  }

  /** The groups joined on an interface (all-nodes and all-routers are implicit). */
  memberships(iface: NetworkInterface): Ipv6Addr[] {
    return [...(this.groups.get(iface.index)?.values() ?? [])].map((e) => e.group);
  }

  /** RFC 4291 2.8: every node is in all-nodes; a router also in all-routers. */
  isMember(iface: NetworkInterface, group: Ipv6Addr): boolean {
    if (equal16(group, ALL_NODES)) return true;
    if (this.forwardingOn && equal16(group, ALL_ROUTERS)) return true;
    return this.groups.get(iface.index)?.has(ipv6Key(group)) ?? false;
  }

  // ---- receive ----

  /** A packet from the link layer. `linkKind` says how the frame was addressed. */
  receive(iface: NetworkInterface, bytes: Uint8Array, linkKind: 'unicast' | 'broadcast' | 'multicast'): void {
    this.rxPackets.value++;
    const error = Ipv6View.check(bytes);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const packet = bytes.subarray(0, IPV6_HEADER_LEN + new Ipv6View(bytes).payloadLength);
    const ip = new Ipv6View(packet);
    const src = ip.srcBytes;
    const dst = ip.dstBytes;
    // RFC 4291 2.7: a multicast address is never a source.
    if (ipv6IsMulticast(src)) {
      this.drops.drop('bad-source');
      return;
    }
    // RFC 4291 2.5.3: ::1 never arrives from outside, as a source or a destination.
    const lo = iface === this.stack.loopback;
    if (!lo && (ipv6IsLoopback(src) || ipv6IsLoopback(dst))) {
      this.drops.drop('martian');
      return;
    }
    let kind: Ipv6DeliveryKind;
    if (ipv6IsMulticast(dst)) {
      // RFC 4291 2.7: scope 0 is reserved; interface-local multicast is loopback-only.
      const scope = multicastScope(dst);
      if (scope === 0 || (scope === SCOPE_INTERFACE && !lo)) {
        this.drops.drop('bad-multicast-scope');
        return;
      }
      if (!lo && !this.isMember(iface, dst)) {
        this.drops.drop('not-for-us');
        return;
      }
      kind = 'multicast';
    } else {
      const local = this.addresses.find(dst);
      if (local !== undefined && isUsable(local)) {
        kind = 'unicast';
      } else if (local !== undefined) {
        // RFC 4862 5.4: packets to a tentative (or duplicate) address are discarded.
        this.drops.drop('tentative-destination');
        return;
      } else if (this.forwardingOn && linkKind === 'unicast' && !lo) {
        this.forward(iface, ip);
        return;
      } else {
        this.drops.drop('not-for-us');
        return;
      }
    }
    this.process(iface, ip, kind);
  }

  /** `fragmented`: `ip` was reassembled from fragments. */
  private process(iface: NetworkInterface, ip: Ipv6View, kind: Ipv6DeliveryKind, fragmented = false): void {
    const verdict = processExtensionHeaders(ip.bytes, kind === 'multicast');
    switch (verdict.kind) {
      case 'drop':
        this.drops.drop(verdict.reason);
        if (verdict.problem !== undefined) {
          this.icmp.sendError(ip, ICMPV6_PARAMETER_PROBLEM, verdict.problem.code, {
            pointer: verdict.problem.pointer,
            evenToMulticast: verdict.problem.evenToMulticast,
          });
        }
        return;
      case 'fragment':
        this.reassemble(iface, ip, verdict, kind);
        return;
      case 'upper':
        this.deliver(iface, ip, verdict, kind, fragmented);
    }
  }

  private deliver(
    iface: NetworkInterface,
    ip: Ipv6View,
    v: Extract<ExtVerdict, { kind: 'upper' }>,
    kind: Ipv6DeliveryKind,
    fragmented: boolean,
  ): void {
    if (v.protocol === NH_NO_NEXT_HEADER) {
      this.drops.drop('no-next-header');
      return;
    }
    const handler = this.protocols[v.protocol];
    if (handler === undefined) {
      this.drops.drop('unknown-next-header');
      // RFC 8200 4: Parameter Problem code 1 pointing at the Next Header value that named it.
      this.icmp.sendError(ip, ICMPV6_PARAMETER_PROBLEM, PARAM_UNRECOGNIZED_NEXT_HEADER, {
        pointer: v.nextHeaderAt,
      });
      return;
    }
    // RFC 6980 5: Neighbor Discovery in a packet that had a Fragment header is silently ignored
    // (SEND's CPS and CPA, types 148 and 149, are not covered).
    if (
      (fragmented || v.atomicFragment) &&
      v.protocol === IP_PROTOCOL_ICMPV6 &&
      isNeighborDiscovery(ip.bytes[v.offset])
    ) {
      this.drops.drop('fragmented-nd');
      return;
    }
    this.rxDelivered.value++;
    handler.receive({
      iface,
      ip,
      src: ip.src,
      dst: ip.dst,
      payload: ip.bytes.subarray(v.offset),
      kind,
      routerAlert: v.routerAlert,
    });
  }

  /** RFC 8200 4.5: checks a fragment, then hands it to reassembly; a completed packet is processed again. */
  private reassemble(
    iface: NetworkInterface,
    ip: Ipv6View,
    v: Extract<ExtVerdict, { kind: 'fragment' }>,
    kind: Ipv6DeliveryKind,
  ): void {
    this.fragmentsReceived.value++;
    const f = v.fragment;
    const dataAt = v.headerAt + FRAGMENT_HEADER_LEN;
    const data = ip.bytes.subarray(dataAt);
    // RFC 8200 4.5: a fragment other than the last must carry a multiple of 8 octets (pointer at
    // the Payload Length), and no fragment may end past 65535 (pointer at the Fragment Offset).
    if (f.more && (data.length === 0 || data.length % 8 !== 0)) {
      this.drops.drop('fragment-length');
      this.icmp.sendError(ip, ICMPV6_PARAMETER_PROBLEM, PARAM_ERRONEOUS_FIELD, { pointer: 4 });
      return;
    }
    if (f.offset + data.length > IPV6_MAX_PAYLOAD) {
      this.drops.drop('fragment-too-big');
      this.icmp.sendError(ip, ICMPV6_PARAMETER_PROBLEM, PARAM_ERRONEOUS_FIELD, { pointer: v.headerAt + 2 });
      return;
    }
    // RFC 8200 4.5 / RFC 7112 5: the first fragment holds the whole header chain.
    if (f.offset === 0) {
      const chain = walkExtensionHeaders(f.nextHeader, data);
      if (!chain.ok && chain.error === 'truncated') {
        this.drops.drop('incomplete-chain');
        this.icmp.sendError(ip, ICMPV6_PARAMETER_PROBLEM, PARAM_INCOMPLETE_CHAIN, { pointer: 0 });
        return;
      }
    }
    const key = `${ipv6Key(ip.srcBytes)}|${ipv6Key(ip.dstBytes)}|${f.identification}`;
    const whole = this.reassembler.insert(key, f.offset, f.more, data, ip.bytes.subarray(0, dataAt));
    if (whole === undefined) return;
    this.reassembled.value++;
    this.process(iface, new Ipv6View(rebuild(whole.firstHeader, whole.payload)), kind, true);
  }

  // ---- forwarding (RFC 8200, RFC 4443 errors) ----

  private forward(iface: NetworkInterface, ip: Ipv6View): void {
    const src = ip.srcBytes;
    const dst = ip.dstBytes;
    if (ipv6IsUnspecified(src)) {
      this.drops.drop('bad-source');
      return;
    }
    // RFC 4291 2.5.6: routers never forward packets with a link-local source or destination.
    if (ipv6IsLinkLocal(src) || ipv6IsLinkLocal(dst)) {
      this.drops.drop('beyond-scope');
      if (!ipv6IsLinkLocal(dst)) this.icmp.sendError(ip, ICMPV6_DEST_UNREACHABLE, UNREACH_BEYOND_SCOPE);
      return;
    }
    // RFC 8200 3 / RFC 4443 3.3: a packet whose hop limit would reach zero is discarded.
    if (ip.hopLimit <= 1) {
      this.drops.drop('hop-limit-exceeded');
      this.icmp.sendError(ip, ICMPV6_TIME_EXCEEDED, TIME_EXCEEDED_HOP_LIMIT);
      return;
    }
    const hop = this.routes.lookup(dst, undefined, (r) => this.routerUsable(r));
    if (hop === undefined) {
      this.drops.drop('no-route');
      this.icmp.sendError(ip, ICMPV6_DEST_UNREACHABLE, UNREACH_NO_ROUTE);
      return;
    }
    // RFC 8200 5: routers never fragment; RFC 4443 3.2: Packet Too Big with the next link's MTU.
    const mtu = this.linkMtu(hop.iface);
    if (ip.bytes.length > mtu) {
      this.drops.drop('packet-too-big');
      this.icmp.sendError(ip, ICMPV6_PACKET_TOO_BIG, 0, { mtu });
      return;
    }
    // RFC 4861 8.2: back out of the link it came from: tell the sender, and forward it anyway.
    if (hop.iface === iface) this.redirects.consider(iface, ip, hop);
    const pb = PacketBuffer.from(ip.bytes, MAX_HEADROOM);
    pb.buf[pb.start + 7]!--;
    this.forwarded.value++;
    this.linkOutput(hop.iface, hop.nextHop, pb);
  }

  /** RFC 4861 6.3.6: a router whose neighbor entry is INCOMPLETE or FAILED is avoided. */
  private routerUsable(r: Ipv6Route): boolean {
    if (r.gateway === undefined) return true;
    const state = this.ndp.table.lookup(r.iface, r.gateway)?.state;
    return state !== 'incomplete' && state !== 'failed';
  }

  // ---- send ----

  /**
   * Chooses the interface, next hop and source address (RFC 6724 5) for `dst`. `iface` restricts
   * the choice (SO_BINDTODEVICE, IPV6_MULTICAST_IF, the scope of a link-local address); `src` is
   * a bound address. Link-scope destinations need an interface when there is more than one link.
   */
  route(dst: Ipv6Addr, options: { iface?: NetworkInterface; src?: Ipv6Addr } = {}): Ipv6Path | Ipv6SendError {
    const src = options.src !== undefined && !ipv6IsUnspecified(options.src) ? options.src : undefined;
    const bound = src === undefined ? undefined : this.addresses.find(src);
    if (src !== undefined && (bound === undefined || !isUsable(bound))) return 'EADDRNOTAVAIL';
    if (this.isLocal(dst)) {
      const lo = this.stack.loopback;
      return { iface: lo, nextHop: dst, src: src ?? dst, mtu: lo.mtu };
    }
    let iface = options.iface;
    if (iface === undefined && needsInterface(dst)) {
      if (
        bound !== undefined &&
        bound.iface !== this.stack.loopback &&
        addressScope(bound.addr) <= SCOPE_LINK
      ) {
        iface = bound.iface;
      } else if (ipv6IsMulticast(dst)) {
        iface = this.routes.lookup(dst)?.iface ?? this.soleLink();
      } else {
        iface = this.soleLink();
        if (iface === undefined) return 'EINVAL';
      }
    }
    let out: NetworkInterface;
    let nextHop: Ipv6Addr;
    if (ipv6IsMulticast(dst) || (ipv6IsLinkLocal(dst) && iface !== undefined)) {
      if (iface === undefined) return 'ENETUNREACH';
      out = iface;
      nextHop = dst;
    } else {
      const hop = this.routes.lookup(dst, iface, (r) => this.routerUsable(r));
      if (hop === undefined) return 'ENETUNREACH';
      out = hop.iface;
      nextHop = hop.nextHop;
    }
    const from = src ?? this.sourceFor(dst, out);
    if (from === undefined) return 'EADDRNOTAVAIL';
    return { iface: out, nextHop, src: from, mtu: this.pmtu.get(dst, this.linkMtu(out)) };
  }

  /** The best usable source address for `dst` leaving by `out` (RFC 6724 5). */
  sourceFor(dst: Ipv6Addr, out: NetworkInterface): Ipv6Addr | undefined {
    const wide = addressScope(dst) > SCOPE_LINK;
    const candidates = this.addresses
      .list()
      .filter(
        (a) =>
          isUsable(a) &&
          a.iface !== this.stack.loopback &&
          (a.iface === out || (wide && addressScope(a.addr) > SCOPE_LINK)),
      );
    return selectSource(dst, candidates, { outIface: out, preferTemporary: this.useTemporaryAddresses })
      ?.addr;
  }

  /** The only interface other than lo, when there is exactly one. */
  private soleLink(): NetworkInterface | undefined {
    const links = this.stack.listInterfaces().filter((i) => i !== this.stack.loopback && i.up);
    return links.length === 1 ? links[0] : undefined;
  }

  /**
   * RFC 6437 3: a flow label from a keyed hash of the flow's addresses, protocol and ports, never 0
   * for a flow, not predictable without the key.
   */
  flowLabel(src: Ipv6Addr, dst: Ipv6Addr, nextHeader: number, srcPort = 0, dstPort = 0): number {
    const words: number[] = [nextHeader, (srcPort << 16) | dstPort];
    for (let i = 0; i < 16; i += 4) {
      words.push((src[i]! << 24) | (src[i + 1]! << 16) | (src[i + 2]! << 8) | src[i + 3]!);
      words.push((dst[i]! << 24) | (dst[i + 1]! << 16) | (dst[i + 2]! << 8) | dst[i + 3]!);
    }
    this.flowKey ??= randomHashKey(this.stack.env.rng);
    return keyedHash(this.flowKey, words) & 0xfffff || 1;
  }

  /**
   * Sends the upper-layer payload in `pb` along `path`: prepends the extension headers and the
   * IPv6 header, fragments at the source when the packet exceeds the path MTU (RFC 8200 4.5,
   * unless `dontFragment`), and hands it to the link.
   */
  send(path: Ipv6Path, params: Ipv6SendParams, pb: PacketBuffer): Ipv6SendError | undefined {
    return this.output(path, params, pb, undefined);
  }

  /** `send` straight to a known link address, without resolution (NDP's unicast probes). */
  sendToNeighbor(
    path: Ipv6Path,
    params: Ipv6SendParams,
    pb: PacketBuffer,
    mac: MacAddr,
  ): Ipv6SendError | undefined {
    return this.output(path, params, pb, mac);
  }

  private output(
    path: Ipv6Path,
    params: Ipv6SendParams,
    pb: PacketBuffer,
    mac: MacAddr | undefined,
  ): Ipv6SendError | undefined {
    const dst = params.dst;
    const multicast = ipv6IsMulticast(dst);
    const hopLimit = params.hopLimit ?? (multicast ? 1 : this.hopLimitOf(path.iface));
    const hbh = params.hopByHop;
    const hbhLen = hbh === undefined ? 0 : optionsHeaderLength(hbh);
    if (hbhLen + pb.length > IPV6_MAX_PAYLOAD) return 'EMSGSIZE';
    const flowLabel = params.flowLabel ?? this.flowLabel(path.src, dst, params.nextHeader);
    const header = {
      src: path.src,
      dst,
      hopLimit,
      trafficClass: params.trafficClass ?? 0,
      flowLabel,
    };
    const mtu = Math.max(IPV6_MIN_MTU, path.mtu);
    this.txPackets.value++;
    if (IPV6_HEADER_LEN + hbhLen + pb.length <= mtu) {
      if (hbh !== undefined) emitOptionsHeader(pb, params.nextHeader, hbh);
      emitIpv6(pb, { ...header, nextHeader: hbh !== undefined ? NH_HOP_BY_HOP : params.nextHeader });
      if (params.multicastLoop && multicast && this.isMember(path.iface, dst)) {
        this.stack.loopback.enqueue(pb.bytes().slice());
      }
      this.linkOutput(path.iface, path.nextHop, pb, mac);
      return undefined;
    }
    if (params.dontFragment) return 'EMSGSIZE';
    // RFC 8200 4.5: the unfragmentable part (IPv6 and Hop-by-Hop headers) goes in every fragment;
    // each fragment but the last carries a multiple of 8 octets; one unpredictable identification
    // (RFC 7739) for the whole packet.
    const data = pb.bytes();
    const room = (mtu - IPV6_HEADER_LEN - hbhLen - FRAGMENT_HEADER_LEN) & ~7;
    const identification = this.stack.env.rng.nextU32();
    for (let offset = 0; offset < data.length; offset += room) {
      const size = Math.min(room, data.length - offset);
      const more = offset + size < data.length;
      const frag = PacketBuffer.from(data.subarray(offset, offset + size), MAX_HEADROOM + hbhLen);
      emitFragmentHeader(frag, { nextHeader: params.nextHeader, offset, more, identification });
      if (hbh !== undefined) emitOptionsHeader(frag, NH_FRAGMENT, hbh);
      emitIpv6(frag, { ...header, nextHeader: hbh !== undefined ? NH_HOP_BY_HOP : NH_FRAGMENT });
      this.fragmentsSent.value++;
      this.linkOutput(path.iface, path.nextHop, frag, mac);
    }
    return undefined;
  }

  /** Hands a finished IPv6 packet to the link of `iface`. */
  private linkOutput(iface: NetworkInterface, nextHop: Ipv6Addr, pb: PacketBuffer, mac?: MacAddr): void {
    if (iface.link.kind !== 'ethernet') {
      iface.enqueue(pb.bytes());
      return;
    }
    if (mac !== undefined) this.stack.ethernet.output(iface, mac, ETHERTYPE_IPV6, pb);
    else if (ipv6IsMulticast(nextHop))
      this.stack.ethernet.output(iface, ipv6MulticastMac(nextHop), ETHERTYPE_IPV6, pb);
    else this.ndp.output(iface, nextHop, pb);
  }

  private reassemblyTimedOut(header: Uint8Array, data: Uint8Array): void {
    // RFC 8200 4.5: Time Exceeded code 1 quoting the first fragment, only when it was received.
    const quoted = new Uint8Array(header.length + data.length);
    quoted.set(header);
    quoted.set(data, header.length);
    if (Ipv6View.check(quoted) !== undefined) return;
    this.icmp.sendError(new Ipv6View(quoted), ICMPV6_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY);
  }

  /** Reassembly state, for tests and reports. */
  get reassembly(): { datagrams: number; bytes: number } {
    return this.reassembler.usage;
  }
}

const FOREVER = { valid: Number.POSITIVE_INFINITY, preferred: Number.POSITIVE_INFINITY };

/** ICMPv6 types 133 to 137: RS, RA, NS, NA, Redirect (RFC 4861 4). */
function isNeighborDiscovery(type: number | undefined): boolean {
  return type !== undefined && type >= ICMPV6_ROUTER_SOLICITATION && type <= ICMPV6_REDIRECT;
}

function equal16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameNet(a: Ipv6Addr, b: Ipv6Addr, len: number): boolean {
  for (let bit = 0; bit < len; bit += 8) {
    const n = Math.min(8, len - bit);
    const mask = (0xff << (8 - n)) & 0xff;
    if (((a[bit >> 3]! ^ b[bit >> 3]!) & mask) !== 0) return false;
  }
  return true;
}

/**
 * Builds the whole packet from the first fragment's headers (fixed header, unfragmentable
 * extension headers, Fragment header) and the reassembled data: the Fragment header goes, the
 * header before it names what followed it, and the payload length is set.
 */
function rebuild(firstHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  const unfragmentable = firstHeader.length - FRAGMENT_HEADER_LEN;
  const out = new Uint8Array(unfragmentable + payload.length);
  out.set(firstHeader.subarray(0, unfragmentable));
  out.set(payload, unfragmentable);
  let nextHeaderAt = FIXED_NEXT_HEADER;
  let offset = IPV6_HEADER_LEN;
  while (offset < unfragmentable) {
    const h = extHeaderAt(out[nextHeaderAt]!, out.subarray(0, unfragmentable), offset);
    if (!h.ok) break;
    nextHeaderAt = offset;
    offset += h.value.bytes.length;
  }
  out[nextHeaderAt] = firstHeader[unfragmentable]!;
  const length = out.length - IPV6_HEADER_LEN;
  out[4] = length >>> 8;
  out[5] = length & 0xff;
  return out;
}
