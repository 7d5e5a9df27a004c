import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import '../../src/api/install.ts';
import { leaseDnsConfig } from '../../src/apps/dhcp/client-state.ts';
import { DnsServer, rr } from '../../src/apps/dns/server.ts';
import { SECOND } from '../../src/core/time.ts';
import { ip } from '../helpers/sim-hosts.ts';
import { dhcpLan } from './dhcp-helpers.ts';

/** A LAN whose DHCP server also answers DNS (10.0.0.1) for `corp.example.test` and `example.test`. */
function lan(seed: number, server: { domainName?: string; domainSearch?: string[] }) {
  const l = dhcpLan(seed, { dnsServers: [ip('10.0.0.1')], ...server });
  new DnsServer(l.serverStack, {
    records: [
      rr.soa('example.test'),
      rr.a('www.corp.example.test', '10.0.0.80'),
      rr.a('mail.example.test', '10.0.0.25'),
    ],
  });
  const c = l.addClient('c1');
  // What `--dhcp` does with each lease (src/cli/dhcp.ts).
  const setSource = (): void => c.stack.dns.resolver.setSource('dhcp4:eth0', leaseDnsConfig(c.client.lease!));
  c.client.start();
  assert.ok(l.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
  setSource();
  const lookup = (name: string): string => {
    let result: string | undefined;
    c.stack.dns.resolver.lookup(name, 4, (e, list) => {
      result = e !== undefined ? (e.code ?? 'error') : (list?.[0]?.address ?? 'none');
    });
    assert.ok(l.sim.runUntil(() => result !== undefined, 30 * SECOND));
    return result!;
  };
  return { ...l, c, lookup };
}

describe('DHCPv4 domain search list (option 119) to the resolver, in simulation', () => {
  test('option 119 is the search list, before option 15 (as systemd-networkd); short names resolve through it', () => {
    const t = lan(1, { domainName: 'other.test', domainSearch: ['corp.example.test', 'example.test'] });
    const lease = t.c.client.lease!;
    assert.deepEqual(lease.domainSearch, ['corp.example.test', 'example.test']);
    assert.equal(lease.domainName, 'other.test');
    assert.deepEqual(t.c.stack.dns.resolver.config.search, ['corp.example.test', 'example.test']);
    assert.equal(t.lookup('www'), '10.0.0.80');
    assert.equal(t.lookup('mail'), '10.0.0.25');
  });

  test('without option 119, the domain name (option 15) is the search list', () => {
    const t = lan(2, { domainName: 'example.test' });
    assert.equal(t.c.client.lease!.domainSearch, undefined);
    assert.deepEqual(t.c.stack.dns.resolver.config.search, ['example.test']);
    assert.equal(t.lookup('mail'), '10.0.0.25');
    // www.example.test does not exist (and `www` alone is outside the server's zone).
    assert.match(t.lookup('www'), /^E[A-Z]+$/);
  });

  test('a list over 255 octets crosses the wire in several instances (RFC 3396) and comes back whole', () => {
    const long = Array.from({ length: 6 }, (_, i) => `${'x'.repeat(60)}${i}.${'y'.repeat(60)}.example.test`);
    const t = lan(3, { domainSearch: [...long, 'corp.example.test'] });
    assert.deepEqual(t.c.client.lease!.domainSearch, [...long, 'corp.example.test']);
    assert.deepEqual(t.c.stack.dns.resolver.config.search, [...long, 'corp.example.test']);
    assert.equal(t.lookup('www'), '10.0.0.80');
  });

  test('the server refuses a search domain that does not encode (EINVAL) when made', () => {
    for (const bad of ['a..b', '.', ''])
      assert.throws(() => dhcpLan(5, { domainSearch: ['ok.test', bad] }), { code: 'EINVAL' });
  });

  test('names the resolver cannot take are left out instead of throwing', () => {
    const lease = lan(4, { domainName: 'example.test' }).c.client.lease!;
    assert.deepEqual(leaseDnsConfig({ ...lease, domainName: 'bad..name' }).search, []);
    assert.deepEqual(leaseDnsConfig({ ...lease, domainSearch: ['ok.test', 'bad..name'] }).search, [
      'ok.test',
    ]);
    assert.deepEqual(leaseDnsConfig(lease), { servers: ['10.0.0.1'], search: ['example.test'] });
  });
});
