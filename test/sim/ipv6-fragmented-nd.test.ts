import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { type Ipv6Addr, ipv6SolicitedNode } from '../../src/wire/address.ts';
import { emitIcmpv6, IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { emitIpv6 } from '../../src/wire/ipv6.ts';
import { emitFragmentHeader, NH_FRAGMENT } from '../../src/wire/ipv6-ext.ts';
import { emitNdp, type NdpRepr, ndpLength } from '../../src/wire/ndp.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { ip6, linkLocal, twoHosts6, v6 } from './ipv6-helpers.ts';

const ALL_NODES = ip6('ff02::1');

/** An ICMPv6 message `bytes` from `src` to `dst`: whole, or in fragments split at `cuts` (octets). */
function packets(src: Ipv6Addr, dst: Ipv6Addr, bytes: Uint8Array, cuts: number[] | 'whole'): Uint8Array[] {
  const header = { src, dst, hopLimit: 255, trafficClass: 0, flowLabel: 0 };
  if (cuts === 'whole') {
    const pb = PacketBuffer.from(bytes, 128);
    emitIpv6(pb, { ...header, nextHeader: IP_PROTOCOL_ICMPV6 });
    return [pb.bytes().slice()];
  }
  const bounds = [0, ...cuts, bytes.length];
  return bounds.slice(1).map((end, i) => {
    const start = bounds[i]!;
    const pb = PacketBuffer.from(bytes.subarray(start, end), 128);
    emitFragmentHeader(pb, {
      nextHeader: IP_PROTOCOL_ICMPV6,
      offset: start,
      more: end < bytes.length,
      identification: 0x1234,
    });
    emitIpv6(pb, { ...header, nextHeader: NH_FRAGMENT });
    return pb.bytes().slice();
  });
}

function nd(repr: NdpRepr, src: Ipv6Addr, dst: Ipv6Addr): Uint8Array {
  const pb = PacketBuffer.forMessage(ndpLength(repr));
  emitNdp(pb, repr, src, dst);
  return pb.bytes().slice();
}

function inject(stack: Stack, iface: NetworkInterface, list: Uint8Array[], to: 'unicast' | 'multicast') {
  stack.run(() => {
    for (const p of list) v6(stack).receive(iface, p, to);
  });
}

describe('RFC 6980: no Neighbor Discovery from fragmented packets', () => {
  test('a Neighbor Solicitation in an atomic fragment is ignored; whole, it is answered', () => {
    const { sim, a, ia, b, ib } = twoHosts6(71);
    const from = linkLocal(a, ia)!;
    const target = linkLocal(b, ib)!;
    const ns = nd(
      { kind: 'neighbor-solicitation', target, options: [{ kind: 'source-lladdr', mac: ia.mac }] },
      from,
      target,
    );
    const answered = () => b.counters.value('ndp.tx.advertisements');
    const before = answered();
    inject(b, ib, packets(from, target, ns, []), 'unicast');
    sim.runUntil(() => false, 100);
    assert.equal(b.counters.value('ipv6.rx.drop.fragmented-nd'), 1);
    assert.equal(answered(), before);
    inject(b, ib, packets(from, target, ns, 'whole'), 'unicast');
    assert.equal(answered(), before + 1);
    assert.equal(b.counters.value('ipv6.rx.drop.fragmented-nd'), 1);
  });

  test('a Router Advertisement in two fragments configures nothing; whole, it does', () => {
    const { sim, a, ia, b, ib } = twoHosts6(72);
    const router = linkLocal(a, ia)!;
    const ra = nd(
      {
        kind: 'router-advertisement',
        curHopLimit: 64,
        managed: false,
        other: false,
        preference: 'medium',
        otherFlags: 0,
        routerLifetime: 1800,
        reachableTime: 0,
        retransTimer: 0,
        options: [
          { kind: 'source-lladdr', mac: ia.mac },
          {
            kind: 'prefix-info',
            prefixLength: 64,
            onLink: true,
            autonomous: true,
            otherFlags: 0,
            validLifetime: 3600,
            preferredLifetime: 1800,
            prefix: ip6('2001:db8:5::'),
          },
        ],
      },
      router,
      ALL_NODES,
    );
    const received = () => b.counters.value('ndp.rx.router-advertisements');
    const routes = () =>
      v6(b)
        .routes.list()
        .filter((r) => r.origin === 'ra').length;
    inject(b, ib, packets(router, ALL_NODES, ra, [16]), 'multicast');
    sim.runUntil(() => false, 100);
    assert.equal(b.counters.value('ipv6.rx.reassembled'), 1);
    assert.equal(b.counters.value('ipv6.rx.drop.fragmented-nd'), 1);
    assert.equal(received(), 0);
    assert.equal(routes(), 0);
    inject(b, ib, packets(router, ALL_NODES, ra, 'whole'), 'multicast');
    assert.equal(received(), 1);
    assert.ok(routes() >= 2, 'default route and on-link prefix');
  });

  test('other ICMPv6 in fragments is still delivered (an echo request is answered)', () => {
    const { sim, a, ia, b, ib } = twoHosts6(73);
    const from = linkLocal(a, ia)!;
    const to = linkLocal(b, ib)!;
    const pb = PacketBuffer.forMessage(8 + 32);
    emitIcmpv6(pb, { kind: 'echo-request', identifier: 7, sequence: 1, data: new Uint8Array(32) }, from, to);
    inject(b, ib, packets(from, to, pb.bytes().slice(), [24]), 'unicast');
    assert.ok(sim.runUntil(() => b.counters.value('icmpv6.tx.echo-replies') === 1, 1000));
    assert.equal(b.counters.value('ipv6.rx.drop.fragmented-nd'), 0);
    // The solicited-node group of the target is where a multicast solicitation goes; fragmented,
    // it is ignored too.
    const ns = nd({ kind: 'neighbor-solicitation', target: to, options: [] }, from, ipv6SolicitedNode(to));
    inject(b, ib, packets(from, ipv6SolicitedNode(to), ns, [8]), 'multicast');
    assert.equal(b.counters.value('ipv6.rx.drop.fragmented-nd'), 1);
  });
});
