/**
 * Multicast group membership, host side, written once for IGMP and MLD: MLDv2 (RFC 3810) is
 * IGMPv3 (RFC 3376) translated to IPv6, and each keeps the older version's behaviour (IGMPv1/v2,
 * RFC 1112 and RFC 2236; MLDv1, RFC 2710) while an older querier is present. This module holds what
 * the two share: per-interface compatibility mode, per-group records and report timers, random
 * response delays, state-change retransmissions and report batching by MTU. Each protocol gives
 * its message formats and constants through `MembershipProtocol`, and checks its queries itself.
 *
 * The stack has no source-filtering API, so every group is in EXCLUDE mode with no sources
 * (any-source multicast): a join is a filter-mode change to EXCLUDE {}, a leave one to INCLUDE {}.
 *
 * Counters: `<prefix>.rx.queries`, `<prefix>.rx.reports` (other hosts' reports and leaves),
 * `<prefix>.tx.reports`.
 */
import type { Counter } from './counters.ts';
import type { NetworkInterface } from './device/interface.ts';
import { randomFloat } from './rng.ts';
import type { Stack } from './stack.ts';
import type { Duration } from './time.ts';
import type { Timer } from './timers.ts';

/** Current-state and filter-mode-change records (RFC 3376 4.2.12, RFC 3810 5.2.12). */
export type RecordKind = 'is-include' | 'is-exclude' | 'to-include' | 'to-exclude';

/** Sources remembered for one pending group-and-source-specific answer; beyond, the whole group is reported. */
export const MAX_QUERIED_SOURCES = 64;

/** A query the protocol has parsed and found valid. */
export interface MembershipQuery<A> {
  /** The group asked about; undefined for a general query. */
  readonly group: A | undefined;
  /** Sources of a group-and-source-specific query (newest version only). */
  readonly sources: readonly A[];
  /** The Maximum Response Delay. */
  readonly maxDelay: Duration;
  /** The querier's robustness and query interval, when a newest-version query tells them. */
  readonly robustness?: number;
  readonly queryInterval?: Duration;
  /** An older-version query: its version, and the Query Response Interval of its timeout. */
  readonly older?: { readonly version: number; readonly responseInterval: Duration };
}

/** What differs between IGMP and MLD: message formats, constants, addresses. */
export interface MembershipProtocol<A, R> {
  /** The newest version (IGMPv3: 3, MLDv2: 2); the versions below it are compatibility modes. */
  readonly latest: number;
  /** The Robustness Variable and Query Interval until a querier tells them. */
  readonly defaultRobustness: number;
  readonly defaultQueryInterval: Duration;
  /** Spacing of state-change retransmissions (newest version) and of older-version repetitions. */
  readonly unsolicitedInterval: Duration;
  readonly olderUnsolicitedInterval: Duration;
  /** A map key for an address. */
  key(addr: A): string | number;
  /** Sends an older-version report of `group`. */
  sendOlderReport(iface: NetworkInterface, group: A, version: number): void;
  /** Sends an older-version leave of `group`, if `version` has one; we sent its last report. */
  sendOlderLeave(iface: NetworkInterface, group: A, version: number): void;
  /** A newest-version group record, and its length in a report. */
  record(kind: RecordKind, group: A, sources: A[]): R;
  recordLength(record: R): number;
  /** Room for records in one newest-version report on `iface`. */
  reportRoom(iface: NetworkInterface): number;
  /** Sends one newest-version report. */
  sendReport(iface: NetworkInterface, records: R[]): void;
}

interface GroupState<A> {
  readonly group: A;
  /** Older versions: pending report; newest: pending answer to a group-specific query. */
  readonly timer: Timer;
  /** Older versions: unsolicited repetitions still to send after a join (RFC 2236 3, RFC 2710 4). */
  unsolicitedLeft: number;
  /** Older versions: we sent the last report for the group, so we send the leave. */
  lastReporter: boolean;
  /** Newest version: sources of the pending group-and-source answer; undefined for the whole group. */
  querySources: Map<string | number, A> | undefined;
}

interface InterfaceState<A> {
  readonly iface: NetworkInterface;
  readonly groups: Map<string | number, GroupState<A>>;
  mode: number;
  /** Older Version Querier Present timers (RFC 3376 7.2.1, RFC 3810 8.2.1) by version, as deadlines. */
  readonly olderQuerierUntil: number[];
  /** Fires when an Older Version Querier Present timer runs out. */
  readonly modeTimer: Timer;
  /** RFC 3376 8.1, 8.2 and RFC 3810 9.1, 9.2: the querier's values, learned from its queries. */
  robustness: number;
  queryInterval: Duration;
  /** The pending answer to a general query (the "interface timer" of RFC 3376 5.2, RFC 3810 6.2). */
  readonly generalTimer: Timer;
  /** State-change records still to be retransmitted (RFC 3376 5.1, RFC 3810 6.1), and their timer. */
  readonly changes: Map<string | number, { group: A; kind: RecordKind; left: number }>;
  readonly changeTimer: Timer;
}

export class GroupMembership<A, R> {
  private readonly interfaces = new Map<number, InterfaceState<A>>();
  private readonly queries: Counter;
  private readonly reportsHeard: Counter;
  private readonly reportsSent: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly protocol: MembershipProtocol<A, R>,
    counterPrefix: string,
  ) {
    const c = stack.counters;
    this.queries = c.get(`${counterPrefix}.rx.queries`);
    this.reportsHeard = c.get(`${counterPrefix}.rx.reports`);
    this.reportsSent = c.get(`${counterPrefix}.tx.reports`);
  }

  /** The compatibility mode of an interface. */
  version(iface: NetworkInterface): number {
    return this.interfaces.get(iface.index)?.mode ?? this.protocol.latest;
  }

  // ---- membership changes ----

  join(iface: NetworkInterface, group: A): void {
    const s = this.state(iface);
    const key = this.protocol.key(group);
    if (s.groups.has(key)) return;
    const g: GroupState<A> = {
      group,
      timer: this.stack.createTimer(() => this.groupTimerExpired(s, g)),
      unsolicitedLeft: 0,
      lastReporter: false,
      querySources: undefined,
    };
    s.groups.set(key, g);
    if (s.mode === this.protocol.latest) {
      this.stateChange(s, group, 'to-exclude');
      return;
    }
    // RFC 2236 3, RFC 2710 4: report at once, and repeat after a short random delay.
    this.sendOlderReport(s, g);
    g.unsolicitedLeft = s.robustness - 1;
    this.repeatUnsolicited(g);
  }

  leave(iface: NetworkInterface, group: A): void {
    const s = this.interfaces.get(iface.index);
    const key = this.protocol.key(group);
    const g = s?.groups.get(key);
    if (s === undefined || g === undefined) return;
    this.stack.cancel(g.timer);
    s.groups.delete(key);
    if (s.mode === this.protocol.latest) this.stateChange(s, g.group, 'to-include');
    // RFC 2236 3, RFC 2710 4: the host that sent the last report sends the leave.
    else if (g.lastReporter) this.protocol.sendOlderLeave(iface, g.group, s.mode);
  }

  /**
   * RFC 3376 5.1, RFC 3810 6.1: a change is reported at once, then [Robustness Variable] - 1 more
   * times at random intervals up to the Unsolicited Report Interval. A newer change of the same
   * group replaces the older record and restarts its count; each report carries every pending record.
   */
  private stateChange(s: InterfaceState<A>, group: A, kind: RecordKind): void {
    s.changes.set(this.protocol.key(group), { group, kind, left: s.robustness });
    this.sendChanges(s);
  }

  private sendChanges(s: InterfaceState<A>): void {
    const records: R[] = [];
    for (const [key, change] of s.changes) {
      records.push(this.protocol.record(change.kind, change.group, []));
      if (--change.left === 0) s.changes.delete(key);
    }
    this.sendRecords(s.iface, records);
    if (s.changes.size > 0) this.scheduleRandom(s.changeTimer, this.protocol.unsolicitedInterval);
    else this.stack.cancel(s.changeTimer);
  }

  private repeatUnsolicited(g: GroupState<A>): void {
    if (g.unsolicitedLeft <= 0) return;
    g.unsolicitedLeft--;
    this.scheduleRandom(g.timer, this.protocol.olderUnsolicitedInterval);
  }

  // ---- receive ----

  /** A valid query, parsed by the protocol. */
  query(iface: NetworkInterface, q: MembershipQuery<A>): void {
    this.queries.value++;
    const s = this.state(iface);
    const now = this.stack.now();
    // RFC 3376 4.1.6, 4.1.7 and RFC 3810 5.1.8, 5.1.9: adopt the querier's robustness and interval.
    if (q.robustness !== undefined) s.robustness = q.robustness;
    if (q.queryInterval !== undefined) s.queryInterval = q.queryInterval;
    // RFC 3376 8.12, RFC 3810 9.12: Older Version Querier Present Timeout, Robustness times Query
    // Interval plus one Query Response Interval.
    if (q.older !== undefined)
      s.olderQuerierUntil[q.older.version] = now + s.robustness * s.queryInterval + q.older.responseInterval;
    this.updateMode(s);
    const at = now + q.maxDelay * randomFloat(this.stack.env.rng);
    if (s.mode !== this.protocol.latest) {
      // RFC 2236 3, RFC 2710 4: a timer per group; a running one is only moved earlier.
      const targets =
        q.group === undefined ? [...s.groups.values()] : [s.groups.get(this.protocol.key(q.group))];
      for (const g of targets) {
        if (g !== undefined && (!g.timer.scheduled || g.timer.deadline > now + q.maxDelay))
          this.stack.schedule(g.timer, at);
      }
      return;
    }
    // RFC 3376 5.2 and RFC 3810 6.2, rules 1 to 5.
    if (s.generalTimer.scheduled && s.generalTimer.deadline <= at) return;
    if (q.group === undefined) {
      this.stack.schedule(s.generalTimer, at);
      return;
    }
    const g = s.groups.get(this.protocol.key(q.group));
    if (g === undefined) return;
    const sources = q.sources;
    if (!g.timer.scheduled) {
      g.querySources =
        sources.length > 0 ? new Map(sources.map((a) => [this.protocol.key(a), a])) : undefined;
      this.stack.schedule(g.timer, at);
      return;
    }
    if (sources.length === 0 || g.querySources === undefined) g.querySources = undefined;
    else {
      for (const a of sources) g.querySources.set(this.protocol.key(a), a);
      if (g.querySources.size > MAX_QUERIED_SOURCES) g.querySources = undefined;
    }
    if (at < g.timer.deadline) this.stack.schedule(g.timer, at);
  }

  /**
   * Another host's report or leave. An older-version report of `suppresses` cancels ours in an
   * older mode (RFC 2236 3, RFC 2710 4); the newest versions have no suppression.
   */
  reportHeard(iface: NetworkInterface, suppresses?: A): void {
    this.reportsHeard.value++;
    if (suppresses === undefined) return;
    const s = this.interfaces.get(iface.index);
    const g = s?.groups.get(this.protocol.key(suppresses));
    if (s === undefined || g === undefined || s.mode === this.protocol.latest) return;
    this.stack.cancel(g.timer);
    g.unsolicitedLeft = 0;
    g.lastReporter = false;
  }

  // ---- compatibility mode (RFC 3376 7.2.1, RFC 3810 8.2.1) ----

  /** The oldest version whose querier is present, else the newest. */
  private updateMode(s: InterfaceState<A>): void {
    const now = this.stack.now();
    let mode = this.protocol.latest;
    let next = Number.POSITIVE_INFINITY;
    for (let version = this.protocol.latest - 1; version >= 1; version--) {
      const until = s.olderQuerierUntil[version] ?? 0;
      if (until <= now) continue;
      mode = version;
      next = Math.min(next, until);
    }
    if (next < Number.POSITIVE_INFINITY) this.stack.schedule(s.modeTimer, next);
    else this.stack.cancel(s.modeTimer);
    if (mode === s.mode) return;
    s.mode = mode;
    // "When Host Compatibility Mode changes, a host MUST cancel all its pending response and
    // retransmission timers." (RFC 3376 7.2.1; RFC 3810 8.2.1 likewise)
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

  private groupTimerExpired(s: InterfaceState<A>, g: GroupState<A>): void {
    if (s.mode !== this.protocol.latest) {
      this.sendOlderReport(s, g);
      this.repeatUnsolicited(g);
      return;
    }
    const sources = g.querySources;
    g.querySources = undefined;
    this.sendRecords(s.iface, [
      sources === undefined
        ? this.protocol.record('is-exclude', g.group, [])
        : this.protocol.record('is-include', g.group, [...sources.values()]),
    ]);
  }

  /** RFC 3376 5.2, RFC 3810 6.3: the answer to a general query reports the state of every group. */
  private generalTimerExpired(s: InterfaceState<A>): void {
    const records = [...s.groups.values()].map((g) => this.protocol.record('is-exclude', g.group, []));
    if (records.length > 0) this.sendRecords(s.iface, records);
  }

  // ---- send ----

  private sendOlderReport(s: InterfaceState<A>, g: GroupState<A>): void {
    g.lastReporter = true;
    this.reportsSent.value++;
    this.protocol.sendOlderReport(s.iface, g.group, s.mode);
  }

  /** Sends records in as many reports as the MTU needs (RFC 3376 4.2.16, RFC 3810 5.2.15). */
  private sendRecords(iface: NetworkInterface, records: R[]): void {
    const room = this.protocol.reportRoom(iface);
    let batch: R[] = [];
    let size = 0;
    for (const r of records) {
      const len = this.protocol.recordLength(r);
      if (batch.length > 0 && size + len > room) {
        this.reportsSent.value++;
        this.protocol.sendReport(iface, batch);
        batch = [];
        size = 0;
      }
      batch.push(r);
      size += len;
    }
    if (batch.length === 0) return;
    this.reportsSent.value++;
    this.protocol.sendReport(iface, batch);
  }

  // ---- helpers ----

  private state(iface: NetworkInterface): InterfaceState<A> {
    let s = this.interfaces.get(iface.index);
    if (s !== undefined) return s;
    const created: InterfaceState<A> = {
      iface,
      groups: new Map(),
      mode: this.protocol.latest,
      olderQuerierUntil: [],
      modeTimer: this.stack.createTimer(() => this.updateMode(created)),
      robustness: this.protocol.defaultRobustness,
      queryInterval: this.protocol.defaultQueryInterval,
      generalTimer: this.stack.createTimer(() => this.generalTimerExpired(created)),
      changes: new Map(),
      changeTimer: this.stack.createTimer(() => this.sendChanges(created)),
    };
    s = created;
    this.interfaces.set(iface.index, s);
    return s;
  }

  /** Schedules `timer` at a random delay in (0, max]. */
  private scheduleRandom(timer: Timer, max: Duration): void {
    this.stack.schedule(timer, this.stack.now() + max * (1 - randomFloat(this.stack.env.rng)));
  }
}
