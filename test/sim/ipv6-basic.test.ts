import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
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

  test('by default every stack autoconfigures its link, then goes idle (runUntilIdle ends)', () => {
    const sim = new Simulation({ seed: 3 });
    const wire = new VirtualNetwork(sim).wire();
    const a = sim.createStack({ name: 'a' });
    const ia = wire.attach(a, 'eth0');
    const b = sim.createStack({ name: 'b' });
    const ib = wire.attach(b, 'eth0');
    const kinds = new Map<number, number>();
    ia.addObserver((dir, f) => {
      if (dir === 'tx' && f[12] === 0x86 && f[13] === 0xdd) {
        // The ICMPv6 type after the Hop-by-Hop header (MLD) or right after the IPv6 header.
        const type = f[20] === 0 ? f[62]! : f[54]!;
        kinds.set(type, (kinds.get(type) ?? 0) + 1);
      }
    });
    sim.runUntilIdle({ maxTime: 120_000 });
    assert.ok(linkLocal(a, ia) !== undefined && linkLocal(b, ib) !== undefined);
    // DAD (one NS), MLDv2 reports (RFC 3810 robustness: twice per change), three RS, nothing else.
    assert.equal(kinds.get(135), 1);
    assert.equal(kinds.get(133), 3);
    assert.ok((kinds.get(143) ?? 0) >= 2, JSON.stringify([...kinds]));
    assert.deepEqual([...kinds.keys()].sort(), [133, 135, 143]);
    assert.equal(a.counters.value('ipv6.dad.succeeded'), 1);
    assert.equal(v6(a).routerDiscovery.isSoliciting(ia), false);
  });

  test('an IP link (TUN) is not autoconfigured: no link-local address, nothing sent, no error', () => {
    const sim = new Simulation({ seed: 4 });
    const stack = sim.createStack();
    const sent: Uint8Array[] = [];
    const tun = stack.addInterface('tun0', { kind: 'ip', mtu: 1500, transmit: (f) => sent.push(...f) });
    sim.runUntilIdle();
    assert.deepEqual([v6(stack).listAddresses(tun), sent], [[], []]);
  });

  test('::1 and our own addresses go through lo', () => {
    const { sim, a } = twoHosts6(2);
    const p = pinger6(a);
    p.send(ip6('::1'), 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 1000));
    assert.equal(p.replies[0]!.from, '::1');
  });
});
