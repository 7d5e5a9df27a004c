import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Stack } from '../../src/core/stack.ts';
import { ipv4MulticastMac, ipv4ToString } from '../../src/wire/address.ts';
import { ETHERTYPE_IPV4, parseEthernet } from '../../src/wire/ethernet.ts';
import {
  CHANGE_TO_EXCLUDE_MODE,
  CHANGE_TO_INCLUDE_MODE,
  emitIgmp,
  type IgmpRepr,
  igmpLength,
  igmpv3EncodeCode,
  MODE_IS_EXCLUDE,
  MODE_IS_INCLUDE,
  parseIgmp,
} from '../../src/wire/igmp.ts';
import { IP_PROTOCOL_IGMP, Ipv4View } from '../../src/wire/ipv4.ts';
import { buildIpv4Options, parseIpv4Options } from '../../src/wire/ipv4-options.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { ipv4Frame } from '../helpers/frames.ts';
import { type Host, ip, twoHosts } from '../helpers/sim-hosts.ts';

const G1 = ip('239.1.1.1');
const G2 = ip('239.2.2.2');
const ALL_HOSTS = ip('224.0.0.1');
const RA = buildIpv4Options([{ type: 'router-alert', value: 0 }]);

interface Seen {
  t: number;
  dst: string;
  msg: IgmpRepr;
}

/** a is the host under test; b captures what a sends and plays the querier (and other members). */
function setup(seed: number) {
  const { sim, a, b } = twoHosts(seed);
  const seen: Seen[] = [];
  const sock = b.stack.packetSockets.open({
    iface: b.iface,
    promiscuous: true,
    onFrame: (frame) => {
      const eth = parseEthernet(frame);
      if (!eth.ok || eth.value.ethertype !== ETHERTYPE_IPV4) return;
      const ipv4 = new Ipv4View(eth.value.payload);
      if (ipv4.protocol !== IP_PROTOCOL_IGMP || ipv4.src !== a.ip) return;
      // RFC 2236 2 and RFC 3376 4: TTL 1 and the Router Alert option, always.
      assert.equal(ipv4.ttl, 1);
      const options = parseIpv4Options(ipv4.options);
      assert.ok(options.ok && options.value.some((o) => o.type === 'router-alert'), 'router alert');
      assert.equal(eth.value.dst, ipv4MulticastMac(ipv4.dst));
      const msg = parseIgmp(ipv4.payload.subarray(0, ipv4.totalLength - ipv4.headerLength));
      assert.ok(msg.ok, `our own IGMP parses: ${!msg.ok && msg.error}`);
      seen.push({ t: sim.now, dst: ipv4ToString(ipv4.dst), msg: msg.value });
    },
  });
  /** Sends an IGMP message from b to `dst` (TTL 1, Router Alert), raw so it may be anything. */
  const inject = (dst: number, msg: IgmpRepr | Uint8Array) => {
    let pb: PacketBuffer;
    if (msg instanceof Uint8Array) pb = PacketBuffer.from(msg, 64);
    else {
      pb = PacketBuffer.forMessage(igmpLength(msg));
      emitIgmp(pb, msg);
    }
    const frame = ipv4Frame(
      pb,
      { src: b.ip, dst, protocol: IP_PROTOCOL_IGMP, ttl: 1, options: RA },
      { src: b.iface.mac, dst: ipv4MulticastMac(dst) },
    );
    sock.send(b.iface, frame);
  };
  const join = (h: Host, g: number) => h.stack.run(() => h.stack.ipv4.joinGroup(h.iface, g));
  const leave = (h: Host, g: number) => h.stack.run(() => h.stack.ipv4.leaveGroup(h.iface, g));
  return { sim, a, b, seen, inject, join, leave };
}

function records(s: Seen): Array<[number, string]> {
  assert.equal(s.msg.type, 'v3-report');
  return s.msg.type === 'v3-report'
    ? s.msg.records.map((r) => [r.recordType, ipv4ToString(r.group)] as [number, string])
    : [];
}

const v3Query = (maxRespTenths: number, group = 0, sources: number[] = []): IgmpRepr => ({
  type: 'v3-query',
  maxRespCode: igmpv3EncodeCode(maxRespTenths),
  group,
  suppressRouterProcessing: false,
  qrv: 2,
  qqic: 125,
  sources,
});

function counter(stack: Stack, name: string): number {
  return stack.counters.value(name);
}

describe('IGMP host', () => {
  test('join sends a v3 state-change report at once and once more within the unsolicited interval', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { sim, a, seen, join } = setup(seed);
      join(a, G1);
      // Sent in the entry of the join itself (the wire delivers it at the same instant).
      sim.advance(0);
      assert.equal(seen.length, 1, `seed ${seed}`);
      assert.equal(seen[0]!.t, 0);
      assert.equal(seen[0]!.dst, '224.0.0.22');
      assert.deepEqual(records(seen[0]!), [[CHANGE_TO_EXCLUDE_MODE, '239.1.1.1']]);
      sim.advance(30_000);
      // Robustness 2: one retransmission, at a random delay up to 1 s (RFC 3376 5.1).
      assert.equal(seen.length, 2, `seed ${seed}`);
      assert.ok(seen[1]!.t > 0 && seen[1]!.t <= 1000, `retransmitted at ${seen[1]!.t} (seed ${seed})`);
      assert.deepEqual(records(seen[1]!), [[CHANGE_TO_EXCLUDE_MODE, '239.1.1.1']]);
      assert.equal(counter(a.stack, 'igmp.tx.reports'), 2);
    }
  });

  test('a second join of the same group sends nothing; the last leave sends TO_IN twice', () => {
    const { sim, a, seen, join, leave } = setup(6);
    join(a, G1);
    join(a, G1);
    sim.advance(5000);
    assert.equal(seen.length, 2);
    leave(a, G1);
    sim.advance(5000);
    assert.equal(seen.length, 2, 'still one member left');
    leave(a, G1);
    sim.advance(5000);
    assert.deepEqual(seen.slice(2).map(records), [
      [[CHANGE_TO_INCLUDE_MODE, '239.1.1.1']],
      [[CHANGE_TO_INCLUDE_MODE, '239.1.1.1']],
    ]);
    assert.ok(seen[3]!.t - seen[2]!.t <= 1000);
  });

  test('a leave during the join retransmissions replaces the pending record', () => {
    const { sim, a, seen, join, leave } = setup(7);
    join(a, G1);
    join(a, G2);
    leave(a, G1);
    sim.advance(5000);
    // Each change is sent at once with every pending record; the later change of G1 wins.
    // (G1's join record went out twice already: alone, then with G2's.)
    assert.deepEqual(records(seen[1]!), [
      [CHANGE_TO_EXCLUDE_MODE, '239.1.1.1'],
      [CHANGE_TO_EXCLUDE_MODE, '239.2.2.2'],
    ]);
    assert.deepEqual(records(seen[2]!), [
      [CHANGE_TO_EXCLUDE_MODE, '239.2.2.2'],
      [CHANGE_TO_INCLUDE_MODE, '239.1.1.1'],
    ]);
    assert.deepEqual(records(seen.at(-1)!), [[CHANGE_TO_INCLUDE_MODE, '239.1.1.1']]);
    assert.equal(seen.length, 4);
  });

  test('no report is ever sent for 224.0.0.1', () => {
    const { sim, a, seen, join, inject } = setup(8);
    join(a, ALL_HOSTS);
    sim.advance(5000);
    assert.equal(seen.length, 0);
    inject(ALL_HOSTS, v3Query(100));
    inject(ALL_HOSTS, { type: 'v2-query', maxRespTime: 100, group: 0 });
    sim.advance(20_000);
    assert.equal(seen.length, 0);
    assert.equal(counter(a.stack, 'igmp.rx.queries'), 2);
  });

  test('a general query is answered within Max Resp Time by one current-state report, deterministically per seed', () => {
    const delays = new Map<number, number>();
    for (const seed of [11, 12, 13, 14, 15, 11]) {
      const { sim, a, seen, join, inject } = setup(seed);
      join(a, G1);
      join(a, G2);
      join(a, ALL_HOSTS);
      sim.advance(5000);
      seen.length = 0;
      const start = sim.now;
      inject(ALL_HOSTS, v3Query(50)); // 5 s
      sim.advance(20_000);
      assert.equal(seen.length, 1, `seed ${seed}`);
      const delay = seen[0]!.t - start;
      assert.ok(delay >= 0 && delay <= 5000, `answered after ${delay} ms (seed ${seed})`);
      assert.deepEqual(records(seen[0]!), [
        [MODE_IS_EXCLUDE, '239.1.1.1'],
        [MODE_IS_EXCLUDE, '239.2.2.2'],
      ]);
      if (delays.has(seed)) assert.equal(delay, delays.get(seed), 'same seed, same delay');
      delays.set(seed, delay);
    }
    assert.ok(new Set(delays.values()).size > 1, 'the delay is random');
  });

  test('a group-specific query gets a report of that group alone; a source-specific one an IS_IN', () => {
    const { sim, a, seen, join, inject } = setup(16);
    join(a, G1);
    join(a, G2);
    sim.advance(5000);
    seen.length = 0;
    inject(G2, v3Query(10, G2));
    sim.advance(2000);
    assert.deepEqual(seen.map(records), [[[MODE_IS_EXCLUDE, '239.2.2.2']]]);
    inject(G1, v3Query(10, G1, [ip('10.9.9.9')]));
    sim.advance(2000);
    assert.equal(seen.length, 2);
    const last = seen[1]!.msg;
    assert.ok(last.type === 'v3-report');
    assert.equal(last.records[0]!.recordType, MODE_IS_INCLUDE);
    assert.deepEqual(last.records[0]!.sources.map(ipv4ToString), ['10.9.9.9']);
  });

  test('a v2 query switches to v2 mode: v2 reports, leave to 224.0.0.2; v3 again after the timeout', () => {
    const { sim, a, seen, join, leave, inject } = setup(17);
    join(a, G1);
    sim.advance(5000);
    seen.length = 0;
    const start = sim.now;
    inject(ALL_HOSTS, { type: 'v2-query', maxRespTime: 30, group: 0 });
    sim.advance(10);
    assert.equal(a.stack.igmp.version(a.iface), 2);
    sim.advance(5000);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.msg.type, 'v2-report');
    assert.equal(seen[0]!.dst, '239.1.1.1');
    assert.ok(seen[0]!.t - start <= 3000);
    seen.length = 0;
    join(a, G2);
    sim.advance(20_000);
    assert.deepEqual(
      seen.map((s) => [s.msg.type, s.dst]),
      [
        ['v2-report', '239.2.2.2'],
        ['v2-report', '239.2.2.2'],
      ],
    );
    assert.ok(seen[1]!.t - seen[0]!.t <= 10_000, 'repeated within the v2 unsolicited interval');
    seen.length = 0;
    leave(a, G2);
    sim.advance(0);
    assert.deepEqual(
      seen.map((s) => [s.msg.type, s.dst]),
      [['leave', '224.0.0.2']],
    );
    // RFC 3376 8.12: 2 x 125 s + 3 s after the query, the host is back to v3.
    sim.advance(start + 253_000 - sim.now - 100);
    assert.equal(a.stack.igmp.version(a.iface), 2);
    sim.advance(200);
    assert.equal(a.stack.igmp.version(a.iface), 3);
    seen.length = 0;
    join(a, G2);
    sim.advance(0);
    assert.equal(seen[0]!.msg.type, 'v3-report');
  });

  test('in v2 mode another member’s report suppresses ours, and then we send no leave', () => {
    const { sim, a, seen, join, leave, inject } = setup(18);
    inject(ALL_HOSTS, { type: 'v2-query', maxRespTime: 100, group: 0 });
    sim.advance(10);
    join(a, G1);
    sim.advance(20_000);
    seen.length = 0;
    inject(ALL_HOSTS, { type: 'v2-query', maxRespTime: 100, group: 0 });
    inject(G1, { type: 'v2-report', group: G1 });
    sim.advance(20_000);
    assert.equal(seen.length, 0, 'suppressed');
    leave(a, G1);
    assert.equal(seen.length, 0, 'not the last reporter: no leave');
  });

  test('a v1 query (max resp 0) switches to v1 reports, answered within 10 s, with no leave', () => {
    const { sim, a, seen, join, leave, inject } = setup(19);
    join(a, G1);
    sim.advance(5000);
    seen.length = 0;
    const start = sim.now;
    inject(ALL_HOSTS, { type: 'v2-query', maxRespTime: 0, group: 0 });
    sim.advance(15_000);
    assert.equal(a.stack.igmp.version(a.iface), 1);
    assert.deepEqual(
      seen.map((s) => [s.msg.type, s.dst]),
      [['v1-report', '239.1.1.1']],
    );
    assert.ok(seen[0]!.t - start <= 10_000);
    seen.length = 0;
    leave(a, G1);
    sim.advance(1000);
    assert.equal(seen.length, 0);
  });

  test('a mode change cancels pending retransmissions (RFC 3376 7.2.1)', () => {
    const { sim, a, seen, join, inject } = setup(20);
    join(a, G1);
    inject(ALL_HOSTS, { type: 'v2-query', maxRespTime: 100, group: 0 });
    sim.advance(20_000);
    assert.deepEqual(
      seen.map((s) => s.msg.type),
      ['v3-report', 'v2-report'],
    );
  });

  test('malformed IGMP is counted and dropped', () => {
    const { sim, a, seen, join, inject } = setup(21);
    join(a, G1);
    sim.advance(5000);
    seen.length = 0;
    const bad = new Uint8Array(8);
    bad.set([0x11, 100, 0, 0, 0, 0, 0, 0]); // checksum left at zero
    inject(ALL_HOSTS, bad);
    inject(ALL_HOSTS, new Uint8Array([0x11, 100, 0xee, 0xff])); // 4 bytes
    const pb = PacketBuffer.forMessage(8);
    emitIgmp(pb, { type: 'v2-query', maxRespTime: 100, group: ip('10.1.2.3') }); // not a group
    inject(ALL_HOSTS, pb.bytes().slice());
    sim.advance(20_000);
    assert.equal(counter(a.stack, 'igmp.rx.drop.bad-checksum'), 1);
    assert.equal(counter(a.stack, 'igmp.rx.drop.truncated'), 1);
    assert.equal(counter(a.stack, 'igmp.rx.drop.bad-query'), 1);
    assert.equal(counter(a.stack, 'igmp.rx.queries'), 0);
    assert.equal(seen.length, 0);
  });

  test('many groups are split over reports that fit the MTU', () => {
    const { sim, a, seen, join, inject } = setup(22);
    for (let i = 0; i < 400; i++) join(a, ip(`239.0.${i >> 8}.${i & 0xff}`));
    sim.advance(5000);
    seen.length = 0;
    inject(ALL_HOSTS, v3Query(10));
    sim.advance(2000);
    // (1500 - 24 - 8) / 8 = 183 records per report.
    assert.deepEqual(
      seen.map((s) => (s.msg.type === 'v3-report' ? s.msg.records.length : 0)),
      [183, 183, 34],
    );
  });
});
