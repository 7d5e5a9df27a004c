import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HostAddress } from '../../src/apps/dns/hosts.ts';
import type { DnsAnswer } from '../../src/apps/dns/resolver.ts';
import { rr } from '../../src/apps/dns/server.ts';
import { ipv4ToString } from '../../src/wire/address.ts';
import { DNS_TYPE, type DnsRecord } from '../../src/wire/dns.ts';
import { counter, dnsLan, run, testZone } from './dns-helpers.ts';

const addrs = (records: DnsRecord[] | undefined) =>
  (records ?? []).map((r) => (r.data.type === 'A' ? ipv4ToString(r.data.address) : r.data.type));

describe('DNS resolver: answers', () => {
  test('A, AAAA, TXT, SRV, MX, PTR and CNAME records', () => {
    const { sim, resolver } = dnsLan(1);
    const a = run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(a.err, undefined);
    assert.deepEqual(addrs(a.value?.records), ['10.0.0.80', '10.0.0.81']);
    assert.deepEqual(a.value?.aliases, []);
    const aaaa = run<DnsAnswer>(sim, (cb) => resolver.query('WWW.Example.Test.', DNS_TYPE.AAAA, cb));
    assert.equal(aaaa.value?.records[0]?.data.type, 'AAAA');
    const txt = run<DnsAnswer>(sim, (cb) => resolver.query('txt.example.test', DNS_TYPE.TXT, cb));
    assert.equal(txt.value?.records.length, 2);
    const srv = run<DnsAnswer>(sim, (cb) => resolver.query('_sip._udp.example.test', DNS_TYPE.SRV, cb));
    assert.deepEqual(
      srv.value?.records.map((r) =>
        r.data.type === 'SRV' ? [r.data.priority, r.data.port, r.data.target] : [],
      ),
      [
        [10, 5060, 'sip.example.test'],
        [20, 5061, 'sip2.example.test'],
      ],
    );
    const mx = run<DnsAnswer>(sim, (cb) => resolver.query('example.test', DNS_TYPE.MX, cb));
    assert.equal(mx.value?.records[0]?.data.type, 'MX');
    const ptr = run<string[]>(sim, (cb) => resolver.reverse('10.0.0.80', cb));
    assert.deepEqual(ptr.value, ['www.example.test']);
    const cname = run<DnsAnswer>(sim, (cb) => resolver.query('alias.example.test', DNS_TYPE.CNAME, cb));
    assert.equal(cname.value?.records[0]?.data.type, 'CNAME');
  });

  test('CNAME chains are followed, within a response and across responses, and loops end', () => {
    const { sim, client, resolver, dns } = dnsLan(2);
    const chain = run<DnsAnswer>(sim, (cb) => resolver.query('alias2.example.test', DNS_TYPE.A, cb));
    assert.deepEqual(chain.value?.aliases, ['alias2.example.test', 'alias.example.test']);
    assert.equal(chain.value?.name, 'www.example.test');
    assert.deepEqual(addrs(chain.value?.records), ['10.0.0.80', '10.0.0.81']);
    // outside.example.test -> www.other.test, which the server is not authoritative for: the
    // resolver asks for the target and gets REFUSED.
    const outside = run<DnsAnswer>(sim, (cb) => resolver.query('outside.example.test', DNS_TYPE.A, cb));
    assert.equal(outside.err?.code, 'EREFUSED');
    dns[0]!.records.push({ ...dns[0]!.records[1]!, name: 'www.other.test' });
    resolver.cache.clear();
    const ok = run<DnsAnswer>(sim, (cb) => resolver.query('outside.example.test', DNS_TYPE.A, cb));
    assert.deepEqual(addrs(ok.value?.records), ['10.0.0.80']);
    const before = counter(client.stack, 'dns.queries');
    const loop = run<DnsAnswer>(sim, (cb) => resolver.query('loop1.example.test', DNS_TYPE.A, cb));
    assert.equal(loop.err?.code, 'ESERVFAIL');
    assert.ok(counter(client.stack, 'dns.queries') - before <= 2 * 9, 'the loop was bounded');
  });

  test('NXDOMAIN is ENOTFOUND, NODATA is ENODATA, a bad name EBADNAME', () => {
    const { sim, resolver } = dnsLan(3);
    assert.equal(
      run<DnsAnswer>(sim, (cb) => resolver.query('nope.example.test', DNS_TYPE.A, cb)).err?.code,
      'ENOTFOUND',
    );
    assert.equal(
      run<DnsAnswer>(sim, (cb) => resolver.query('v4only.example.test', DNS_TYPE.AAAA, cb)).err?.code,
      'ENODATA',
    );
    assert.equal(run<DnsAnswer>(sim, (cb) => resolver.query('a..b', DNS_TYPE.A, cb)).err?.code, 'EBADNAME');
    assert.equal(
      run<DnsAnswer>(sim, (cb) => resolver.query('x'.repeat(64), DNS_TYPE.A, cb)).err?.code,
      'EBADNAME',
    );
  });
});

describe('DNS resolver: cache', () => {
  test('positive answers are served from the cache until their TTL runs out, with the TTL left', () => {
    const { sim, client, resolver, dns } = dnsLan(4);
    run<DnsAnswer>(sim, (cb) => resolver.query('alias.example.test', DNS_TYPE.A, cb));
    assert.equal(dns[0]!.udpQueries, 1);
    sim.advance(100_000);
    const again = run<DnsAnswer>(sim, (cb) => resolver.query('alias.example.test', DNS_TYPE.A, cb));
    assert.equal(dns[0]!.udpQueries, 1, 'from the cache');
    assert.equal(again.value?.records[0]?.ttl, 200);
    assert.ok(counter(client.stack, 'dns.cache.hits') >= 2);
    // The CNAME (120 s) expires before the A records (300 s): only the alias is asked again.
    sim.advance(21_000);
    const third = run<DnsAnswer>(sim, (cb) => resolver.query('alias.example.test', DNS_TYPE.A, cb));
    assert.equal(dns[0]!.udpQueries, 2);
    assert.deepEqual(addrs(third.value?.records), ['10.0.0.80', '10.0.0.81']);
    sim.advance(300_000);
    run<DnsAnswer>(sim, (cb) => resolver.query('www.example.test', DNS_TYPE.A, cb));
    assert.equal(dns[0]!.udpQueries, 3, 'expired');
  });

  test('negative answers are cached for min(SOA TTL, SOA MINIMUM) (RFC 2308 5)', () => {
    const { sim, resolver, dns } = dnsLan(5);
    for (let i = 0; i < 3; i++)
      run<DnsAnswer>(sim, (cb) => resolver.query('nope.example.test', DNS_TYPE.A, cb));
    // NXDOMAIN covers every type of the name.
    assert.equal(
      run<DnsAnswer>(sim, (cb) => resolver.query('nope.example.test', DNS_TYPE.TXT, cb)).err?.code,
      'ENOTFOUND',
    );
    for (let i = 0; i < 3; i++)
      run<DnsAnswer>(sim, (cb) => resolver.query('v4only.example.test', DNS_TYPE.AAAA, cb));
    assert.equal(dns[0]!.udpQueries, 2);
    // The zone's SOA: TTL 600, MINIMUM 30.
    sim.advance(29_000);
    run<DnsAnswer>(sim, (cb) => resolver.query('nope.example.test', DNS_TYPE.A, cb));
    assert.equal(dns[0]!.udpQueries, 2);
    sim.advance(2_000);
    run<DnsAnswer>(sim, (cb) => resolver.query('nope.example.test', DNS_TYPE.A, cb));
    run<DnsAnswer>(sim, (cb) => resolver.query('v4only.example.test', DNS_TYPE.AAAA, cb));
    assert.equal(dns[0]!.udpQueries, 4);
  });

  test('the cache is bounded: a flood of names evicts the least recently used', () => {
    const { sim, client, resolver, dns } = dnsLan(6, { resolver: { cacheSize: 4 } });
    for (let i = 0; i < 50; i++) dns[0]!.records.push({ ...dns[0]!.records[1]!, name: `h${i}.example.test` });
    run<DnsAnswer>(sim, (cb) => resolver.query('h0.example.test', DNS_TYPE.A, cb));
    for (let i = 1; i < 50; i++) {
      run<DnsAnswer>(sim, (cb) => resolver.query(`h${i}.example.test`, DNS_TYPE.A, cb));
      // h0 is used after every other name: it is never the least recently used.
      run<DnsAnswer>(sim, (cb) => resolver.query('h0.example.test', DNS_TYPE.A, cb));
      assert.ok(resolver.cache.size <= 4);
    }
    assert.equal(resolver.cache.size, 4);
    assert.equal(counter(client.stack, 'dns.cache.evictions'), 46);
    assert.equal(dns[0]!.udpQueries, 50, 'h0 was asked once');
  });
});

describe('DNS resolver: lookup', () => {
  test('IP literals, the hosts table (localhost built in), then DNS with both families', () => {
    const { sim, resolver, dns } = dnsLan(7);
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('10.1.2.3', 0, cb)).value, [
      { address: '10.1.2.3', family: 4 },
    ]);
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('::1', 0, cb)).value, [
      { address: '::1', family: 6 },
    ]);
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('localhost', 0, cb)).value, [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('LocalHost.', 6, cb)).value, [
      { address: '::1', family: 6 },
    ]);
    resolver.hosts.add('www.example.test', '192.0.2.1');
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('www.example.test', 4, cb)).value, [
      { address: '192.0.2.1', family: 4 },
    ]);
    assert.deepEqual(run<string[]>(sim, (cb) => resolver.reverse('192.0.2.1', cb)).value, [
      'www.example.test',
    ]);
    assert.equal(dns[0]!.udpQueries, 0);
    resolver.hosts.remove('www.example.test');
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('www.example.test', 0, cb)).value, [
      { address: '10.0.0.80', family: 4 },
      { address: '10.0.0.81', family: 4 },
      { address: '2001:db8::80', family: 6 },
    ]);
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('v4only.example.test', 0, cb)).value, [
      { address: '10.0.0.44', family: 4 },
    ]);
    assert.equal(
      run<HostAddress[]>(sim, (cb) => resolver.lookup('v4only.example.test', 6, cb)).err?.code,
      'ENODATA',
    );
    assert.equal(
      run<HostAddress[]>(sim, (cb) => resolver.lookup('nope.example.test', 0, cb)).err?.code,
      'ENOTFOUND',
    );
  });

  test('the hosts table is bounded', () => {
    const { resolver } = dnsLan(8);
    const max = resolver.hosts.maxEntries;
    for (let i = 0; i < max - 2; i++) resolver.hosts.add(`h${i}.test`, `10.9.${i >> 8}.${i & 0xff}`);
    assert.throws(() => resolver.hosts.add('one-more.test', '10.10.10.10'), { code: 'ENOBUFS' });
    assert.throws(() => resolver.hosts.add('bad', 'not-an-ip'), { code: 'EINVAL' });
  });

  test('search domains and ndots, in resolv.conf order', () => {
    const asked: string[] = [];
    const { sim, resolver } = dnsLan(9, {
      serverOptions: () => ({
        // Authoritative for the root too, as a recursive server would be: NXDOMAIN, not REFUSED.
        records: [...testZone(), rr.soa('', 30, 600)],
        handler: (q) => {
          asked.push(q.questions[0]!.name);
          return undefined;
        },
      }),
      resolver: { search: ['corp.test', 'example.test'] },
    });
    // No dot (< ndots 1): the search list first, the name alone last.
    const www = run<HostAddress[]>(sim, (cb) => resolver.lookup('www', 4, cb));
    assert.deepEqual(www.value, [
      { address: '10.0.0.80', family: 4 },
      { address: '10.0.0.81', family: 4 },
    ]);
    assert.deepEqual(asked, ['www.corp.test', 'www.example.test']);
    asked.length = 0;
    const host = run<HostAddress[]>(sim, (cb) => resolver.lookup('host', 4, cb));
    assert.deepEqual(host.value, [{ address: '10.0.0.99', family: 4 }]);
    assert.deepEqual(asked, ['host.corp.test']);
    asked.length = 0;
    // "short" exists only as a single-label name: tried last.
    assert.deepEqual(run<HostAddress[]>(sim, (cb) => resolver.lookup('short', 4, cb)).value, [
      { address: '10.9.9.9', family: 4 },
    ]);
    assert.deepEqual(asked, ['short.corp.test', 'short.example.test', 'short']);
    asked.length = 0;
    // One dot (>= ndots): the name as given first.
    assert.ok(run<HostAddress[]>(sim, (cb) => resolver.lookup('www.example', 4, cb)).err);
    assert.deepEqual(asked, ['www.example', 'www.example.corp.test', 'www.example.example.test']);
    asked.length = 0;
    // A trailing dot: only the name.
    assert.equal(run<HostAddress[]>(sim, (cb) => resolver.lookup('www.', 4, cb)).err?.code, 'ENOTFOUND');
    assert.deepEqual(asked, ['www']);
    asked.length = 0;
    resolver.configure({ ndots: 3 });
    run<HostAddress[]>(sim, (cb) => resolver.lookup('a.b.c', 4, cb));
    assert.deepEqual(asked, ['a.b.c.corp.test', 'a.b.c.example.test', 'a.b.c']);
    // Queries (resolve*) never use the search list.
    asked.length = 0;
    run<DnsAnswer>(sim, (cb) => resolver.query('host', DNS_TYPE.A, cb));
    assert.deepEqual(asked, ['host']);
  });
});

describe('DNS resolver: bounds and concurrency', () => {
  test('identical questions in flight share one exchange', () => {
    const { sim, resolver, dns } = dnsLan(10);
    const results: string[][] = [];
    for (let i = 0; i < 5; i++) {
      resolver.query('www.example.test', DNS_TYPE.A, (err, a) => {
        assert.equal(err, undefined);
        results.push(addrs(a?.records));
      });
    }
    assert.equal(resolver.pending, 1);
    sim.runUntil(() => results.length === 5, 10_000);
    assert.equal(results.length, 5);
    assert.equal(dns[0]!.udpQueries, 1);
  });

  test('queries in flight are bounded (ENOMEM beyond, counted), and cancel ends them', () => {
    const { sim, client, resolver } = dnsLan(11, {
      serverOptions: () => ({ handler: () => 'drop' }),
      resolver: { maxInflight: 4 },
    });
    const codes: string[] = [];
    for (let i = 0; i < 10; i++)
      resolver.query(`n${i}.example.test`, DNS_TYPE.A, (err) => codes.push(err!.code));
    assert.equal(resolver.pending, 4);
    sim.runUntil(() => codes.length === 6, 1000);
    assert.deepEqual(codes, Array(6).fill('ENOMEM'));
    assert.equal(counter(client.stack, 'dns.query.refused'), 6);
    resolver.cancel();
    sim.runUntil(() => codes.length === 10, 1000);
    assert.deepEqual(codes.slice(6), Array(4).fill('ECANCELLED'));
    assert.equal(resolver.pending, 0);
    assert.equal(client.stack.udp.list().length, 0, 'every socket closed');
  });
});
