import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FRAGMENT_OVERHEAD } from '../../src/core/ip/reassembly.ts';
import { randomBelow, SeededRng } from '../../src/core/rng.ts';
import { emitIcmpv4, ICMPV4_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP, type Ipv4EmitParams } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { icmpSniffer, PING_ID, pinger } from '../helpers/icmp.ts';
import { type FragmentSpec, fragmentsOf, injector } from '../helpers/inject.ts';
import { type Host, twoHosts } from '../helpers/sim-hosts.ts';

/** The IPv4 layer's reassembly bounds (Linux's ipfrag_high_thresh, and our datagram cap). */
const MAX_BYTES = 4 << 20;
const MAX_DATAGRAMS = 1024;
const TIMEOUT = 30_000;

/** Two hosts that already know each other's MAC; a sniffs ICMP and can inject hand-made packets. */
function hosts(seed: number) {
  const t = twoHosts(seed);
  const p = pinger(t.a.stack);
  p.send(t.b.ip, 0);
  assert.ok(t.sim.runUntil(() => p.replies.length === 1, 1000));
  return { ...t, p, seen: icmpSniffer(t.a.stack), inject: injector(t.a) };
}

/** An echo request message whose data is the pattern `pinger` checks in the reply. */
function echoRequest(seq: number, size: number): Uint8Array {
  const pb = PacketBuffer.forMessage(8 + size);
  emitIcmpv4(pb, {
    type: 'echo-request',
    id: PING_ID,
    seq,
    data: new Uint8Array(size).map((_, i) => (i + seq) & 0xff),
  });
  return pb.bytes();
}

function header(from: Host, to: Host, id: number, more: Partial<Ipv4EmitParams> = {}): Ipv4EmitParams {
  return { src: from.ip, dst: to.ip, protocol: IP_PROTOCOL_ICMP, ttl: 64, id, ...more };
}

/** Fisher-Yates with a seeded generator. */
function shuffle<T>(items: T[], seed: number): T[] {
  const rng = new SeededRng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBelow(rng, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('IPv4 reassembly in simulation', () => {
  test('fragments in a shuffled order, with duplicates, reassemble exactly', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { sim, a, b, p, inject } = hosts(seed);
      const fragments = fragmentsOf(header(a, b, 1000 + seed), echoRequest(seed, 3000), 256);
      const rng = new SeededRng(seed);
      const dups = Array.from({ length: 3 }, () => fragments[randomBelow(rng, fragments.length)]!);
      inject.sendAll(b.iface.mac, shuffle([...fragments, ...dups], seed));
      assert.ok(
        sim.runUntil(() => p.replies.length === 2, 2000),
        `seed ${seed}`,
      );
      assert.deepEqual([p.replies[1]!.seq, p.replies[1]!.size, p.replies[1]!.intact], [seed, 3000, true]);
      const c = b.stack.counters;
      assert.equal(c.value('ipv4.rx.reassembled'), 1);
      assert.equal(c.value('ipv4.reassembly.drop.overlap'), 0);
      // A duplicate arriving after completion opens a new datagram that times out silently.
      sim.advance(TIMEOUT + 1);
      assert.deepEqual(b.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
    }
  });

  test('an overlapping fragment drops the datagram', () => {
    const { sim, a, b, p, seen, inject } = hosts(31);
    const fragments = fragmentsOf(header(a, b, 7), echoRequest(1, 1000), 256);
    // The second fragment moved back by 8 bytes overlaps the first.
    const overlapping: FragmentSpec = {
      params: { ...fragments[1]!.params, fragmentOffset: 248 },
      payload: fragments[1]!.payload,
    };
    inject.sendAll(b.iface.mac, [fragments[0]!, overlapping, ...fragments.slice(1)]);
    sim.advance(TIMEOUT + 1000);
    assert.equal(p.replies.length, 1);
    assert.equal(b.stack.counters.value('ipv4.reassembly.drop.overlap'), 1);
    // What came after the overlap opened a datagram without its first fragment: no ICMP.
    assert.equal(seen.length, 0);
    assert.deepEqual(b.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
  });

  test('a lost fragment times out after 30 s; time exceeded only when the first fragment came', () => {
    const { sim, a, b, p, seen, inject } = hosts(32);
    const withFirst = fragmentsOf(header(a, b, 100), echoRequest(1, 2000), 512);
    const withoutFirst = fragmentsOf(header(a, b, 101), echoRequest(2, 2000), 512);
    const t0 = sim.now;
    inject.sendAll(b.iface.mac, [withFirst[0]!, withFirst[1]!, withFirst[3]!]);
    inject.sendAll(b.iface.mac, withoutFirst.slice(1));
    sim.advance(TIMEOUT - 1);
    assert.equal(seen.length, 0);
    assert.equal(b.stack.ipv4.reassembly.datagrams, 2);
    assert.ok(sim.runUntil(() => seen.length === 1, 1000));
    assert.ok(sim.now - t0 >= TIMEOUT);
    sim.advance(1000);
    assert.deepEqual(
      seen.map((s) => [s.type, s.code, s.from, s.quoted?.id, s.quoted?.fragmentOffset]),
      [[ICMPV4_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY, '10.0.0.2', 100, 0]],
    );
    assert.equal(b.stack.counters.value('ipv4.reassembly.drop.timeout'), 2);
    assert.deepEqual(b.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
    assert.equal(p.replies.length, 1);
  });

  test('a flood of incomplete datagrams stays under the byte and datagram bounds', () => {
    const { sim, a, b, inject } = hosts(33);
    const mac = b.iface.mac;
    const within = () => {
      const u = b.stack.ipv4.reassembly;
      assert.ok(u.datagrams <= MAX_DATAGRAMS, `${u.datagrams} datagrams`);
      assert.ok(u.bytes <= MAX_BYTES, `${u.bytes} bytes`);
    };
    // Big fragments: the byte bound is reached first (3 x 1480 bytes per datagram).
    const big = new Uint8Array(1480);
    for (let id = 0; id < 1500; id++) {
      for (const offset of [0, 2960, 5920]) {
        inject.send(mac, header(a, b, id, { moreFragments: true, fragmentOffset: offset }), big);
      }
      sim.advance(0);
      within();
    }
    const c = b.stack.counters;
    assert.ok(b.stack.ipv4.reassembly.bytes > MAX_BYTES - 3 * (1480 + FRAGMENT_OVERHEAD));
    const evictedByBytes = c.value('ipv4.reassembly.drop.evicted');
    assert.ok(evictedByBytes > 0);
    // Tiny fragments from many more IDs: the datagram bound is reached.
    for (let id = 2000; id < 5000; id++) {
      inject.send(mac, header(a, b, id, { moreFragments: true, fragmentOffset: 8 }), new Uint8Array(8));
      if (id % 100 === 0) {
        sim.advance(0);
        within();
      }
    }
    sim.advance(0);
    within();
    assert.equal(b.stack.ipv4.reassembly.datagrams, MAX_DATAGRAMS);
    assert.ok(c.value('ipv4.reassembly.drop.evicted') >= evictedByBytes + 3000 - MAX_DATAGRAMS);
    sim.advance(TIMEOUT + 1000);
    assert.deepEqual(b.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
  });

  test('a datagram larger than 65535 bytes is dropped, counting the first fragment header', () => {
    const { sim, a, b, p, inject } = hosts(34);
    const mac = b.iface.mac;
    // Offset + length past 65535.
    inject.send(mac, header(a, b, 1, { fragmentOffset: 65528 }), new Uint8Array(16));
    // 65512 bytes of payload fit behind a 20-byte header, not behind the first fragment's 60 bytes.
    const payload = new Uint8Array(65512);
    payload.set(echoRequest(1, 100));
    const nops = new Uint8Array(40).fill(1);
    inject.sendAll(mac, fragmentsOf(header(a, b, 2, { options: nops }), payload, 1400));
    sim.advance(1000);
    assert.equal(b.stack.counters.value('ipv4.reassembly.drop.too-big'), 2);
    assert.equal(b.stack.counters.value('ipv4.rx.reassembled'), 0);
    assert.equal(p.replies.length, 1);
    // The same with a 20-byte header is a legal (if odd) echo request, answered.
    inject.sendAll(mac, fragmentsOf(header(a, b, 3), echoRequest(2, 65504), 1400));
    assert.ok(sim.runUntil(() => p.replies.length === 2, 5000));
    assert.deepEqual([p.replies[1]!.size, p.replies[1]!.intact], [65504, true]);
    sim.advance(TIMEOUT + 1000);
    assert.deepEqual(b.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
  });

  test('65000-byte pings over a lossy, reordering wire: some get through, nothing crashes or leaks', () => {
    let answered = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const { sim, a, b, wire } = twoHosts(seed, { loss: 0.05, delay: 2, jitter: 1.5, reorder: 0.2 });
      const p = pinger(a.stack);
      for (let seq = 1; seq <= 150 && p.replies.length === 0; seq++) {
        p.send(b.ip, seq, 65000);
        sim.advance(1000);
      }
      assert.ok(p.replies.every((r) => r.size === 65000 && r.intact));
      answered += p.replies.length > 0 ? 1 : 0;
      assert.ok(wire.stats['a-to-b'].reordered > 0 && wire.stats['a-to-b'].lost > 0);
      assert.ok(b.stack.counters.value('ipv4.rx.reassembled') >= p.replies.length);
      sim.advance(TIMEOUT + 1000);
      assert.deepEqual(a.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
      assert.deepEqual(b.stack.ipv4.reassembly, { datagrams: 0, bytes: 0 });
    }
    // Each try crosses about 90 fragments at 5% loss (about 1% succeed); 150 tries per seed.
    assert.ok(answered >= 3, `${answered} of 6 seeds answered`);
  });
});
