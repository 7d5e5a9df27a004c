import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4 } from '../../src/wire/address.ts';
import { internetChecksum } from '../../src/wire/checksum.ts';
import {
  ALLOW_NEW_SOURCES,
  BLOCK_OLD_SOURCES,
  CHANGE_TO_EXCLUDE_MODE,
  CHANGE_TO_INCLUDE_MODE,
  emitIgmp,
  type IgmpRepr,
  IgmpView,
  igmpLength,
  igmpv3DecodeCode,
  igmpv3EncodeCode,
  MODE_IS_EXCLUDE,
  parseIgmp,
} from '../../src/wire/igmp.ts';
import { IP_PROTOCOL_IGMP, Ipv4View } from '../../src/wire/ipv4.ts';
import { buildIpv4Options } from '../../src/wire/ipv4-options.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { fromHex, loadFixture } from '../helpers/fixtures.ts';
import { ipv4Frame, ipv4PacketsOf } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/igmp.pcap (scripts/fixtures/igmp.sh): v3 reports for joins and leaves (one
// source-specific), v2 report and leave, then v3 and v2 general queries from a bridge querier.
const packets = ipv4PacketsOf(loadFixture('igmp.pcap').map((p) => p.data)).map((b) => new Ipv4View(b));
const messages = packets.map((v) => v.payload);
const ip = (s: string) => parseIpv4(s)!;

function parsed(bytes: Uint8Array): IgmpRepr {
  const r = parseIgmp(bytes);
  assert.ok(r.ok, `parse: ${r.ok ? '' : r.error}`);
  return r.value;
}

function emitted(repr: IgmpRepr): Uint8Array {
  const pb = PacketBuffer.alloc(igmpLength(repr), 0);
  emitIgmp(pb, repr);
  assert.equal(pb.headroom, 0);
  return pb.bytes();
}

/** Sets bytes then fixes the checksum, so that only the structure is wrong. */
function withChecksum(hex: string): Uint8Array {
  const b = fromHex(hex);
  b[2] = 0;
  b[3] = 0;
  const sum = internetChecksum(b);
  b[2] = sum >>> 8;
  b[3] = sum & 0xff;
  return b;
}

const rec = (recordType: number, group: string, sources: string[] = []) => ({
  recordType,
  group: ip(group),
  sources: sources.map(ip),
  auxData: new Uint8Array(0),
});

describe('IGMP wire format', () => {
  test('golden: v2/v3 reports, leave and queries captured from Linux re-emit to the same bytes', () => {
    assert.equal(messages.length, 10);
    assert.ok(packets.every((p) => p.protocol === IP_PROTOCOL_IGMP));
    const reprs = messages.map(parsed);
    assert.deepEqual(reprs.slice(0, 6), [
      { type: 'v3-report', records: [rec(CHANGE_TO_EXCLUDE_MODE, '239.1.2.3')] },
      { type: 'v3-report', records: [rec(CHANGE_TO_INCLUDE_MODE, '239.1.2.3')] },
      {
        type: 'v3-report',
        records: [
          rec(CHANGE_TO_INCLUDE_MODE, '239.1.2.3'),
          rec(ALLOW_NEW_SOURCES, '232.1.1.1', ['10.200.0.2']),
        ],
      },
      { type: 'v3-report', records: [rec(ALLOW_NEW_SOURCES, '232.1.1.1', ['10.200.0.2'])] },
      { type: 'v3-report', records: [rec(BLOCK_OLD_SOURCES, '232.1.1.1', ['10.200.0.2'])] },
      { type: 'v3-report', records: [rec(BLOCK_OLD_SOURCES, '232.1.1.1', ['10.200.0.2'])] },
    ]);
    assert.deepEqual(
      packets.slice(0, 6).map((p) => p.dst),
      Array(6).fill(ip('224.0.0.22')),
    );
    assert.deepEqual(reprs[6], { type: 'v2-report', group: ip('239.1.2.4') });
    assert.equal(packets[6]!.dst, ip('239.1.2.4'));
    assert.deepEqual(reprs[7], { type: 'leave', group: ip('239.1.2.4') });
    assert.equal(packets[7]!.dst, ip('224.0.0.2'));
    // Linux bridge querier defaults: 10 s response, robustness 2, 125 s interval (RFC 3376 8).
    assert.deepEqual(reprs[8], {
      type: 'v3-query',
      maxRespCode: 100,
      group: 0,
      suppressRouterProcessing: false,
      qrv: 2,
      qqic: 125,
      sources: [],
    });
    assert.deepEqual(reprs[9], { type: 'v2-query', maxRespTime: 100, group: 0 });
    assert.ok(new IgmpView(messages[8]!).isV3Query);
    assert.ok(!new IgmpView(messages[9]!).isV3Query);
    for (const [i, m] of messages.entries()) assert.deepEqual(emitted(reprs[i]!), m, `message ${i}`);
  });

  test('RFC 3376 4.1.1 codes: exact below 128, floating point above, decode(encode(v)) <= v', () => {
    assert.equal(igmpv3DecodeCode(100), 100);
    assert.equal(igmpv3DecodeCode(0x80), 128);
    assert.equal(igmpv3DecodeCode(0xff), 31744);
    assert.equal(igmpv3EncodeCode(125), 125);
    assert.equal(igmpv3EncodeCode(1000), 0xaf); // exp 2, mant 15: 31 << 5 = 992
    assert.equal(igmpv3EncodeCode(100_000), 0xff);
    for (let code = 0; code < 256; code++) assert.equal(igmpv3EncodeCode(igmpv3DecodeCode(code)), code);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31744 }), (v) => {
        const code = igmpv3EncodeCode(v);
        assert.ok(igmpv3DecodeCode(code) <= v);
        assert.ok(code === 0xff || igmpv3DecodeCode(code + 1) > v);
      }),
      { numRuns: RUNS },
    );
  });

  test('round trip: emit then parse gives back every message kind', () => {
    const addr = fc.integer({ min: 0, max: 0xffff_ffff });
    const u8 = fc.integer({ min: 0, max: 255 });
    const repr: fc.Arbitrary<IgmpRepr> = fc.oneof(
      fc.record({ type: fc.constant('v2-query' as const), maxRespTime: u8, group: addr }),
      fc.record({
        type: fc.constant('v3-query' as const),
        maxRespCode: u8,
        group: addr,
        suppressRouterProcessing: fc.boolean(),
        qrv: fc.integer({ min: 0, max: 7 }),
        qqic: u8,
        sources: fc.array(addr, { maxLength: 20 }),
      }),
      fc.record({
        type: fc.constantFrom('v1-report' as const, 'v2-report' as const, 'leave' as const),
        group: addr,
      }),
      fc.record({
        type: fc.constant('v3-report' as const),
        records: fc.array(
          fc.record({
            recordType: fc.integer({ min: 1, max: 6 }),
            group: addr,
            sources: fc.array(addr, { maxLength: 8 }),
            auxData: fc
              .integer({ min: 0, max: 3 })
              .chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
          }),
          { maxLength: 5 },
        ),
      }),
    );
    fc.assert(
      fc.property(repr, (r) => {
        const bytes = emitted(r);
        assert.equal(IgmpView.check(bytes), undefined);
        assert.deepEqual(parsed(bytes), structuredClone(r));
      }),
      { numRuns: RUNS },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    assert.deepEqual(parseIgmp(new Uint8Array(7)), { ok: false, error: 'truncated' });
    const corrupt = messages[0]!.slice();
    corrupt[9]! ^= 1;
    assert.deepEqual(parseIgmp(corrupt), { ok: false, error: 'bad-checksum' });
    // RFC 3376 7.1: a query of 9 to 11 octets is neither v2 nor v3.
    assert.deepEqual(parseIgmp(withChecksum('11 64 0000 00000000 02 7d')), {
      ok: false,
      error: 'bad-length',
    });
    assert.deepEqual(parseIgmp(withChecksum('11 64 0000 00000000 02 7d 0001')), {
      ok: false,
      error: 'truncated',
    });
    assert.deepEqual(parseIgmp(withChecksum('1e 00 0000 00000000')), { ok: false, error: 'unknown-type' });
    // A report announcing 2 records that holds only 1; and one whose record's sources overrun.
    assert.deepEqual(parseIgmp(withChecksum('22 00 0000 0000 0002 02 00 0000 ef010203')), {
      ok: false,
      error: 'truncated',
    });
    assert.deepEqual(parseIgmp(withChecksum('22 00 0000 0000 0001 02 00 0001 ef010203')), {
      ok: false,
      error: 'truncated',
    });
    assert.deepEqual(parseIgmp(withChecksum('22 00 0000 0000 0001 02 01 0000 ef010203')), {
      ok: false,
      error: 'truncated',
    });
    assert.deepEqual(parsed(withChecksum('22 00 0000 0000 0001 02 00 0000 ef010203')), {
      type: 'v3-report',
      records: [rec(MODE_IS_EXCLUDE, '239.1.2.3')],
    });
    assertNeverThrows(parseIgmp, [messages[2]!, messages[8]!, messages[9]!]);
  });

  test('tshark: every message kind, with Router Alert, dissects cleanly', {
    skip: !tsharkAvailable(),
  }, () => {
    const group = ip('239.1.2.3');
    const all: [IgmpRepr, string][] = [
      [{ type: 'v2-query', maxRespTime: 100, group: 0 }, '224.0.0.1'],
      [{ type: 'v2-query', maxRespTime: 10, group }, '239.1.2.3'],
      [{ type: 'v2-query', maxRespTime: 0, group: 0 }, '224.0.0.1'],
      [
        {
          type: 'v3-query',
          maxRespCode: 100,
          group: 0,
          suppressRouterProcessing: false,
          qrv: 2,
          qqic: 125,
          sources: [],
        },
        '224.0.0.1',
      ],
      [
        {
          type: 'v3-query',
          maxRespCode: 0x90,
          group,
          suppressRouterProcessing: true,
          qrv: 2,
          qqic: 125,
          sources: [ip('10.0.0.1'), ip('10.0.0.2')],
        },
        '239.1.2.3',
      ],
      [{ type: 'v1-report', group }, '239.1.2.3'],
      [{ type: 'v2-report', group }, '239.1.2.3'],
      [{ type: 'leave', group }, '224.0.0.2'],
      [
        {
          type: 'v3-report',
          records: [1, 2, 3, 4, 5, 6].map((t) => rec(t, '239.1.2.3', t % 2 === 0 ? [] : ['10.0.0.1'])),
        },
        '224.0.0.22',
      ],
    ];
    const routerAlert = buildIpv4Options([{ type: 'router-alert', value: 0 }]);
    const frames = all.map(([r, dst]) => {
      const pb = PacketBuffer.alloc(MAX_HEADROOM + igmpLength(r), 0);
      emitIgmp(pb, r);
      return ipv4Frame(pb, {
        src: ip('10.200.0.1'),
        dst: ip(dst),
        protocol: IP_PROTOCOL_IGMP,
        ttl: 1,
        tos: 0xc0,
        options: routerAlert,
      });
    });
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, Array(frames.length).fill('eth:ethertype:ip:igmp:igmp'));
  });
});
