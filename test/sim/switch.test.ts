import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation, type SwitchOptions, VirtualNetwork } from '../../src/bindings/memory/index.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import { MAC_BROADCAST, type MacAddr } from '../../src/wire/address.ts';
import { listen, quietStack, sender, testFrame } from './link-helpers.ts';

/** A switch with `n` hosts; each host's log records every test frame its interface sees. */
function lan(n: number, options: SwitchOptions = {}, seed = 1) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch({ name: 'sw0', ...options });
  const hosts = Array.from({ length: n }, (_, i) => {
    const stack = quietStack(sim, `h${i}`);
    const iface = sw.attach(stack, 'eth0');
    return { stack, iface, log: listen(stack, true), send: sender(stack, iface) };
  });
  /** Sends one frame from host `from` and runs the simulation; returns which hosts saw it. */
  const deliver = (from: number, dst: MacAddr, src: MacAddr = hosts[from]!.iface.mac, seq = 0): number[] => {
    const before = hosts.map((h) => h.log.length);
    hosts[from]!.send([testFrame(src, dst, seq)]);
    sim.runUntilIdle();
    return hosts.flatMap((h, i) => (h.log.length > before[i]! ? [i] : []));
  };
  return { sim, net, sw, hosts, deliver };
}

const macOf = (i: NetworkInterface) => i.mac;

describe('virtual switch', () => {
  test('floods unknown unicast, learns, then forwards to the learned port only', () => {
    const { sw, hosts, deliver } = lan(3);
    const [m0, m1] = hosts.map((h) => macOf(h.iface));
    assert.deepEqual(deliver(0, m1!), [1, 2], 'unknown destination: flooded');
    assert.equal(sw.stats.flooded, 1);
    assert.deepEqual(deliver(1, m0!), [0], 'h0 was learned from its first frame');
    assert.deepEqual(deliver(0, m1!), [1], 'h1 was learned from its reply: no more flooding');
    assert.equal(sw.stats.flooded, 1);
    assert.equal(sw.stats.forwarded, 2);
    assert.equal(sw.stats.learned, 2);
    assert.deepEqual(
      sw.macTable().map((e) => [e.mac, e.port.index]),
      [
        [m1, 1],
        [m0, 0],
      ],
    );
    assert.equal(sw.port(hosts[1]!.iface), sw.ports[1]);
    const p2 = sw.stats.ports[2]!;
    assert.equal(p2.flooded, 1);
    assert.equal(p2.forwarded, 0);
    assert.equal(p2['from-switch'].delivered, 1);
    assert.equal(sw.stats.ports[1]!.forwarded, 1);
    assert.equal(sw.stats.ports[0]!['to-switch'].sent, 2);
  });

  test('broadcast goes to every other port, never back, each receiver with its own copy', () => {
    const { hosts, deliver, sw } = lan(4);
    const seen: Uint8Array[] = [];
    for (const h of hosts) h.iface.addObserver((direction, frame) => direction === 'rx' && seen.push(frame));
    assert.deepEqual(deliver(2, MAC_BROADCAST), [0, 1, 3]);
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen.map((f) => f.buffer)).size, 3, 'three distinct buffers');
    assert.deepEqual(deliver(0, 0x01_00_5e_00_00_01), [1, 2, 3], 'multicast is flooded too');
    assert.equal(sw.stats.flooded, 2);
  });

  test('learned addresses age out after ageingTime', () => {
    const { sim, sw, hosts, deliver } = lan(3, { ageingTime: 1000 });
    const [m0, m1] = hosts.map((h) => macOf(h.iface));
    deliver(0, m1!);
    deliver(1, m0!);
    sim.advance(999);
    assert.deepEqual(deliver(0, m1!), [1], 'h1 heard 999 ms ago: still known');
    sim.advance(1);
    assert.deepEqual(deliver(0, m1!), [1, 2], 'h1 not heard for 1000 ms: forgotten, flooded');
    assert.equal(sw.stats.aged, 1);
    assert.deepEqual(
      sw.macTable().map((e) => [e.mac, e.lastSeen]),
      [[m0, 1000]],
    );
    sim.advance(1000);
    assert.deepEqual(sw.macTable(), []);
    assert.equal(sw.stats.aged, 2);
  });

  test('the table is bounded: the least recently heard address is evicted', () => {
    const { sw, deliver } = lan(3, { macTableSize: 4 });
    const fake = (i: number) => 0x02_ee_00_00_00_00 + i;
    for (let i = 0; i < 10; i++) deliver(0, MAC_BROADCAST, fake(i));
    assert.equal(sw.stats.learned, 10);
    assert.equal(sw.stats.evicted, 6);
    assert.deepEqual(
      sw.macTable().map((e) => e.mac),
      [6, 7, 8, 9].map(fake),
    );
    assert.deepEqual(deliver(1, fake(9)), [0], 'still in the table');
    assert.deepEqual(deliver(1, fake(0)), [0, 2], 'evicted: flooded');
    assert.equal(sw.macTable().length, 4);
  });

  test('frames for a station on the ingress port are filtered; reserved group addresses are not relayed', () => {
    const { sw, hosts, deliver } = lan(3);
    const behind0 = 0x02_ee_00_00_00_01;
    deliver(0, MAC_BROADCAST, behind0);
    assert.deepEqual(deliver(0, behind0), [], 'destination on the port the frame came from');
    assert.equal(sw.stats.filtered, 1);
    assert.equal(sw.stats.ports[0]!.filtered, 1);
    assert.deepEqual(deliver(0, 0x01_80_c2_00_00_00), [], 'STP group address');
    assert.deepEqual(deliver(0, 0x01_80_c2_00_00_0e), [], 'LLDP group address');
    assert.deepEqual(deliver(0, 0x01_80_c2_00_00_10), [1, 2], 'outside the reserved block');
    assert.equal(sw.stats.reserved, 2);
    assert.equal(hosts.length, 3);
  });

  test('a station that moves is relearned on its new port', () => {
    const { sw, deliver } = lan(3);
    const roaming = 0x02_ee_00_00_00_02;
    deliver(0, MAC_BROADCAST, roaming);
    deliver(2, MAC_BROADCAST, roaming);
    assert.equal(sw.stats.moved, 1);
    assert.deepEqual(deliver(1, roaming), [2]);
  });

  test('impairments on a port cable, per direction', () => {
    const { sim, sw, hosts, deliver } = lan(2);
    const stack = quietStack(sim, 'lossy');
    const lossy = sw.attach(stack, 'eth0', { impairments: { loss: 1 } });
    const port = sw.port(lossy)!;
    sender(stack, lossy)([testFrame(lossy.mac, MAC_BROADCAST, 1)]);
    sim.runUntilIdle();
    assert.equal(port.stats['to-switch'].lost, 1);
    assert.equal(hosts[0]!.log.length, 0);
    assert.equal(deliver(0, MAC_BROADCAST).length, 1, 'h1 only: the lossy port also loses what it is sent');
    assert.equal(port.stats['from-switch'].lost, 1);

    sw.ports[1]!.setImpairments({ delay: 5 }, 'from-switch');
    assert.deepEqual(sw.ports[1]!.impairments('to-switch'), {});
    const t0 = sim.now;
    deliver(0, hosts[1]!.iface.mac);
    assert.equal(hosts[1]!.log.at(-1)!.at - t0, 5);
  });

  test('noChecksums switches refuse corrupting ports; options are validated', () => {
    const sim = new Simulation();
    const net = new VirtualNetwork(sim);
    const sw = net.switch({ noChecksums: true });
    const i = sw.attach(quietStack(sim), 'eth0', { mtu: 9000 });
    assert.equal(i.link.capabilities?.noChecksums, true);
    assert.equal(i.mtu, 9000);
    assert.throws(() => sw.attach(quietStack(sim), 'eth0', { impairments: { corrupt: 0.1 } }), {
      code: 'EINVAL',
    });
    assert.throws(() => sw.ports[0]!.setImpairments({ corrupt: 0.1 }), { code: 'EINVAL' });
    assert.throws(() => net.switch({ macTableSize: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => net.switch({ ageingTime: -1 }), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(net.switches.length, 1);
  });

  test('deterministic: one seed, one delivery log', () => {
    const run = (seed: number) => {
      const { sim, sw, hosts } = lan(4, {}, seed);
      for (const p of sw.ports) p.setImpairments({ loss: 0.1, delay: 1, jitter: 1, duplicate: 0.05 });
      for (let i = 0; i < 200; i++) {
        const from = i % 4;
        const to = hosts[(i * 7 + 1) % 4]!.iface.mac;
        hosts[from]!.send([testFrame(hosts[from]!.iface.mac, to, i)]);
        sim.advance(0.25);
      }
      sim.runUntilIdle();
      return hosts.map((h) => h.log.map((x) => `${x.at}:${x.seq}`).join(' '));
    };
    assert.deepEqual(run(11), run(11));
    assert.notDeepEqual(run(11), run(12));
  });
});
