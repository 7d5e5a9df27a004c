import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Stack } from '../../src/core/stack.ts';
import { SECOND } from '../../src/core/time.ts';
import type { Ipv6Addr } from '../../src/wire/address.ts';
import {
  emitIcmpv6,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_TIME_EXCEEDED,
  IP_PROTOCOL_ICMPV6,
} from '../../src/wire/icmpv6.ts';
import { emitOptionsHeader, emitRoutingHeader, NH_DEST_OPTS, NH_ROUTING } from '../../src/wire/ipv6-ext.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';
import { globalAddress, ip6, linkLocal, pinger6, routed6, twoHosts6, v6 } from './ipv6-helpers.ts';

/** Sends an echo request to `dst` behind one extension header built by `ext`. */
function echoWith(
  stack: Stack,
  dst: Ipv6Addr,
  seq: number,
  nextHeader: number,
  ext: (pb: PacketBuffer) => void,
) {
  stack.run(() => {
    const path = v6(stack).route(dst);
    assert.equal(typeof path, 'object');
    const p = path as Exclude<typeof path, string>;
    const pb = PacketBuffer.forMessage(8 + 16);
    emitIcmpv6(
      pb,
      { kind: 'echo-request', identifier: 99, sequence: seq, data: new Uint8Array(16) },
      p.src,
      dst,
    );
    ext(pb);
    v6(stack).send(p, { dst, nextHeader }, pb);
  });
}

describe('IPv6 packets in simulation', () => {
  test('reassembly under reordering, duplication and loss; state drains after the timeout', () => {
    const { sim, a, b, ib } = twoHosts6(31, {
      reorder: 0.3,
      duplicate: 0.1,
      loss: 0.02,
      delay: 2,
      jitter: 3,
    });
    const p = pinger6(a);
    const dst = linkLocal(b, ib)!;
    for (let seq = 1; seq <= 20; seq++) p.send(dst, seq, 5000);
    sim.runUntil(() => false, 10 * SECOND);
    assert.ok(p.replies.length >= 10, `${p.replies.length} replies`);
    assert.ok(p.replies.every((r) => r.size === 5000));
    assert.ok(b.counters.value('ipv6.rx.reassembled') >= p.replies.length);
    sim.runUntil(() => false, 61 * SECOND);
    assert.deepEqual(v6(a).reassembly, { datagrams: 0, bytes: 0 });
    assert.deepEqual(v6(b).reassembly, { datagrams: 0, bytes: 0 });
  });

  test('path MTU: Packet Too Big from the router, cached, then smaller fragments from the source', () => {
    const { sim, router, a, b, ib } = routed6(32, { mtu2: 1280 });
    const p = pinger6(a);
    const dst = globalAddress(b, ib)!;
    p.send(dst, 1, 1400);
    assert.ok(sim.runUntil(() => p.errors.length === 1, 5000));
    assert.equal(p.errors[0]!.type, ICMPV6_PACKET_TOO_BIG);
    assert.equal(p.errors[0]!.mtu, 1280);
    assert.equal(router.counters.value('ipv6.rx.drop.packet-too-big'), 1);
    const path = v6(a).route(dst);
    assert.equal(typeof path === 'object' && path.mtu, 1280);
    p.send(dst, 2, 1400);
    assert.ok(sim.runUntil(() => p.replies.length === 1, 5000));
    assert.equal(p.replies[0]!.size, 1400);
    assert.equal(a.counters.value('ipv6.tx.fragments'), 2);
    // b's reply leaves on its own 1280-byte link, fragmented by b itself.
    assert.equal(b.counters.value('ipv6.tx.fragments'), 2);
  });

  test('hop limit exceeded on the router: time exceeded from its address', () => {
    const { sim, a, b, ib } = routed6(33);
    const p = pinger6(a);
    p.send(globalAddress(b, ib)!, 1, 56, { hopLimit: 1 });
    assert.ok(sim.runUntil(() => p.errors.length === 1, 5000));
    assert.deepEqual(p.errors[0], {
      type: ICMPV6_TIME_EXCEEDED,
      code: 0,
      from: '2001:db8:1::1',
      mtu: 0,
      pointer: 0,
    });
  });

  test('unknown options by their action bits; routing type 0; unknown next header', () => {
    const { sim, a, b, ib } = twoHosts6(34);
    const p = pinger6(a);
    const dst = linkLocal(b, ib)!;
    const opt = (type: number) => (pb: PacketBuffer) =>
      emitOptionsHeader(pb, IP_PROTOCOL_ICMPV6, [{ type, data: new Uint8Array(2) }]);
    echoWith(a, dst, 1, NH_DEST_OPTS, opt(0x1e)); // 00: skip
    echoWith(a, dst, 2, NH_DEST_OPTS, opt(0x5e)); // 01: discard silently
    echoWith(a, dst, 3, NH_DEST_OPTS, opt(0x9e)); // 10: discard, parameter problem
    echoWith(a, dst, 4, NH_DEST_OPTS, opt(0xde)); // 11: discard, parameter problem (unicast)
    const routing = (segmentsLeft: number) => (pb: PacketBuffer) =>
      emitRoutingHeader(pb, {
        nextHeader: IP_PROTOCOL_ICMPV6,
        routingType: 0,
        segmentsLeft,
        data: new Uint8Array(20),
      });
    echoWith(a, dst, 5, NH_ROUTING, routing(1));
    echoWith(a, dst, 6, NH_ROUTING, routing(0));
    sim.runUntil(() => false, 2000);
    assert.deepEqual(p.replies.map((r) => r.seq).sort(), [1, 6]);
    assert.deepEqual(
      p.errors.map((e) => [e.type, e.code, e.pointer]),
      [
        [ICMPV6_PARAMETER_PROBLEM, 2, 42],
        [ICMPV6_PARAMETER_PROBLEM, 2, 42],
        [ICMPV6_PARAMETER_PROBLEM, 0, 42],
      ],
    );
    // 11 to a multicast destination: discarded without an error; 10: with one.
    echoWith(a, ip6('ff02::1'), 7, NH_DEST_OPTS, opt(0xde));
    echoWith(a, ip6('ff02::1'), 8, NH_DEST_OPTS, opt(0x9e));
    // An unknown next header draws code 1 pointing at the Next Header field (offset 6).
    a.run(() => {
      const path = v6(a).route(dst) as Exclude<ReturnType<ReturnType<typeof v6>['route']>, string>;
      v6(a).send(path, { dst, nextHeader: 143 + 100 }, PacketBuffer.from(new Uint8Array(8), 128));
    });
    sim.runUntil(() => false, 2000);
    assert.equal(b.counters.value('icmpv6.tx.type-4-code-2'), 3);
    assert.equal(b.counters.value('icmpv6.tx.type-4-code-1'), 1);
    assert.equal(b.counters.value('ipv6.rx.drop.unknown-option'), 5);
  });

  test('ICMPv6 errors are rate limited by a token bucket', () => {
    const { sim, a, b, ib } = twoHosts6(35);
    const dst = linkLocal(b, ib)!;
    a.run(() => {
      const path = v6(a).route(dst) as Exclude<ReturnType<ReturnType<typeof v6>['route']>, string>;
      for (let i = 0; i < 200; i++)
        v6(a).send(path, { dst, nextHeader: 250 }, PacketBuffer.from(new Uint8Array(8), 128));
    });
    sim.runUntil(() => false, 1000);
    assert.equal(b.counters.value('ipv6.rx.drop.unknown-next-header'), 200);
    const sent = b.counters.value('icmpv6.tx.errors');
    assert.ok(sent >= 50 && sent <= 52, `${sent} errors`);
    assert.equal(b.counters.value('icmpv6.tx.rate-limited'), 200 - sent);
  });

  test('tshark dissects every frame the stacks sent without complaint', (t) => {
    if (!tsharkAvailable()) {
      t.skip('tshark not installed');
      return;
    }
    const { sim, a, ia, b, ib, r1, r2 } = routed6(36, { settle: false, mtu2: 1280 });
    const frames: Uint8Array[] = [];
    for (const i of [ia, ib, r1, r2]) i.addObserver((dir, f) => dir === 'tx' && frames.push(f.slice()));
    v6(b).joinGroup(ib, ip6('ff05::1:3'));
    sim.runUntil(() => globalAddress(a, ia) !== undefined && globalAddress(b, ib) !== undefined, 60_000);
    const p = pinger6(a);
    p.send(globalAddress(b, ib)!, 1, 3000);
    p.send(globalAddress(b, ib)!, 2, 56, { hopLimit: 1 });
    sim.runUntil(() => false, 3000);
    p.send(globalAddress(b, ib)!, 3, 3000);
    sim.runUntil(() => false, 3000);
    assert.ok(p.replies.length >= 1);
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.ok(protocols.some((x) => x.includes('icmpv6')));
    assert.ok(frames.length > 20, `${frames.length} frames`);
  });
});
