/**
 * UDP in the stack (RFC 768, RFC 1122 4.1): checks received datagrams, finds the sockets they are
 * for, answers closed ports with ICMP port unreachable, hands ICMP errors to the socket that sent
 * the datagram, and tells sockets they are readable after the entry that filled them.
 */
import { ICMPV4_DEST_UNREACHABLE, UNREACH_PORT } from '../../wire/icmpv4.ts';
import { type UdpError, UdpView } from '../../wire/udp.ts';
import type { Counter, DropCounters } from '../counters.ts';
import { errno } from '../errno.ts';
import type { Ipv4ErrorReport, Ipv4Packet, Ipv4Protocol } from '../ip/ipv4-types.ts';
import { type HashKey, keyedHash, randomHashKey } from '../keyed-hash.ts';
import type { Stack } from '../stack.ts';
import type { Timer } from '../timers.ts';
import { EphemeralPorts } from './ephemeral-ports.ts';
import { type Endpoints, PortTable } from './port-table.ts';
import { UdpSocket } from './udp-socket.ts';

export type UdpDropReason = UdpError | 'bad-checksum' | 'rcvbuf-full';

/** Open UDP sockets per stack (like a file descriptor limit). */
export const DEFAULT_MAX_UDP_SOCKETS = 4096;

export class UdpLayer implements Ipv4Protocol {
  /** Ephemeral ports (`ports.range` sets the range, like ip_local_port_range). */
  readonly ports: EphemeralPorts;
  readonly table: PortTable<UdpSocket>;
  /** Bound of `open`: EMFILE beyond it. */
  maxSockets = DEFAULT_MAX_UDP_SOCKETS;
  readonly txDatagrams: Counter;
  private readonly sockets = new Set<UdpSocket>();
  /** Sockets that queued datagrams or got an error in this entry, told by `notifyTimer`. */
  private readonly toNotify = new Set<UdpSocket>();
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

  /** A new, unbound socket. EMFILE when `maxSockets` are open. */
  open(): UdpSocket {
    if (this.sockets.size >= this.maxSockets) {
      this.refusedSockets.value++;
      throw errno('EMFILE', `${this.maxSockets} UDP sockets are open`);
    }
    const s = new UdpSocket(this);
    this.sockets.add(s);
    return s;
  }

  /** Every open socket, in the order they were opened (like `ss -u`). */
  list(): UdpSocket[] {
    return [...this.sockets];
  }

  /** Called by `UdpSocket.close`. */
  forget(s: UdpSocket): void {
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
    const e: Endpoints = {
      src: packet.src,
      srcPort: udp.srcPort,
      dst: packet.dst,
      dstPort: udp.dstPort,
      iface: packet.iface,
    };
    if (packet.kind === 'unicast') {
      const s = this.table.lookup(e);
      if (s === undefined) {
        // RFC 1122 4.1.3.1: no socket on the port: port unreachable (sendError skips what it must).
        this.noPort.value++;
        this.stack.icmpv4.sendError(packet.ip, ICMPV4_DEST_UNREACHABLE, UNREACH_PORT);
        return;
      }
      this.queue(s, packet, udp);
      return;
    }
    // Broadcast and multicast go to every matching socket (SO_REUSEADDR semantics).
    const all = this.table.matchAll(e);
    if (all.length === 0) this.ignoredMulti.value++;
    for (const s of all) this.queue(s, packet, udp);
  }

  /** An ICMP error about one of our datagrams: the socket that sent it is found as a reply would be. */
  error(report: Ipv4ErrorReport): void {
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
    if (s?.icmpError(report)) this.later(s);
  }

  private queue(s: UdpSocket, packet: Ipv4Packet, udp: UdpView): void {
    if (!s.enqueue(packet.ip, udp, packet.iface)) {
      this.drops.drop('rcvbuf-full');
      return;
    }
    this.rxDelivered.value++;
    this.later(s);
  }

  /** Tells `s` in an entry of its own, once for everything this entry did to it. */
  private later(s: UdpSocket): void {
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
    return keyedHash(this.key, [e.src, e.dst, ((e.srcPort << 16) | e.dstPort) >>> 0]);
  }
}
