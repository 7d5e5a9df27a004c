import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SECOND } from '../../src/core/time.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { addresses, globalAddress, ip6, pinger6, routed6, v6 } from './ipv6-helpers.ts';

describe('IPv6 router discovery and SLAAC in simulation', () => {
  test('hosts configure stable addresses from a router advertiser and ping across the router', () => {
    const { sim, a, ia, b, ib, router, r1 } = routed6(11);
    const ga = globalAddress(a, ia)!;
    assert.equal(ipv6ToString(ga).startsWith('2001:db8:1:0:'), true);
    // RFC 7217: the identifier is stable for the same secret, prefix and interface.
    assert.deepEqual([...v6(a).slaac.stableInterfaceId(ip6('2001:db8:1::'), ia, 0)], [...ga.subarray(8)]);
    // The default router is the router's link-local address.
    const dflt = v6(a)
      .routes.list()
      .find((r) => r.prefixLen === 0);
    assert.ok(dflt?.gateway !== undefined);
    assert.deepEqual(
      v6(router)
        .listAddresses(r1)
        .some((x) => ipv6ToString(x.addr) === ipv6ToString(dflt.gateway!)),
      true,
    );
    const p = pinger6(a);
    p.send(globalAddress(b, ib)!, 1);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.equal(p.replies[0]!.hopLimit, 63);
    assert.ok(a.counters.value('ndp.tx.router-solicitations') >= 1);
    assert.equal(v6(a).routerDiscovery.isSoliciting(ia), false);
  });

  test('by default (RFC 4861 6.3.7) three router solicitations 4 s apart, then the link goes quiet', () => {
    const { sim, a, ia } = routed6(14, { settle: false, impairments1: { loss: 1 } });
    const times: number[] = [];
    ia.addObserver((dir, frame, now) => {
      if (dir === 'tx' && frame[12] === 0x86 && frame[13] === 0xdd && frame[54] === 133) times.push(now);
    });
    assert.equal(v6(a).routerDiscovery.maxSolicitations, 3);
    sim.advance(60 * SECOND);
    assert.equal(times.length, 3);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.deepEqual(
      gaps.map((g) => Math.round(g)),
      [4 * SECOND, 4 * SECOND],
    );
    // After DAD of the link-local address and a random delay of up to a second.
    assert.ok(times[0]! <= 3 * SECOND, `first at ${times[0]}`);
    assert.equal(v6(a).routerDiscovery.isSoliciting(ia), false);
    assert.equal(a.counters.value('ndp.tx.router-solicitations'), 3);
  });

  test('with RFC 7559, router solicitations back off exponentially while no router answers', () => {
    const { sim, a, ia } = routed6(12, {
      settle: false,
      impairments1: { loss: 1 },
      routerSolicitations: 'rfc7559',
    });
    const times: number[] = [];
    ia.addObserver((dir, frame, now) => {
      // ICMPv6 type 133 after Ethernet (14) and IPv6 (40) headers.
      if (dir === 'tx' && frame[12] === 0x86 && frame[13] === 0xdd && frame[54] === 133) times.push(now);
    });
    sim.advance(200 * SECOND);
    assert.ok(times.length >= 5 && times.length <= 7, `${times.length} solicitations`);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! > 1.6 * gaps[i - 1]!, `gaps ${gaps}`);
    assert.ok(gaps[0]! >= 3.6 * SECOND && gaps[0]! <= 4.4 * SECOND);
    assert.equal(v6(a).routerDiscovery.isSoliciting(ia), true);
  });

  test('RA options: MTU, hop limit, RDNSS and DNSSL events, M/O flags, route information, preferences', () => {
    const { sim, a, ia, router, r1 } = routed6(13);
    const dns: string[] = [];
    const search: string[] = [];
    const flags: string[] = [];
    v6(a).onDnsServers.push((_i, servers, lifetime) =>
      dns.push(`${servers.map(ipv6ToString).join(',')} ${lifetime}`),
    );
    v6(a).onSearchList.push((_i, domains, lifetime) => search.push(`${domains.join(',')} ${lifetime}`));
    v6(a).onRaFlags.push((_i, f) => flags.push(`${f.managed} ${f.other}`));
    v6(router).advertise(r1, {
      prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }],
      mtu: 1400,
      curHopLimit: 42,
      managed: true,
      other: true,
      preference: 'high',
      routerLifetime: 100,
      rdnss: { servers: [ip6('2001:db8:1::53')], lifetime: 300 },
      dnssl: { domains: ['example.com'], lifetime: 300 },
      routes: [
        { prefix: ip6('2001:db8:99::'), prefixLength: 48, preference: 'low', lifetime: 60 },
        { prefix: ip6('2001:db8:98::'), prefixLength: 48, preference: 'reserved', lifetime: 60 },
      ],
    });
    assert.ok(sim.runUntil(() => dns.length > 0, 20_000));
    assert.deepEqual(dns[0], '2001:db8:1::53 300');
    assert.deepEqual(search[0], 'example.com 300');
    assert.deepEqual(flags.at(-1), 'true true');
    assert.equal(v6(a).linkMtu(ia), 1400);
    assert.equal(v6(a).hopLimitOf(ia), 42);
    const routes = v6(a)
      .routes.list()
      .filter((r) => r.origin === 'ra');
    const dflt = routes.find((r) => r.prefixLen === 0)!;
    assert.equal(dflt.preference, 'high');
    assert.ok(
      routes.some(
        (r) => r.prefixLen === 48 && r.preference === 'low' && ipv6ToString(r.dest) === '2001:db8:99::',
      ),
    );
    // RFC 4191 3.1: the reserved preference makes the option ignored.
    assert.ok(!routes.some((r) => ipv6ToString(r.dest) === '2001:db8:98::'));
    // The route information lifetime runs out after 60 s unless refreshed; the advertiser's
    // next advertisements (at most 600 s apart) refresh it, so stop advertising and wait.
    v6(router).advertiser(r1)!.stop();
    sim.runUntil(() => false, 61 * SECOND);
    assert.ok(
      !v6(a)
        .routes.list()
        .some((r) => r.prefixLen === 48),
    );
    // The final advertisement (lifetime 0) removed the default router at once.
    assert.ok(
      !v6(a)
        .routes.list()
        .some((r) => r.prefixLen === 0),
    );
  });

  test('a higher-preference default router wins; a lifetime of 0 removes it', () => {
    const { sim, a, ia, router, r1 } = routed6(14);
    // A second router on the same link: a third stack would need a switch, so fake it with a
    // second advertisement source: the router re-advertises with low preference, and a static
    // high-preference default route shows the ordering.
    const low = v6(a)
      .routes.list()
      .find((r) => r.prefixLen === 0)!;
    v6(a).routes.add({
      dest: ip6('::'),
      prefixLen: 0,
      gateway: ip6('fe80::99'),
      iface: ia,
      metric: 2048,
      preference: 'high',
      origin: 'static',
    });
    assert.equal(ipv6ToString(v6(a).routes.lookup(ip6('2001:db8:7::1'))!.nextHop), 'fe80::99');
    // RFC 4861 6.3.6: a router that does not resolve (INCOMPLETE/FAILED) is avoided.
    const p = pinger6(a);
    p.send(ip6('2001:db8:2::1'), 1);
    assert.ok(sim.runUntil(() => v6(a).ndp.table.lookup(ia, ip6('fe80::99'))?.state === 'incomplete', 1000));
    assert.equal(
      ipv6ToString((v6(a).route(ip6('2001:db8:7::1')) as { nextHop: Uint8Array }).nextHop),
      ipv6ToString(low.gateway!),
    );
    v6(router).advertise(r1, {
      prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }],
      routerLifetime: 0,
    });
    assert.ok(
      sim.runUntil(
        () =>
          !v6(a)
            .routes.list()
            .some((r) => r.origin === 'ra' && r.prefixLen === 0),
        20_000,
      ),
    );
  });

  test('valid and preferred lifetimes: deprecation, the two-hour rule, expiry', () => {
    const { sim, a, ia, router, r1 } = routed6(15);
    v6(router).advertise(r1, {
      prefixes: [
        { prefix: ip6('2001:db8:5::'), prefixLength: 64, validLifetime: 3 * 3600, preferredLifetime: 10 },
      ],
      maxInterval: 3600 * SECOND,
      minInterval: 3000 * SECOND,
    });
    const entry = () =>
      v6(a)
        .listAddresses(ia)
        .find((x) => ipv6ToString(x.addr).startsWith('2001:db8:5:'));
    assert.ok(
      sim.runUntil(() => entry()?.state === 'preferred', 20_000),
      addresses(a, ia).join('\n'),
    );
    assert.ok(sim.runUntil(() => entry()?.state === 'deprecated', 15 * SECOND));
    // A deprecated address is not chosen for new communication when another one exists.
    assert.notEqual(ipv6ToString(v6(a).sourceFor(ip6('2001:db8:5::77'), ia)!), ipv6ToString(entry()!.addr));
    // RFC 4862 5.5.3 (e): an advertisement cannot cut the remaining valid lifetime below two hours.
    v6(router).advertise(r1, {
      prefixes: [{ prefix: ip6('2001:db8:5::'), prefixLength: 64, validLifetime: 60, preferredLifetime: 30 }],
      maxInterval: 3600 * SECOND,
      minInterval: 3000 * SECOND,
    });
    assert.ok(sim.runUntil(() => entry()?.state === 'preferred', 20_000));
    const remaining = entry()!.validUntil - sim.now;
    assert.ok(remaining > 7000 * SECOND && remaining <= 7200 * SECOND, `${remaining}`);
    v6(router).advertiser(r1)!.stop();
    sim.runUntil(() => false, 7300 * SECOND);
    assert.equal(entry(), undefined);
  });

  test('temporary addresses (RFC 8981) when asked, preferred as sources and regenerated', () => {
    const { sim, a, ia, router, r1 } = routed6(16, { settle: false });
    v6(a).useTemporaryAddresses = true;
    v6(router).advertise(r1, {
      prefixes: [
        { prefix: ip6('2001:db8:1::'), prefixLength: 64, validLifetime: 86400 * 7, preferredLifetime: 600 },
      ],
    });
    const temps = () =>
      v6(a)
        .listAddresses(ia)
        .filter((x) => x.temporary);
    assert.ok(
      sim.runUntil(() => temps().some((t) => t.state === 'preferred'), 60_000),
      addresses(a, ia).join('\n'),
    );
    const first = temps()[0]!;
    assert.equal(ipv6ToString(v6(a).sourceFor(ip6('2001:db8:2::5'), ia)!), ipv6ToString(first.addr));
    // A new one comes REGEN_ADVANCE before the first is deprecated.
    assert.ok(sim.runUntil(() => temps().length === 2, 700 * SECOND));
    assert.ok(first.state === 'preferred' && first.preferredUntil > sim.now);
  });

  test('optimistic DAD makes the address usable at once', () => {
    const { sim, a, ia } = routed6(17, { settle: false });
    v6(a).optimisticDad = true;
    const added = v6(a).addAddress(ia, ip6('2001:db8:1::abcd'), 64, { optimistic: true });
    assert.equal(added.state, 'optimistic');
    assert.equal(v6(a).isLocal(added.addr), true);
    assert.ok(sim.runUntil(() => added.state === 'preferred', 5000));
  });
});

describe('bounds of what routers can make a host hold', () => {
  test('a flood of prefixes and routes stays within the bounds, counted', () => {
    const { sim, a, router, r1 } = routed6(18);
    for (let round = 0; round < 6; round++) {
      const routes = Array.from({ length: 50 }, (_, i) => ({
        prefix: ip6(`2001:db8:${100 + round}:${i}::`),
        prefixLength: 64,
        lifetime: 3600,
      }));
      const prefixes = Array.from({ length: 5 }, (_, i) => ({
        prefix: ip6(`2001:db8:${200 + round * 5 + i}::`),
        prefixLength: 64,
      }));
      v6(router).advertise(r1, { routes, prefixes });
      sim.runUntil(() => false, 4 * SECOND);
    }
    assert.equal(v6(a).routerDiscovery.learnedRoutes().length, 256);
    assert.ok(a.counters.value('ndp.routes-full') > 0);
    assert.ok(
      v6(a)
        .listAddresses()
        .filter((x) => x.origin === 'slaac').length <= 16,
    );
    assert.ok(a.counters.value('ipv6.slaac.prefixes-full') > 0);
  });
});
