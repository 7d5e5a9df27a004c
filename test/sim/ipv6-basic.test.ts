import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addresses, ip6, linkLocal, pinger6, twoHosts6, v6 } from './ipv6-helpers.ts';

describe('IPv6 basics in simulation', () => {
  test('link-local addresses pass DAD, resolve each other with NDP, and answer echoes', () => {
    const { sim, a, ia, b, ib } = twoHosts6(1);
    assert.equal(a.counters.value('ipv6.dad.succeeded'), 1);
    const p = pinger6(a);
    const dst = linkLocal(b, ib)!;
    for (let seq = 1; seq <= 3; seq++) p.send(dst, seq);
    assert.ok(
      sim.runUntil(() => p.replies.length === 3, 5000),
      JSON.stringify(addresses(a, ia)),
    );
    assert.equal(v6(a).ndp.table.lookup(ia, dst)?.state, 'reachable');
    assert.equal(b.counters.value('icmpv6.tx.echo-replies'), 3);
  });

  test('::1 and our own addresses go through lo', () => {
    const { sim, a } = twoHosts6(2);
    const p = pinger6(a);
    p.send(ip6('::1'), 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 1000));
    assert.equal(p.replies[0]!.from, '::1');
  });
});
