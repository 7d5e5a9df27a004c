/**
 * UDP in the stack (RFC 768, RFC 1122 4.1) over IPv4 and IPv6 (RFC 8200 8.1): checks received
 * datagrams, finds the sockets they are for (one port table for both families), answers closed
 * ports with ICMP or ICMPv6 port unreachable, hands ICMP errors to the socket that sent the
 * datagram, and tells sockets they are readable after the entry that filled them.
 */
import type { Ipv4Addr, Ipv6Addr } from '../../wire/address.ts';
import { ICMPV4_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED, UNREACH_PORT } from '../../wire/icmpv4.ts';
import {
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  UNREACH_PORT as UNREACH6_PORT,
} from '../../wire/icmpv6.ts';
import { type UdpError, UdpView } from '../../wire/udp.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { errno, icmpv4Errno } from '../errno.ts';
import type { Ipv4ErrorReport, Ipv4Packet, Ipv4Protocol } from '../ip/ipv4-types.ts';
import { type IpAddr, type IpFamily, ipToString, ipWords } from '../ip-address.ts';
import { icmpv6Errno } from '../ip6/icmpv6.ts';
import type { Ipv6ErrorReport, Ipv6Packet, Ipv6Protocol } from '../ip6/ipv6-types.ts';
import { type HashKey, keyedHash, randomHashKey } from '../keyed-hash.ts';
import type { Stack } from '../stack.ts';
import type { Timer } from '../timers.ts';
import { EphemeralPorts } from './ephemeral-ports.ts';
import { type Endpoints, PortTable } from './port-table.ts';
import { UdpSocket } from './udp-socket.ts';

/** `zero-checksum`: RFC 8200 8.1, an IPv6 datagram without a checksum is discarded. */
export type UdpDropReason = UdpError | 'bad-checksum' | 'zero-checksum' | 'rcvbuf-full';

export interface UdpOpenOptions {
  /** 4 (default) or 6: an IPv6 socket, dual-stack unless `setV6Only(true)`. */
  family?: IpFamily;
}

/** Open UDP sockets per stack (like a file descriptor limit). */
export const DEFAULT_MAX_UDP_SOCKETS = 4096;

export class UdpLayer implements Ipv4Protocol {
  /** Ephemeral ports (`ports.range` sets the range, like ip_local_port_range). */
  readonly ports: EphemeralPorts;
  readonly table: PortTable<UdpSocket<IpAddr>>;
  /** What the IPv6 layer calls (registered for Next Header 17 by the stack). */
  readonly v6: Ipv6Protocol = {
    receive: (p) => this.receive6(p),
    error: (r) => this.error6(r),
  };
  /** Bound of `open`: EMFILE beyond it. */
  maxSockets = DEFAULT_MAX_UDP_SOCKETS;
  readonly txDatagrams: Counter;
  private readonly sockets = new Set<UdpSocket<IpAddr>>();
  /** Sockets that queued datagrams or got an error in this entry, told by `notifyTimer`. */
  private readonly toNotify = new Set<UdpSocket<IpAddr>>();
  private readonly notifyTimer: Timer;
  private key: HashKey | undefined;
  private readonly drops: DropCounters<UdpDropReason>;
  private readonly rxDatagrams: Counter;
  private readonly rxDelivered: Counter;
  private readonly noPort: Counter;
  private readonly ignoredMulti: Counter;
  private readonly rxErrors: Counter;
  private readonly refusedSockets: Counter;

  constructor(readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('udp.rx.drop');
    this.rxDatagrams = c.get('udp.rx.datagrams');
    this.rxDelivered = c.get('udp.rx.delivered');
    this.noPort = c.get('udp.rx.no-port');
    this.ignoredMulti = c.get('udp.rx.ignored-multi');
    this.rxErrors = c.get('udp.rx.icmp-errors');
    this.txDatagrams = c.get('udp.tx.datagrams');
    this.refusedSockets = c.get('udp.open.refused');
    this.ports = new EphemeralPorts(stack.env.rng);
    this.table = new PortTable((e) => this.hashTuple(e));
    this.notifyTimer = stack.createTimer(() => this.notify());
  }

  /**
   * A new, unbound socket of `family` (default 4). EMFILE when `maxSockets` are open;
   * EAFNOSUPPORT for IPv6 on a stack without it.
   */
  open(options?: { family?: 4 }): UdpSocket<Ipv4Addr>;
  open(options: { family: 6 }): UdpSocket<Ipv6Addr>;
  open(options?: UdpOpenOptions): UdpSocket<IpAddr>;
  open(options: UdpOpenOptions = {}): UdpSocket<IpAddr> {
    const family = options.family ?? 4;
    if (family !== 4 && family !== 6) throw errno('EINVAL', `bad family ${String(family)}`);
    if (family === 6 && this.stack.ipv6 === undefined) throw errno('EAFNOSUPPORT', 'the stack has no IPv6');
    if (this.sockets.size >= this.maxSockets) {
      this.refusedSockets.value++;
      throw errno('EMFILE', `${this.maxSockets} UDP sockets are open`);
    }
    const s = new UdpSocket<IpAddr>(this, family);
    this.sockets.add(s);
    return s;
  }

  /** Every open socket, in the order they were opened (like `ss -u`). */
  list(): UdpSocket<IpAddr>[] {
    return [...this.sockets];
  }

  /** Called by `UdpSocket.close`. */
  forget(s: UdpSocket<IpAddr>): void {
    this.sockets.delete(s);
    this.toNotify.delete(s);
  }

  receive(packet: Ipv4Packet): void {
    this.rxDatagrams.value++;
    const error = UdpView.check(packet.payload);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const udp = new UdpView(packet.payload);
    // RFC 1122 4.1.3.4: a datagram whose checksum fails MUST be discarded silently; RFC 768: a
    // zero checksum was not computed. Links that cannot corrupt carry none.
    if (!packet.iface.link.capabilities?.noChecksums && !udp.verifyV4(packet.src, packet.dst)) {
      this.drops.drop('bad-checksum');
      return;
    }
    const e = this.endpoints(packet, udp);
    if (packet.kind === 'unicast') {
      if (!this.deliverUnicast(e, udp, packet.ip.ttl)) {
        // RFC 1122 4.1.3.1: no socket on the port: port unreachable (sendError skips what it must).
        this.stack.icmpv4.sendError(packet.ip, ICMPV4_DEST_UNREACHABLE, UNREACH_PORT);
      }
      return;
    }
    this.deliverAll(e, udp, packet.ip.ttl);
  }

  /** A datagram over IPv6 (RFC 8200 8.1): as over IPv4, but the checksum is mandatory. */
  private receive6(packet: Ipv6Packet): void {
    this.rxDatagrams.value++;
    const error = UdpView.check(packet.payload);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const udp = new UdpView(packet.payload);
    if (!packet.iface.link.capabilities?.noChecksums) {
      // RFC 8200 8.1: "IPv6 receivers must discard UDP packets containing a zero checksum".
      if (udp.checksum === 0) {
        this.drops.drop('zero-checksum');
        return;
      }
      if (!udp.verifyV6(packet.src, packet.dst)) {
        this.drops.drop('bad-checksum');
        return;
      }
    }
    const e = this.endpoints(packet, udp);
    if (packet.kind === 'unicast') {
      // RFC 4443 3.1: no listener on the port: Destination Unreachable code 4 (port unreachable).
      if (!this.deliverUnicast(e, udp, packet.ip.hopLimit)) {
        this.stack.ipv6?.icmp.sendError(packet.ip, ICMPV6_DEST_UNREACHABLE, UNREACH6_PORT);
      }
      return;
    }
    this.deliverAll(e, udp, packet.ip.hopLimit);
  }

  private endpoints(packet: { src: IpAddr; dst: IpAddr; iface: NetworkInterface }, udp: UdpView): Endpoints {
    return {
      src: packet.src,
      srcPort: udp.srcPort,
      dst: packet.dst,
      dstPort: udp.dstPort,
      iface: packet.iface,
    };
  }

  /** Queues a unicast datagram on its socket; false when no socket has the port. */
  private deliverUnicast(e: Endpoints, udp: UdpView, ttl: number): boolean {
    const s = this.table.lookup(e);
    if (s === undefined) {
      this.noPort.value++;
      return false;
    }
    this.queue(s, e, udp, ttl, e.iface!.link.capabilities?.keepableFrames === true);
    return true;
  }

  /** Broadcast and multicast go to every matching socket (SO_REUSEADDR semantics). */
  private deliverAll(e: Endpoints, udp: UdpView, ttl: number): void {
    const all = this.table.matchAll(e);
    if (all.length === 0) this.ignoredMulti.value++;
    // Each socket gets a copy: one could change what another reads.
    for (const s of all) this.queue(s, e, udp, ttl, false);
  }

  /** An ICMP error about one of our datagrams: the socket that sent it is found as a reply would be. */
  error(report: Ipv4ErrorReport): void {
    const fragNeeded = report.type === ICMPV4_DEST_UNREACHABLE && report.code === UNREACH_FRAG_NEEDED;
    this.reportError(report, icmpv4Errno(report.type, report.code), fragNeeded ? report.mtu : undefined);
  }

  /** An ICMPv6 error (RFC 4443 2.4 (d)); Packet Too Big carries the MTU (RFC 8201). */
  private error6(report: Ipv6ErrorReport): void {
    const tooBig = report.type === ICMPV6_PACKET_TOO_BIG;
    this.reportError(report, icmpv6Errno(report.type, report.code), tooBig ? report.mtu : undefined);
  }

  private reportError(
    report: { type: number; code: number; reporter: IpAddr; src: IpAddr; dst: IpAddr; transport: Uint8Array },
    code: string,
    mtu: number | undefined,
  ): void {
    this.rxErrors.value++;
    const t = report.transport;
    if (t.length < 4) {
      this.drops.drop('truncated');
      return;
    }
    const s = this.table.lookup({
      src: report.dst,
      srcPort: (t[2]! << 8) | t[3]!,
      dst: report.src,
      dstPort: (t[0]! << 8) | t[1]!,
      iface: undefined,
    });
    const family = typeof report.reporter === 'number' ? 'ICMP' : 'ICMPv6';
    const what = `${family} type ${report.type} code ${report.code} from ${ipToString(report.reporter)}`;
    if (s?.icmpError(code, what, mtu)) this.later(s);
  }

  private queue(s: UdpSocket<IpAddr>, e: Endpoints, udp: UdpView, ttl: number, keepable: boolean): void {
    if (!s.enqueue(udp, e.src, e.dst, e.iface!, ttl, keepable)) {
      this.drops.drop('rcvbuf-full');
      return;
    }
    this.rxDelivered.value++;
    this.later(s);
  }

  /** Tells `s` in an entry of its own, once for everything this entry did to it. */
  private later(s: UdpSocket<IpAddr>): void {
    this.toNotify.add(s);
    if (!this.notifyTimer.scheduled) this.stack.schedule(this.notifyTimer, this.stack.now());
  }

  private notify(): void {
    const sockets = [...this.toNotify];
    this.toNotify.clear();
    for (const s of sockets) {
      if (s.isClosed) continue;
      const err = s.pendingError;
      if (err !== undefined && s.onError !== undefined) {
        s.pendingError = undefined;
        s.onError(err);
      }
      if (!s.isClosed && s.queued > 0) s.onReadable?.();
    }
  }

  /** SO_REUSEPORT's choice: a keyed hash of the 4-tuple, so a flow stays on one socket. */
  private hashTuple(e: Endpoints): number {
    this.key ??= randomHashKey(this.stack.env.rng);
    return keyedHash(this.key, [...ipWords(e.src), ...ipWords(e.dst), ((e.srcPort << 16) | e.dstPort) >>> 0]);
  }
}
