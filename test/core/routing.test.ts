import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import { describe as describeRoute, type Ipv4Route, Ipv4RouteTable } from '../../src/core/ip/routing.ts';
import { ipv4ToString } from '../../src/wire/address.ts';
import { ip } from '../helpers/sim-hosts.ts';

function interfaces() {
  const sim = new Simulation({ seed: 1 });
  const net = new VirtualNetwork(sim);
  const stack = sim.createStack();
  const eth0 = net.wire().attach(stack, 'eth0');
  const eth1 = net.wire().attach(stack, 'eth1');
  return { eth0, eth1 };
}

function route(
  iface: NetworkInterface,
  cidr: string,
  more: Partial<Pick<Ipv4Route, 'gateway' | 'metric' | 'src'>> = {},
): Ipv4Route {
  const [addr, len] = cidr.split('/');
  return { dest: ip(addr!), prefixLen: Number(len), iface, metric: 0, origin: 'static', ...more };
}

/** Where `dst` goes: `iface via next-hop`, or undefined. */
function where(table: Ipv4RouteTable, dst: string, iface?: NetworkInterface): string | undefined {
  const hop = table.lookup(ip(dst), iface);
  return hop === undefined ? undefined : `${hop.iface.name} ${ipv4ToString(hop.nextHop)}`;
}

describe('IPv4 routing table', () => {
  test('longest prefix wins, whatever the insertion order', () => {
    const { eth0, eth1 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '0.0.0.0/0', { gateway: ip('10.0.0.1') }));
    t.add(route(eth1, '10.1.2.0/24'));
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.2') }));
    t.add(route(eth1, '10.1.0.0/16', { gateway: ip('10.1.9.9') }));
    assert.equal(where(t, '10.1.2.3'), 'eth1 10.1.2.3');
    assert.equal(where(t, '10.1.3.3'), 'eth1 10.1.9.9');
    assert.equal(where(t, '10.200.0.1'), 'eth0 10.0.0.2');
    assert.equal(where(t, '192.0.2.1'), 'eth0 10.0.0.1');
  });

  test('among equal prefixes the lowest metric wins, then the first added', () => {
    const { eth0, eth1 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.1'), metric: 100 }));
    t.add(route(eth1, '10.0.0.0/8', { gateway: ip('10.0.0.2'), metric: 10 }));
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.3'), metric: 10 }));
    assert.equal(where(t, '10.9.9.9'), 'eth1 10.0.0.2');
    assert.deepEqual(
      t.list().map((r) => r.metric),
      [10, 10, 100],
    );
  });

  test('without a default route, unmatched destinations have no route; /0 matches everything', () => {
    const { eth0 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '10.0.0.0/24'));
    assert.equal(where(t, '10.0.1.1'), undefined);
    t.add(route(eth0, '0.0.0.0/0', { gateway: ip('10.0.0.1') }));
    for (const dst of ['10.0.1.1', '0.0.0.1', '255.255.255.254', '224.0.0.5']) {
      assert.equal(where(t, dst), 'eth0 10.0.0.1');
    }
    assert.equal(describeRoute(t.list()[1]!), 'default via 10.0.0.1 dev eth0 proto static metric 0');
  });

  test('a /32 host route matches its one address only, and the destination is masked on add', () => {
    const { eth0, eth1 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '10.0.0.0/24'));
    t.add(route(eth1, '10.0.0.7/32', { gateway: ip('10.9.0.1') }));
    t.add(route(eth1, '172.16.5.77/16'));
    assert.equal(where(t, '10.0.0.7'), 'eth1 10.9.0.1');
    assert.equal(where(t, '10.0.0.6'), 'eth0 10.0.0.6');
    assert.equal(where(t, '10.0.0.8'), 'eth0 10.0.0.8');
    assert.equal(ipv4ToString(t.list().find((r) => r.prefixLen === 16)!.dest), '172.16.0.0');
    assert.equal(where(t, '172.16.200.1'), 'eth1 172.16.200.1');
  });

  test('remove takes the routes matching every given field', () => {
    const { eth0, eth1 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.1') }));
    t.add(route(eth1, '10.0.0.0/8', { gateway: ip('10.0.0.2'), metric: 5 }));
    t.add(route(eth1, '0.0.0.0/0', { gateway: ip('10.0.0.2') }));
    assert.equal(t.remove({ dest: ip('10.0.0.0'), prefixLen: 8, iface: eth0 }), 1);
    assert.equal(where(t, '10.1.1.1'), 'eth1 10.0.0.2');
    assert.equal(t.remove({ dest: ip('192.168.0.0'), prefixLen: 16 }), 0);
    t.removeInterface(eth1);
    assert.equal(t.list().length, 0);
    assert.equal(where(t, '10.1.1.1'), undefined);
  });

  test('routes through a down interface are skipped until it comes back up', () => {
    const { eth0, eth1 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth1, '10.1.0.0/16'));
    t.add(route(eth0, '0.0.0.0/0', { gateway: ip('10.0.0.1') }));
    eth1.up = false;
    assert.equal(where(t, '10.1.0.5'), 'eth0 10.0.0.1');
    eth0.up = false;
    assert.equal(where(t, '10.1.0.5'), undefined);
    eth0.up = true;
    eth1.up = true;
    assert.equal(where(t, '10.1.0.5'), 'eth1 10.1.0.5');
  });

  test('a lookup restricted to an interface (SO_BINDTODEVICE) sees only its routes', () => {
    const { eth0, eth1 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '10.1.0.0/16'));
    t.add(route(eth1, '0.0.0.0/0', { gateway: ip('10.9.0.1') }));
    assert.equal(where(t, '10.1.0.5'), 'eth0 10.1.0.5');
    assert.equal(where(t, '10.1.0.5', eth1), 'eth1 10.9.0.1');
    assert.equal(where(t, '192.0.2.1', eth0), undefined);
  });

  test('the same route twice is EEXIST; bad prefix lengths are EINVAL', () => {
    const { eth0 } = interfaces();
    const t = new Ipv4RouteTable();
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.1') }));
    assert.throws(() => t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.1') })), { code: 'EEXIST' });
    // The same network written with host bits is the same route.
    assert.throws(() => t.add(route(eth0, '10.1.2.3/8', { gateway: ip('10.0.0.1') })), { code: 'EEXIST' });
    // A different metric or gateway is another route.
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.1'), metric: 1 }));
    t.add(route(eth0, '10.0.0.0/8', { gateway: ip('10.0.0.2') }));
    assert.equal(t.list().length, 3);
    for (const bad of [-1, 33, 1.5, Number.NaN]) {
      assert.throws(() => t.add({ ...route(eth0, '10.0.0.0/8'), prefixLen: bad }), { code: 'EINVAL' });
    }
  });
});
