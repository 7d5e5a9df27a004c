import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import { DEFAULT_NEIGHBOR_PARAMS, type NeighborParams } from '../../src/core/device/neighbor-params.ts';
import { NeighborTable } from '../../src/core/device/neighbor-table.ts';
import { MAC_BROADCAST, type MacAddr } from '../../src/wire/address.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';

const MAC1: MacAddr = 0x02_00_00_00_00_01;
const MAC2: MacAddr = 0x02_00_00_00_00_02;

/** A table over a fake protocol that records what the table asks of it; no network at all. */
function setup(params: Partial<NeighborParams> = {}, seed = 1) {
  const sim = new Simulation({ seed });
  const stack = sim.createStack();
  const iface = stack.loopback;
  const log: string[] = [];
  const table = new NeighborTable<number>(
    stack,
    {
      key: (a) => a,
      solicit: (_i, target, unicastTo) =>
        log.push(`solicit ${target} ${unicastTo ?? 'broadcast'} @${sim.now}`),
      transmit: (_i, mac, pb) => log.push(`tx ${pb.bytes()[0]} to ${mac}`),
      failed: (_i, target, dropped) =>
        log.push(`failed ${target} ${dropped.map((p) => p.bytes()[0]).join(',')}`),
    },
    { ...DEFAULT_NEIGHBOR_PARAMS, ...params },
    'nt',
  );
  const packet = (id: number, size = 100) => {
    const pb = PacketBuffer.alloc(0, size);
    pb.bytes()[0] = id;
    return pb;
  };
  const state = (addr: number) => table.lookup(iface, addr)?.state;
  const take = () => log.splice(0);
  return { sim, stack, iface, table, log, packet, state, take };
}

describe('NeighborTable state machine (RFC 4861 7.3)', () => {
  test('INCOMPLETE: queued packets go out on the reply; solicitations every RetransTimer', () => {
    const { sim, iface, table, packet, state, take } = setup();
    table.output(iface, 7, packet(1));
    table.output(iface, 7, packet(2));
    assert.equal(state(7), 'incomplete');
    sim.advance(1000);
    assert.deepEqual(take(), ['solicit 7 broadcast @0', 'solicit 7 broadcast @1000']);
    table.update(iface, 7, MAC1, { solicited: true, create: false });
    assert.equal(state(7), 'reachable');
    assert.deepEqual(take(), [`tx 1 to ${MAC1}`, `tx 2 to ${MAC1}`]);
  });

  test('INCOMPLETE → FAILED after MAX_MULTICAST_SOLICIT, queued packets handed back, then removed', () => {
    const { sim, stack, iface, table, packet, state, take } = setup();
    table.output(iface, 7, packet(1));
    table.output(iface, 7, packet(2));
    sim.advance(2999);
    assert.equal(take().length, 3);
    sim.advance(1);
    assert.equal(state(7), 'failed');
    assert.deepEqual(take(), ['failed 7 1,2']);
    assert.equal(stack.counters.value('nt.tx.drop.resolution-failed'), 2);
    table.output(iface, 7, packet(3));
    assert.deepEqual(take(), ['failed 7 3']);
    sim.advance(3000);
    assert.equal(state(7), undefined);
  });

  test('REACHABLE → STALE → DELAY → PROBE → REACHABLE, and PROBE → FAILED', () => {
    const { sim, iface, table, packet, state, take } = setup({ baseReachableTime: 10_000 });
    table.update(iface, 7, MAC1, { solicited: false, create: true });
    assert.equal(state(7), 'stale');
    table.confirm(iface, 7);
    assert.equal(state(7), 'reachable');
    sim.advance(15_000); // at most 1.5 x base
    assert.equal(state(7), 'stale');
    table.output(iface, 7, packet(1));
    assert.equal(state(7), 'delay');
    assert.deepEqual(take(), [`tx 1 to ${MAC1}`]);
    sim.advance(5000);
    assert.equal(state(7), 'probe');
    assert.deepEqual(take(), [`solicit 7 ${MAC1} @${sim.now}`]);
    // Packets still flow while probing.
    table.output(iface, 7, packet(2));
    assert.deepEqual(take(), [`tx 2 to ${MAC1}`]);
    table.update(iface, 7, MAC1, { solicited: true, create: false });
    assert.equal(state(7), 'reachable');
    sim.advance(15_000);
    table.output(iface, 7, packet(3));
    sim.advance(5000 + 2999);
    assert.equal(state(7), 'probe');
    assert.equal(take().filter((l) => l.startsWith('solicit')).length, 3);
    sim.advance(1);
    assert.equal(state(7), 'failed');
    assert.equal(table.lookup(iface, 7)?.mac, undefined);
  });

  test('unsolicited news: same address changes nothing, a new one makes the entry STALE', () => {
    const { iface, table, state } = setup();
    table.update(iface, 7, MAC1, { solicited: true, create: true });
    assert.equal(state(7), 'reachable');
    table.update(iface, 7, MAC1, { solicited: false, create: false });
    assert.equal(state(7), 'reachable');
    table.update(iface, 7, MAC2, { solicited: false, create: false });
    assert.equal(state(7), 'stale');
    assert.equal(table.lookup(iface, 7)?.mac, MAC2);
    // No entry is made without `create`.
    table.update(iface, 8, MAC1, { solicited: false, create: false });
    assert.equal(state(8), undefined);
  });

  test('unsolicited news completing a resolution sends the queue and starts DELAY', () => {
    const { iface, table, packet, state, take } = setup();
    table.output(iface, 7, packet(1));
    take();
    table.update(iface, 7, MAC1, { solicited: false, create: false });
    assert.equal(state(7), 'delay');
    assert.deepEqual(take(), [`tx 1 to ${MAC1}`]);
  });

  test('unused STALE entries are forgotten after their lifetime', () => {
    const { sim, iface, table, state } = setup();
    table.update(iface, 7, MAC1, { solicited: false, create: true });
    sim.advance(59_999);
    assert.equal(state(7), 'stale');
    sim.advance(1);
    assert.equal(state(7), undefined);
  });

  test('static entries: never changed by updates, never expire, unicast only, bounded', () => {
    const { sim, iface, table, packet, state, take } = setup({ maxEntries: 2 });
    table.output(iface, 7, packet(1));
    table.addStatic(iface, 7, MAC1);
    assert.deepEqual(take().slice(1), [`tx 1 to ${MAC1}`]);
    table.update(iface, 7, MAC2, { solicited: true, create: true });
    table.confirm(iface, 7);
    sim.advance(1_000_000);
    assert.equal(state(7), 'static');
    assert.equal(table.lookup(iface, 7)?.mac, MAC1);
    assert.throws(() => table.addStatic(iface, 8, MAC_BROADCAST), { code: 'EINVAL' });
    assert.throws(() => table.addStatic(iface, 8, 0), { code: 'EINVAL' });
    table.addStatic(iface, 8, MAC2);
    assert.throws(() => table.addStatic(iface, 9, MAC2), { code: 'ENOBUFS' });
  });

  test('the size bound evicts FAILED first, then the oldest STALE; INCOMPLETE entries are kept', () => {
    const { sim, stack, iface, table, packet, state } = setup({ maxEntries: 3 });
    table.update(iface, 1, MAC1, { solicited: false, create: true });
    sim.advance(10);
    table.update(iface, 2, MAC1, { solicited: false, create: true });
    table.output(iface, 3, packet(1));
    sim.advance(3000);
    assert.equal(state(3), 'failed');
    table.update(iface, 4, MAC1, { solicited: false, create: true });
    assert.equal(state(3), undefined, 'the FAILED entry went first');
    table.update(iface, 5, MAC1, { solicited: false, create: true });
    assert.equal(state(1), undefined, 'then the oldest STALE');
    assert.equal(state(2), 'stale');
    assert.equal(stack.counters.value('nt.evicted'), 2);
    // A table full of INCOMPLETE entries refuses new ones, counted.
    const full = setup({ maxEntries: 2 });
    full.table.output(full.iface, 1, full.packet(1));
    full.table.output(full.iface, 2, full.packet(2));
    full.table.output(full.iface, 3, full.packet(3));
    full.table.update(full.iface, 4, MAC1, { solicited: false, create: true });
    assert.equal(full.table.size, 2);
    assert.equal(full.stack.counters.value('nt.tx.drop.table-full'), 1);
    assert.equal(full.stack.counters.value('nt.rx.not-learned'), 1);
  });

  test('queue bounds: per entry (oldest dropped) and across the table', () => {
    const { iface, table, stack, packet, take } = setup({
      maxQueuedBytesPerEntry: 250,
      maxQueuedBytesTotal: 400,
    });
    for (let id = 1; id <= 4; id++) table.output(iface, 7, packet(id));
    table.output(iface, 7, packet(9, 300)); // larger than one entry's bound
    assert.equal(stack.counters.value('nt.tx.drop.queue-full'), 3);
    // Entry 8 may use what is left of the total: 200 bytes, and evicts only its own packets.
    for (let id = 11; id <= 13; id++) table.output(iface, 8, packet(id));
    assert.equal(stack.counters.value('nt.tx.drop.queue-full'), 4);
    take();
    table.update(iface, 7, MAC1, { solicited: true, create: false });
    table.update(iface, 8, MAC2, { solicited: true, create: false });
    assert.deepEqual(take(), [`tx 3 to ${MAC1}`, `tx 4 to ${MAC1}`, `tx 12 to ${MAC2}`, `tx 13 to ${MAC2}`]);
  });
});
