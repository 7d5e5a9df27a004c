/**
 * ICMPv4 in the stack (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3): answers echo requests, hands echo
 * replies to echo sockets and errors to the protocol whose packet caused them, and sends errors
 * with the rules that keep ICMP from making storms.
 */
import { IPV4_BROADCAST, type Ipv4Addr, ipv4IsLoopback, ipv4IsMulticast } from '../../wire/address.ts';
import {
  emitIcmpv4,
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_ECHO_REPLY,
  ICMPV4_ECHO_REQUEST,
  ICMPV4_PARAMETER_PROBLEM,
  ICMPV4_REDIRECT,
  ICMPV4_TIME_EXCEEDED,
  Icmpv4View,
  icmpv4IsError,
} from '../../wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP, Ipv4View } from '../../wire/ipv4.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import { IcmpErrorLimit } from '../icmp-error-limit.ts';
import type { Stack } from '../stack.ts';
import type { Ipv4ErrorReport, Ipv4Packet, Ipv4Protocol } from './ipv4-types.ts';

export type Icmpv4DropReason =
  | 'truncated'
  | 'bad-checksum'
  | 'bad-quoted-header'
  | 'echo-to-broadcast'
  | 'echo-from-non-unicast';

/** RFC 1812 4.3.2.3: an error carries as much of the original as fits in 576 bytes. */
const MAX_ERROR_PACKET = 576;

/** Receives echo replies (an echo socket); returns true when one took the reply. */
export type EchoReplyHandler = (packet: Ipv4Packet, icmp: Icmpv4View) => boolean;

export class Icmpv4Layer implements Ipv4Protocol {
  /** The rate limit of the errors we send, and their counters. */
  readonly errors: IcmpErrorLimit;
  echoReplyHandler: EchoReplyHandler | undefined;
  /** Receives ICMP errors quoting ICMP messages we sent (the echo requests of echo sockets). */
  echoErrorHandler: ((report: Ipv4ErrorReport) => void) | undefined;
  private readonly drops: DropCounters<Icmpv4DropReason>;
  private readonly rxMessages: Counter;
  private readonly echoReplies: Counter;
  private readonly errorsReceived: Counter;

  constructor(private readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('icmpv4.rx.drop');
    this.rxMessages = c.get('icmpv4.rx.messages');
    this.echoReplies = c.get('icmpv4.tx.echo-replies');
    this.errorsReceived = c.get('icmpv4.rx.errors');
    this.errors = new IcmpErrorLimit(stack, 'icmpv4');
  }

  receive(packet: Ipv4Packet): void {
    this.rxMessages.value++;
    const error = Icmpv4View.check(packet.payload);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const icmp = new Icmpv4View(packet.payload);
    switch (icmp.type) {
      case ICMPV4_ECHO_REQUEST:
        this.answerEcho(packet, icmp);
        return;
      case ICMPV4_ECHO_REPLY:
        if (!this.echoReplyHandler?.(packet, icmp)) this.stack.counters.add('icmpv4.rx.echo-reply-unclaimed');
        return;
      default:
        if (icmpv4IsError(icmp.type)) this.receiveError(packet, icmp);
        else this.stack.counters.add(`icmpv4.rx.type-${icmp.type}`);
    }
  }

  /** An ICMP error about one of our ICMP messages (RFC 1122 3.2.2), for the echo sockets. */
  error(report: Ipv4ErrorReport): void {
    this.echoErrorHandler?.(report);
  }

  private answerEcho(packet: Ipv4Packet, icmp: Icmpv4View): void {
    // RFC 1122 3.2.2.6: echo to a broadcast or multicast address MAY be ignored (Linux does).
    if (packet.kind !== 'unicast' && !this.stack.ipv4.echoBroadcasts) {
      this.drops.drop('echo-to-broadcast');
      return;
    }
    // RFC 1122 3.2.1.3: 0.0.0.0 (and Class E) is never a destination, so such a source gets no reply.
    if (!this.isSingleHost(packet.src)) {
      this.drops.drop('echo-from-non-unicast');
      return;
    }
    const pb = PacketBuffer.forMessage(8 + icmp.body.length);
    emitIcmpv4(pb, { type: 'echo-reply', id: icmp.echoId, seq: icmp.echoSeq, data: icmp.body });
    const path = this.stack.ipv4.route(packet.src, packet.kind === 'unicast' ? { src: packet.dst } : {});
    if (typeof path === 'string') return;
    this.echoReplies.value++;
    // RFC 1122 3.2.2.6: the reply carries the request's data and (we keep) its TOS.
    this.stack.ipv4.send(path, { dst: packet.src, protocol: IP_PROTOCOL_ICMP, tos: packet.ip.tos }, pb);
  }

  private receiveError(packet: Ipv4Packet, icmp: Icmpv4View): void {
    this.errorsReceived.value++;
    const original = icmp.body;
    if (Ipv4View.checkHeader(original) !== undefined) {
      this.drops.drop('bad-quoted-header');
      return;
    }
    const quoted = new Ipv4View(original);
    this.stack.ipv4.deliverError(quoted.protocol, {
      type: icmp.type,
      code: icmp.code,
      reporter: packet.src,
      mtu: icmp.type === ICMPV4_DEST_UNREACHABLE ? icmp.nextHopMtu : 0,
      src: quoted.src,
      dst: quoted.dst,
      transport: original.subarray(quoted.headerLength),
    });
  }

  /**
   * True when `addr` names one host (RFC 1812 4.3.2.7): not zero, Class E (which holds the limited
   * broadcast), multicast, or a directed broadcast of ours.
   */
  private isSingleHost(addr: Ipv4Addr): boolean {
    return (
      addr !== 0 &&
      addr >>> 28 !== 0xf &&
      !ipv4IsMulticast(addr) &&
      !this.stack.ipv4.isDirectedBroadcast(addr)
    );
  }

  /**
   * Sends an ICMP error about `original` (a packet we received), unless a rule forbids it
   * (RFC 1122 3.2.2, RFC 1812 4.3.2.7): never about an ICMP error, a packet to a broadcast or
   * multicast address, a packet from an address that is not a single host (zero, Class E,
   * broadcast, multicast), or a fragment other than the first. (The IP layer drops unicast
   * datagrams that came as link-layer broadcasts before any error can be sent.) Errors are rate
   * limited.
   */
  sendError(
    original: Ipv4View,
    type: number,
    code: number,
    extra: { mtu?: number; pointer?: number; gateway?: Ipv4Addr } = {},
  ): void {
    const src = original.src;
    const dst = original.dst;
    if (original.fragmentOffset !== 0) return;
    if (dst === IPV4_BROADCAST || ipv4IsMulticast(dst) || this.stack.ipv4.isDirectedBroadcast(dst)) return;
    if (!this.isSingleHost(src)) return;
    if (ipv4IsLoopback(src) && !this.stack.ipv4.isLocal(src) && !ipv4IsLoopback(dst)) return;
    if (original.protocol === IP_PROTOCOL_ICMP) {
      const body = original.payload;
      // An error about an error, or about ICMP we cannot read, is never sent.
      if (body.length < 1 || icmpv4IsError(body[0]!)) return;
    }
    if (!this.errors.take()) return;
    const quoteLength = Math.min(original.totalLength, original.bytes.length, MAX_ERROR_PACKET - 20 - 8);
    const quote = original.bytes.subarray(0, quoteLength);
    const pb = PacketBuffer.forMessage(8 + quote.length);
    if (type === ICMPV4_DEST_UNREACHABLE) {
      emitIcmpv4(pb, { type: 'dest-unreachable', code, nextHopMtu: extra.mtu ?? 0, original: quote });
    } else if (type === ICMPV4_TIME_EXCEEDED) {
      emitIcmpv4(pb, { type: 'time-exceeded', code, original: quote });
    } else if (type === ICMPV4_PARAMETER_PROBLEM) {
      emitIcmpv4(pb, { type: 'parameter-problem', code, pointer: extra.pointer ?? 0, original: quote });
    } else if (type === ICMPV4_REDIRECT) {
      emitIcmpv4(pb, { type: 'redirect', code, gateway: extra.gateway ?? 0, original: quote });
    } else {
      throw new RangeError(`ICMP error type ${type}`);
    }
    const path = this.stack.ipv4.route(src);
    if (typeof path === 'string') return;
    this.errors.sent(type, code);
    this.stack.ipv4.send(path, { dst: src, protocol: IP_PROTOCOL_ICMP }, pb);
  }
}
