import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DhcpClient } from '../../src/apps/dhcp/client.ts';
import { SECOND } from '../../src/core/time.ts';
import { configure, ip } from '../helpers/sim-hosts.ts';
import { addresses, dhcpLan, dhcpSent, routes } from './dhcp-helpers.ts';

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

  test('DISCOVER retransmission follows RFC 2131 4.1: 4, 8, 16, 32, 64, 64 s, each within ±1 s', () => {
    const lan = dhcpLan(2);
    lan.serverIface.up = false;
    const c = lan.addClient('c1');
    const sent = dhcpSent(c.iface, () => lan.sim.now);
    c.client.start();
    lan.sim.advance(220 * SECOND);
    const times = sent.map((s) => s.time);
    const gaps = times.slice(1).map((t, i) => (t - times[i]!) / SECOND);
    assert.equal(gaps.length, 6, `gaps ${gaps}`);
    [4, 8, 16, 32, 64, 64].forEach((base, i) => {
      assert.ok(Math.abs(gaps[i]! - base) <= 1, `gap ${i} is ${gaps[i]} s, expected ${base} ± 1`);
    });
    // One transaction: the same xid, from 0.0.0.0 with the BROADCAST flag, secs counting up.
    assert.equal(new Set(sent.map((s) => s.msg.xid)).size, 1);
    assert.ok(sent.every((s) => s.msg.broadcast && s.msg.ciaddr === 0));
    assert.equal(sent.at(-1)!.msg.secs, Math.floor((times.at(-1)! - times[0]!) / SECOND));
    // The server comes back: the next DISCOVER gets a lease.
    lan.serverIface.up = true;
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 80 * SECOND));
  });

  test('over a lossy link (30% each way) every client still gets a distinct lease', () => {
    for (const seed of [3, 4, 5]) {
      const lan = dhcpLan(seed);
      const clients = [1, 2, 3].map((i) => lan.addClient(`c${i}`));
      for (const c of clients) lan.sw.port(c.iface)!.setImpairments({ loss: 0.3 });
      for (const c of clients) c.client.start();
      assert.ok(
        lan.sim.runUntil(() => clients.every((c) => c.client.state === 'bound'), 600 * SECOND),
        `seed ${seed}: ${clients.map((c) => c.client.state)}`,
      );
      const got = clients.map((c) => addresses(c.stack, c.iface)[0]);
      assert.equal(new Set(got).size, 3, `seed ${seed}: ${got}`);
      const retransmissions = clients.reduce(
        (n, c) =>
          n +
          c.stack.counters.value('dhcp.client.tx.discover') +
          c.stack.counters.value('dhcp.client.tx.request'),
        0,
      );
      assert.ok(retransmissions > 6, `seed ${seed}: no retransmission was needed (${retransmissions})`);
    }
  });

  test('a server that goes away: RENEWING (unicast), REBINDING (broadcast), expiry removes the lease, then a new one', () => {
    const lan = dhcpLan(6, { leaseTime: 1000 });
    const c = lan.addClient('c1');
    const sent = dhcpSent(c.iface, () => lan.sim.now);
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    const boundAt = lan.sim.now;
    const obtained = c.client.lease!.obtainedAt;
    // The service stops (the host still answers ARP, and ICMP port unreachable).
    lan.server.stop();
    sent.length = 0;
    assert.ok(lan.sim.runUntil(() => c.client.state === 'renewing', 600 * SECOND));
    assert.equal(lan.sim.now, obtained + 500 * SECOND, 'T1 is half the lease');
    assert.ok(lan.sim.runUntil(() => c.client.state === 'rebinding', 600 * SECOND));
    assert.equal(lan.sim.now, obtained + 875 * SECOND, 'T2 is 7/8 of the lease');
    assert.ok(lan.sim.runUntil(() => c.events.includes('lost expired'), 600 * SECOND));
    assert.equal(lan.sim.now, obtained + 1000 * SECOND);
    assert.deepEqual(addresses(c.stack, c.iface), []);
    assert.deepEqual(routes(c.stack), []);
    const renewing = sent.filter((s) => s.time < obtained + 875 * SECOND);
    const rebinding = sent.filter(
      (s) => s.time >= obtained + 875 * SECOND && s.time < obtained + 1000 * SECOND,
    );
    // RENEWING: unicast to the server, ciaddr set, no server id; retransmitted after max(60 s, half the time to T2).
    assert.deepEqual(
      renewing.map((s) => (s.time - obtained) / SECOND),
      [500, 687.5, 781.25, 841.25],
    );
    assert.ok(renewing.every((s) => s.msg.ciaddr === c.leases[0]!.address && !s.msg.broadcast));
    assert.ok(
      renewing.every(
        (s) => s.msg.options.serverId === undefined && s.msg.options.requestedAddress === undefined,
      ),
    );
    assert.deepEqual(
      rebinding.map((s) => (s.time - obtained) / SECOND),
      [875, 937.5, 997.5],
    );
    assert.ok(boundAt > obtained);
    // The server returns: INIT, a new DORA.
    lan.server.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 200 * SECOND));
    assert.deepEqual(addresses(c.stack, c.iface), ['10.0.0.100/24']);
    assert.deepEqual(
      c.events.filter(
        (e) => e.startsWith('lease') || e.startsWith('lost') || ['renewing', 'rebinding', 'init'].includes(e),
      ),
      ['init', 'lease 10.0.0.100', 'renewing', 'rebinding', 'lost expired', 'init', 'lease 10.0.0.100'],
    );
  });

  test('a server back before T2 answers the broadcast REQUEST of REBINDING', () => {
    const lan = dhcpLan(7, { leaseTime: 1000 });
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    lan.serverIface.up = false;
    assert.ok(lan.sim.runUntil(() => c.client.state === 'renewing', 600 * SECOND));
    lan.sim.advance(370 * SECOND);
    lan.serverIface.up = true;
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 200 * SECOND));
    assert.ok(c.events.includes('rebinding'));
    assert.equal(c.stack.counters.value('dhcp.client.renewals'), 1);
    assert.deepEqual(addresses(c.stack, c.iface), ['10.0.0.100/24']);
    assert.ok(!c.events.some((e) => e.startsWith('lost')));
  });

  test('an address in use answers the ARP probe: DECLINE, wait 10 s, and another address', () => {
    const lan = dhcpLan(8);
    const squatter = lan.addClient('squatter');
    configure(squatter.stack, squatter.iface, '10.0.0.100/24');
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 60 * SECOND));
    assert.equal(c.stack.counters.value('dhcp.client.declines'), 1);
    assert.equal(lan.serverStack.counters.value('dhcp.server.declined'), 1);
    assert.deepEqual(addresses(c.stack, c.iface), ['10.0.0.101/24']);
    assert.equal(lan.server.pool.entryAt(ip('10.0.0.100'))?.state, 'declined');
    const declineAt = c.events.indexOf('checking');
    assert.deepEqual(c.events.slice(declineAt, declineAt + 3), ['checking', 'init', 'selecting']);
    // The declined address is out of use for the hold (10 min), then free again.
    lan.sim.advance(601 * SECOND);
    assert.equal(lan.server.pool.entryAt(ip('10.0.0.100'))?.state, 'free');
  });

  test('INIT-REBOOT: a known lease is confirmed without DISCOVER; a foreign address gets NAK, then DORA', () => {
    const lan = dhcpLan(9);
    const first = lan.addClient('c1', { releaseOnStop: false });
    first.client.start();
    assert.ok(lan.sim.runUntil(() => first.client.state === 'bound', 30 * SECOND));
    const address = first.client.lease!.address;
    first.client.stop();
    assert.deepEqual(addresses(first.stack, first.iface), []);
    const states: string[] = [];
    const rebooted = new DhcpClient(first.stack, first.iface, {
      previousAddress: address,
      onStateChange: (s) => states.push(s),
    });
    rebooted.start();
    assert.ok(lan.sim.runUntil(() => rebooted.state === 'bound', 30 * SECOND));
    assert.deepEqual(states, ['init-reboot', 'rebooting', 'checking', 'bound']);
    assert.equal(first.stack.counters.value('dhcp.client.tx.discover'), 1);
    rebooted.stop();

    const moved = lan.addClient('c2', { previousAddress: ip('192.168.7.7') });
    moved.client.start();
    assert.ok(lan.sim.runUntil(() => moved.client.state === 'bound', 60 * SECOND));
    assert.equal(moved.stack.counters.value('dhcp.client.naks'), 1);
    assert.equal(lan.serverStack.counters.value('dhcp.server.tx.nak'), 1);
    assert.deepEqual(moved.events.slice(0, 4), ['init-reboot', 'rebooting', 'init', 'selecting']);
  });

  test('rapid commit: DISCOVER answered by ACK when the server allows it, else the four messages', () => {
    const lan = dhcpLan(10, { rapidCommit: true });
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    assert.equal(c.stack.counters.value('dhcp.client.tx.request'), 0);
    assert.equal(lan.serverStack.counters.value('dhcp.server.tx.offer'), 0);
    assert.equal(lan.serverStack.counters.value('dhcp.server.tx.ack'), 1);
    const plain = lan.addClient('c2', { rapidCommit: false });
    plain.client.start();
    assert.ok(lan.sim.runUntil(() => plain.client.state === 'bound', 30 * SECOND));
    assert.equal(plain.stack.counters.value('dhcp.client.tx.request'), 1);
    assert.equal(lan.serverStack.counters.value('dhcp.server.tx.offer'), 1);
  });

  test('classless static routes (RFC 3442) replace the Router option; on-link routes have no gateway', () => {
    const lan = dhcpLan(11, {
      routers: [ip('10.0.0.2')],
      mtu: 1400,
      classlessRoutes: [
        { destination: ip('10.9.0.0'), prefixLen: 16, router: ip('10.0.0.254') },
        { destination: ip('172.16.5.0'), prefixLen: 24, router: 0 },
        { destination: 0, prefixLen: 0, router: ip('10.0.0.1') },
      ],
    });
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    assert.deepEqual(routes(c.stack), [
      '10.0.0.0/24 connected',
      '172.16.5.0/24 dhcp',
      '10.9.0.0/16 via 10.0.0.254 dhcp',
      'default via 10.0.0.1 dhcp',
    ]);
    assert.equal(c.client.lease!.mtu, 1400);
    assert.deepEqual(c.client.info().lease?.routers, ['10.0.0.2']);
    c.client.stop();
    assert.deepEqual(routes(c.stack), []);
  });

  test('stop sends RELEASE: the server frees the address, the stack forgets it, onLeaseLost tells', () => {
    const lan = dhcpLan(12);
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    assert.equal(c.client.info().state, 'bound');
    assert.equal(c.client.info().lease?.address, '10.0.0.100/24');
    c.client.stop();
    lan.sim.advance(SECOND);
    assert.equal(lan.serverStack.counters.value('dhcp.server.released'), 1);
    assert.equal(lan.server.pool.entryAt(ip('10.0.0.100'))?.state, 'free');
    assert.deepEqual(addresses(c.stack, c.iface), []);
    assert.equal(c.events.at(-2), 'lost stopped');
    assert.equal(c.client.state, 'stopped');
    assert.equal(c.stack.udp.list().length, 0, 'the socket is closed');
  });
});
