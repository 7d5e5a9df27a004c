import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { SECOND } from '../../src/core/time.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { ROUTER_ALERT_MLD, routerAlertOption } from '../../src/wire/ipv6-ext.ts';
import {
  emitMld,
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_MODE_IS_EXCLUDE,
  type MldRepr,
  mldLength,
  mldMaxResponseCode,
  parseMld,
} from '../../src/wire/mld.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { icmpv6MessagesOf } from '../helpers/frames6.ts';
import { ip6, linkLocal, twoHosts6, v6 } from './ipv6-helpers.ts';

/** Every MLD message `iface` sends, with when it was sent. */
function mldSent(iface: NetworkInterface) {
  const out: Array<{ at: number; repr: MldRepr; dst: string; hopLimit: number }> = [];
  iface.addObserver((dir, frame, now) => {
    if (dir !== 'tx') return;
    for (const m of icmpv6MessagesOf([frame])) {
      const t = m.message[0]!;
      if (t !== 130 && t !== 131 && t !== 132 && t !== 143) continue;
      const r = parseMld(m.message);
      if (r.ok) out.push({ at: now, repr: r.value, dst: ipv6ToString(m.ip.dst), hopLimit: m.ip.hopLimit });
    }
  });
  return out;
}

function query(stack: Stack, iface: NetworkInterface, repr: MldRepr): void {
  stack.run(() => {
    const src = linkLocal(stack, iface)!;
    const dst = ip6('ff02::1');
    const pb = PacketBuffer.forMessage(mldLength(repr));
    emitMld(pb, repr, src, dst);
    v6(stack).send(
      { iface, nextHop: dst, src, mtu: 1500 },
      { dst, nextHeader: IP_PROTOCOL_ICMPV6, hopLimit: 1, hopByHop: [routerAlertOption(ROUTER_ALERT_MLD)] },
      pb,
    );
  });
}

describe('MLD in simulation', () => {
  test('MLDv2: joins and leaves are reported Robustness times; queries are answered in time', () => {
    const { sim, a, ia, b, ib } = twoHosts6(41);
    const sent = mldSent(ib);
    const group = ip6('ff05::1:3');
    v6(b).joinGroup(ib, group);
    sim.runUntil(() => false, 3 * SECOND);
    const changes = sent.filter((s) => s.repr.kind === 'report-v2');
    assert.equal(changes.length, 2);
    for (const c of changes) {
      assert.equal(c.dst, 'ff02::16');
      assert.equal(c.hopLimit, 1);
      assert.deepEqual(
        c.repr.kind === 'report-v2' && c.repr.records.map((r) => [r.type, ipv6ToString(r.group)]),
        [[MLD_CHANGE_TO_EXCLUDE, 'ff05::1:3']],
      );
    }
    // A general query: every group of b (its solicited-node group and ff05::1:3) within 1 s.
    sent.length = 0;
    const t0 = sim.now;
    query(a, ia, {
      kind: 'query-v2',
      maxResponseCode: mldMaxResponseCode(1000),
      group: new Uint8Array(16),
      suppressRouterSide: false,
      qrv: 2,
      qqic: 125,
      sources: [],
    });
    sim.runUntil(() => false, 2 * SECOND);
    assert.equal(sent.length, 1);
    assert.ok(sent[0]!.at - t0 <= 1000);
    const groups =
      sent[0]!.repr.kind === 'report-v2'
        ? sent[0]!.repr.records.map((r) => [r.type, ipv6ToString(r.group)])
        : [];
    assert.ok(groups.some(([t, g]) => t === MLD_MODE_IS_EXCLUDE && g === 'ff05::1:3'));
    assert.ok(groups.some(([, g]) => String(g).startsWith('ff02::1:ff')));
    // A leave: change to INCLUDE {}.
    sent.length = 0;
    v6(b).leaveGroup(ib, group);
    sim.runUntil(() => false, 3 * SECOND);
    assert.ok(
      sent.every((s) => s.repr.kind === 'report-v2' && s.repr.records[0]!.type === MLD_CHANGE_TO_INCLUDE),
    );
    assert.equal(sent.length, 2);
  });

  test('an MLDv1 query switches to MLDv1 reports; the mode falls back to v2 after the querier goes', () => {
    const { sim, a, ia, b, ib } = twoHosts6(42);
    const group = ip6('ff05::1:4');
    v6(b).joinGroup(ib, group);
    sim.runUntil(() => false, 3 * SECOND);
    const sent = mldSent(ib);
    query(a, ia, { kind: 'query-v1', maxResponseDelay: 1000, group: new Uint8Array(16) });
    sim.runUntil(() => false, 2 * SECOND);
    assert.equal(v6(b).mld.version(ib), 1);
    assert.ok(
      sent.some(
        (s) =>
          s.repr.kind === 'report-v1' && ipv6ToString(s.repr.group) === 'ff05::1:4' && s.dst === 'ff05::1:4',
      ),
    );
    sent.length = 0;
    v6(b).leaveGroup(ib, group);
    assert.ok(sent.some((s) => s.repr.kind === 'done-v1' && s.dst === 'ff02::2'));
    // Older Version Querier Present Timeout: 2 x 125 s + 10 s.
    sim.runUntil(() => false, 261 * SECOND);
    assert.equal(v6(b).mld.version(ib), 2);
  });

  test('a General Query with sources and a query for a unicast address are dropped as bad-query', () => {
    const { sim, a, ia, b, ib } = twoHosts6(43);
    v6(b).joinGroup(ib, ip6('ff05::1:5'));
    sim.runUntil(() => false, 3 * SECOND);
    const sent = mldSent(ib);
    const v2 = {
      kind: 'query-v2',
      maxResponseCode: mldMaxResponseCode(1000),
      suppressRouterSide: false,
    } as const;
    query(a, ia, { ...v2, group: new Uint8Array(16), qrv: 2, qqic: 125, sources: [ip6('2001:db8::1')] });
    query(a, ia, { ...v2, group: ip6('2001:db8::5'), qrv: 2, qqic: 125, sources: [] });
    sim.runUntil(() => false, 2 * SECOND);
    assert.equal(b.counters.snapshot()['mld.rx.drop.bad-query'], 2);
    assert.equal(b.counters.snapshot()['mld.rx.queries'] ?? 0, 0);
    assert.equal(sent.length, 0);
  });
});
