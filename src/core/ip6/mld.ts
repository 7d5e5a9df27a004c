/**
 * MLD, host side: version 2 (RFC 3810) by default, with the MLDv1 compatibility mode of RFC 3810
 * 8.2 (RFC 2710 behaviour while an MLDv1 querier is present). Groups come from `Ipv6Layer`
 * (joins counted per interface); this layer reports them and answers queries. What MLD shares with
 * IGMP (compatibility mode, report timers, state-change retransmissions, per-group records, and
 * EXCLUDE {} for every group, as there is no source-filtering API) is `GroupMembership`
 * (../group-membership.ts); this file holds MLD's messages, constants and query checks.
 *
 * Messages go with hop limit 1 and a Router Alert (RFC 3810 5), from our link-local address, or
 * from :: while it is still tentative (RFC 3810 5.2.13). No report is ever sent for all-nodes or
 * for groups of scope 0 or 1 (RFC 3810 6).
 *
 * Counters: `mld.rx.queries`, `mld.rx.reports`, `mld.tx.reports`, `mld.tx.dones`, `mld.rx.drop.*`.
 */
import {
  IPV6_UNSPECIFIED,
  type Ipv6Addr,
  ipv6IsLinkLocal,
  ipv6IsUnspecified,
  ipv6Key,
} from '../../wire/address.ts';
import { IP_PROTOCOL_ICMPV6 } from '../../wire/icmpv6.ts';
import { IPV6_HEADER_LEN } from '../../wire/ipv6.ts';
import { ROUTER_ALERT_MLD, routerAlertOption } from '../../wire/ipv6-ext.ts';
import {
  emitMld,
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_MODE_IS_EXCLUDE,
  MLD_MODE_IS_INCLUDE,
  type MldError,
  type MldRecord,
  type MldRepr,
  mldLength,
  mldMaxResponseDelay,
  mldQueryInterval,
  parseMld,
} from '../../wire/mld.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { GroupMembership, type MembershipProtocol, type RecordKind } from '../group-membership.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import { isUsable } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';
import {
  ALL_NODES,
  ALL_ROUTERS,
  ipv6Equal,
  MLDV2_ROUTERS,
  multicastScope,
  SCOPE_INTERFACE,
} from './ipv6-addr.ts';
import type { Ipv6Packet } from './ipv6-types.ts';

/** RFC 3810 9.1, 9.2, 9.3, 9.11: defaults until a querier says otherwise. */
const DEFAULT_ROBUSTNESS = 2;
const DEFAULT_QUERY_INTERVAL = 125 * SECOND;
const DEFAULT_QUERY_RESPONSE_INTERVAL = 10 * SECOND;
const UNSOLICITED_REPORT_INTERVAL = 1 * SECOND;
/** RFC 2710 7.10: MLDv1 unsolicited reports are spaced up to 10 s apart. */
const V1_UNSOLICITED_REPORT_INTERVAL = 10 * SECOND;
/** RFC 3810 5.2.4: a multicast address record is 20 bytes and 16 a source. */
const RECORD_HEADER_LEN = 20;
/** The Hop-by-Hop header that carries the Router Alert: 8 bytes. */
const HOP_BY_HOP_LEN = 8;
const HOP_BY_HOP = [routerAlertOption(ROUTER_ALERT_MLD)];
/** RFC 3810 5.2.12: record types by kind. */
const RECORD_TYPES: Record<RecordKind, number> = {
  'is-include': MLD_MODE_IS_INCLUDE,
  'is-exclude': MLD_MODE_IS_EXCLUDE,
  'to-include': MLD_CHANGE_TO_INCLUDE,
  'to-exclude': MLD_CHANGE_TO_EXCLUDE,
};

export type MldVersion = 1 | 2;
export type MldDropReason = MldError | 'bad-hop-limit' | 'bad-query-source' | 'bad-query';

export class MldLayer {
  private readonly membership: GroupMembership<Ipv6Addr, MldRecord>;
  private readonly drops: DropCounters<MldDropReason>;
  private readonly donesSent: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
  ) {
    const c = stack.counters;
    this.drops = c.drops('mld.rx.drop');
    this.donesSent = c.get('mld.tx.dones');
    this.membership = new GroupMembership(stack, this.protocol(), 'mld');
    ip.onMembershipChanged.push((iface, group, joined) =>
      stack.run(() => (joined ? this.join(iface, group) : this.membership.leave(iface, group))),
    );
  }

  /** The compatibility mode of an interface. */
  version(iface: NetworkInterface): MldVersion {
    return this.membership.version(iface) as MldVersion;
  }

  private reportable(iface: NetworkInterface, group: Ipv6Addr): boolean {
    return (
      iface !== this.stack.loopback &&
      iface.link.kind === 'ethernet' &&
      multicastScope(group) > SCOPE_INTERFACE &&
      !ipv6Equal(group, ALL_NODES)
    );
  }

  private join(iface: NetworkInterface, group: Ipv6Addr): void {
    if (this.reportable(iface, group)) this.membership.join(iface, group.slice());
  }

  // ---- receive ----

  /** An MLD message from ICMPv6. */
  receive(packet: Ipv6Packet): void {
    // RFC 3810 5.1.13 / 5.2.13: hop limit 1; queries come from link-local addresses.
    if (packet.ip.hopLimit !== 1) {
      this.drops.drop('bad-hop-limit');
      return;
    }
    const parsed = parseMld(packet.payload);
    if (!parsed.ok) {
      this.drops.drop(parsed.error);
      return;
    }
    const m = parsed.value;
    switch (m.kind) {
      case 'query-v1':
      case 'query-v2':
        if (!ipv6IsLinkLocal(packet.src)) {
          this.drops.drop('bad-query-source');
          return;
        }
        this.query(packet.iface, m);
        return;
      case 'report-v1':
        // RFC 2710 4: in MLDv1 mode, another listener's report suppresses ours.
        this.membership.reportHeard(packet.iface, m.group);
        return;
      default:
        this.membership.reportHeard(packet.iface);
    }
  }

  private query(iface: NetworkInterface, q: Extract<MldRepr, { kind: 'query-v1' | 'query-v2' }>): void {
    const general = ipv6IsUnspecified(q.group);
    // A specific query names a multicast address; a General Query has no sources (RFC 3810 5.1.10).
    if ((!general && q.group[0] !== 0xff) || (q.kind === 'query-v2' && general && q.sources.length > 0)) {
      this.drops.drop('bad-query');
      return;
    }
    const group = general ? undefined : q.group;
    if (q.kind === 'query-v2') {
      this.membership.query(iface, {
        group,
        sources: q.sources,
        maxDelay: mldMaxResponseDelay(q.maxResponseCode),
        // RFC 3810 5.1.8, 5.1.9: 0 means the querier does not tell.
        robustness: q.qrv !== 0 ? q.qrv : undefined,
        queryInterval: q.qqic !== 0 ? mldQueryInterval(q.qqic) * SECOND : undefined,
      });
      return;
    }
    this.membership.query(iface, {
      group,
      sources: [],
      maxDelay: q.maxResponseDelay,
      older: { version: 1, responseInterval: DEFAULT_QUERY_RESPONSE_INTERVAL },
    });
  }

  // ---- send ----

  private protocol(): MembershipProtocol<Ipv6Addr, MldRecord> {
    return {
      latest: 2,
      defaultRobustness: DEFAULT_ROBUSTNESS,
      defaultQueryInterval: DEFAULT_QUERY_INTERVAL,
      unsolicitedInterval: UNSOLICITED_REPORT_INTERVAL,
      olderUnsolicitedInterval: V1_UNSOLICITED_REPORT_INTERVAL,
      key: ipv6Key,
      sendOlderReport: (iface, group) => this.send(iface, group, { kind: 'report-v1', group }),
      // RFC 2710 4: the Done goes to all routers.
      sendOlderLeave: (iface, group) => {
        this.donesSent.value++;
        this.send(iface, ALL_ROUTERS, { kind: 'done-v1', group });
      },
      record: (kind, group, sources) => ({
        type: RECORD_TYPES[kind],
        group,
        sources,
        auxData: new Uint8Array(0),
      }),
      recordLength: (r) => RECORD_HEADER_LEN + 16 * r.sources.length,
      reportRoom: (iface) =>
        this.ip.linkMtu(iface) -
        IPV6_HEADER_LEN -
        HOP_BY_HOP_LEN -
        mldLength({ kind: 'report-v2', records: [] }),
      // RFC 3810 5.2.14: MLDv2 reports go to ff02::16.
      sendReport: (iface, records) => this.send(iface, MLDV2_ROUTERS, { kind: 'report-v2', records }),
    };
  }

  private send(iface: NetworkInterface, dst: Ipv6Addr, repr: MldRepr): void {
    const ll = this.ip.addresses.list(iface).find((a) => ipv6IsLinkLocal(a.addr) && isUsable(a));
    const src = ll?.addr ?? IPV6_UNSPECIFIED;
    const pb = PacketBuffer.forMessage(mldLength(repr));
    emitMld(pb, repr, src, dst);
    this.ip.send(
      { iface, nextHop: dst, src, mtu: this.ip.linkMtu(iface) },
      { dst, nextHeader: IP_PROTOCOL_ICMPV6, hopLimit: 1, hopByHop: HOP_BY_HOP },
      pb,
    );
  }
}
