/**
 * TCP in the stack (`stack.tcp`): the protocol handler for IPv4 protocol 6 and IPv6 Next Header 6
 * (`v6`). It checks and parses segments, finds their connection or listener (demux.ts), answers
 * segments for no connection with a RST and keeps no state for them (RFC 9293 3.10.7.1), takes
 * ICMP and ICMPv6 errors to the connection they concern (RFC 5927, RFC 1122 4.2.3.9, RFC 8201),
 * and opens connections (`listen`, `connect`) of either family: an IPv6 socket is dual-stack
 * unless `v6Only` (RFC 3493 3.7), seeing IPv4 peers as `::ffff:a.b.c.d` (RFC 4291 2.5.5.2).
 */
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  type Ipv6Addr,
  ipv4IsMulticast,
  ipv6IsMulticast,
  ipv6IsUnspecified,
} from '../../wire/address.ts';
import { readU16, readU32 } from '../../wire/bytes.ts';
import {
  ICMPV4_DEST_UNREACHABLE,
  UNREACH_FRAG_NEEDED,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
} from '../../wire/icmpv4.ts';
import {
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  PARAM_UNRECOGNIZED_NEXT_HEADER,
  UNREACH_PORT as UNREACH6_PORT,
} from '../../wire/icmpv6.ts';
import { IPV6_MIN_MTU } from '../../wire/ipv6.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../wire/packet-buffer.ts';
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpError, TcpView } from '../../wire/tcp.ts';
import { parseTcpOptions, type TcpOptions } from '../../wire/tcp-options.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { errno, icmpv4Errno } from '../errno.ts';
import type { Ipv4ErrorReport, Ipv4Packet, Ipv4Protocol } from '../ip/ipv4-types.ts';
import {
  type IpAddr,
  type IpFamily,
  ipAny,
  ipAsV4,
  ipFamily,
  ipForFamily,
  ipIsUnspecified,
  ipToString,
  ipWords,
  isV4Mapped,
} from '../ip-address.ts';
import { icmpv6Errno } from '../ip6/icmpv6.ts';
import type { Ipv6ErrorReport, Ipv6Packet, Ipv6Protocol } from '../ip6/ipv6-types.ts';
import { type HashKey, keyedHash, randomHashKey } from '../keyed-hash.ts';
import type { Stack } from '../stack.ts';
import { MINUTE } from '../time.ts';
import { TokenBucket } from '../token-bucket.ts';
import { EphemeralPorts } from '../udp/ephemeral-ports.ts';
import {
  type CongestionControl,
  createCongestionControl,
  DEFAULT_CONGESTION_CONTROL,
} from './congestion/controller.ts';
import { ConnectionTable, ListenerTable } from './demux.ts';
import type { FourTuple } from './four-tuple.ts';
import { negotiate, segmentArrives, updateMss } from './input.ts';
import { IsnGenerator } from './isn.ts';
import { type ListenOptions, TcpListener } from './listener.ts';
import { output, routeOf, sendRst, sendSyn } from './output.ts';
import { startRecoveryState } from './recovery.ts';
import { mssForMtu, pathFamily, replyScope, routeTcp, type TcpPath, transmit } from './route.ts';
import { hasAck, hasRst, hasSyn, type Segment, segLen } from './segment.ts';
import { seqAdd, seqGe, seqGt, seqLt } from './seq.ts';
import { ESTABLISHED, SYN_SENT, synReceived } from './state.ts';
import { decodeCookieTsecr, encodeCookieTsval, SynCookies, synCookieMssIndex } from './syn-cookies.ts';
import { DEFAULT_MSS, DEFAULT_MSS_V6, MAX_RECEIVE_BUFFER, Tcb } from './tcb.ts';
import { TcpSocket } from './tcp-socket.ts';
import { TcpTimers } from './timers.ts';

export type TcpDropReason =
  | TcpError
  | 'bad-checksum'
  | 'not-unicast'
  | 'bad-source'
  | 'bad-destination'
  | 'bad-ack'
  | 'rst-without-ack'
  | 'no-syn'
  | 'paws'
  | 'out-of-window'
  | 'zero-window'
  | 'rst-out-of-window'
  | 'rst-challenged'
  | 'syn-challenged'
  | 'ack-challenged'
  | 'no-ack'
  | 'listen-rst'
  | 'listen-no-syn'
  | 'no-connection'
  | 'icmp-unknown'
  | 'icmp-out-of-window';

export interface ConnectOptions {
  /** The peer, in the socket's family (an IPv4-mapped one on an IPv6 socket goes over IPv4). */
  address: IpAddr;
  port: number;
  /** 4 or 6; default: the family `address` is written in. */
  family?: IpFamily;
  /** IPV6_V6ONLY: an IPv6 socket that may not reach IPv4-mapped peers (ENETUNREACH). */
  v6Only?: boolean;
  localAddress?: IpAddr;
  localPort?: number;
  /** SO_BINDTODEVICE: the connection sends and receives on this interface only. */
  device?: NetworkInterface;
  /** The scope (interface) of a link-local IPv6 peer, as a sockaddr_in6's scope id. */
  scope?: NetworkInterface;
  noDelay?: boolean;
  congestionControl?: string;
}

/** The counters of the TCP layer (nstat's Tcp* and TcpExt* in spirit). */
export interface TcpCounters {
  drops: DropCounters<TcpDropReason>;
  segmentsIn: Counter;
  segmentsSent: Counter;
  resetsSent: Counter;
  resetsReceived: Counter;
  established: Counter;
  challengeAcks: Counter;
  challengeAcksLimited: Counter;
  cookiesSent: Counter;
  cookiesValid: Counter;
  cookiesFailed: Counter;
  listenOverflows: Counter;
  oooDropped: Counter;
  keepalives: Counter;
  windowProbes: Counter;
  noRoute: Counter;
  timeWaitReused: Counter;
  pmtuUpdates: Counter;
  /** Retransmission timeouts (TcpExtTCPTimeouts). */
  timeouts: Counter;
  /** Tail loss probes sent, and those that repaired a loss (RFC 8985 7). */
  tlpProbes: Counter;
  tlpRecoveries: Counter;
  /** Segments RACK deemed lost, and reordering timeouts run (RFC 8985 6). */
  rackLost: Counter;
  reorderTimeouts: Counter;
  /** Segments merged into the previous one at the bound of RACK's segment list. */
  rackCoalesced: Counter;
  /** SACK ranges the scoreboard forgot at its bound. */
  sackRangesDropped: Counter;
  /** Segments taken by header prediction (Linux's TcpExtTCPHPHits, with the pure ACKs). */
  predicted: Counter;
  /** Connections refused because the table was full, and TIME-WAITs cut short at their bound. */
  connectionsRefused: Counter;
  timeWaitOverflows: Counter;
}

/** Default bounds of the connection table and of the connections in TIME-WAIT. */
export const DEFAULT_MAX_CONNECTIONS = 65536;
export const DEFAULT_MAX_TIME_WAIT = 32768;

/** The window scale we offer: enough for the largest receive buffer auto-tuning reaches. */
function windowScaleFor(bytes: number): number {
  let shift = 0;
  while (shift < 14 && 0xffff << shift < bytes) shift++;
  return shift;
}

export class TcpLayer implements Ipv4Protocol {
  /** What the IPv6 layer calls (registered for Next Header 6 by the stack). */
  readonly v6: Ipv6Protocol = {
    receive: (p) => this.receive6(p),
    error: (r) => this.error6(r),
  };
  /** Maximum segment lifetime: 60 s, so TIME-WAIT (2 MSL, MUST-13) lasts 2 minutes; configurable. */
  msl = MINUTE;
  /** The algorithm new connections use. */
  congestionControl: string = DEFAULT_CONGESTION_CONTROL;
  /** Whether new connections offer SACK (RFC 2018), and so use RACK-TLP (as Linux's tcp_sack). */
  sack = true;
  /**
   * The most connection blocks held, TIME-WAIT included: beyond it `connect` throws ENOBUFS and
   * SYNs (and cookie ACKs) are dropped, counted in `tcp.connections.refused`.
   */
  maxConnections = DEFAULT_MAX_CONNECTIONS;
  /**
   * The most connections in TIME-WAIT (as Linux's tcp_max_tw_buckets): one more ends its TIME-WAIT
   * at once, counted in `tcp.time-wait.overflows`.
   */
  maxTimeWait = DEFAULT_MAX_TIME_WAIT;
  private timeWaitCount = 0;
  readonly timers = new TcpTimers(this);
  readonly counters: TcpCounters;
  readonly ports: EphemeralPorts;
  /** RFC 5961 7: challenge ACKs per second, as Linux's tcp_challenge_ack_limit (1000). */
  readonly challengeAcks: TokenBucket;
  readonly rcvWscale = windowScaleFor(MAX_RECEIVE_BUFFER);
  private readonly connections = new ConnectionTable<Tcb>();
  private readonly listeners = new ListenerTable<TcpListener<IpAddr>>();
  private readonly isn: IsnGenerator;
  private readonly cookies: SynCookies;
  /** Key of the per-connection timestamp offsets (RFC 7323 5.4), also right for cookie connections. */
  private readonly tsKey: HashKey;

  constructor(readonly stack: Stack) {
    const c = stack.counters;
    this.counters = {
      drops: c.drops('tcp.rx.drop'),
      segmentsIn: c.get('tcp.rx.segments'),
      segmentsSent: c.get('tcp.tx.segments'),
      resetsSent: c.get('tcp.tx.resets'),
      resetsReceived: c.get('tcp.rx.resets'),
      established: c.get('tcp.established'),
      challengeAcks: c.get('tcp.tx.challenge-acks'),
      challengeAcksLimited: c.get('tcp.tx.challenge-acks-limited'),
      cookiesSent: c.get('tcp.syncookies.sent'),
      cookiesValid: c.get('tcp.syncookies.valid'),
      cookiesFailed: c.get('tcp.syncookies.failed'),
      listenOverflows: c.get('tcp.listen.overflows'),
      oooDropped: c.get('tcp.rx.ooo-dropped'),
      keepalives: c.get('tcp.tx.keepalives'),
      windowProbes: c.get('tcp.tx.window-probes'),
      noRoute: c.get('tcp.tx.no-route'),
      timeWaitReused: c.get('tcp.time-wait.reused'),
      pmtuUpdates: c.get('tcp.pmtu.updates'),
      timeouts: c.get('tcp.timeouts'),
      tlpProbes: c.get('tcp.tlp.probes'),
      tlpRecoveries: c.get('tcp.tlp.recoveries'),
      rackLost: c.get('tcp.rack.lost'),
      reorderTimeouts: c.get('tcp.rack.reorder-timeouts'),
      rackCoalesced: c.get('tcp.rack.coalesced'),
      sackRangesDropped: c.get('tcp.sack.ranges-dropped'),
      predicted: c.get('tcp.rx.predicted'),
      connectionsRefused: c.get('tcp.connections.refused'),
      timeWaitOverflows: c.get('tcp.time-wait.overflows'),
    };
    const rng = stack.env.rng;
    this.isn = new IsnGenerator(rng);
    this.cookies = new SynCookies(rng);
    this.tsKey = randomHashKey(rng);
    this.ports = new EphemeralPorts(rng);
    this.challengeAcks = new TokenBucket(1000, 1000, stack.now());
  }

  // ---- user calls ----

  /**
   * Passive OPEN: a listener on `port` (EADDRINUSE when it overlaps another listener's addresses,
   * see demux.ts). `family` defaults to the address's, else 4; an IPv6 listener on `::` takes IPv4
   * connections too unless `v6Only`; one on `::ffff:a.b.c.d` is an IPv4 listener of `a.b.c.d`.
   */
  listen(options: ListenOptions & { address?: Ipv4Addr; family?: 4 }): TcpListener<Ipv4Addr>;
  listen(options: ListenOptions & { family: 6 }): TcpListener<Ipv6Addr>;
  listen(options: ListenOptions): TcpListener<IpAddr>;
  listen(options: ListenOptions): TcpListener<IpAddr> {
    const { port } = options;
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw errno('EINVAL', `bad port ${port}`);
    const family = this.familyOf(options.family, options.address);
    const address = options.address === undefined ? ipAny(family) : ipForFamily(options.address, family);
    if (address === undefined) throw errno('EINVAL', 'an IPv6 address on an IPv4 socket');
    const v6Only = options.v6Only ?? false;
    if (v6Only && (family !== 6 || isV4Mapped(address as Ipv6Addr))) {
      throw errno('EINVAL', 'IPV6_V6ONLY on an IPv4 address');
    }
    if (!this.isLocalAddress(address)) throw errno('EADDRNOTAVAIL', 'address is not local');
    const bound = { family, v6Only, address, port, device: options.device };
    if (this.listeners.conflicts(bound)) throw errno('EADDRINUSE', `port ${port} in use`);
    const l = new TcpListener<IpAddr>(this, { ...options, ...bound });
    this.listeners.add(l);
    return l;
  }

  /** The family of a socket: as asked (4 or 6), else the address's, else 4; EAFNOSUPPORT without IPv6. */
  private familyOf(asked: IpFamily | undefined, address: IpAddr | undefined): IpFamily {
    const family = asked ?? (address !== undefined ? ipFamily(address) : 4);
    if (family !== 4 && family !== 6) throw errno('EINVAL', `bad family ${String(family)}`);
    if (family === 6 && this.stack.ipv6 === undefined) throw errno('EAFNOSUPPORT', 'the stack has no IPv6');
    return family;
  }

  /** Whether a listener may bind `a`: a wildcard, one of our addresses, or IPv4 loopback. */
  private isLocalAddress(a: IpAddr): boolean {
    if (ipIsUnspecified(a)) return true;
    const v4 = ipAsV4(a);
    if (v4 !== undefined) return this.stack.ipv4.isLocal(v4) || v4 >>> 24 === 127;
    return this.stack.ipv6?.isLocal(a as Ipv6Addr) === true;
  }

  /**
   * Active OPEN: sends a SYN; the socket's `onConnect` or `onClose(err)` tells the outcome. An
   * IPv6 socket reaches an IPv4-mapped address over IPv4 (RFC 3493 3.7) unless `v6Only`.
   */
  connect(options: ConnectOptions & { address: Ipv4Addr; family?: 4 }): TcpSocket<Ipv4Addr>;
  connect(options: ConnectOptions & { family: 6 }): TcpSocket<Ipv6Addr>;
  connect(options: ConnectOptions): TcpSocket<IpAddr>;
  connect(options: ConnectOptions): TcpSocket<IpAddr> {
    return this.stack.run(() => {
      const { port } = options;
      if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw errno('EINVAL', `bad port ${port}`);
      const family = this.familyOf(options.family, options.address);
      const target = ipForFamily(options.address, family);
      if (target === undefined) throw errno('EINVAL', 'an IPv6 address on an IPv4 socket');
      // The peer as on the wire: IPv4 for an IPv4 or IPv4-mapped address.
      const address = ipAsV4(target) ?? target;
      if (typeof address === 'number' && typeof target !== 'number' && options.v6Only) {
        throw errno('ENETUNREACH', 'IPV6_V6ONLY socket and an IPv4-mapped peer');
      }
      // MUST-46: no OPEN to a broadcast or multicast address (nor to the unspecified one).
      if (
        typeof address === 'number'
          ? address === 0 ||
            address === IPV4_BROADCAST ||
            ipv4IsMulticast(address) ||
            this.stack.ipv4.isDirectedBroadcast(address)
          : ipv6IsUnspecified(address) || ipv6IsMulticast(address)
      ) {
        throw errno('EINVAL', 'not a unicast address');
      }
      const { device, scope } = options;
      if (device !== undefined && scope !== undefined && scope !== device) {
        throw errno('EINVAL', `scope ${scope.name} is not the bound device ${device.name}`);
      }
      const iface = device ?? scope;
      const bound =
        options.localAddress === undefined ? undefined : this.wireLocal(options.localAddress, address);
      if (!this.hasRoom()) throw errno('ENOBUFS', 'too many connections');
      const path = routeTcp(this.stack, address, bound, iface);
      if (typeof path === 'string') {
        const why = path === 'EINVAL' ? ': a link-local peer needs a scope (interface)' : '';
        throw errno(path, `no route to ${ipToString(address)}${why}`);
      }
      // MUST-44: the source address comes from IP when the user gave none.
      const local = path.src;
      let localPort = options.localPort ?? 0;
      if (localPort !== 0) {
        if (this.connections.has(local, localPort, address, port))
          throw errno('EADDRINUSE', 'connection exists');
      } else {
        const chosen = this.ports.forConnection(
          local,
          address,
          port,
          (p) => !this.connections.has(local, p, address, port) && !this.listeners.hasPort(p),
        );
        if (chosen === undefined) throw errno('EADDRNOTAVAIL', 'no free ephemeral port');
        localPort = chosen;
      }
      const tcb = this.newTcb(local, localPort, address, port, options.congestionControl);
      tcb.family = family;
      tcb.device = iface;
      usePath(tcb, path);
      tcb.noDelay = options.noDelay ?? false;
      const iss = this.isn.isn(tupleOf(tcb), this.stack.now());
      startSend(tcb, iss);
      tcb.setState(SYN_SENT);
      this.connections.set(local, localPort, address, port, tcb);
      const socket = new TcpSocket<IpAddr>(this, tcb);
      sendSyn(tcb);
      return socket;
    });
  }

  /**
   * A bound local address in the family of the wire address `remote`: IPv4 (or mapped, or `::`)
   * towards IPv4; IPv6 (not mapped) towards IPv6; undefined for a wildcard. EINVAL otherwise.
   */
  private wireLocal(local: IpAddr, remote: IpAddr): IpAddr | undefined {
    if (ipIsUnspecified(local)) return undefined;
    const v4 = ipAsV4(local);
    if (typeof remote === 'number' && v4 !== undefined) return v4;
    if (typeof remote !== 'number' && v4 === undefined) return local;
    throw errno('EINVAL', "the local address is not of the peer's family");
  }

  // ---- the IP protocol handlers ----

  receive(packet: Ipv4Packet): void {
    const drops = this.counters.drops;
    this.counters.segmentsIn.value++;
    // RFC 9293 3.9.2 (MUST-57): segments to a broadcast or multicast address are discarded.
    if (packet.kind !== 'unicast') {
      drops.drop('not-unicast');
      return;
    }
    // MUST-63: a segment from an address that is not a single host is dropped.
    const src = packet.src;
    if (
      src === 0 ||
      src === IPV4_BROADCAST ||
      ipv4IsMulticast(src) ||
      this.stack.ipv4.isDirectedBroadcast(src)
    ) {
      drops.drop('bad-source');
      return;
    }
    const view = this.check(packet.payload);
    if (view === undefined) return;
    // MUST-3: the checksum is verified (unless the link cannot corrupt and says so).
    if (!packet.iface.link.capabilities?.noChecksums && !view.verifyV4(src, packet.dst)) {
      drops.drop('bad-checksum');
      return;
    }
    this.parse(view, src, packet.dst, packet.iface);
  }

  /** A segment over IPv6 (RFC 8200 8.1: the checksum covers the IPv6 pseudo-header). */
  private receive6(packet: Ipv6Packet): void {
    const drops = this.counters.drops;
    this.counters.segmentsIn.value++;
    if (packet.kind !== 'unicast') {
      drops.drop('not-unicast');
      return;
    }
    // MUST-63 over IPv6: the source must be one host: not unspecified, not multicast, and not
    // IPv4-mapped (RFC 4291 2.5.5.2: never on the wire; a forged one would pose as an IPv4 peer).
    const { src, dst } = packet;
    if (ipv6IsUnspecified(src) || ipv6IsMulticast(src) || isV4Mapped(src)) {
      drops.drop('bad-source');
      return;
    }
    if (ipv6IsUnspecified(dst) || isV4Mapped(dst)) {
      drops.drop('bad-destination');
      return;
    }
    const view = this.check(packet.payload);
    if (view === undefined) return;
    if (!packet.iface.link.capabilities?.noChecksums && !view.verifyV6(src, dst)) {
      drops.drop('bad-checksum');
      return;
    }
    this.parse(view, src, dst, packet.iface);
  }

  /** The view of a well-formed header, or undefined (the drop counted). */
  private check(bytes: Uint8Array): TcpView | undefined {
    const error = TcpView.check(bytes);
    if (error !== undefined) {
      this.counters.drops.drop(error);
      return undefined;
    }
    return new TcpView(bytes);
  }

  /** The segment of a checked packet, to its connection or listener. */
  private parse(view: TcpView, src: IpAddr, dst: IpAddr, iface: NetworkInterface): void {
    const options = parseTcpOptions(view.options);
    if (!options.ok) {
      this.counters.drops.drop(options.error);
      return;
    }
    const seg: Segment = {
      src,
      dst,
      iface,
      srcPort: view.srcPort,
      dstPort: view.dstPort,
      seq: view.seqNumber,
      ack: view.ackNumber,
      flags: view.flags,
      window: view.window,
      options: options.value,
      payload: view.payload,
    };
    this.dispatch(seg);
  }

  private dispatch(seg: Segment): void {
    const tcb = this.connections.get(seg.dst, seg.dstPort, seg.src, seg.srcPort);
    let minIss: number | undefined;
    if (tcb !== undefined) {
      if (!(tcb.state.name === 'TIME-WAIT' && this.timeWaitReusable(tcb, seg))) {
        segmentArrives(tcb, seg);
        return;
      }
      // RFC 9293 3.6.1 (MAY-2) / RFC 6191: a new SYN may reopen from TIME-WAIT; its ISN must lie
      // above everything the old incarnation sent.
      minIss = seqAdd(tcb.sndMax, 0x10000);
      this.counters.timeWaitReused.value++;
      tcb.destroy();
    }
    const listener = this.listeners.lookup(seg.src, seg.dst, seg.dstPort, seg.iface);
    if (listener !== undefined) {
      this.minIss = minIss;
      listener.input(seg);
      this.minIss = undefined;
      return;
    }
    // RFC 9293 3.10.7.1: no connection: a reset for anything but a reset; no state is kept.
    this.counters.drops.drop('no-connection');
    if (!hasRst(seg)) this.sendReset(seg);
  }

  /**
   * RFC 6191 2 (SHLD-4): with timestamps, a SYN whose TSval is above TS.Recent; without, one whose
   * sequence number is above RCV.NXT (RFC 9293 3.6.1 / RFC 1122 4.2.2.13).
   */
  private timeWaitReusable(tcb: Tcb, seg: Segment): boolean {
    if (!hasSyn(seg) || hasAck(seg) || hasRst(seg)) return false;
    const ts = seg.options.timestamp;
    if (tcb.tsOk && ts !== undefined) return seqGt(ts.value, tcb.tsRecent);
    return seqGt(seg.seq, tcb.rcvNxt);
  }

  private minIss: number | undefined;

  /** ICMP errors about our segments (RFC 5927; RFC 1122 4.2.3.9; RFC 9293 3.9.2.2). */
  error(report: Ipv4ErrorReport): void {
    if (report.type === ICMPV4_DEST_UNREACHABLE && report.code === UNREACH_FRAG_NEEDED) {
      this.icmpError(report.src, report.dst, report.transport, { mtu: report.mtu });
      return;
    }
    // RFC 1122 4.2.3.9: protocol and port unreachable are hard errors.
    const hard =
      report.type === ICMPV4_DEST_UNREACHABLE &&
      (report.code === UNREACH_PORT || report.code === UNREACH_PROTOCOL);
    this.icmpError(report.src, report.dst, report.transport, {
      code: icmpv4Errno(report.type, report.code),
      hard,
    });
  }

  /**
   * ICMPv6 errors (RFC 4443 3): Packet Too Big lowers the path MTU (RFC 8201 5.2; the IPv6 layer
   * has cached it already); port unreachable and an unrecognized Next Header (the counterparts of
   * IPv4's port and protocol unreachable) are hard errors, the rest soft (RFC 5927 4, RFC 9293
   * 3.9.2.2: no route, beyond scope, address unreachable, time exceeded).
   */
  private error6(report: Ipv6ErrorReport): void {
    if (report.type === ICMPV6_PACKET_TOO_BIG) {
      this.icmpError(report.src, report.dst, report.transport, { mtu: report.mtu });
      return;
    }
    const hard =
      (report.type === ICMPV6_DEST_UNREACHABLE && report.code === UNREACH6_PORT) ||
      (report.type === ICMPV6_PARAMETER_PROBLEM && report.code === PARAM_UNRECOGNIZED_NEXT_HEADER);
    this.icmpError(report.src, report.dst, report.transport, {
      code: icmpv6Errno(report.type, report.code),
      hard,
    });
  }

  /** An ICMP error of either family quoting our segment from `src` to `dst` (its header in `t`). */
  private icmpError(
    src: IpAddr,
    dst: IpAddr,
    t: Uint8Array,
    what: { mtu: number } | { code: string; hard: boolean },
  ): void {
    const drops = this.counters.drops;
    if (t.length < 8) {
      drops.drop('icmp-unknown');
      return;
    }
    const tcb = this.connections.get(src, readU16(t, 0), dst, readU16(t, 2));
    if (tcb === undefined) {
      drops.drop('icmp-unknown');
      return;
    }
    // RFC 5927 4.1: the quoted sequence number must be in flight (SND.UNA =< SEG.SEQ < SND.NXT).
    const seq = readU32(t, 4);
    if (!(seqGe(seq, tcb.sndUna) && seqLt(seq, tcb.sndMax))) {
      drops.drop('icmp-out-of-window');
      return;
    }
    if ('mtu' in what) {
      this.pathMtu(tcb, what.mtu);
      return;
    }
    const s = tcb.state.name;
    // Hard errors abort a connection being opened (SHLD-26, as Linux); everything else is soft
    // (MUST-56): kept and reported only if the connection then times out.
    if (what.hard && (s === 'SYN-SENT' || s === 'SYN-RECEIVED')) {
      tcb.destroy(what.code);
      return;
    }
    tcb.softError = what.code;
  }

  /**
   * RFC 1191 / RFC 8201: a smaller path MTU: a smaller MSS, and the data in flight sent again at
   * that size. Over IPv6 a report below 1280 means 1280 (RFC 8201 4), and the route is looked up
   * again so that it carries the cached path MTU.
   */
  private pathMtu(tcb: Tcb, reported: number): void {
    const path = routeOf(tcb);
    if (path === undefined) return;
    const v6 = pathFamily(path) === 6;
    const mtu = v6 ? Math.max(IPV6_MIN_MTU, reported) : reported;
    if (mtu < 68 || mtu >= (tcb.pmtu ?? path.mtu)) return;
    tcb.pmtu = mtu;
    if (v6) tcb.path = undefined;
    this.counters.pmtuUpdates.value++;
    updateMss(tcb, mtu);
    if (tcb.state.name !== 'SYN-SENT' && tcb.state.name !== 'SYN-RECEIVED') {
      tcb.sndNxt = tcb.sndUna;
      output(tcb);
    }
  }

  // ---- connection management ----

  private newTcb(local: IpAddr, localPort: number, remote: IpAddr, remotePort: number, cc?: string): Tcb {
    const tcb = new Tcb(this, cc ?? this.congestionControl);
    tcb.localAddr = local;
    tcb.localPort = localPort;
    tcb.remoteAddr = remote;
    tcb.remotePort = remotePort;
    tcb.rcvWscale = this.rcvWscale;
    tcb.tsOk = true;
    tcb.sackOk = this.sack;
    tcb.tsOffset = this.tsOffsetOf(local, localPort, remote, remotePort);
    return tcb;
  }

  /** RFC 7323 5.4: the timestamp offset of a connection, a keyed hash of its 4-tuple. */
  private tsOffsetOf(local: IpAddr, localPort: number, remote: IpAddr, remotePort: number): number {
    return keyedHash(this.tsKey, [...ipWords(local), ...ipWords(remote), (localPort << 16) | remotePort]);
  }

  /**
   * The route of the answer to `seg`: back to its source from its destination, out of the
   * interface it came in on for a link-local IPv6 peer, else out of `device` when given.
   */
  private replyRoute(seg: Segment, device?: NetworkInterface): TcpPath | undefined {
    const path = routeTcp(this.stack, seg.src, seg.dst, replyScope(seg.src, seg.iface) ?? device);
    if (typeof path !== 'string') return path;
    this.counters.noRoute.value++;
    return undefined;
  }

  /** A connection for a segment that came to `listener` (SYN or cookie ACK), before its state. */
  private passiveTcb(seg: Segment, listener: TcpListener<IpAddr>, path: TcpPath): Tcb {
    const tcb = this.newTcb(seg.dst, seg.dstPort, seg.src, seg.srcPort);
    tcb.family = listener.family;
    tcb.device = replyScope(seg.src, seg.iface) ?? listener.device;
    usePath(tcb, path);
    return tcb;
  }

  /** A SYN for a listener with room: a connection in SYN-RECEIVED answering with SYN-ACK. */
  acceptSyn(seg: Segment, listener: TcpListener<IpAddr>): Tcb | undefined {
    if (!this.hasRoom()) return undefined;
    const path = this.replyRoute(seg, listener.device);
    if (path === undefined) return undefined;
    const tcb = this.passiveTcb(seg, listener, path);
    let iss = this.isn.isn(tupleOf(tcb), this.stack.now());
    if (this.minIss !== undefined && seqLt(iss, this.minIss)) iss = this.minIss;
    startSend(tcb, iss);
    startReceive(tcb, seg.seq);
    tcb.sndWnd = seg.window;
    negotiate(tcb, seg.options);
    tcb.listener = listener;
    tcb.setState(synReceived(true));
    this.connections.set(tcb.localAddr, tcb.localPort, tcb.remoteAddr, tcb.remotePort, tcb);
    sendSyn(tcb);
    return tcb;
  }

  /** RFC 4987 3.6: a SYN-ACK whose ISN is a cookie; nothing is kept. */
  sendCookieSynAck(seg: Segment, listener: TcpListener<IpAddr>): void {
    const path = this.replyRoute(seg, listener.device);
    if (path === undefined) return;
    const tuple: FourTuple = {
      localAddress: seg.dst,
      localPort: seg.dstPort,
      remoteAddress: seg.src,
      remotePort: seg.srcPort,
    };
    const family = pathFamily(path);
    const ourMss = mssForMtu(family, path.mtu);
    const peerMss = Math.min(seg.options.mss ?? (family === 4 ? DEFAULT_MSS : DEFAULT_MSS_V6), ourMss);
    const iss = this.cookies.encode(tuple, seg.seq, synCookieMssIndex(peerMss, family), this.stack.now());
    const opts: TcpOptions = { mss: ourMss };
    const ts = seg.options.timestamp;
    if (ts !== undefined) {
      // Without timestamps there is nowhere to keep window scale and SACK: both are off.
      if (seg.options.windowScale !== undefined) opts.windowScale = this.rcvWscale;
      if (seg.options.sackPermitted) opts.sackPermitted = true;
      const offset = this.tsOffsetOf(seg.dst, seg.dstPort, seg.src, seg.srcPort);
      const tsNow = (Math.floor(this.stack.now()) + offset) >>> 0;
      opts.timestamp = {
        value: encodeCookieTsval(tsNow, {
          windowScale: seg.options.windowScale,
          sackPermitted: seg.options.sackPermitted === true,
        }),
        echo: ts.value,
      };
    }
    const pb = PacketBuffer.alloc(MAX_HEADROOM, 0);
    transmit(
      this,
      path,
      seg.src,
      {
        srcPort: seg.dstPort,
        dstPort: seg.srcPort,
        seq: iss,
        ack: seqAdd(seg.seq, 1),
        flags: TCP_SYN | TCP_ACK,
        window: Math.min(0xffff, 65535),
        options: opts,
      },
      pb,
    );
  }

  /**
   * The ACK of a cookie SYN-ACK: a connection straight in ESTABLISHED, undefined if forged, 'full'
   * when the connection table has no room.
   */
  acceptCookie(seg: Segment, listener: TcpListener<IpAddr>): Tcb | 'full' | undefined {
    const tuple: FourTuple = {
      localAddress: seg.dst,
      localPort: seg.dstPort,
      remoteAddress: seg.src,
      remotePort: seg.srcPort,
    };
    const iss = seqAdd(seg.ack, -1);
    const irs = seqAdd(seg.seq, -1);
    const mss = this.cookies.decode(tuple, iss, irs, this.stack.now());
    if (mss === undefined) return undefined;
    if (!this.hasRoom()) return 'full';
    const path = this.replyRoute(seg, listener.device);
    if (path === undefined) return undefined;
    const tcb = this.passiveTcb(seg, listener, path);
    startSend(tcb, iss);
    startReceive(tcb, irs);
    const ts = seg.options.timestamp;
    const peer: TcpOptions = { mss };
    if (ts !== undefined) {
      const kept = decodeCookieTsecr(ts.echo);
      if (kept.windowScale !== undefined) peer.windowScale = kept.windowScale;
      if (kept.sackPermitted) peer.sackPermitted = true;
      peer.timestamp = ts;
    }
    negotiate(tcb, peer);
    tcb.sndUna = seg.ack;
    tcb.sndNxt = seg.ack;
    tcb.sndMax = seg.ack;
    tcb.setState(ESTABLISHED);
    tcb.sndWnd = seg.window << tcb.sndWscale;
    tcb.maxSndWnd = tcb.sndWnd;
    tcb.sndWl1 = seg.seq;
    tcb.sndWl2 = seg.ack;
    tcb.unackedSince = undefined;
    startRecoveryState(tcb);
    this.connections.set(tcb.localAddr, tcb.localPort, tcb.remoteAddr, tcb.remotePort, tcb);
    this.counters.established.value++;
    this.timers.armKeepalive(tcb);
    // The ACK may carry data already.
    if (seg.payload.length > 0) segmentArrives(tcb, seg);
    return tcb;
  }

  /**
   * RFC 9293 3.10.7.1 (and 3.5.2): the reset for a segment that has no connection, formed so the
   * sender accepts it: <SEQ=SEG.ACK><CTL=RST> when the segment had an ACK, else
   * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
   */
  sendReset(seg: Segment): void {
    if (hasRst(seg)) return;
    const path = this.replyRoute(seg);
    if (path === undefined) return;
    this.counters.resetsSent.value++;
    const withAck = !hasAck(seg);
    transmit(
      this,
      path,
      seg.src,
      {
        srcPort: seg.dstPort,
        dstPort: seg.srcPort,
        seq: withAck ? 0 : seg.ack,
        ack: withAck ? seqAdd(seg.seq, segLen(seg)) : 0,
        flags: TCP_RST | (withAck ? TCP_ACK : 0),
        window: 0,
        options: {},
      },
      PacketBuffer.alloc(MAX_HEADROOM, 0),
    );
  }

  /** A reset on a connection (abort, linger 0, data for a closed socket). */
  sendRstFor(tcb: Tcb): void {
    this.counters.resetsSent.value++;
    sendRst(tcb);
  }

  /** ABORT (RFC 9293 3.10.5): a RST if synchronized, then the connection is gone. */
  abortTcb(tcb: Tcb, error?: string): void {
    const s = tcb.state.name;
    if (s !== 'CLOSED' && s !== 'SYN-SENT' && s !== 'TIME-WAIT') this.sendRstFor(tcb);
    tcb.destroy(error);
  }

  /** A controller `name` for the connection's MSS (EINVAL for an unknown name). */
  createCc(name: string, tcb: Tcb): CongestionControl {
    return createCongestionControl(name, tcb.mss, this.stack.now());
  }

  unlisten(l: TcpListener<IpAddr>): void {
    this.listeners.remove(l);
  }

  /** Whether `tcb` is in the connection table. */
  owns(tcb: Tcb): boolean {
    return this.connections.get(tcb.localAddr, tcb.localPort, tcb.remoteAddr, tcb.remotePort) === tcb;
  }

  remove(tcb: Tcb): void {
    this.connections.delete(tcb.localAddr, tcb.localPort, tcb.remoteAddr, tcb.remotePort, tcb);
    if (tcb.timeWaitCounted) {
      tcb.timeWaitCounted = false;
      this.timeWaitCount--;
    }
  }

  /** Whether the connection table takes one more block (else counted as refused). */
  private hasRoom(): boolean {
    if (this.connections.size < this.maxConnections) return true;
    this.counters.connectionsRefused.value++;
    return false;
  }

  /**
   * A connection enters TIME-WAIT: counted against `maxTimeWait`; false when the bound is reached
   * (the caller then ends it at once, after its last ACK).
   */
  enterTimeWait(tcb: Tcb): boolean {
    if (tcb.timeWaitCounted) return true;
    if (this.timeWaitCount >= this.maxTimeWait) {
      this.counters.timeWaitOverflows.value++;
      return false;
    }
    tcb.timeWaitCounted = true;
    this.timeWaitCount++;
    return true;
  }

  /** Connections in TIME-WAIT. */
  get timeWaitConnections(): number {
    return this.timeWaitCount;
  }

  /** Connections in the table (for `ss`-like listings and tests). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Every connection block, as an `ss`-like listing. */
  list(): Array<{ state: string; local: string; remote: string }> {
    return [...this.connections.values()].map((t) => ({
      state: t.state.name,
      local: endpointText(t.localAddr, t.localPort),
      remote: endpointText(t.remoteAddr, t.remotePort),
    }));
  }
}

/** `a.b.c.d:port` or `[v6]:port`, as `ss` prints them. */
function endpointText(a: IpAddr, port: number): string {
  return typeof a === 'number' ? `${ipToString(a)}:${port}` : `[${ipToString(a)}]:${port}`;
}

/** The connection takes `path`; what we announce as our MSS follows from its MTU (RFC 9293 3.7.1). */
function usePath(tcb: Tcb, path: TcpPath): void {
  tcb.path = path;
  tcb.rcvMss = mssForMtu(pathFamily(path), path.mtu);
}

function tupleOf(tcb: Tcb): FourTuple {
  return {
    localAddress: tcb.localAddr,
    localPort: tcb.localPort,
    remoteAddress: tcb.remoteAddr,
    remotePort: tcb.remotePort,
  };
}

function startSend(tcb: Tcb, iss: number): void {
  tcb.iss = iss;
  tcb.sndUna = iss;
  tcb.sndNxt = iss;
  tcb.sndMax = iss;
  tcb.sndBufSeq = seqAdd(iss, 1);
}

function startReceive(tcb: Tcb, irs: number): void {
  tcb.irs = irs;
  tcb.receiveQueue.reset(seqAdd(irs, 1));
  tcb.rcvAdv = tcb.rcvNxt;
  tcb.lastAckSent = tcb.rcvNxt;
}
