/**
 * ICMP echo sockets in the stack: gives each socket an identifier, and hands it the echo replies
 * carrying that identifier and the ICMP errors quoting its echo requests (RFC 1122 3.2.2: errors go
 * to the protocol, here the socket, that sent the packet).
 */
import { ICMPV4_ECHO_REQUEST, ICMPV4_HEADER_LEN, type Icmpv4View } from '../../wire/icmpv4.ts';
import type { Counter, DropCounters } from '../counters.ts';
import { errno, icmpv4Errno } from '../errno.ts';
import type { Ipv4ErrorReport, Ipv4Packet } from '../ip/ipv4-types.ts';
import type { Stack } from '../stack.ts';
import { EphemeralPorts } from '../udp/ephemeral-ports.ts';
import { EchoSocket } from './echo-socket.ts';

export type EchoDropReason = 'unknown-seq' | 'truncated-quote';

/** Open echo sockets per stack. */
export const DEFAULT_MAX_ECHO_SOCKETS = 1024;

export class EchoLayer {
  /** Bound of `open`: EMFILE beyond it. */
  maxSockets = DEFAULT_MAX_ECHO_SOCKETS;
  readonly requestsSent: Counter;
  private readonly byId = new Map<number, EchoSocket>();
  /** Identifiers are drawn like unconnected ephemeral ports, over all 16-bit values but 0. */
  private readonly ids: EphemeralPorts;
  private readonly drops: DropCounters<EchoDropReason>;
  private readonly replies: Counter;
  private readonly errors: Counter;

  constructor(readonly stack: Stack) {
    const c = stack.counters;
    this.requestsSent = c.get('icmp-echo.tx.requests');
    this.replies = c.get('icmp-echo.rx.replies');
    this.errors = c.get('icmp-echo.rx.errors');
    this.drops = c.drops('icmp-echo.rx.drop');
    this.ids = new EphemeralPorts(stack.env.rng, { min: 1, max: 0xffff });
  }

  /** A new echo socket with an identifier no open socket has. EMFILE when `maxSockets` are open. */
  open(): EchoSocket {
    const id = this.byId.size < this.maxSockets ? this.ids.random((i) => !this.byId.has(i)) : undefined;
    if (id === undefined) throw errno('EMFILE', `${this.byId.size} echo sockets are open`);
    const s = new EchoSocket(this, id);
    this.byId.set(id, s);
    return s;
  }

  /** Called by `EchoSocket.close`. */
  forget(s: EchoSocket): void {
    this.byId.delete(s.id);
  }

  /** An echo reply (from `Icmpv4Layer.echoReplyHandler`); true when a socket took it. */
  receiveReply(packet: Ipv4Packet, icmp: Icmpv4View): boolean {
    const s = this.byId.get(icmp.echoId);
    if (s === undefined) return false;
    const seq = icmp.echoSeq;
    const sent = s.sentTime(seq);
    if (sent === undefined) {
      // Not a request of this socket: a late reply to an earlier socket with the same identifier.
      this.drops.drop('unknown-seq');
      return true;
    }
    this.replies.value++;
    s.onReply?.({
      src: packet.src,
      seq,
      data: icmp.body.slice(),
      ttl: packet.ip.ttl,
      rtt: this.stack.now() - sent,
    });
    return true;
  }

  /** An ICMP error about an ICMP message we sent (from `Icmpv4Layer.error`). */
  receiveError(report: Ipv4ErrorReport): void {
    const t = report.transport;
    if (t.length < 1 || t[0] !== ICMPV4_ECHO_REQUEST) return;
    if (t.length < ICMPV4_HEADER_LEN) {
      this.drops.drop('truncated-quote');
      return;
    }
    const s = this.byId.get((t[4]! << 8) | t[5]!);
    const seq = (t[6]! << 8) | t[7]!;
    if (s === undefined || s.sentTime(seq) === undefined) return;
    this.errors.value++;
    s.onError?.({
      seq,
      reporter: report.reporter,
      dst: report.dst,
      type: report.type,
      code: report.code,
      errno: icmpv4Errno(report.type, report.code),
    });
  }
}
