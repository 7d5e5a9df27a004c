/**
 * ICMPv6 in the stack (RFC 4443): verifies checksums, answers echo requests, hands echo replies
 * to echo sockets and errors to the protocol whose packet caused them (Packet Too Big also to the
 * path MTU cache, RFC 8201), passes Neighbor Discovery to NDP and router discovery and MLD to the
 * MLD layer, and sends errors with the rules of RFC 4443 2.4 (e) under a token bucket (2.4 (f)).
 */
import { ipv6IsMulticast, ipv6IsUnspecified } from '../../wire/address.ts';
import {
  emitIcmpv6,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_ERROR_MAX_INVOKING,
  ICMPV6_HEADER_LEN,
  ICMPV6_MLD_QUERY,
  ICMPV6_MLDV1_DONE,
  ICMPV6_MLDV1_REPORT,
  ICMPV6_MLDV2_REPORT,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
  ICMPV6_TIME_EXCEEDED,
  type Icmpv6Repr,
  Icmpv6View,
  IP_PROTOCOL_ICMPV6,
  icmpv6IsError,
  PARAM_UNRECOGNIZED_OPTION,
  UNREACH_ADDRESS,
  UNREACH_BEYOND_SCOPE,
  UNREACH_NO_ROUTE,
  UNREACH_PORT,
} from '../../wire/icmpv6.ts';
import { IPV6_HEADER_LEN, Ipv6View } from '../../wire/ipv6.ts';
import { walkExtensionHeaders } from '../../wire/ipv6-ext.ts';
import { NDP_HOP_LIMIT, parseNdp } from '../../wire/ndp.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import { IcmpErrorLimit } from '../icmp-error-limit.ts';
import type { Stack } from '../stack.ts';
import type { Ipv6Layer } from './ipv6.ts';
import type { Ipv6ErrorReport, Ipv6Packet, Ipv6Protocol } from './ipv6-types.ts';

export type Icmpv6DropReason =
  | 'truncated'
  | 'bad-checksum'
  | 'bad-quoted-header'
  | 'unknown-type'
  | 'echo-from-unspecified'
  | 'ndp-hop-limit'
  | 'ndp-malformed';

/**
 * The errno an ICMPv6 error stands for, as Linux maps it (`icmpv6_err_convert`), for the socket
 * whose packet caused it.
 */
export function icmpv6Errno(type: number, code: number): string {
  switch (type) {
    case ICMPV6_DEST_UNREACHABLE:
      if (code === UNREACH_NO_ROUTE) return 'ENETUNREACH';
      if (code === UNREACH_PORT) return 'ECONNREFUSED';
      if (code === UNREACH_BEYOND_SCOPE || code === UNREACH_ADDRESS) return 'EHOSTUNREACH';
      return 'EACCES'; // administratively prohibited, source policy, reject route
    case ICMPV6_PACKET_TOO_BIG:
      return 'EMSGSIZE';
    case ICMPV6_TIME_EXCEEDED:
      return 'EHOSTUNREACH';
    default:
      return 'EPROTO';
  }
}

/** Receives echo replies (an echo socket); returns true when one took the reply. */
export type Echo6ReplyHandler = (packet: Ipv6Packet, icmp: Icmpv6View) => boolean;

export class Icmpv6Layer implements Ipv6Protocol {
  /** RFC 4443 2.4 (f): the rate limit of the errors we send (redirects share it), and their counters. */
  readonly errors: IcmpErrorLimit;
  echoReplyHandler: Echo6ReplyHandler | undefined;
  /** Receives ICMPv6 errors quoting ICMPv6 messages we sent (the echo requests of echo sockets). */
  echoErrorHandler: ((report: Ipv6ErrorReport) => void) | undefined;
  private readonly drops: DropCounters<Icmpv6DropReason>;
  private readonly rxMessages: Counter;
  private readonly echoReplies: Counter;
  private readonly errorsReceived: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
  ) {
    const c = stack.counters;
    this.drops = c.drops('icmpv6.rx.drop');
    this.rxMessages = c.get('icmpv6.rx.messages');
    this.echoReplies = c.get('icmpv6.tx.echo-replies');
    this.errorsReceived = c.get('icmpv6.rx.errors');
    this.errors = new IcmpErrorLimit(stack, 'icmpv6');
    ip.register(IP_PROTOCOL_ICMPV6, this);
  }

  receive(packet: Ipv6Packet): void {
    this.rxMessages.value++;
    const bytes = packet.payload;
    if (Icmpv6View.check(bytes) !== undefined) {
      this.drops.drop('truncated');
      return;
    }
    const icmp = new Icmpv6View(bytes);
    // RFC 4443 2.3: every message carries a checksum over the pseudo-header.
    if (!icmp.verify(packet.src, packet.dst)) {
      this.drops.drop('bad-checksum');
      return;
    }
    const type = icmp.type;
    this.stack.counters.add(`icmpv6.rx.type-${type}`);
    switch (type) {
      case ICMPV6_ECHO_REQUEST:
        this.answerEcho(packet, icmp);
        return;
      case ICMPV6_ECHO_REPLY:
        if (bytes.length < ICMPV6_HEADER_LEN) this.drops.drop('truncated');
        else if (!this.echoReplyHandler?.(packet, icmp))
          this.stack.counters.add('icmpv6.rx.echo-reply-unclaimed');
        return;
      case ICMPV6_ROUTER_SOLICITATION:
      case ICMPV6_ROUTER_ADVERTISEMENT:
      case ICMPV6_NEIGHBOR_SOLICITATION:
      case ICMPV6_NEIGHBOR_ADVERTISEMENT:
      case ICMPV6_REDIRECT:
        this.neighborDiscovery(packet);
        return;
      case ICMPV6_MLD_QUERY:
      case ICMPV6_MLDV1_REPORT:
      case ICMPV6_MLDV1_DONE:
      case ICMPV6_MLDV2_REPORT:
        this.ip.mld.receive(packet);
        return;
      default:
        // RFC 4443 2.4 (b), (d): unknown informational messages are dropped; errors of unknown
        // types still go to the upper layer.
        if (icmpv6IsError(type)) this.receiveError(packet, icmp);
        else this.drops.drop('unknown-type');
    }
  }

  /** An ICMPv6 error about one of our ICMPv6 messages (RFC 4443 2.4 (d)), for the echo sockets. */
  error(report: Ipv6ErrorReport): void {
    this.echoErrorHandler?.(report);
  }

  /** RFC 4861 6.1, 7.1.1, 7.1.2, 8.1: ND messages arrive with hop limit 255 and parse cleanly. */
  private neighborDiscovery(packet: Ipv6Packet): void {
    if (packet.ip.hopLimit !== NDP_HOP_LIMIT) {
      this.drops.drop('ndp-hop-limit');
      return;
    }
    const nd = parseNdp(packet.payload);
    if (!nd.ok) {
      this.drops.drop('ndp-malformed');
      this.stack.counters.add(`icmpv6.rx.drop.ndp-${nd.error}`);
      return;
    }
    const m = nd.value;
    switch (m.kind) {
      case 'neighbor-solicitation':
      case 'neighbor-advertisement':
        this.ip.ndp.receive(packet, m);
        return;
      case 'router-solicitation':
        this.ip.advertiser(packet.iface)?.solicited(packet, m);
        return;
      case 'router-advertisement':
      case 'redirect':
        this.ip.routerDiscovery.receive(packet, m);
    }
  }

  /** RFC 4443 4.2: a reply carries the request's identifier, sequence number and data. */
  private answerEcho(packet: Ipv6Packet, icmp: Icmpv6View): void {
    if (icmp.bytes.length < ICMPV6_HEADER_LEN) {
      this.drops.drop('truncated');
      return;
    }
    if (ipv6IsUnspecified(packet.src)) {
      this.drops.drop('echo-from-unspecified');
      return;
    }
    // RFC 4443 4.2: a request to a multicast address is answered from a unicast address of ours.
    const from = packet.kind === 'unicast' ? packet.dst : undefined;
    const path = this.ip.route(packet.src, {
      iface: packet.iface,
      ...(from !== undefined ? { src: from } : {}),
    });
    if (typeof path === 'string') return;
    const b = icmp.bytes;
    const pb = PacketBuffer.forMessage(b.length);
    emitIcmpv6(
      pb,
      {
        kind: 'echo-reply',
        identifier: (b[4]! << 8) | b[5]!,
        sequence: (b[6]! << 8) | b[7]!,
        data: b.subarray(ICMPV6_HEADER_LEN),
      },
      path.src,
      packet.src,
    );
    this.echoReplies.value++;
    this.ip.send(
      path,
      { dst: packet.src, nextHeader: IP_PROTOCOL_ICMPV6, trafficClass: packet.ip.trafficClass },
      pb,
    );
  }

  private receiveError(packet: Ipv6Packet, icmp: Icmpv6View): void {
    this.errorsReceived.value++;
    const body = icmp.bytes;
    if (body.length < ICMPV6_HEADER_LEN) {
      this.drops.drop('truncated');
      return;
    }
    const invoking = body.subarray(ICMPV6_HEADER_LEN);
    // The quoted packet is cut short: check only its fixed header, then walk what is there.
    if (invoking.length < IPV6_HEADER_LEN || invoking[0]! >>> 4 !== 6) {
      this.drops.drop('bad-quoted-header');
      return;
    }
    const quoted = new Ipv6View(invoking);
    const chain = walkExtensionHeaders(quoted.nextHeader, invoking.subarray(IPV6_HEADER_LEN));
    if (!chain.ok) {
      this.drops.drop('bad-quoted-header');
      return;
    }
    const rest = (body[4]! << 24) | (body[5]! << 16) | (body[6]! << 8) | body[7]!;
    const type = icmp.type;
    const mtu = type === ICMPV6_PACKET_TOO_BIG ? rest >>> 0 : 0;
    // RFC 8201 4: a Packet Too Big lowers the path MTU towards the quoted destination.
    if (type === ICMPV6_PACKET_TOO_BIG) this.ip.pmtu.update(quoted.dst, mtu);
    this.ip.deliverError(chain.value.protocol, {
      type,
      code: icmp.code,
      reporter: packet.src,
      mtu,
      pointer: type === ICMPV6_PARAMETER_PROBLEM ? rest >>> 0 : 0,
      src: quoted.src,
      dst: quoted.dst,
      transport: chain.value.payload,
    });
  }

  /**
   * Sends an ICMPv6 error about `original` (a packet we received), unless RFC 4443 2.4 (e) forbids
   * it: never about an ICMPv6 error or a redirect, never to a packet sent to a multicast address
   * (except Packet Too Big and a Parameter Problem code 2 for an option whose action asks for it),
   * never to a source that is unspecified or multicast. Rate limited (2.4 (f)).
   */
  sendError(
    original: Ipv6View,
    type: number,
    code: number,
    extra: { mtu?: number; pointer?: number; evenToMulticast?: boolean } = {},
  ): void {
    const src = original.src;
    const dst = original.dst;
    if (ipv6IsUnspecified(src) || ipv6IsMulticast(src)) return;
    const allowedToMulticast =
      type === ICMPV6_PACKET_TOO_BIG ||
      (type === ICMPV6_PARAMETER_PROBLEM &&
        code === PARAM_UNRECOGNIZED_OPTION &&
        extra.evenToMulticast === true);
    if (ipv6IsMulticast(dst) && !allowedToMulticast) return;
    if (this.quotesErrorOrRedirect(original)) return;
    if (!this.errors.take()) return;
    // RFC 4443 2.2: from the address the packet was sent to when it is ours, else the best source.
    const path = this.ip.route(src, this.ip.isLocal(dst) ? { src: dst } : {});
    if (typeof path === 'string') return;
    const invoking = original.bytes.subarray(0, ICMPV6_ERROR_MAX_INVOKING);
    let repr: Icmpv6Repr;
    if (type === ICMPV6_PACKET_TOO_BIG) repr = { kind: 'packet-too-big', mtu: extra.mtu ?? 0, invoking };
    else if (type === ICMPV6_PARAMETER_PROBLEM)
      repr = { kind: 'parameter-problem', code, pointer: extra.pointer ?? 0, invoking };
    else if (type === 1) repr = { kind: 'destination-unreachable', code, invoking };
    else repr = { kind: 'time-exceeded', code, invoking };
    const pb = PacketBuffer.forMessage(ICMPV6_HEADER_LEN + invoking.length);
    emitIcmpv6(pb, repr, path.src, src);
    this.errors.sent(type, code);
    this.ip.send(path, { dst: src, nextHeader: IP_PROTOCOL_ICMPV6 }, pb);
  }

  /** RFC 4443 2.4 (e.1), (e.2): the packet is an ICMPv6 error or a Redirect. */
  private quotesErrorOrRedirect(original: Ipv6View): boolean {
    const chain = walkExtensionHeaders(original.nextHeader, original.payload);
    if (!chain.ok || chain.value.protocol !== IP_PROTOCOL_ICMPV6 || chain.value.fragment?.offset)
      return false;
    const t = chain.value.payload[0];
    return t !== undefined && (icmpv6IsError(t) || t === ICMPV6_REDIRECT);
  }
}
