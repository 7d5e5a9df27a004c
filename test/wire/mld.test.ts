import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ipv6ToString, parseIpv6 } from '../../src/wire/address.ts';
import { Icmpv6View, IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { NH_HOP_BY_HOP, ROUTER_ALERT_MLD, routerAlertOption } from '../../src/wire/ipv6-ext.ts';
import {
  emitMld,
  MLD_ALLOW_NEW_SOURCES,
  MLD_BLOCK_OLD_SOURCES,
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_MODE_IS_EXCLUDE,
  MLD_MODE_IS_INCLUDE,
  type MldRepr,
  mldLength,
  mldMaxResponseCode,
  mldMaxResponseDelay,
  mldQqic,
  mldQueryInterval,
  parseMld,
} from '../../src/wire/mld.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { assertSameRepr, icmpv6MessagesOf, messageFrame6 } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/mld.pcap (scripts/fixtures/mld.sh): a bridge querier and a Linux host, MLDv2 then v1.
const samples = icmpv6MessagesOf(loadFixture('mld.pcap').map((p) => p.data)).filter((s) =>
  [130, 131, 132, 143].includes(s.message[0]!),
);
const LL = parseIpv6('fe80::a')!;
const MLDV2_ROUTERS = parseIpv6('ff02::16')!;
const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });

function emitted(repr: MldRepr, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const pb = PacketBuffer.alloc(4096, 0);
  emitMld(pb, repr, src, dst);
  return pb.bytes();
}

describe('MLD wire format', () => {
  test('golden: MLDv2 and MLDv1 from Linux parse, verify and re-emit identically', () => {
    const parsed = samples.map((s) => {
      // RFC 3810 5 / RFC 2710 3: link-local scope, hop limit 1, Router Alert.
      assert.equal(s.ip.hopLimit, 1);
      assert.equal(s.ip.nextHeader, NH_HOP_BY_HOP);
      assert.ok(new Icmpv6View(s.message).verify(s.ip.src, s.ip.dst));
      const r = parseMld(s.message);
      assert.ok(r.ok);
      assert.deepEqual(emitted(r.value, s.ip.src, s.ip.dst), s.message);
      return r.value;
    });
    assert.equal(parsed.length, 23);
    const kinds = new Set(parsed.map((p) => p.kind));
    assert.deepEqual([...kinds].sort(), ['done-v1', 'query-v1', 'query-v2', 'report-v1', 'report-v2']);
    // The bridge's general query: 1000 ms, QRV 2, and its group-specific ones after the leave.
    const general = parsed.find((p) => p.kind === 'query-v2')!;
    assert.ok(general.kind === 'query-v2');
    assert.deepEqual(
      [
        ipv6ToString(general.group),
        mldMaxResponseDelay(general.maxResponseCode),
        general.qrv,
        general.sources.length,
      ],
      ['::', 1000, 2, 0],
    );
    assert.ok(
      parsed.some(
        (p) => p.kind === 'query-v2' && p.suppressRouterSide && ipv6ToString(p.group) === 'ff12::1234',
      ),
    );
    // Every record type from the host: joins (4), leave (3), source-specific join (5) and leave (6).
    const records = parsed.flatMap((p) => (p.kind === 'report-v2' ? p.records : []));
    const join = records.find((r) => r.type === MLD_ALLOW_NEW_SOURCES)!;
    assert.deepEqual(
      [ipv6ToString(join.group), join.sources.map(ipv6ToString)],
      ['ff35::beef', ['fd00:200::2']],
    );
    assert.deepEqual([...new Set(records.map((r) => r.type))].sort(), [
      MLD_CHANGE_TO_INCLUDE,
      MLD_CHANGE_TO_EXCLUDE,
      MLD_ALLOW_NEW_SOURCES,
      MLD_BLOCK_OLD_SOURCES,
    ]);
    assert.ok(parsed.some((p) => p.kind === 'report-v1' && ipv6ToString(p.group) === 'ff12::5678'));
    assert.ok(parsed.some((p) => p.kind === 'done-v1' && ipv6ToString(p.group) === 'ff12::5678'));
  });

  test('Maximum Response Code and QQIC floating-point encodings (RFC 3810 5.1.3, 5.1.9)', () => {
    assert.equal(mldMaxResponseDelay(10000), 10000);
    // 1 | exp=0 | mant=0 -> 0x1000 << 3 = 32768.
    assert.equal(mldMaxResponseDelay(0x8000), 32768);
    assert.equal(mldMaxResponseDelay(0xffff), 0x1fff * 2 ** 10);
    assert.equal(mldQueryInterval(125), 125);
    assert.equal(mldQueryInterval(0x80), 128);
    assert.equal(mldQueryInterval(0xff), 0x1f * 2 ** 10);
    for (let code = 0; code <= 0xffff; code++)
      assert.equal(mldMaxResponseCode(mldMaxResponseDelay(code)), code);
    for (let code = 0; code <= 0xff; code++) assert.equal(mldQqic(mldQueryInterval(code)), code);
    // Values between codes round down; beyond the range clamp.
    assert.equal(mldMaxResponseDelay(mldMaxResponseCode(32775)), 32768);
    assert.equal(mldMaxResponseCode(1e9), 0xffff);
    assert.equal(mldQqic(1e6), 0xff);
  });

  test('round trip: every message', () => {
    const record = fc.record({
      type: fc.constantFrom(
        MLD_MODE_IS_INCLUDE,
        MLD_MODE_IS_EXCLUDE,
        MLD_CHANGE_TO_INCLUDE,
        MLD_BLOCK_OLD_SOURCES,
      ),
      group: addr,
      sources: fc.array(addr, { maxLength: 3 }),
      auxData: fc.constantFrom(new Uint8Array(0), Uint8Array.of(1, 2, 3, 4)),
    });
    const repr: fc.Arbitrary<MldRepr> = fc.oneof(
      fc.record({
        kind: fc.constant('query-v1' as const),
        maxResponseDelay: fc.integer({ min: 0, max: 0xffff }),
        group: addr,
      }),
      fc.record({ kind: fc.constantFrom('report-v1' as const, 'done-v1' as const), group: addr }),
      fc.record({
        kind: fc.constant('query-v2' as const),
        maxResponseCode: fc.integer({ min: 0, max: 0xffff }),
        group: addr,
        suppressRouterSide: fc.boolean(),
        qrv: fc.integer({ min: 0, max: 7 }),
        qqic: fc.integer({ min: 0, max: 255 }),
        sources: fc.array(addr, { maxLength: 4 }),
      }),
      fc.record({ kind: fc.constant('report-v2' as const), records: fc.array(record, { maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(repr, (r) => {
        const bytes = emitted(r, LL, MLDV2_ROUTERS);
        assert.equal(bytes.length, mldLength(r));
        assert.ok(new Icmpv6View(bytes).verify(LL, MLDV2_ROUTERS));
        const back = parseMld(bytes);
        assert.ok(back.ok);
        assertSameRepr(back.value, r);
      }),
      { numRuns: RUNS },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    const query = emitted(
      {
        kind: 'query-v2',
        maxResponseCode: 1000,
        group: LL,
        suppressRouterSide: false,
        qrv: 2,
        qqic: 125,
        sources: [LL],
      },
      LL,
      MLDV2_ROUTERS,
    );
    // RFC 3810 8.1: a query of 25 to 27 octets is neither version.
    assert.deepEqual(parseMld(query.subarray(0, 26)), { ok: false, error: 'bad-length' });
    assert.deepEqual(parseMld(query.subarray(0, 40)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseMld(query.subarray(0, 20)), { ok: false, error: 'truncated' });
    const v1 = parseMld(query.subarray(0, 24));
    assert.ok(v1.ok && v1.value.kind === 'query-v1');
    const report = emitted(
      { kind: 'report-v2', records: [{ type: 1, group: LL, sources: [LL], auxData: new Uint8Array(0) }] },
      LL,
      MLDV2_ROUTERS,
    );
    assert.deepEqual(parseMld(report.subarray(0, 30)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseMld(report.subarray(0, 40)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseMld(Uint8Array.of(128, 0, 0, 0)), { ok: false, error: 'not-mld' });
    assert.throws(() =>
      emitted(
        { kind: 'report-v2', records: [{ type: 1, group: LL, sources: [], auxData: Uint8Array.of(1) }] },
        LL,
        LL,
      ),
    );
    assertNeverThrows(parseMld, [query, report, ...samples.slice(0, 2).map((s) => s.message)]);
  });

  test('tshark: every message dissects cleanly behind a Router Alert', (t) => {
    if (!tsharkAvailable()) return t.skip('tshark missing');
    const group = parseIpv6('ff12::1234')!;
    const src = parseIpv6('2001:db8::1')!;
    const reprs: MldRepr[] = [
      { kind: 'query-v1', maxResponseDelay: 10000, group: parseIpv6('::')! },
      { kind: 'report-v1', group },
      { kind: 'done-v1', group },
      {
        kind: 'query-v2',
        maxResponseCode: mldMaxResponseCode(40000),
        group,
        suppressRouterSide: true,
        qrv: 2,
        qqic: mldQqic(125),
        sources: [src],
      },
      {
        kind: 'report-v2',
        records: [
          MLD_MODE_IS_INCLUDE,
          MLD_MODE_IS_EXCLUDE,
          MLD_CHANGE_TO_INCLUDE,
          MLD_CHANGE_TO_EXCLUDE,
          MLD_ALLOW_NEW_SOURCES,
          MLD_BLOCK_OLD_SOURCES,
        ].map((type) => ({ type, group, sources: [src], auxData: new Uint8Array(0) })),
      },
    ];
    const frames = reprs.map((r) =>
      messageFrame6((pb) => emitMld(pb, r, LL, MLDV2_ROUTERS), {
        src: LL,
        dst: MLDV2_ROUTERS,
        nextHeader: IP_PROTOCOL_ICMPV6,
        hopLimit: 1,
        hopByHop: [routerAlertOption(ROUTER_ALERT_MLD)],
      }),
    );
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, new Array(5).fill('eth:ethertype:ipv6:ipv6.hopopts:icmpv6'));
  });
});
