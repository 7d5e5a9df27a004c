import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ipv6SolicitedNode, ipv6ToString, parseIpv6, parseMac } from '../../src/wire/address.ts';
import { Icmpv6View, IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { Ipv6View } from '../../src/wire/ipv6.ts';
import {
  emitNdp,
  findNdpOption,
  NDP_HOP_LIMIT,
  NDP_OPT_DNSSL,
  NDP_OPT_RDNSS,
  NDP_OPT_ROUTE_INFO,
  type NdpOption,
  type NdpRepr,
  ndpLength,
  parseNdp,
  parseNdpOptions,
} from '../../src/wire/ndp.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { assertSameRepr, icmpv6MessagesOf, messageFrame6 } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/ndp.pcap (scripts/fixtures/ndp.sh): RS, DAD NS, radvd's RA, NS/NA, a Redirect.
const samples = icmpv6MessagesOf(loadFixture('ndp.pcap').map((p) => p.data)).filter(
  (s) => s.message[0]! >= 133 && s.message[0]! <= 137,
);
const LL_A = parseIpv6('fe80::a')!;
const LL_B = parseIpv6('fe80::b')!;
const ALL_NODES = parseIpv6('ff02::1')!;
const MAC = parseMac('02:00:00:00:00:0a')!;

function emitted(repr: NdpRepr, src = LL_A, dst = LL_B): Uint8Array {
  const pb = PacketBuffer.alloc(4096, 0);
  emitNdp(pb, repr, src, dst);
  return pb.bytes();
}

/** One of each option. */
const everyOption: NdpOption[] = [
  { kind: 'source-lladdr', mac: MAC },
  { kind: 'target-lladdr', mac: MAC + 1 },
  {
    kind: 'prefix-info',
    prefixLength: 64,
    onLink: true,
    autonomous: true,
    otherFlags: 0,
    validLifetime: 86400,
    preferredLifetime: 14400,
    prefix: parseIpv6('2001:db8:1::')!,
  },
  { kind: 'mtu', mtu: 1400 },
  { kind: 'nonce', nonce: Uint8Array.of(1, 2, 3, 4, 5, 6) },
  {
    kind: 'route-info',
    prefixLength: 48,
    preference: 'high',
    lifetime: 900,
    prefix: parseIpv6('2001:db8:2::')!,
  },
  { kind: 'rdnss', lifetime: 600, servers: [parseIpv6('2001:db8::53')!] },
  { kind: 'dnssl', lifetime: 600, domains: ['example.com'] },
  { kind: 'unknown', type: 200, data: new Uint8Array(6).fill(0xee) },
];

describe('NDP wire format', () => {
  test('golden: messages from Linux, rdisc6/ndisc6 and radvd parse, verify and re-emit identically', () => {
    assert.deepEqual(
      samples.map((s) => s.message[0]),
      [133, 135, 134, 135, 133, 135, 136, 134, 135, 136, 135, 136, 137, 135, 135],
    );
    for (const s of samples) {
      assert.equal(s.ip.hopLimit, NDP_HOP_LIMIT);
      assert.ok(new Icmpv6View(s.message).verify(s.ip.src, s.ip.dst));
      const r = parseNdp(s.message);
      assert.ok(r.ok, `${s.message[0]}: ${r.ok || r.error}`);
      assert.deepEqual(emitted(r.value, s.ip.src, s.ip.dst), s.message);
    }
    const parsed = samples.map((s) => parseNdp(s.message)).map((r) => (r.ok ? r.value : undefined));
    // DAD: from ::, to the solicited-node group of the target, with a nonce (RFC 7527) and no SLLA.
    const dad = parsed[1]!;
    assert.ok(dad.kind === 'neighbor-solicitation');
    assert.deepEqual(samples[1]!.ip.dst, ipv6SolicitedNode(dad.target));
    assert.equal(findNdpOption(dad.options, 'nonce')?.nonce.length, 6);
    assert.equal(findNdpOption(dad.options, 'source-lladdr'), undefined);
    const ra = parsed[2]!;
    assert.ok(ra.kind === 'router-advertisement');
    assert.deepEqual(
      [
        ra.curHopLimit,
        ra.managed,
        ra.other,
        ra.preference,
        ra.routerLifetime,
        ra.reachableTime,
        ra.retransTimer,
      ],
      [64, true, true, 'high', 1800, 30000, 1000],
    );
    const prefix = findNdpOption(ra.options, 'prefix-info')!;
    assert.deepEqual(
      [ipv6ToString(prefix.prefix), prefix.prefixLength, prefix.onLink, prefix.autonomous],
      ['fd00:200::', 64, true, true],
    );
    assert.deepEqual([prefix.validLifetime, prefix.preferredLifetime], [86400, 14400]);
    const routes = ra.options.filter((o) => o.kind === 'route-info');
    assert.deepEqual(
      routes.map((o) => [ipv6ToString(o.prefix), o.prefixLength, o.preference, o.lifetime]),
      [
        ['fd00:300::', 48, 'low', 600],
        ['fd00:400::', 96, 'medium', 1200],
      ],
    );
    assert.deepEqual(findNdpOption(ra.options, 'rdnss')?.servers.map(ipv6ToString), [
      'fd00:200::53',
      'fd00:200::54',
    ]);
    assert.deepEqual(findNdpOption(ra.options, 'dnssl')?.domains, ['netstack.test', 'example.org']);
    assert.equal(findNdpOption(ra.options, 'mtu')?.mtu, 1480);
    const na = parsed[9]!;
    assert.ok(na.kind === 'neighbor-advertisement');
    // B's MAC, as the RA announces it and the NA for B's address confirms.
    assert.equal(
      findNdpOption(ra.options, 'source-lladdr')?.mac,
      findNdpOption(na.options, 'target-lladdr')?.mac,
    );
    assert.deepEqual(
      [na.router, na.solicited, na.override, ipv6ToString(na.target)],
      [true, true, true, 'fd00:200::2'],
    );
    const redirect = parsed[12]!;
    assert.ok(redirect.kind === 'redirect');
    assert.equal(ipv6ToString(redirect.destination), 'fd00:200::99');
    assert.deepEqual(redirect.target, redirect.destination);
    const inner = new Ipv6View(findNdpOption(redirect.options, 'redirected-header')!.packet);
    assert.equal(ipv6ToString(inner.dst), 'fd00:200::99');
    assert.equal(inner.nextHeader, IP_PROTOCOL_ICMPV6);
  });

  test('round trip: every message with random options', () => {
    const addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => {
      a[0] = 0x20; // never multicast
      return a;
    });
    const option = fc.constantFrom(...everyOption);
    const options = fc.array(option, { maxLength: 5 });
    const repr: fc.Arbitrary<NdpRepr> = fc.oneof(
      fc.record({ kind: fc.constant('router-solicitation' as const), options }),
      fc.record({
        kind: fc.constant('router-advertisement' as const),
        curHopLimit: fc.integer({ min: 0, max: 255 }),
        managed: fc.boolean(),
        other: fc.boolean(),
        preference: fc.constantFrom('high' as const, 'medium' as const, 'low' as const, 'reserved' as const),
        otherFlags: fc.constantFrom(0, 0x20, 0x04, 0x03),
        routerLifetime: fc.integer({ min: 0, max: 0xffff }),
        reachableTime: fc.integer({ min: 0, max: 0xffffffff }),
        retransTimer: fc.integer({ min: 0, max: 0xffffffff }),
        options,
      }),
      fc.record({ kind: fc.constant('neighbor-solicitation' as const), target: addr, options }),
      fc.record({
        kind: fc.constant('neighbor-advertisement' as const),
        router: fc.boolean(),
        solicited: fc.boolean(),
        override: fc.boolean(),
        target: addr,
        options,
      }),
      fc.record({ kind: fc.constant('redirect' as const), target: addr, destination: addr, options }),
    );
    fc.assert(
      fc.property(repr, (r) => {
        const bytes = emitted(r);
        assert.equal(bytes.length, ndpLength(r));
        assert.ok(new Icmpv6View(bytes).verify(LL_A, LL_B));
        const back = parseNdp(bytes);
        assert.ok(back.ok);
        assertSameRepr(back.value, r);
      }),
      { numRuns: RUNS },
    );
  });

  test('malformed messages are errors; malformed options are kept and flagged', () => {
    const ns = emitted({
      kind: 'neighbor-solicitation',
      target: LL_B,
      options: [{ kind: 'source-lladdr', mac: MAC }],
    });
    const zero = ns.slice();
    zero[25] = 0;
    assert.deepEqual(parseNdp(zero), { ok: false, error: 'zero-option-length' });
    assert.deepEqual(parseNdp(ns.subarray(0, 30)), { ok: false, error: 'truncated-option' });
    assert.deepEqual(parseNdp(ns.subarray(0, 25)), { ok: false, error: 'truncated-option' });
    assert.deepEqual(parseNdp(ns.subarray(0, 23)), { ok: false, error: 'truncated' });
    const code = ns.slice();
    code[1] = 1;
    assert.deepEqual(parseNdp(code), { ok: false, error: 'bad-code' });
    const multicast = ns.slice();
    multicast.set(ALL_NODES, 8);
    assert.deepEqual(parseNdp(multicast), { ok: false, error: 'multicast-target' });
    const redirect = emitted({ kind: 'redirect', target: LL_B, destination: ALL_NODES, options: [] });
    assert.deepEqual(parseNdp(redirect), { ok: false, error: 'multicast-destination' });
    assert.deepEqual(parseNdp(Uint8Array.of(128, 0, 0, 0, 0, 0, 0, 0)), { ok: false, error: 'not-ndp' });
    // RFC 4191 2.3: a /64 route in a Length 1 option; RFC 8106: an RDNSS of even length; a DNSSL
    // with a compression pointer; a 16-octet source link-layer address.
    const bad = parseNdpOptions(
      Uint8Array.of(
        ...[NDP_OPT_ROUTE_INFO, 1, 64, 0, 0, 0, 0, 1],
        ...[NDP_OPT_RDNSS, 2, 0, 0, 0, 0, 0, 1, ...new Array(8).fill(0)],
        ...[NDP_OPT_DNSSL, 2, 0, 0, 0, 0, 0, 1, 0xc0, 12, 0, 0, 0, 0, 0, 0],
        ...[1, 2, ...new Array(14).fill(1)],
      ),
    );
    assert.ok(bad.ok);
    assert.deepEqual(
      bad.value.map((o) => (o.kind === 'malformed' ? [o.type, o.problem] : o.kind)),
      [
        [NDP_OPT_ROUTE_INFO, 'bad-length'],
        [NDP_OPT_RDNSS, 'bad-length'],
        [NDP_OPT_DNSSL, 'bad-domain-name'],
        [1, 'bad-length'],
      ],
    );
    const route0 = parseNdpOptions(Uint8Array.of(NDP_OPT_ROUTE_INFO, 1, 0, 0x08, 0, 0, 0, 5));
    assert.ok(route0.ok && route0.value[0]!.kind === 'route-info' && route0.value[0]!.preference === 'high');
    assertNeverThrows(
      parseNdp,
      samples.slice(0, 3).map((s) => s.message),
    );
  });

  test('tshark: every message and every option dissects cleanly', (t) => {
    if (!tsharkAvailable()) return t.skip('tshark missing');
    const invoking = samples[12]!.message.subarray(48);
    const reprs: NdpRepr[] = [
      { kind: 'router-solicitation', options: [everyOption[0]!] },
      {
        kind: 'router-advertisement',
        curHopLimit: 64,
        managed: false,
        other: true,
        preference: 'low',
        otherFlags: 0,
        routerLifetime: 1800,
        reachableTime: 0,
        retransTimer: 0,
        options: everyOption.filter((o) => o.kind !== 'target-lladdr' && o.kind !== 'nonce'),
      },
      { kind: 'neighbor-solicitation', target: LL_B, options: [everyOption[0]!, everyOption[4]!] },
      {
        kind: 'neighbor-advertisement',
        router: true,
        solicited: true,
        override: false,
        target: LL_A,
        options: [everyOption[1]!],
      },
      {
        kind: 'redirect',
        target: LL_B,
        destination: parseIpv6('2001:db8::99')!,
        options: [everyOption[1]!, { kind: 'redirected-header', packet: invoking }],
      },
    ];
    const frames = reprs.map((r) =>
      messageFrame6((pb) => emitNdp(pb, r, LL_A, ALL_NODES), {
        src: LL_A,
        dst: ALL_NODES,
        nextHeader: IP_PROTOCOL_ICMPV6,
        hopLimit: NDP_HOP_LIMIT,
      }),
    );
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, [
      'eth:ethertype:ipv6:icmpv6',
      'eth:ethertype:ipv6:icmpv6',
      'eth:ethertype:ipv6:icmpv6',
      'eth:ethertype:ipv6:icmpv6',
      'eth:ethertype:ipv6:icmpv6:ipv6:icmpv6:data',
    ]);
  });
});
