/**
 * IGMP, host side: version 3 (RFC 3376) by default, as Linux, with the version 2 (RFC 2236) and
 * version 1 compatibility modes of RFC 3376 7.2.1. Groups come from `Ipv4Layer` (joins and leaves
 * counted per interface); this layer tells the routers about them and answers their queries.
 *
 * The stack has no source-filtering API, so every group is in EXCLUDE mode with no sources
 * (any-source multicast): a join is a filter-mode change to EXCLUDE {}, a leave one to INCLUDE {}.
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
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
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
/** Sources remembered for one pending group-and-source-specific response; beyond, the whole group is reported. */
const MAX_QUERIED_SOURCES = 64;
/** Linux sends IGMP with IP precedence "internetwork control". */
const IGMP_TOS = 0xc0;
/** RFC 2113: every IGMP message carries the Router Alert option (RFC 2236 2, RFC 3376 4). */
const ROUTER_ALERT = buildIpv4Options([{ type: 'router-alert', value: 0 }]);
const V3_RECORD_HEADER_LEN = 8;

/** Host Compatibility Mode (RFC 3376 7.2.1). */
export type IgmpVersion = 1 | 2 | 3;

export type IgmpDropReason = IgmpError | 'bad-query';

interface GroupState {
  readonly group: Ipv4Addr;
  /** v1/v2: pending report; v3: pending answer to a group-specific query. */
  readonly timer: Timer;
  /** v1/v2: unsolicited repetitions still to send after a join (RFC 2236 3). */
  unsolicitedLeft: number;
  /** v2: we sent the last report for the group, so we send the leave (RFC 2236 3). */
  lastReporter: boolean;
  /** v3: sources of the pending group-and-source-specific answer; undefined for the whole group. */
  querySources: Set<Ipv4Addr> | undefined;
}

interface InterfaceState {
  readonly iface: NetworkInterface;
  readonly groups: Map<Ipv4Addr, GroupState>;
  mode: IgmpVersion;
  /** Older Version Querier Present timers (RFC 3376 7.2.1), as deadlines. */
  v1QuerierUntil: number;
  v2QuerierUntil: number;
  /** Fires when an Older Version Querier Present timer runs out. */
  readonly modeTimer: Timer;
  /** RFC 3376 8.1 and 8.2: the querier's values, learned from v3 queries. */
  robustness: number;
  queryInterval: number;
  /** v3: the pending answer to a general query (the "interface timer" of RFC 3376 5.2). */
  readonly generalTimer: Timer;
  /** v3: state-change records still to be retransmitted (RFC 3376 5.1), and their timer. */
  readonly changes: Map<Ipv4Addr, { recordType: number; left: number }>;
  readonly changeTimer: Timer;
}

export class IgmpLayer implements Ipv4Protocol {
  private readonly interfaces = new Map<number, InterfaceState>();
  private readonly drops: DropCounters<IgmpDropReason>;
  private readonly txDrops: DropCounters<'no-route'>;
  private readonly queries: Counter;
  private readonly reportsHeard: Counter;
  private readonly reportsSent: Counter;
  private readonly leavesSent: Counter;

  constructor(private readonly stack: Stack) {
    const c = stack.counters;
    this.drops = c.drops('igmp.rx.drop');
    this.txDrops = c.drops('igmp.tx.drop');
    this.queries = c.get('igmp.rx.queries');
    this.reportsHeard = c.get('igmp.rx.reports');
    this.reportsSent = c.get('igmp.tx.reports');
    this.leavesSent = c.get('igmp.tx.leaves');
    stack.ipv4.register(IP_PROTOCOL_IGMP, this);
    stack.ipv4.onMembershipChanged.push((iface, group, joined) =>
      stack.run(() => (joined ? this.join(iface, group) : this.leave(iface, group))),
    );
  }

  /** The Host Compatibility Mode of an interface. */
  version(iface: NetworkInterface): IgmpVersion {
    return this.interfaces.get(iface.index)?.mode ?? 3;
  }

  // ---- membership changes ----

  private join(iface: NetworkInterface, group: Ipv4Addr): void {
    // RFC 2236 6: no report is ever sent for the all-systems group.
    if (group === IGMP_ALL_HOSTS || iface === this.stack.loopback) return;
    const s = this.state(iface);
    if (s.groups.has(group)) return;
    const g: GroupState = {
      group,
      timer: this.stack.createTimer(() => this.groupTimerExpired(s, g)),
      unsolicitedLeft: 0,
      lastReporter: false,
      querySources: undefined,
    };
    s.groups.set(group, g);
    if (s.mode === 3) {
      this.stateChange(s, group, CHANGE_TO_EXCLUDE_MODE);
      return;
    }
    // RFC 2236 3: report at once, and repeat after a short random delay.
    this.sendV1V2Report(s, g);
    g.unsolicitedLeft = s.robustness - 1;
    this.repeatUnsolicited(g);
  }

  private leave(iface: NetworkInterface, group: Ipv4Addr): void {
    const s = this.interfaces.get(iface.index);
    const g = s?.groups.get(group);
    if (s === undefined || g === undefined) return;
    this.stack.cancel(g.timer);
    s.groups.delete(group);
    if (s.mode === 3) this.stateChange(s, group, CHANGE_TO_INCLUDE_MODE);
    // RFC 2236 3: a leave goes to all routers, from the host that sent the last report; a v1
    // querier knows no leaves (RFC 3376 7.2.1).
    else if (s.mode === 2 && g.lastReporter) {
      this.leavesSent.value++;
      this.send(iface, IGMP_ALL_ROUTERS, { type: 'leave', group });
    }
  }

  /**
   * RFC 3376 5.1: a change is reported at once, then [Robustness Variable] - 1 more times at
   * random intervals up to the Unsolicited Report Interval. A newer change of the same group
   * replaces the older record and restarts its count; each report carries every pending record.
   */
  private stateChange(s: InterfaceState, group: Ipv4Addr, recordType: number): void {
    s.changes.set(group, { recordType, left: s.robustness });
    this.sendChanges(s);
  }

  private sendChanges(s: InterfaceState): void {
    const records: IgmpGroupRecord[] = [];
    for (const [group, change] of s.changes) {
      records.push(record(change.recordType, group, []));
      if (--change.left === 0) s.changes.delete(group);
    }
    this.sendV3Report(s.iface, records);
    if (s.changes.size > 0) this.scheduleRandom(s.changeTimer, V3_UNSOLICITED_REPORT_INTERVAL);
    else this.stack.cancel(s.changeTimer);
  }

  private repeatUnsolicited(g: GroupState): void {
    if (g.unsolicitedLeft <= 0) return;
    g.unsolicitedLeft--;
    this.scheduleRandom(g.timer, V2_UNSOLICITED_REPORT_INTERVAL);
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
        this.reportsHeard.value++;
        this.heardReport(packet.iface, igmp.group);
        return;
      case IGMP_LEAVE_GROUP:
      case IGMP_V3_REPORT:
        // For routers: hosts have nothing to do with them (RFC 3376 has no report suppression).
        this.reportsHeard.value++;
        return;
    }
  }

  private query(iface: NetworkInterface, q: IgmpView): void {
    const group = q.group;
    if ((group !== 0 && !ipv4IsMulticast(group)) || (q.isV3Query && group === 0 && q.sources.length > 0)) {
      this.drops.drop('bad-query');
      return;
    }
    this.queries.value++;
    const s = this.state(iface);
    const now = this.stack.now();
    let maxDelay: number;
    if (q.isV3Query) {
      maxDelay = igmpv3DecodeCode(q.maxResp) * TENTH;
      // RFC 3376 4.1.6 and 4.1.7: adopt the querier's robustness and interval when it tells them.
      if (q.qrv !== 0) s.robustness = q.qrv;
      if (q.qqic !== 0) s.queryInterval = igmpv3DecodeCode(q.qqic) * SECOND;
    } else if (q.maxResp === 0) {
      // RFC 2236 4: a v1 querier sends 0; the delay is then up to 10 seconds.
      maxDelay = DEFAULT_QUERY_RESPONSE_INTERVAL;
      s.v1QuerierUntil = now + this.olderQuerierTimeout(s, maxDelay);
    } else {
      maxDelay = q.maxResp * TENTH;
      s.v2QuerierUntil = now + this.olderQuerierTimeout(s, maxDelay);
    }
    this.updateMode(s);
    const delay = maxDelay * randomFloat(this.stack.env.rng);
    if (s.mode !== 3) {
      // RFC 2236 3: a timer per group; a running one is only moved earlier.
      const targets = group === 0 ? s.groups.values() : [s.groups.get(group)].filter((g) => g !== undefined);
      for (const g of targets) {
        if (!g.timer.scheduled || g.timer.deadline > now + maxDelay)
          this.stack.schedule(g.timer, now + delay);
      }
      return;
    }
    // RFC 3376 5.2, rules 1 to 5.
    const at = now + delay;
    if (s.generalTimer.scheduled && s.generalTimer.deadline <= at) return;
    if (group === 0) {
      this.stack.schedule(s.generalTimer, at);
      return;
    }
    const g = s.groups.get(group);
    if (g === undefined) return;
    const sources = q.sources;
    if (!g.timer.scheduled) {
      g.querySources = sources.length > 0 ? new Set(sources) : undefined;
      this.stack.schedule(g.timer, at);
      return;
    }
    if (sources.length === 0 || g.querySources === undefined) g.querySources = undefined;
    else {
      for (const src of sources) g.querySources.add(src);
      if (g.querySources.size > MAX_QUERIED_SOURCES) g.querySources = undefined;
    }
    if (at < g.timer.deadline) this.stack.schedule(g.timer, at);
  }

  /** RFC 2236 3: another member's report suppresses ours (v1/v2 only; RFC 3376 5.2 has none). */
  private heardReport(iface: NetworkInterface, group: Ipv4Addr): void {
    const s = this.interfaces.get(iface.index);
    const g = s?.groups.get(group);
    if (s === undefined || g === undefined || s.mode === 3) return;
    this.stack.cancel(g.timer);
    g.unsolicitedLeft = 0;
    g.lastReporter = false;
  }

  // ---- compatibility mode (RFC 3376 7.2.1) ----

  /** RFC 3376 8.12: Robustness times Query Interval plus one Query Response Interval. */
  private olderQuerierTimeout(s: InterfaceState, queryResponseInterval: number): number {
    return s.robustness * s.queryInterval + queryResponseInterval;
  }

  private updateMode(s: InterfaceState): void {
    const now = this.stack.now();
    const mode: IgmpVersion = s.v1QuerierUntil > now ? 1 : s.v2QuerierUntil > now ? 2 : 3;
    const next = [s.v1QuerierUntil, s.v2QuerierUntil].filter((t) => t > now);
    if (next.length > 0) this.stack.schedule(s.modeTimer, Math.min(...next));
    else this.stack.cancel(s.modeTimer);
    if (mode === s.mode) return;
    s.mode = mode;
    // "When Host Compatibility Mode changes, a host MUST cancel all its pending response and
    // retransmission timers."
    this.stack.cancel(s.generalTimer);
    this.stack.cancel(s.changeTimer);
    s.changes.clear();
    for (const g of s.groups.values()) {
      this.stack.cancel(g.timer);
      g.unsolicitedLeft = 0;
      g.querySources = undefined;
    }
  }

  // ---- timers ----

  private groupTimerExpired(s: InterfaceState, g: GroupState): void {
    if (s.mode !== 3) {
      this.sendV1V2Report(s, g);
      this.repeatUnsolicited(g);
      return;
    }
    const sources = g.querySources;
    g.querySources = undefined;
    this.sendV3Report(s.iface, [
      sources === undefined
        ? record(MODE_IS_EXCLUDE, g.group, [])
        : record(MODE_IS_INCLUDE, g.group, [...sources]),
    ]);
  }

  /** RFC 3376 5.2: the answer to a general query reports the state of every group. */
  private generalTimerExpired(s: InterfaceState): void {
    const records = [...s.groups.keys()].map((group) => record(MODE_IS_EXCLUDE, group, []));
    if (records.length > 0) this.sendV3Report(s.iface, records);
  }

  // ---- send ----

  private sendV1V2Report(s: InterfaceState, g: GroupState): void {
    g.lastReporter = true;
    this.reportsSent.value++;
    this.send(s.iface, g.group, { type: s.mode === 1 ? 'v1-report' : 'v2-report', group: g.group });
  }

  /** Sends records to 224.0.0.22, in as many reports as the MTU needs (RFC 3376 4.2.16). */
  private sendV3Report(iface: NetworkInterface, records: IgmpGroupRecord[]): void {
    const room =
      iface.mtu - IPV4_HEADER_LEN - ROUTER_ALERT.length - igmpLength({ type: 'v3-report', records: [] });
    let batch: IgmpGroupRecord[] = [];
    let size = 0;
    for (const r of records) {
      const len = V3_RECORD_HEADER_LEN + 4 * r.sources.length;
      if (batch.length > 0 && size + len > room) {
        this.reportsSent.value++;
        this.send(iface, IGMP_V3_ROUTERS, { type: 'v3-report', records: batch });
        batch = [];
        size = 0;
      }
      batch.push(r);
      size += len;
    }
    if (batch.length === 0) return;
    this.reportsSent.value++;
    this.send(iface, IGMP_V3_ROUTERS, { type: 'v3-report', records: batch });
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

  // ---- helpers ----

  private state(iface: NetworkInterface): InterfaceState {
    let s = this.interfaces.get(iface.index);
    if (s !== undefined) return s;
    const created: InterfaceState = {
      iface,
      groups: new Map(),
      mode: 3,
      v1QuerierUntil: 0,
      v2QuerierUntil: 0,
      modeTimer: this.stack.createTimer(() => this.updateMode(created)),
      robustness: DEFAULT_ROBUSTNESS,
      queryInterval: DEFAULT_QUERY_INTERVAL,
      generalTimer: this.stack.createTimer(() => this.generalTimerExpired(created)),
      changes: new Map(),
      changeTimer: this.stack.createTimer(() => this.sendChanges(created)),
    };
    s = created;
    this.interfaces.set(iface.index, s);
    return s;
  }

  /** Schedules `timer` at a random delay in (0, max]. */
  private scheduleRandom(timer: Timer, max: number): void {
    this.stack.schedule(timer, this.stack.now() + max * (1 - randomFloat(this.stack.env.rng)));
  }
}

function record(recordType: number, group: Ipv4Addr, sources: Ipv4Addr[]): IgmpGroupRecord {
  return { recordType, group, sources, auxData: new Uint8Array(0) };
}
