import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import {
  GroupMembership,
  MAX_QUERIED_SOURCES,
  type MembershipProtocol,
  type RecordKind,
} from '../../src/core/group-membership.ts';
import { SECOND } from '../../src/core/time.ts';

interface TestRecord {
  kind: RecordKind;
  group: number;
  sources: number[];
}

type Sent =
  | { t: number; what: 'older-report' | 'older-leave'; group: number; version: number }
  | { t: number; what: 'report'; records: TestRecord[] };

/** A made-up protocol of three versions over number addresses: each record takes 10 bytes, a report 30. */
function setup(seed = 1) {
  const sim = new Simulation({ seed });
  const stack = sim.createStack({ ipv6: false });
  const iface = stack.loopback;
  const sent: Sent[] = [];
  const protocol: MembershipProtocol<number, TestRecord> = {
    latest: 3,
    defaultRobustness: 2,
    defaultQueryInterval: 125 * SECOND,
    unsolicitedInterval: 1 * SECOND,
    olderUnsolicitedInterval: 10 * SECOND,
    key: (a) => a,
    sendOlderReport: (_iface, group, version) =>
      sent.push({ t: sim.now, what: 'older-report', group, version }),
    sendOlderLeave: (_iface, group, version) =>
      sent.push({ t: sim.now, what: 'older-leave', group, version }),
    record: (kind, group, sources) => ({ kind, group, sources }),
    recordLength: (r) => 10 + 10 * r.sources.length,
    reportRoom: () => 30,
    sendReport: (_iface, records) => sent.push({ t: sim.now, what: 'report', records }),
  };
  const membership = new GroupMembership(stack, protocol, 'test');
  const counter = (name: string) => stack.counters.snapshot()[`test.${name}`] ?? 0;
  return { sim, iface, sent, membership, counter };
}

const reports = (sent: Sent[]) => sent.filter((s) => s.what === 'report').map((s) => s.records);

describe('GroupMembership', () => {
  test('newest version: a join and a leave are state changes, sent Robustness times within the interval', () => {
    const { sim, iface, sent, membership, counter } = setup();
    membership.join(iface, 7);
    membership.join(iface, 7); // already a member: nothing
    sim.advance(5 * SECOND);
    assert.deepEqual(reports(sent), [
      [{ kind: 'to-exclude', group: 7, sources: [] }],
      [{ kind: 'to-exclude', group: 7, sources: [] }],
    ]);
    assert.ok(sent[1]!.t > 0 && sent[1]!.t <= 1 * SECOND);
    sent.length = 0;
    membership.leave(iface, 7);
    membership.leave(iface, 7); // no longer a member: nothing
    sim.advance(5 * SECOND);
    assert.deepEqual(reports(sent), [
      [{ kind: 'to-include', group: 7, sources: [] }],
      [{ kind: 'to-include', group: 7, sources: [] }],
    ]);
    assert.equal(counter('tx.reports'), 4);
    assert.equal(membership.version(iface), 3);
  });

  test('a general query is answered within the Maximum Response Delay, in reports that fit the room', () => {
    const { sim, iface, sent, membership, counter } = setup();
    for (const g of [1, 2, 3, 4]) membership.join(iface, g);
    sim.advance(5 * SECOND);
    sent.length = 0;
    const start = sim.now;
    membership.query(iface, { group: undefined, sources: [], maxDelay: 2 * SECOND });
    sim.advance(5 * SECOND);
    assert.deepEqual(
      reports(sent).map((r) => r.map((rec) => `${rec.kind} ${rec.group}`)),
      [['is-exclude 1', 'is-exclude 2', 'is-exclude 3'], ['is-exclude 4']],
    );
    assert.ok(sent[0]!.t - start <= 2 * SECOND);
    assert.equal(counter('rx.queries'), 1);
  });

  test('group-and-source queries merge their sources; past the bound the whole group is reported', () => {
    const { sim, iface, sent, membership } = setup();
    membership.join(iface, 9);
    sim.advance(5 * SECOND);
    sent.length = 0;
    membership.query(iface, { group: 9, sources: [100], maxDelay: 10 * SECOND });
    membership.query(iface, { group: 9, sources: [101], maxDelay: 10 * SECOND });
    sim.advance(11 * SECOND);
    assert.deepEqual(reports(sent), [[{ kind: 'is-include', group: 9, sources: [100, 101] }]]);
    sent.length = 0;
    const many = Array.from({ length: MAX_QUERIED_SOURCES }, (_, i) => 1000 + i);
    membership.query(iface, { group: 9, sources: [1], maxDelay: 10 * SECOND });
    membership.query(iface, { group: 9, sources: many, maxDelay: 10 * SECOND });
    sim.advance(11 * SECOND);
    assert.deepEqual(reports(sent), [[{ kind: 'is-exclude', group: 9, sources: [] }]]);
  });

  test('an older querier sets the oldest present mode until its timeout; then the newest again', () => {
    const { sim, iface, sent, membership } = setup();
    membership.join(iface, 5);
    // A state change is pending; the mode change cancels it (RFC 3376 7.2.1).
    membership.query(iface, {
      group: undefined,
      sources: [],
      maxDelay: 1 * SECOND,
      older: { version: 2, responseInterval: 1 * SECOND },
    });
    membership.query(iface, {
      group: undefined,
      sources: [],
      maxDelay: 1 * SECOND,
      older: { version: 1, responseInterval: 1 * SECOND },
    });
    assert.equal(membership.version(iface), 1);
    sim.advance(2 * SECOND);
    assert.deepEqual(
      sent.map((s) => s.what),
      ['report', 'older-report'],
    );
    assert.equal(sent[1]!.what === 'older-report' && sent[1]!.version, 1);
    // Older Version Querier Present Timeout: 2 * 125 s + 1 s after the queries.
    sim.advance(248 * SECOND);
    assert.equal(membership.version(iface), 1);
    sim.advance(2 * SECOND);
    assert.equal(membership.version(iface), 3);
  });

  test('older mode: a join repeats its report; the last reporter sends the leave, a suppressed one does not', () => {
    const { sim, iface, sent, membership, counter } = setup();
    membership.query(iface, {
      group: undefined,
      sources: [],
      maxDelay: 1 * SECOND,
      older: { version: 2, responseInterval: 1 * SECOND },
    });
    membership.join(iface, 5);
    membership.join(iface, 6);
    sim.advance(11 * SECOND);
    assert.deepEqual(
      sent.map((s) => (s.what === 'report' ? 'report' : `${s.what} ${s.group} v${s.version}`)).sort(),
      ['older-report 5 v2', 'older-report 5 v2', 'older-report 6 v2', 'older-report 6 v2'],
    );
    sent.length = 0;
    membership.reportHeard(iface, 6); // another member reported 6: it is the last reporter now
    membership.reportHeard(iface); // a report that suppresses nothing
    membership.leave(iface, 5);
    membership.leave(iface, 6);
    assert.deepEqual(sent, [{ t: sim.now, what: 'older-leave', group: 5, version: 2 }]);
    assert.equal(counter('rx.reports'), 2);
  });
});
