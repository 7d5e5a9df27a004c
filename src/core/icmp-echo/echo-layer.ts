/**
 * ICMP echo sockets in the stack, both families: gives each socket an identifier, and hands it
 * the echo replies carrying that identifier and the ICMP errors quoting its echo requests
 * (RFC 1122 3.2.2, RFC 4443 2.4 (d): errors go to the protocol, here the socket, that sent the
 * packet). Identifiers are per family, as Linux's ping sockets have them.
 */
import type { Ipv4Addr } from '../../wire/address.ts';
import type { Icmpv4View } from '../../wire/icmpv4.ts';
import type { Icmpv6View } from '../../wire/icmpv6.ts';
import type { Counter, DropCounters } from '../counters.ts';
import { errno } from '../errno.ts';
import type { Ipv4ErrorReport, Ipv4Packet } from '../ip/ipv4-types.ts';
import type { Ipv6ErrorReport, Ipv6Packet } from '../ip6/ipv6-types.ts';
import type { Stack } from '../stack.ts';
import { EphemeralPorts } from '../udp/ephemeral-ports.ts';
import { ECHO_IPV4, ECHO_IPV6, type EchoAddr, type EchoFamily } from './echo-family.ts';
import { EchoSocket } from './echo-socket.ts';

export type EchoDropReason = 'unknown-seq' | 'truncated-quote';

/** Open echo sockets per stack. */
export const DEFAULT_MAX_ECHO_SOCKETS = 1024;
/** The echo header: type, code, checksum, identifier, sequence number (both families). */
const ECHO_HEADER_LEN = 8;

export class EchoLayer {
  /** Bound of `open` (both families together): EMFILE beyond it. */
  maxSockets = DEFAULT_MAX_ECHO_SOCKETS;
  readonly requestsSent: Counter;
  private readonly sockets = { ipv4: new Map<number, EchoSocket>(), ipv6: new Map<number, EchoSocket>() };
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

  /**
   * A new echo socket of a family (IPv4 by default) with an identifier no open socket of that
   * family has. EMFILE when `maxSockets` are open, EAFNOSUPPORT for IPv6 on a stack without it.
   */
  open(): EchoSocket<Ipv4Addr>;
  open<A extends EchoAddr>(family: EchoFamily<A>): EchoSocket<A>;
  open(family: EchoFamily<EchoAddr> = ECHO_IPV4 as EchoFamily<EchoAddr>): EchoSocket {
    if (family === (ECHO_IPV6 as EchoFamily<EchoAddr>) && this.stack.ipv6 === undefined)
      throw errno('EAFNOSUPPORT', 'the stack has no IPv6');
    const open = this.sockets.ipv4.size + this.sockets.ipv6.size;
    const byId = this.sockets[family.name];
    const id = open < this.maxSockets ? this.ids.random((i) => !byId.has(i)) : undefined;
    if (id === undefined) throw errno('EMFILE', `${open} echo sockets are open`);
    const s = new EchoSocket(this, family, id);
    byId.set(id, s);
    return s;
  }

  /** Called by `EchoSocket.close`. */
  forget(s: { readonly family: { readonly name: 'ipv4' | 'ipv6' }; readonly id: number }): void {
    this.sockets[s.family.name].delete(s.id);
  }

  /** An echo reply (from `Icmpv4Layer.echoReplyHandler`); true when a socket took it. */
  receiveReply(packet: Ipv4Packet, icmp: Icmpv4View): boolean {
    return this.reply(ECHO_IPV4, packet.src, icmp.bytes, packet.ip.ttl);
  }

  /** An ICMPv6 echo reply (from `Icmpv6Layer.echoReplyHandler`); true when a socket took it. */
  receiveReply6(packet: Ipv6Packet, icmp: Icmpv6View): boolean {
    return this.reply(ECHO_IPV6, packet.src.slice(), icmp.bytes, packet.ip.hopLimit);
  }

  /** An ICMP error about an ICMP message we sent (from `Icmpv4Layer.error`). */
  receiveError(report: Ipv4ErrorReport): void {
    this.error(ECHO_IPV4, report, 0);
  }

  /** An ICMPv6 error about an ICMPv6 message we sent (from `Icmpv6Layer.error`). */
  receiveError6(report: Ipv6ErrorReport): void {
    this.error(
      ECHO_IPV6,
      { ...report, reporter: report.reporter.slice(), dst: report.dst.slice() },
      report.mtu,
    );
  }

  /** `message` is the whole echo reply (length checked by the ICMP layer). */
  private reply<A extends EchoAddr>(
    family: EchoFamily<A>,
    src: A,
    message: Uint8Array,
    ttl: number,
  ): boolean {
    const s = this.sockets[family.name].get((message[4]! << 8) | message[5]!) as EchoSocket<A> | undefined;
    if (s === undefined) return false;
    const seq = (message[6]! << 8) | message[7]!;
    const sent = s.sentTime(seq);
    if (sent === undefined) {
      // Not a request of this socket: a late reply to an earlier socket with the same identifier.
      this.drops.drop('unknown-seq');
      return true;
    }
    this.replies.value++;
    s.onReply?.({ src, seq, data: message.slice(ECHO_HEADER_LEN), ttl, rtt: this.stack.now() - sent });
    return true;
  }

  private error<A extends EchoAddr>(
    family: EchoFamily<A>,
    report: { type: number; code: number; reporter: A; dst: A; transport: Uint8Array },
    mtu: number,
  ): void {
    const t = report.transport;
    if (t.length < 1 || t[0] !== family.requestType) return;
    if (t.length < ECHO_HEADER_LEN) {
      this.drops.drop('truncated-quote');
      return;
    }
    const s = this.sockets[family.name].get((t[4]! << 8) | t[5]!) as EchoSocket<A> | undefined;
    const seq = (t[6]! << 8) | t[7]!;
    if (s === undefined || s.sentTime(seq) === undefined) return;
    this.errors.value++;
    s.onError?.({
      seq,
      reporter: report.reporter,
      dst: report.dst,
      type: report.type,
      code: report.code,
      errno: family.errno(report.type, report.code),
      mtu,
    });
  }
}
