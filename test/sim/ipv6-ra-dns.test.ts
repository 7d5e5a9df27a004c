import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import '../../src/api/install.ts';
import { feedRaDns, MAX_RA_DNS_ENTRIES } from '../../src/cli/ipv6-dns.ts';
import { SECOND } from '../../src/core/time.ts';
import { ip6, routed6, v6 } from './ipv6-helpers.ts';

describe('RFC 8106 RDNSS and DNSSL from advertisements to the resolver', () => {
  test('servers and search domains arrive with the advertisement and go when their lifetime ends', () => {
    const { sim, a, ia, router, r1 } = routed6(91, { settle: false });
    let changes = 0;
    a.run(() => feedRaDns(a, [ia], () => changes++));
    v6(router).advertise(r1, {
      prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }],
      rdnss: { servers: [ip6('2001:db8:1::53')], lifetime: 30 },
      dnssl: { domains: ['example.test'], lifetime: 30 },
    });
    assert.ok(sim.runUntil(() => a.dns.getServers().length === 1, 30 * SECOND));
    assert.deepEqual(a.dns.getServers(), ['2001:db8:1::53']);
    assert.deepEqual(a.dns.resolver.config.search, ['example.test']);
    assert.deepEqual(
      a.dns.resolver.sources.list().map((s) => s.source),
      ['ra:eth0'],
    );
    assert.ok(changes >= 1);
    // The router stops advertising them: they are gone 30 s after the last advertisement.
    v6(router).advertise(r1, { prefixes: [{ prefix: ip6('2001:db8:1::'), prefixLength: 64 }] });
    const last = sim.now;
    assert.ok(sim.runUntil(() => a.dns.getServers().length === 0, 31 * SECOND));
    assert.ok(sim.now - last <= 30 * SECOND);
    assert.deepEqual(a.dns.resolver.config.search, []);
    assert.deepEqual(a.dns.resolver.sources.list(), []);
  });

  test('lifetime 0 withdraws a server at once; entries per device are bounded', () => {
    const { a, ia } = routed6(92, { settle: false });
    a.run(() => feedRaDns(a, [ia]));
    const tell = (servers: string[], lifetime: number) =>
      a.run(() => {
        for (const l of v6(a).onDnsServers) l(ia, servers.map(ip6), lifetime);
      });
    tell(['2001:db8::1', '2001:db8::2'], 600);
    assert.deepEqual(a.dns.getServers(), ['2001:db8::1', '2001:db8::2']);
    tell(['2001:db8::1'], 0);
    assert.deepEqual(a.dns.getServers(), ['2001:db8::2']);
    tell(
      Array.from({ length: 20 }, (_, i) => `2001:db8::${(i + 10).toString(16)}`),
      600,
    );
    assert.equal(a.counters.value('dns.ra.full'), 20 - (MAX_RA_DNS_ENTRIES - 1));
    // A domain the resolver cannot use is left out and counted, not thrown.
    a.run(() => {
      for (const l of v6(a).onSearchList) l(ia, ['ok.test', `${'x'.repeat(70)}.test`], 600);
    });
    assert.deepEqual(a.dns.resolver.config.search, ['ok.test']);
    assert.equal(a.counters.value('dns.sources.bad-domain'), 1);
  });
});
