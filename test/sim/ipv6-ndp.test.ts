import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SECOND } from '../../src/core/time.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { ICMPV6_DEST_UNREACHABLE, UNREACH_ADDRESS } from '../../src/wire/icmpv6.ts';
import { ip6, linkLocal, pinger6, routed6, twoHosts6, v6 } from './ipv6-helpers.ts';

describe('NDP in simulation', () => {
  test('DAD: a second host claiming an address in use finds it duplicate', () => {
    const { sim, a, ia, b, ib } = twoHosts6(21);
    const addr = ip6('2001:db8::5');
    const first = v6(a).addAddress(ia, addr, 64);
    assert.equal(first.state, 'tentative');
    assert.equal(v6(a).isLocal(addr), false);
    assert.ok(sim.runUntil(() => first.state === 'preferred', 5000));
    const second = v6(b).addAddress(ib, addr, 64);
    assert.ok(sim.runUntil(() => second.state === 'duplicate', 5000));
    assert.equal(first.state, 'preferred');
    assert.equal(b.counters.value('ipv6.dad.conflicts'), 1);
    assert.equal(v6(b).isLocal(addr), false);
    // Packets to a tentative or duplicate address are not accepted.
    assert.equal(v6(b).route(ip6('2001:db8::9'), { src: addr }), 'EADDRNOTAVAIL');
  });

  test('DAD: of two hosts probing the same address at once, at most one gets it', () => {
    const { sim, a, ia, b, ib } = twoHosts6(22);
    v6(a).dupAddrDetectTransmits = 3;
    v6(b).dupAddrDetectTransmits = 3;
    const addr = ip6('2001:db8::6');
    const x = v6(a).addAddress(ia, addr, 64);
    const y = v6(b).addAddress(ib, addr, 64);
    sim.runUntil(() => x.state !== 'tentative' && y.state !== 'tentative', 10_000);
    assert.ok(x.state === 'duplicate' || y.state === 'duplicate', `${x.state} ${y.state}`);
    assert.ok(x.state !== 'tentative' && y.state !== 'tentative');
  });

  test('unreachability detection: REACHABLE, STALE, DELAY, PROBE, FAILED with address unreachable, and back', () => {
    const { sim, wire, a, ia, b, ib } = twoHosts6(23);
    const p = pinger6(a);
    const dst = linkLocal(b, ib)!;
    p.send(dst, 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    const entry = () => v6(a).ndp.table.lookup(ia, dst);
    assert.equal(entry()?.state, 'reachable');
    assert.ok(sim.runUntil(() => entry()?.state === 'stale', 60 * SECOND));
    wire.setImpairments({ loss: 1 });
    p.send(dst, 2);
    assert.equal(entry()?.state, 'delay');
    assert.ok(sim.runUntil(() => entry()?.state === 'probe', 6 * SECOND));
    assert.ok(sim.runUntil(() => entry()?.state === 'failed', 5 * SECOND));
    // While FAILED, a packet is refused at once with address unreachable (RFC 4861 7.2.2).
    p.send(dst, 3);
    assert.ok(sim.runUntil(() => p.errors.length > 0, 1000));
    assert.deepEqual(p.errors[0], {
      type: ICMPV6_DEST_UNREACHABLE,
      code: UNREACH_ADDRESS,
      from: ipv6ToString(linkLocal(a, ia)!),
      mtu: 0,
      pointer: 0,
    });
    wire.setImpairments({});
    assert.ok(sim.runUntil(() => entry() === undefined, 10 * SECOND));
    p.send(dst, 4);
    assert.ok(sim.runUntil(() => p.replies.length === 2, 5000));
    assert.equal(entry()?.state, 'reachable');
  });

  test('redirects from the current router install a better first hop; others are ignored', () => {
    const { sim, a, ia, router, r1 } = routed6(24);
    const routerLl = linkLocal(router, r1)!;
    const aLl = linkLocal(a, ia)!;
    const dest = ip6('2001:db8:2::99');
    const send = (src: Uint8Array, target: Uint8Array, destination = dest) =>
      router.run(() =>
        v6(router).ndp.send(r1, aLl, undefined, src, {
          kind: 'redirect',
          target,
          destination,
          options: [{ kind: 'target-lladdr', mac: 0x02_00_00_00_00_77 }],
        }),
      );
    send(ip6('fe80::55'), ip6('fe80::77'));
    sim.runUntil(() => false, 1000);
    assert.equal(a.counters.value('ndp.rx.drop.redirect-not-from-router'), 1);
    send(routerLl, ip6('fe80::77'));
    assert.ok(sim.runUntil(() => a.counters.value('ndp.rx.redirects') === 1, 1000));
    const path = v6(a).route(dest);
    assert.equal(typeof path === 'object' && ipv6ToString(path.nextHop), 'fe80::77');
    assert.equal(v6(a).ndp.table.lookup(ia, ip6('fe80::77'))?.mac, 0x02_00_00_00_00_77);
    // The router is no longer the first hop for that destination: its redirects are ignored.
    send(routerLl, ip6('fe80::78'));
    sim.runUntil(() => false, 1000);
    assert.equal(a.counters.value('ndp.rx.drop.redirect-not-from-router'), 2);
    // Destination = target: the destination is on-link.
    const other = ip6('2001:db8:2::98');
    send(routerLl, other, other);
    assert.ok(sim.runUntil(() => a.counters.value('ndp.rx.redirects') === 2, 1000));
    const onLink = v6(a).route(other);
    assert.equal(typeof onLink === 'object' && ipv6ToString(onLink.nextHop), '2001:db8:2::98');
  });
});
