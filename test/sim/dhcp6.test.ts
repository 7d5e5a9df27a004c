import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Dhcpv6Client, type Dhcpv6ClientOptions, type Dhcpv6Config } from '../../src/apps/dhcp6/client.ts';
import { duidLl } from '../../src/apps/dhcp6/common.ts';
import { INFORMATION_REQUEST, nextTimeout, REQUEST, SOLICIT } from '../../src/apps/dhcp6/retransmit.ts';
import { Dhcpv6Server, type Dhcpv6ServerOptions } from '../../src/apps/dhcp6/server.ts';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { SECOND } from '../../src/core/time.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { addresses, ip6, twoHosts6, v6 } from './ipv6-helpers.ts';

const DNS = [ip6('fd00::53')];

/** a: a router advertising M/O and serving DHCPv6; b: the client. */
function setup(
  seed: number,
  flags: { managed: boolean; other: boolean },
  server: Dhcpv6ServerOptions = {},
  client: Dhcpv6ClientOptions = {},
  impairments: Impairments = {},
) {
  const t = twoHosts6(seed, impairments);
  const dhcp = new Dhcpv6Server(t.a, t.ia, { dnsServers: DNS, domains: ['example.test'], ...server });
  const configs: Dhcpv6Config[] = [];
  const lost: string[] = [];
  const c = new Dhcpv6Client(t.b, t.ib, {
    ...client,
    onConfig: (cfg) => configs.push(cfg),
    onLeaseLost: (_l, reason) => lost.push(reason),
  });
  c.start();
  v6(t.a).advertise(t.ia, { ...flags, prefixes: [] });
  return { ...t, dhcp, c, configs, lost };
}

const POOL = { first: ip6('fd00::100'), size: 10 };

describe('DHCPv6 client in simulation', () => {
  test('stateless: an RA with O gets DNS servers and the search list by Information-request', () => {
    const { sim, b, ib, c, configs } = setup(1, { managed: false, other: true });
    assert.ok(sim.runUntil(() => configs.length === 1, 30_000));
    assert.equal(c.state, 'informed');
    assert.equal(configs[0]!.mode, 'stateless');
    assert.deepEqual(configs[0]!.dnsServers.map(ipv6ToString), ['fd00::53']);
    assert.deepEqual(configs[0]!.domains, ['example.test']);
    assert.equal(b.counters.value('dhcp6.client.tx.information-request'), 1);
    assert.equal(b.counters.value('dhcp6.client.tx.solicit'), 0);
    // No address came with it.
    assert.ok(addresses(b, ib).every((a) => a.startsWith('fe80::')));
  });

  test('stateless: refreshed after the information refresh time (never below IRT_MINIMUM)', () => {
    const { sim, b, configs } = setup(2, { managed: false, other: true }, { informationRefreshTime: 60 });
    assert.ok(sim.runUntil(() => configs.length === 1, 30_000));
    const first = sim.now;
    assert.ok(sim.runUntil(() => configs.length === 2, 700 * SECOND));
    // 600 s minimum (RFC 8415 21.23), plus up to INF_MAX_DELAY.
    assert.ok(sim.now - first >= 600 * SECOND && sim.now - first <= 602 * SECOND, `${sim.now - first}`);
    assert.equal(b.counters.value('dhcp6.client.tx.information-request'), 2);
  });

  test('stateful: an RA with M leases an address by Rapid Commit; it is put on the interface with DAD', () => {
    const { sim, b, ib, c, configs, dhcp } = setup(3, { managed: true, other: true }, { pool: POOL });
    assert.ok(sim.runUntil(() => configs.length === 1, 30_000));
    assert.equal(c.state, 'bound');
    assert.equal(configs[0]!.mode, 'stateful');
    assert.deepEqual(configs[0]!.dnsServers.map(ipv6ToString), ['fd00::53']);
    const leased = c.lease!.addresses[0]!.address;
    assert.equal(ipv6ToString(leased), 'fd00::100');
    assert.equal(ipv6ToString(dhcp.leaseOf(duidLl(c.iface.mac))!), 'fd00::100');
    assert.equal(b.counters.value('dhcp6.client.tx.request'), 0);
    assert.ok(sim.runUntil(() => addresses(b, ib).includes('fd00::100/128 preferred'), 5000));
    const entry = v6(b)
      .listAddresses(ib)
      .find((a) => ipv6ToString(a.addr) === 'fd00::100')!;
    assert.equal(entry.validUntil - entry.preferredUntil, 3600 * SECOND);
  });

  test('stateful without Rapid Commit: Solicit, Advertise, Request, Reply', () => {
    const { sim, b, c, configs } = setup(
      4,
      { managed: true, other: false },
      { pool: POOL, rapidCommit: false },
    );
    assert.ok(sim.runUntil(() => configs.length === 1, 30_000));
    assert.equal(c.state, 'bound');
    assert.equal(b.counters.value('dhcp6.client.tx.request'), 1);
    assert.equal(b.counters.value('dhcp6.client.rx.advertise'), 1);
  });

  test('renew at T1, rebind at T2, the address removed when its valid lifetime ends', () => {
    const { sim, a, b, ib, c, configs, dhcp, lost } = setup(
      5,
      { managed: true, other: false },
      { pool: POOL, preferredLifetime: 100, validLifetime: 200, t1: 50, t2: 80 },
    );
    assert.ok(sim.runUntil(() => configs.length === 1, 30_000));
    const obtained = c.lease!.obtained;
    // Renew at T1 exactly, answered: bound again, lease extended.
    assert.ok(sim.runUntil(() => b.counters.value('dhcp6.client.tx.renew') === 1, 60 * SECOND));
    assert.equal(sim.now, obtained + 50 * SECOND);
    assert.ok(sim.runUntil(() => configs.length === 2, 5 * SECOND));
    assert.equal(c.state, 'bound');
    const renewed = c.lease!.obtained;
    assert.equal(renewed, obtained + 50 * SECOND);
    // The server goes away: Renew is retransmitted (10 s, then ~20 s) until T2, then Rebind.
    dhcp.answering = false;
    assert.ok(sim.runUntil(() => c.state === 'rebinding', 100 * SECOND));
    assert.equal(sim.now, renewed + 80 * SECOND);
    assert.ok(b.counters.value('dhcp6.client.tx.renew') >= 3);
    assert.equal(b.counters.value('dhcp6.client.tx.rebind'), 1);
    // At the end of the valid lifetime the address goes and the client solicits again.
    assert.ok(sim.runUntil(() => lost.length === 1, 200 * SECOND));
    assert.equal(sim.now, renewed + 200 * SECOND);
    assert.deepEqual(lost, ['expired']);
    assert.equal(c.state, 'soliciting');
    assert.ok(!addresses(b, ib).some((x) => x.startsWith('fd00::100')));
    // The server comes back: bound again.
    dhcp.answering = true;
    assert.ok(sim.runUntil(() => c.state === 'bound', 3600 * SECOND));
    assert.ok(a.counters.value('dhcp6.server.tx.reply') >= 3);
  });

  test('lost packets: retransmissions get the lease through a lossy link', () => {
    const { sim, b, c } = setup(
      6,
      { managed: true, other: false },
      { pool: POOL, rapidCommit: false },
      {},
      {
        loss: 0.4,
      },
    );
    assert.ok(sim.runUntil(() => c.state === 'bound', 600 * SECOND));
    assert.ok(
      b.counters.value('dhcp6.client.tx.solicit') + b.counters.value('dhcp6.client.tx.request') > 2,
      'no retransmission was needed: the test lost nothing',
    );
  });

  test('stop releases the lease and removes the address', () => {
    const { sim, b, ib, c, configs, dhcp, lost } = setup(7, { managed: true, other: false }, { pool: POOL });
    assert.ok(sim.runUntil(() => configs.length === 1, 30_000));
    const duid = duidLl(c.iface.mac);
    assert.ok(dhcp.leaseOf(duid) !== undefined);
    c.stop();
    assert.deepEqual(lost, ['stopped']);
    assert.ok(sim.runUntil(() => dhcp.leaseOf(duid) === undefined, 5000));
    assert.equal(b.counters.value('dhcp6.client.tx.release'), 1);
    assert.ok(!addresses(b, ib).some((x) => x.startsWith('fd00::100')));
    assert.equal(c.state, 'stopped');
  });

  test('an exhausted pool: NoAddrsAvail advertisements are ignored, the client keeps soliciting', () => {
    const { sim, b, c } = setup(8, { managed: true, other: false }, { pool: { first: POOL.first, size: 0 } });
    sim.runUntil(() => false, 60 * SECOND);
    assert.equal(c.state, 'soliciting');
    assert.ok(b.counters.value('dhcp6.client.rx.drop.no-addresses') >= 2);
  });
});

describe('DHCPv6 retransmission (RFC 8415 15)', () => {
  test('RT bounds: first within IRT +-10% (Solicit strictly above), doubling, capped at MRT +-10%', () => {
    const rng = new SeededRng(42);
    for (let i = 0; i < 1000; i++) {
      const first = nextTimeout(SOLICIT, undefined, rng);
      assert.ok(first > SOLICIT.irt && first <= 1.1 * SOLICIT.irt);
      const inf = nextTimeout(INFORMATION_REQUEST, undefined, rng);
      assert.ok(inf >= 0.9 * SECOND && inf <= 1.1 * SECOND);
      const next = nextTimeout(REQUEST, 4 * SECOND, rng);
      assert.ok(next >= 7.6 * SECOND && next <= 8.4 * SECOND);
      const capped = nextTimeout(REQUEST, 29 * SECOND, rng);
      assert.ok(capped >= 27 * SECOND && capped <= 33 * SECOND);
    }
  });

  test('Request gives up after REQ_MAX_RC (10) transmissions and the client solicits again', () => {
    const { sim, a, b, c, dhcp } = setup(
      9,
      { managed: true, other: false },
      { pool: POOL, rapidCommit: false },
    );
    // Answer the Solicit, then go silent once the Request starts.
    assert.ok(sim.runUntil(() => c.state === 'requesting', 30_000));
    dhcp.answering = false;
    assert.ok(sim.runUntil(() => c.state === 'soliciting', 600 * SECOND));
    assert.equal(b.counters.value('dhcp6.client.tx.request'), 10);
    assert.equal(b.counters.value('dhcp6.client.request-timeouts'), 1);
    void a;
  });
});
