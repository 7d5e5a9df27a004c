/**
 * Redirects, router side (RFC 4861 8.2): a router forwarding a packet back out of the link it came
 * from, for a sender on that link, tells the sender a better first hop (another router of the
 * link, by its link-local address) or that the destination is itself on the link. The packet is
 * forwarded all the same; redirects share the token bucket of ICMPv6 errors (RFC 4861 8.2,
 * RFC 4443 2.4 (f)).
 *
 * Counters: `ndp.tx.redirects`, `ndp.tx.redirect-skipped.<reason>` (conditions of 8.2 not met),
 * and `icmpv6.tx.rate-limited`.
 */
import { ipv6IsLinkLocal } from '../../wire/address.ts';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, type Ipv6View } from '../../wire/ipv6.ts';
import type { NdpOption } from '../../wire/ndp.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { Stack } from '../stack.ts';
import { isUsable } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';
import type { Ipv6NextHop } from './routing6.ts';

/** RFC 4861 4.5: the fixed part of a Redirect (type to Destination Address). */
const REDIRECT_FIXED = 40;
/** Type, Length and 6 reserved octets before the quoted packet of a Redirected Header option. */
const REDIRECTED_HEADER_FIXED = 8;
/** A link-layer address option for Ethernet. */
const LLADDR_OPTION = 8;

export type RedirectSkipReason = 'source-not-on-link' | 'target-not-link-local' | 'no-link-local';

export class RedirectSender {
  private readonly sent: Counter;
  private readonly skipped: DropCounters<RedirectSkipReason>;

  constructor(
    stack: Stack,
    private readonly ip: Ipv6Layer,
  ) {
    this.sent = stack.counters.get('ndp.tx.redirects');
    this.skipped = stack.counters.drops('ndp.tx.redirect-skipped');
  }

  /**
   * Called for a packet that arrived on `iface` and is forwarded back out of it to `hop` (the
   * caller forwards it whatever this does). RFC 4861 8.2: only when the source is a neighbor on
   * the link, and the target is the destination (on-link) or a router's link-local address.
   */
  consider(iface: NetworkInterface, packet: Ipv6View, hop: Ipv6NextHop): void {
    const src = packet.srcBytes;
    const dst = packet.dstBytes;
    const back = this.ip.routes.lookup(src, iface);
    if (back === undefined || back.route.gateway !== undefined) {
      this.skipped.drop('source-not-on-link');
      return;
    }
    const onLink = hop.route.gateway === undefined;
    const target = onLink ? dst : hop.nextHop;
    // RFC 4861 8.2: the target names a router by its link-local address (hosts check it, 8.1).
    if (!onLink && !ipv6IsLinkLocal(target)) {
      this.skipped.drop('target-not-link-local');
      return;
    }
    // The redirect comes from our link-local address on the link (8.1: hosts check that too).
    const from = this.ip.addresses.list(iface).find((a) => ipv6IsLinkLocal(a.addr) && isUsable(a))?.addr;
    if (from === undefined) {
      this.skipped.drop('no-link-local');
      return;
    }
    if (!this.ip.icmp.errors.take()) return;
    const options: NdpOption[] = [];
    const mac = this.ip.ndp.table.lookup(iface, target)?.mac;
    if (mac !== undefined) options.push({ kind: 'target-lladdr', mac });
    // RFC 4861 4.6.3: as much of the packet as fits without the redirect exceeding 1280 octets.
    const room =
      IPV6_MIN_MTU -
      IPV6_HEADER_LEN -
      REDIRECT_FIXED -
      (mac !== undefined ? LLADDR_OPTION : 0) -
      REDIRECTED_HEADER_FIXED;
    options.push({ kind: 'redirected-header', packet: packet.bytes.subarray(0, room) });
    this.sent.value++;
    this.ip.ndp.send(iface, src, undefined, from, {
      kind: 'redirect',
      target: target.slice(),
      destination: dst.slice(),
      options,
    });
  }
}
