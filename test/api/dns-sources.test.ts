import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_SEARCH, MAX_SERVERS } from '../../src/apps/dns/config.ts';
import { DnsResolver } from '../../src/apps/dns/resolver.ts';
import { DnsServer, rr } from '../../src/apps/dns/server.ts';
import { MAX_SOURCES } from '../../src/apps/dns/sources.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import '../../src/api/install.ts';
import type { Ipv6Addr } from '../../src/wire/address.ts';
import { emitDns, parseDns } from '../../src/wire/dns.ts';
import { ip6, twoHosts6, v6 } from '../sim/ipv6-helpers.ts';

describe('resolver sources (DHCP, router advertisements) merged into the configuration', () => {
  test('sources merge in order of appearance, once each; a withdrawn source leaves', () => {
    const stack = new Simulation({ seed: 1 }).createStack();
    const r = new DnsResolver(stack);
    r.setSource('dhcp4:eth0', { servers: ['10.0.0.53', '10.0.0.54'], search: ['corp.example'] });
    r.setSource('ra:eth0', {
      servers: ['2001:db8::53', '10.0.0.53'],
      search: ['corp.example', 'lab.example'],
    });
    const servers = () => r.config.servers.map((s) => s.text);
    assert.deepEqual(servers(), ['10.0.0.53', '10.0.0.54', '2001:db8::53']);
    assert.deepEqual(r.config.search, ['corp.example', 'lab.example']);
    // A renewed lease replaces its own lists and keeps its place.
    r.setSource('dhcp4:eth0', { servers: ['10.0.0.55'] });
    assert.deepEqual(servers(), ['10.0.0.55', '2001:db8::53', '10.0.0.53']);
    assert.deepEqual(r.config.search, ['corp.example', 'lab.example']);
    r.setSource('ra:eth0', undefined);
    assert.deepEqual(servers(), ['10.0.0.55']);
    assert.deepEqual(r.config.search, []);
    assert.deepEqual(r.sources.list(), [{ source: 'dhcp4:eth0', servers: ['10.0.0.55'], search: [] }]);
  });

  test('servers and search domains set by hand take precedence; an empty list hands back to the sources', () => {
    const stack = new Simulation({ seed: 2 }).createStack();
    stack.dns.resolver.setSource('dhcp4:eth0', { servers: ['10.0.0.53'], search: ['corp.example'] });
    stack.dns.setServers(['192.0.2.53:5353']);
    assert.deepEqual(stack.dns.getServers(), ['192.0.2.53:5353']);
    assert.deepEqual(stack.dns.resolver.config.search, ['corp.example']);
    stack.dns.resolver.setSource('dhcp4:eth0', { servers: ['10.0.0.99'] });
    assert.deepEqual(stack.dns.getServers(), ['192.0.2.53:5353']);
    stack.dns.setServers([]);
    assert.deepEqual(stack.dns.getServers(), ['10.0.0.99']);
  });

  test('bounds: servers and domains beyond the lists are counted, sources beyond MAX_SOURCES refused', () => {
    const stack = new Simulation({ seed: 3 }).createStack();
    const r = new DnsResolver(stack);
    const many = Array.from({ length: MAX_SERVERS + 3 }, (_, i) => `10.0.1.${i + 1}`);
    const domains = Array.from({ length: MAX_SEARCH + 2 }, (_, i) => `d${i}.example`);
    r.setSource('a', { servers: many.slice(0, 5), search: domains.slice(0, 5) });
    r.setSource('b', { servers: many.slice(5), search: domains.slice(5) });
    assert.equal(r.config.servers.length, MAX_SERVERS);
    assert.deepEqual(r.config.search, domains.slice(0, MAX_SEARCH));
    assert.equal(stack.counters.value('dns.sources.dropped'), 3 + 2);
    for (let i = 2; i < MAX_SOURCES; i++) r.setSource(`s${i}`, { servers: [] });
    assert.throws(() => r.setSource('one-too-many', { servers: [] }), { code: 'ENOBUFS' });
    r.setSource('a', { servers: ['10.0.0.1'] }); // a known source may still change
    assert.throws(() => r.setSource('a', { servers: ['10.0.0.300'] }), { code: 'EINVAL' });
    assert.throws(() => r.setSource('a', { servers: [], search: ['bad..name'] }), { code: 'EINVAL' });
  });

  test('a server learned over IPv6 (RDNSS) is asked over UDP/IPv6', () => {
    const { sim, a, ia, b, ib } = twoHosts6(4);
    v6(a).addAddress(ia, ip6('2001:db8::1'), 64);
    v6(b).addAddress(ib, ip6('2001:db8::53'), 64);
    assert.ok(
      sim.runUntil(
        () =>
          [a, b].every((s) =>
            v6(s)
              .listAddresses()
              .every((x) => x.state !== 'tentative'),
          ),
        10_000,
      ),
    );
    // b answers from a zone over UDP/IPv6 (DnsServer itself listens on IPv4).
    const zone = new DnsServer(b, {
      records: [rr.soa('example.test'), rr.aaaa('www.example.test', '2001:db8::80')],
      tcp: false,
    });
    const socket = b.udp.open({ family: 6 });
    socket.setV6Only(true);
    socket.bind(53);
    let asked = 0;
    socket.onReadable = () => {
      for (let d = socket.recv(); d !== undefined; d = socket.recv()) {
        const q = parseDns(d.data);
        if (!q.ok) continue;
        asked++;
        socket.send(emitDns(zone.answer(q.value), 0).bytes(), d.address as Ipv6Addr, d.port);
      }
    };
    a.dns.resolver.setSource('ra:eth0', { servers: ['2001:db8::53'] });
    let result: string[] | undefined;
    // The callback form: virtual time runs synchronously here, promises would settle only after.
    a.dns.resolver.lookup('www.example.test', 6, (err, list) => {
      result = err ? [err.code] : list!.map((x) => x.address);
    });
    assert.ok(sim.runUntil(() => result !== undefined, 10_000));
    assert.deepEqual(result, ['2001:db8::80']);
    assert.equal(asked, 1);
  });
});
