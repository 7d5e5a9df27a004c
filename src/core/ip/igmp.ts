/**
 * IGMP, host side: version 3 (RFC 3376) by default, as Linux, with the version 2 (RFC 2236) and
 * version 1 compatibility modes of RFC 3376 7.2.1. Groups come from `Ipv4Layer` (joins and leaves
 * counted per interface); this layer tells the routers about them and answers their queries.
 *
 * What IGMP shares with MLD (compatibility modes, report timers, state-change retransmissions,
 * per-group records) is `GroupMembership` (../group-membership.ts); this file holds IGMP's
 * messages, constants and query checks.
 *
 * Counters: `igmp.rx.queries`, `igmp.rx.reports` (other hosts' reports and leaves),
 * `igmp.tx.reports`, `igmp.tx.leaves`, `igmp.rx.drop.<reason>`, `igmp.tx.drop.<reason>`.
 */
import { type Ipv4Addr, ipv4IsMulticast } from '../../wire/address.ts';
import {
  CHANGE_TO_EXCLUDE_MODE,
  CHANGE_TO_INCLUDE_MODE,
  emitIgmp,
  IGMP_LEAVE_GROUP,
  IGMP_MEMBERSHIP_QUERY,
  IGMP_V1_REPORT,
  IGMP_V2_REPORT,
  IGMP_V3_REPORT,
  type IgmpError,
  type IgmpGroupRecord,
  type IgmpRepr,
  IgmpView,
  igmpLength,
  igmpv3DecodeCode,
  MODE_IS_EXCLUDE,
  MODE_IS_INCLUDE,
} from '../../wire/igmp.ts';
import { IP_PROTOCOL_IGMP, IPV4_HEADER_LEN } from '../../wire/ipv4.ts';
import { buildIpv4Options } from '../../wire/ipv4-options.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { Counter, DropCounters } from '../counters.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { GroupMembership, type MembershipProtocol, type RecordKind } from '../group-membership.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { Ipv4Packet, Ipv4Protocol } from './ipv4-types.ts';

/** RFC 1112 4 and RFC 2236 9: all systems, all routers; RFC 3376 4.2.14: where v3 reports go. */
export const IGMP_ALL_HOSTS = 0xe000_0001;
export const IGMP_ALL_ROUTERS = 0xe000_0002;
export const IGMP_V3_ROUTERS = 0xe000_0016;

/** RFC 3376 8.1, 8.2, 8.3: defaults until a v3 query tells the querier's values. */
const DEFAULT_ROBUSTNESS = 2;
const DEFAULT_QUERY_INTERVAL = 125 * SECOND;
const DEFAULT_QUERY_RESPONSE_INTERVAL = 10 * SECOND;
/** RFC 3376 8.11 (v3) and RFC 2236 8.10 (v1/v2): spacing of unsolicited report repetitions. */
const V3_UNSOLICITED_REPORT_INTERVAL = 1 * SECOND;
const V2_UNSOLICITED_REPORT_INTERVAL = 10 * SECOND;
/** Max Resp Time and Code count tenths of a second (RFC 2236 2.2, RFC 3376 4.1.1). */
const TENTH = SECOND / 10;
/** Linux sends IGMP with IP precedence "internetwork control". */
const IGMP_TOS = 0xc0;
/** RFC 2113: every IGMP message carries the Router Alert option (RFC 2236 2, RFC 3376 4). */
const ROUTER_ALERT = buildIpv4Options([{ type: 'router-alert', value: 0 }]);
/** RFC 3376 4.2.4: a group record is 8 bytes and 4 a source. */
const V3_RECORD_HEADER_LEN = 8;
/** RFC 3376 4.2.12: record types by kind. */
const RECORD_TYPES: Record<RecordKind, number> = {
  'is-include': MODE_IS_INCLUDE,
  'is-exclude': MODE_IS_EXCLUDE,
  'to-include': CHANGE_TO_INCLUDE_MODE,
  'to-exclude': CHANGE_TO_EXCLUDE_MODE,
};

/** Host Compatibility Mode (RFC 3376 7.2.1). */
export type IgmpVersion = 1 | 2 | 3;

export type IgmpDropReason = IgmpError | 'bad-query';

export class IgmpLayer implements Ipv4Protocol {
  private readonly membership: GroupMembership<Ipv4Addr, IgmpGroupRecord>;
  private readonly drops: DropCounters<IgmpDropReason>;
  private readonly txDrops: DropCounters<'no-route'>;
  private readonly leavesSent: Counter;

  constructor(private readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('igmp.rx.drop');
    this.txDrops = c.drops('igmp.tx.drop');
    this.leavesSent = c.get('igmp.tx.leaves');
    this.membership = new GroupMembership(stack, this.protocol(), 'igmp');
    stack.ipv4.register(IP_PROTOCOL_IGMP, this);
    stack.ipv4.onMembershipChanged.push((iface, group, joined) =>
      stack.run(() => (joined ? this.join(iface, group) : this.membership.leave(iface, group))),
    );
  }

  /** The Host Compatibility Mode of an interface. */
  version(iface: NetworkInterface): IgmpVersion {
    return this.membership.version(iface) as IgmpVersion;
  }

  private join(iface: NetworkInterface, group: Ipv4Addr): void {
    // RFC 2236 6: no report is ever sent for the all-systems group.
    if (group === IGMP_ALL_HOSTS || iface === this.stack.loopback) return;
    this.membership.join(iface, group);
  }

  // ---- receive ----

  receive(packet: Ipv4Packet): void {
    const error = IgmpView.check(packet.payload);
    if (error !== undefined) {
      this.drops.drop(error);
      return;
    }
    const igmp = new IgmpView(packet.payload);
    switch (igmp.type) {
      case IGMP_MEMBERSHIP_QUERY:
        this.query(packet.iface, igmp);
        return;
      case IGMP_V1_REPORT:
      case IGMP_V2_REPORT:
        // RFC 2236 3: another member's report suppresses ours (v1/v2 only).
        this.membership.reportHeard(packet.iface, igmp.group);
        return;
      case IGMP_LEAVE_GROUP:
      case IGMP_V3_REPORT:
        // For routers: hosts have nothing to do with them (RFC 3376 has no report suppression).
        this.membership.reportHeard(packet.iface);
        return;
    }
  }

  private query(iface: NetworkInterface, q: IgmpView): void {
    const group = q.group;
    if ((group !== 0 && !ipv4IsMulticast(group)) || (q.isV3Query && group === 0 && q.sources.length > 0)) {
      this.drops.drop('bad-query');
      return;
    }
    const target = group === 0 ? undefined : group;
    if (q.isV3Query) {
      this.membership.query(iface, {
        group: target,
        sources: q.sources,
        maxDelay: igmpv3DecodeCode(q.maxResp) * TENTH,
        // RFC 3376 4.1.6 and 4.1.7: 0 means the querier does not tell.
        robustness: q.qrv !== 0 ? q.qrv : undefined,
        queryInterval: q.qqic !== 0 ? igmpv3DecodeCode(q.qqic) * SECOND : undefined,
      });
      return;
    }
    // RFC 2236 4: a v1 querier sends Max Resp Time 0; the delay is then up to 10 seconds.
    const maxDelay = q.maxResp === 0 ? DEFAULT_QUERY_RESPONSE_INTERVAL : q.maxResp * TENTH;
    this.membership.query(iface, {
      group: target,
      sources: [],
      maxDelay,
      older: { version: q.maxResp === 0 ? 1 : 2, responseInterval: maxDelay },
    });
  }

  // ---- send ----

  private protocol(): MembershipProtocol<Ipv4Addr, IgmpGroupRecord> {
    return {
      latest: 3,
      defaultRobustness: DEFAULT_ROBUSTNESS,
      defaultQueryInterval: DEFAULT_QUERY_INTERVAL,
      unsolicitedInterval: V3_UNSOLICITED_REPORT_INTERVAL,
      olderUnsolicitedInterval: V2_UNSOLICITED_REPORT_INTERVAL,
      key: (addr) => addr,
      sendOlderReport: (iface, group, version) =>
        this.send(iface, group, { type: version === 1 ? 'v1-report' : 'v2-report', group }),
      sendOlderLeave: (iface, group, version) => {
        // RFC 2236 3: a leave goes to all routers; a v1 querier knows no leaves (RFC 3376 7.2.1).
        if (version !== 2) return;
        this.leavesSent.value++;
        this.send(iface, IGMP_ALL_ROUTERS, { type: 'leave', group });
      },
      record: (kind, group, sources) => ({
        recordType: RECORD_TYPES[kind],
        group,
        sources,
        auxData: new Uint8Array(0),
      }),
      recordLength: (r) => V3_RECORD_HEADER_LEN + 4 * r.sources.length,
      reportRoom: (iface) =>
        iface.mtu - IPV4_HEADER_LEN - ROUTER_ALERT.length - igmpLength({ type: 'v3-report', records: [] }),
      // RFC 3376 4.2.14: v3 reports go to 224.0.0.22.
      sendReport: (iface, records) => this.send(iface, IGMP_V3_ROUTERS, { type: 'v3-report', records }),
    };
  }

  /** Sends one message with TTL 1 and Router Alert (RFC 2236 2, RFC 3376 4). */
  private send(iface: NetworkInterface, dst: Ipv4Addr, repr: IgmpRepr): void {
    const path = this.stack.ipv4.route(dst, { iface });
    if (typeof path === 'string') {
      this.txDrops.drop('no-route');
      return;
    }
    const pb = PacketBuffer.forMessage(igmpLength(repr));
    emitIgmp(pb, repr);
    this.stack.ipv4.send(
      path,
      { dst, protocol: IP_PROTOCOL_IGMP, ttl: 1, tos: IGMP_TOS, options: ROUTER_ALERT },
      pb,
    );
  }
}
