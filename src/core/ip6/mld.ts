/**
 * MLD, host side: version 2 (RFC 3810) by default, with the MLDv1 compatibility mode of RFC 3810
 * 8.2 (RFC 2710 behaviour while an MLDv1 querier is present). Groups come from `Ipv6Layer`
 * (joins counted per interface); this layer reports them and answers queries. As with IGMP, there
 * is no source-filtering API: every group is EXCLUDE {} (any source), a join a change to EXCLUDE {},
 * a leave a change to INCLUDE {}.
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
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
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
/** Sources remembered for one pending group-and-source answer; beyond, the whole group is reported. */
const MAX_QUERIED_SOURCES = 64;
const RECORD_HEADER_LEN = 20;
const HOP_BY_HOP = [routerAlertOption(ROUTER_ALERT_MLD)];

export type MldVersion = 1 | 2;
export type MldDropReason = MldError | 'bad-hop-limit' | 'bad-query-source' | 'bad-query';

interface GroupState {
  readonly group: Ipv6Addr;
  /** v1: pending report; v2: pending answer to a group-specific query. */
  readonly timer: Timer;
  unsolicitedLeft: number;
  /** v1: we sent the last report, so we send the Done (RFC 2710 4). */
  lastReporter: boolean;
  /** v2: sources of a pending group-and-source answer; undefined for the whole group. */
  querySources: Map<string, Ipv6Addr> | undefined;
}

interface InterfaceState {
  readonly iface: NetworkInterface;
  readonly groups: Map<string, GroupState>;
  mode: MldVersion;
  /** RFC 3810 8.2.1: Older Version Querier Present timer, as a deadline. */
  v1QuerierUntil: number;
  readonly modeTimer: Timer;
  robustness: number;
  queryInterval: number;
  readonly generalTimer: Timer;
  /** v2 state-change records still to retransmit (RFC 3810 6.1). */
  readonly changes: Map<string, { group: Ipv6Addr; recordType: number; left: number }>;
  readonly changeTimer: Timer;
}

export class MldLayer {
  private readonly interfaces = new Map<number, InterfaceState>();
  private readonly drops: DropCounters<MldDropReason>;
  private readonly queries: Counter;
  private readonly reportsHeard: Counter;
  private readonly reportsSent: Counter;
  private readonly donesSent: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
  ) {
    const c = stack.counters;
    this.drops = c.drops('mld.rx.drop');
    this.queries = c.get('mld.rx.queries');
    this.reportsHeard = c.get('mld.rx.reports');
    this.reportsSent = c.get('mld.tx.reports');
    this.donesSent = c.get('mld.tx.dones');
    ip.onMembershipChanged.push((iface, group, joined) =>
      stack.run(() => (joined ? this.join(iface, group) : this.leave(iface, group))),
    );
  }

  /** The compatibility mode of an interface. */
  version(iface: NetworkInterface): MldVersion {
    return this.interfaces.get(iface.index)?.mode ?? 2;
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
    if (!this.reportable(iface, group)) return;
    const s = this.state(iface);
    const key = ipv6Key(group);
    if (s.groups.has(key)) return;
    const g: GroupState = {
      group: group.slice(),
      timer: this.stack.createTimer(() => this.groupTimerExpired(s, g)),
      unsolicitedLeft: 0,
      lastReporter: false,
      querySources: undefined,
    };
    s.groups.set(key, g);
    if (s.mode === 2) {
      this.stateChange(s, group, MLD_CHANGE_TO_EXCLUDE);
      return;
    }
    // RFC 2710 4: report at once, repeat after a random delay.
    this.sendV1Report(s, g);
    g.unsolicitedLeft = s.robustness - 1;
    this.repeatUnsolicited(g);
  }

  private leave(iface: NetworkInterface, group: Ipv6Addr): void {
    const s = this.interfaces.get(iface.index);
    const key = ipv6Key(group);
    const g = s?.groups.get(key);
    if (s === undefined || g === undefined) return;
    this.stack.cancel(g.timer);
    s.groups.delete(key);
    if (s.mode === 2) this.stateChange(s, group, MLD_CHANGE_TO_INCLUDE);
    else if (g.lastReporter) {
      this.donesSent.value++;
      this.send(iface, ALL_ROUTERS, { kind: 'done-v1', group });
    }
  }

  /** RFC 3810 6.1: report a change now, then [Robustness] - 1 more times at random intervals. */
  private stateChange(s: InterfaceState, group: Ipv6Addr, recordType: number): void {
    s.changes.set(ipv6Key(group), { group: group.slice(), recordType, left: s.robustness });
    this.sendChanges(s);
  }

  private sendChanges(s: InterfaceState): void {
    const records: MldRecord[] = [];
    for (const [key, change] of s.changes) {
      records.push(record(change.recordType, change.group, []));
      if (--change.left === 0) s.changes.delete(key);
    }
    this.sendV2Report(s.iface, records);
    if (s.changes.size > 0) this.scheduleRandom(s.changeTimer, UNSOLICITED_REPORT_INTERVAL);
    else this.stack.cancel(s.changeTimer);
  }

  private repeatUnsolicited(g: GroupState): void {
    if (g.unsolicitedLeft <= 0) return;
    g.unsolicitedLeft--;
    this.scheduleRandom(g.timer, V1_UNSOLICITED_REPORT_INTERVAL);
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
        this.reportsHeard.value++;
        this.heardV1Report(packet.iface, m.group);
        return;
      default:
        this.reportsHeard.value++;
    }
  }

  private query(iface: NetworkInterface, q: Extract<MldRepr, { kind: 'query-v1' | 'query-v2' }>): void {
    const general = ipv6IsUnspecified(q.group);
    if (!general && (q.group[0] !== 0xff || (q.kind === 'query-v2' && general && q.sources.length > 0))) {
      this.drops.drop('bad-query');
      return;
    }
    this.queries.value++;
    const s = this.state(iface);
    const now = this.stack.now();
    let maxDelay: number;
    if (q.kind === 'query-v2') {
      maxDelay = mldMaxResponseDelay(q.maxResponseCode);
      // RFC 3810 5.1.8, 5.1.9: adopt the querier's robustness and interval.
      if (q.qrv !== 0) s.robustness = q.qrv;
      if (q.qqic !== 0) s.queryInterval = mldQueryInterval(q.qqic) * SECOND;
    } else {
      maxDelay = q.maxResponseDelay;
      // RFC 3810 9.12: Older Version Querier Present Timeout.
      s.v1QuerierUntil = now + s.robustness * s.queryInterval + DEFAULT_QUERY_RESPONSE_INTERVAL;
    }
    this.updateMode(s);
    const at = now + maxDelay * randomFloat(this.stack.env.rng);
    if (s.mode === 1) {
      // RFC 2710 4: a timer per group; a running one only moves earlier.
      const targets = general ? [...s.groups.values()] : [s.groups.get(ipv6Key(q.group))];
      for (const g of targets) {
        if (g !== undefined && (!g.timer.scheduled || g.timer.deadline > now + maxDelay))
          this.stack.schedule(g.timer, at);
      }
      return;
    }
    // RFC 3810 6.2, rules 1 to 5.
    if (s.generalTimer.scheduled && s.generalTimer.deadline <= at) return;
    if (general) {
      this.stack.schedule(s.generalTimer, at);
      return;
    }
    const g = s.groups.get(ipv6Key(q.group));
    if (g === undefined) return;
    const sources = q.kind === 'query-v2' ? q.sources : [];
    if (!g.timer.scheduled) {
      g.querySources = sources.length > 0 ? new Map(sources.map((a) => [ipv6Key(a), a])) : undefined;
      this.stack.schedule(g.timer, at);
      return;
    }
    if (sources.length === 0 || g.querySources === undefined) g.querySources = undefined;
    else {
      for (const a of sources) g.querySources.set(ipv6Key(a), a);
      if (g.querySources.size > MAX_QUERIED_SOURCES) g.querySources = undefined;
    }
    if (at < g.timer.deadline) this.stack.schedule(g.timer, at);
  }

  /** RFC 2710 4: in MLDv1 mode, another listener's report suppresses ours. */
  private heardV1Report(iface: NetworkInterface, group: Ipv6Addr): void {
    const s = this.interfaces.get(iface.index);
    const g = s?.groups.get(ipv6Key(group));
    if (s === undefined || g === undefined || s.mode === 2) return;
    this.stack.cancel(g.timer);
    g.unsolicitedLeft = 0;
    g.lastReporter = false;
  }

  /** RFC 3810 8.2.1: MLDv1 mode while an MLDv1 querier is present; pending timers cancelled on a change. */
  private updateMode(s: InterfaceState): void {
    const now = this.stack.now();
    const mode: MldVersion = s.v1QuerierUntil > now ? 1 : 2;
    if (mode === 1) this.stack.schedule(s.modeTimer, s.v1QuerierUntil);
    else this.stack.cancel(s.modeTimer);
    if (mode === s.mode) return;
    s.mode = mode;
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
    if (s.mode === 1) {
      this.sendV1Report(s, g);
      this.repeatUnsolicited(g);
      return;
    }
    const sources = g.querySources;
    g.querySources = undefined;
    this.sendV2Report(s.iface, [
      sources === undefined
        ? record(MLD_MODE_IS_EXCLUDE, g.group, [])
        : record(MLD_MODE_IS_INCLUDE, g.group, [...sources.values()]),
    ]);
  }

  /** RFC 3810 6.3: the answer to a general query reports every group. */
  private generalTimerExpired(s: InterfaceState): void {
    const records = [...s.groups.values()].map((g) => record(MLD_MODE_IS_EXCLUDE, g.group, []));
    if (records.length > 0) this.sendV2Report(s.iface, records);
  }

  // ---- send ----

  private sendV1Report(s: InterfaceState, g: GroupState): void {
    g.lastReporter = true;
    this.reportsSent.value++;
    this.send(s.iface, g.group, { kind: 'report-v1', group: g.group });
  }

  /** Sends records to ff02::16, in as many reports as the MTU needs (RFC 3810 5.2.15). */
  private sendV2Report(iface: NetworkInterface, records: MldRecord[]): void {
    const room = this.ip.linkMtu(iface) - IPV6_HEADER_LEN - 8 - mldLength({ kind: 'report-v2', records: [] });
    let batch: MldRecord[] = [];
    let size = 0;
    for (const r of records) {
      const len = RECORD_HEADER_LEN + 16 * r.sources.length;
      if (batch.length > 0 && size + len > room) {
        this.reportsSent.value++;
        this.send(iface, MLDV2_ROUTERS, { kind: 'report-v2', records: batch });
        batch = [];
        size = 0;
      }
      batch.push(r);
      size += len;
    }
    if (batch.length === 0) return;
    this.reportsSent.value++;
    this.send(iface, MLDV2_ROUTERS, { kind: 'report-v2', records: batch });
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

  // ---- helpers ----

  private state(iface: NetworkInterface): InterfaceState {
    let s = this.interfaces.get(iface.index);
    if (s !== undefined) return s;
    const created: InterfaceState = {
      iface,
      groups: new Map(),
      mode: 2,
      v1QuerierUntil: 0,
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

  private scheduleRandom(timer: Timer, max: number): void {
    this.stack.schedule(timer, this.stack.now() + max * (1 - randomFloat(this.stack.env.rng)));
  }
}

function record(type: number, group: Ipv6Addr, sources: Ipv6Addr[]): MldRecord {
  return { type, group, sources, auxData: new Uint8Array(0) };
}
