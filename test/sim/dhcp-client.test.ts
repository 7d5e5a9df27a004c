import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SECOND } from '../../src/core/time.ts';
import { ip } from '../helpers/sim-hosts.ts';
import { addresses, dhcpLan, routes } from './dhcp-helpers.ts';

const HOUR = 3600 * SECOND;

describe('DHCP client against the DHCP server, in simulation', () => {
  test('DORA: the lease is applied (address, default route, DNS), then renewed at T1 for hours', () => {
    const lan = dhcpLan(1);
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    assert.deepEqual(addresses(c.stack, c.iface), ['10.0.0.100/24']);
    assert.deepEqual(routes(c.stack), ['10.0.0.0/24 connected', 'default via 10.0.0.1 dhcp']);
    const lease = c.client.lease!;
    assert.deepEqual(lease.dnsServers, [ip('10.0.0.53'), ip('10.0.0.54')]);
    assert.equal(lease.domainName, 'example.test');
    assert.equal(lease.leaseTime, 3600);
    assert.equal(c.stack.counters.value('dhcp.client.tx.discover'), 1);
    assert.equal(c.stack.counters.value('dhcp.client.tx.request'), 1);
    // The address was probed (RFC 5227) before use.
    assert.equal(c.stack.counters.value('arp.tx.probes'), 3);
    lan.sim.advance(5 * HOUR);
    // Renewed at every T1 (1800 s) by one unicast REQUEST, never rebinding.
    assert.equal(c.stack.counters.value('dhcp.client.renewals'), 10);
    assert.equal(c.stack.counters.value('dhcp.client.tx.request'), 11);
    assert.ok(!c.events.includes('rebinding'));
    assert.deepEqual(addresses(c.stack, c.iface), ['10.0.0.100/24']);
    assert.equal(c.events.filter((e) => e.startsWith('lease')).length, 11);
  });
});
