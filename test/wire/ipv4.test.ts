import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4 } from '../../src/wire/address.ts';
import { internetChecksum } from '../../src/wire/checksum.ts';
import {
  decrementIpv4Ttl,
  emitIpv4,
  IP_PROTOCOL_ICMP,
  IP_PROTOCOL_UDP,
  IPV4_HEADER_LEN,
  Ipv4View,
  parseIpv4Packet,
} from '../../src/wire/ipv4.ts';
import { buildIpv4Options, type Ipv4Option, parseIpv4Options } from '../../src/wire/ipv4-options.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp } from '../../src/wire/udp.ts';
import { fromHex, loadFixture } from '../helpers/fixtures.ts';
import { ipv4Frame, ipv4PacketsOf } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/ipv4.pcap (scripts/fixtures/ipv4.sh): pings (plain, fragmented, record route,
// timestamp), a port unreachable, a time exceeded and a fragmentation needed from a router.
const ipv4 = ipv4PacketsOf(loadFixture('ipv4.pcap').map((p) => p.data));
// test/fixtures/igmp.pcap (scripts/fixtures/igmp.sh): IGMP, always with the Router Alert option.
const igmp = ipv4PacketsOf(loadFixture('igmp.pcap').map((p) => p.data));
const A = parseIpv4('10.200.0.1')!;
const B = parseIpv4('10.200.0.2')!;

function parsed(bytes: Uint8Array) {
  const r = parseIpv4Packet(bytes);
  assert.ok(r.ok, `parse: ${r.ok ? '' : r.error}`);
  return r.value;
}

function options(bytes: Uint8Array): Ipv4Option[] {
  const r = parseIpv4Options(bytes);
  assert.ok(r.ok, `options: ${r.ok ? '' : r.error}`);
  return r.value;
}

/** Fragments of one UDP datagram of `size` bytes, `chunk` bytes of it per fragment. */
function fragments(size: number, chunk: number, id: number): Uint8Array[] {
  const pb = PacketBuffer.from(
    new Uint8Array(size).map((_, i) => i),
    8,
  );
  emitUdp(pb, 5000, 6000, { kind: 'v4', src: A, dst: B });
  const datagram = pb.bytes();
  const out: Uint8Array[] = [];
  for (let off = 0; off < datagram.length; off += chunk) {
    const part = datagram.subarray(off, Math.min(off + chunk, datagram.length));
    const moreFragments = off + chunk < datagram.length;
    out.push(
      ipv4Frame(PacketBuffer.from(part, MAX_HEADROOM), {
        src: A,
        dst: B,
        protocol: IP_PROTOCOL_UDP,
        ttl: 64,
        id,
        moreFragments,
        fragmentOffset: off,
      }),
    );
  }
  return out;
}

describe('IPv4 wire format', () => {
  test('golden: every packet captured from Linux parses and re-emits to the same bytes', () => {
    assert.equal(ipv4.length, 18);
    assert.equal(igmp.length, 10);
    for (const [i, bytes] of [...ipv4, ...igmp].entries()) {
      const r = parsed(bytes);
      const pb = PacketBuffer.from(r.payload, 60);
      emitIpv4(pb, r);
      assert.deepEqual(pb.bytes(), bytes, `packet ${i}`);
    }
  });

  test('golden: fields of pings, fragments and errors', () => {
    const echo = parsed(ipv4[0]!);
    assert.deepEqual(
      [echo.src, echo.dst, echo.protocol, echo.ttl, echo.dontFragment, echo.moreFragments, echo.tos],
      [A, B, IP_PROTOCOL_ICMP, 64, true, false, 0],
    );
    assert.equal(echo.options.length, 0);
    assert.equal(echo.payload.length, 64);
    // ping -s 4000: 4008 bytes of ICMP in fragments of 1480, 1480 and 1048, one identification.
    const frags = ipv4.slice(2, 5).map((b) => new Ipv4View(b));
    assert.deepEqual(
      frags.map((f) => [f.fragmentOffset, f.moreFragments, f.isFragment, f.payload.length]),
      [
        [0, true, true, 1480],
        [1480, true, true, 1480],
        [2960, false, true, 1048],
      ],
    );
    assert.equal(new Set(frags.map((f) => f.id)).size, 1);
    assert.equal(frags[0]!.dontFragment, false);
    assert.equal(new Ipv4View(ipv4[0]!).isFragment, false);
    // ping -t 1 towards C.
    assert.equal(parsed(ipv4[14]!).ttl, 1);
    assert.equal(new Ipv4View(ipv4[14]!).reservedFlag, false);
  });

  test('golden: record route, timestamp and router alert options', () => {
    const rrRequest = new Ipv4View(ipv4[8]!);
    assert.equal(rrRequest.headerLength, 60);
    const zeros = (n: number) => new Array<number>(n).fill(0);
    assert.deepEqual(options(rrRequest.options), [
      { type: 'nop' },
      { type: 'record-route', pointer: 8, addresses: [A, ...zeros(8)] },
    ]);
    // B appends its address on the way out and once more on the reply path.
    assert.deepEqual(options(new Ipv4View(ipv4[9]!).options), [
      { type: 'record-route', pointer: 16, addresses: [A, B, B, ...zeros(6)] },
      { type: 'end' },
    ]);
    const [tsRequest] = options(new Ipv4View(ipv4[10]!).options);
    assert.ok(tsRequest?.type === 'timestamp');
    assert.deepEqual(
      [tsRequest.pointer, tsRequest.flag, tsRequest.overflow, tsRequest.entries.length],
      [9, 0, 0, 9],
    );
    assert.ok(tsRequest.entries[0]!.timestamp > 0 && tsRequest.entries[0]!.timestamp < 86_400_000);
    const [tsReply] = options(new Ipv4View(ipv4[11]!).options);
    assert.ok(tsReply?.type === 'timestamp');
    assert.equal(tsReply.pointer, 17);
    assert.ok(tsReply.entries[2]!.timestamp >= tsReply.entries[0]!.timestamp);
    for (const bytes of igmp) {
      assert.deepEqual(options(new Ipv4View(bytes).options), [{ type: 'router-alert', value: 0 }]);
      assert.equal(new Ipv4View(bytes).ttl, 1);
    }
    // The builder gives back the captured bytes (emitIpv4 pads to 4 octets with End of Option List).
    for (const bytes of [...ipv4.slice(8, 12), igmp[0]!]) {
      const raw = new Ipv4View(bytes).options;
      const built = buildIpv4Options(options(raw));
      assert.deepEqual(built, raw.subarray(0, built.length));
      assert.ok(raw.subarray(built.length).every((b) => b === 0));
    }
  });

  test('round trip: emit then parse gives back every field, options included', () => {
    fc.assert(
      fc.property(
        fc.record({
          src: fc.integer({ min: 0, max: 0xffff_ffff }),
          dst: fc.integer({ min: 0, max: 0xffff_ffff }),
          protocol: fc.integer({ min: 0, max: 255 }),
          ttl: fc.integer({ min: 0, max: 255 }),
          id: fc.integer({ min: 0, max: 0xffff }),
          tos: fc.integer({ min: 0, max: 255 }),
          dontFragment: fc.boolean(),
          moreFragments: fc.boolean(),
          fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((n) => n * 8),
        }),
        optionList,
        fc.uint8Array({ maxLength: 300 }),
        (p, opts, payload) => {
          const raw = buildIpv4Options(opts);
          const pb = PacketBuffer.from(payload, 60);
          emitIpv4(pb, { ...p, options: raw });
          const r = parsed(pb.bytes());
          assert.deepEqual(
            { ...r, options: undefined, payload: undefined },
            { ...p, options: undefined, payload: undefined },
          );
          assert.deepEqual(r.payload, payload);
          assert.equal(r.options.length % 4, 0);
          assert.deepEqual(r.options.subarray(0, raw.length), raw);
          assert.deepEqual(options(raw), opts);
          assert.equal(internetChecksum(pb.bytes(), 0, IPV4_HEADER_LEN + r.options.length), 0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('decrementIpv4Ttl patches the checksum as a full recompute would (RFC 1624)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (ttl, id, src) => {
          const pb = PacketBuffer.alloc(20, 0);
          emitIpv4(pb, { src, dst: B, protocol: IP_PROTOCOL_UDP, ttl, id });
          const bytes = pb.bytes();
          decrementIpv4Ttl(bytes);
          const expected = PacketBuffer.alloc(20, 0);
          emitIpv4(expected, { src, dst: B, protocol: IP_PROTOCOL_UDP, ttl: ttl - 1, id });
          assert.deepEqual(bytes, expected.bytes());
          assert.equal(Ipv4View.check(bytes), undefined);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('malformed packets: typed errors, never a throw', () => {
    const good = ipv4[0]!;
    const edit = (f: (b: Uint8Array) => void) => {
      const copy = good.slice();
      f(copy);
      return parseIpv4Packet(copy);
    };
    assert.deepEqual(parseIpv4Packet(good.subarray(0, 19)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseIpv4Packet(good.subarray(0, 50)), { ok: false, error: 'truncated' });
    assert.deepEqual(
      edit((b) => (b[0] = 0x65)),
      { ok: false, error: 'bad-version' },
    );
    assert.deepEqual(
      edit((b) => (b[0] = 0x44)),
      { ok: false, error: 'bad-header-length' },
    );
    assert.deepEqual(parseIpv4Packet(ipv4[8]!.subarray(0, 40)), { ok: false, error: 'truncated' });
    assert.deepEqual(
      edit((b) => (b[3] = 19)),
      { ok: false, error: 'bad-total-length' },
    );
    assert.deepEqual(
      edit((b) => (b[8] = 63)),
      { ok: false, error: 'bad-checksum' },
    );
    // Bytes past the total length (Ethernet padding) are not part of the packet.
    const padded = new Uint8Array(good.length + 10);
    padded.set(good);
    assert.deepEqual(parsed(padded).payload, parsed(good).payload);
    // The header alone passes checkHeader: the shape of an original datagram quoted by ICMP.
    assert.equal(Ipv4View.checkHeader(good.subarray(0, 28)), undefined);
    assert.equal(Ipv4View.checkHeader(ipv4[8]!.subarray(0, 59)), 'truncated');
    assertNeverThrows(parseIpv4Packet, [good, ipv4[8]!, igmp[0]!]);
  });

  test('malformed options: typed errors with the offset of the option at fault', () => {
    const cases: [string, string, number][] = [
      ['07', 'option-truncated', 0],
      ['01 07 08 04', 'option-truncated', 1],
      ['01 01 83 01', 'bad-option-length', 2],
      ['07 06 04 00 00 00', 'bad-option-length', 0],
      ['07 07 03 00 00 00 00', 'bad-option-pointer', 0],
      ['01 44 07 05 00 00 00 00', 'bad-option-length', 1],
      ['44 08 05 02 00 00 00 00', 'bad-timestamp-flag', 0],
      ['44 08 04 00 00 00 00 00', 'bad-option-pointer', 0],
      ['44 10 05 01 00 00 00 00 00 00 00 00 00 00 00 00', 'bad-option-length', 0],
      ['94 03 00', 'bad-option-length', 0],
      ['94 06 00 00 00 00', 'bad-option-length', 0],
    ];
    for (const [hex, error, offset] of cases) {
      assert.deepEqual(parseIpv4Options(fromHex(hex)), { ok: false, error, offset }, hex);
    }
    // Anything after End of Option List is padding, even if it looks like a broken option.
    assert.deepEqual(options(fromHex('94 04 00 00 00 07 01 ff')), [
      { type: 'router-alert', value: 0 },
      { type: 'end' },
    ]);
    assert.deepEqual(options(fromHex('55 03 aa 01')), [
      { type: 'unknown', optionType: 0x55, data: fromHex('aa') },
      { type: 'nop' },
    ]);
    assertNeverThrows(
      parseIpv4Options,
      ipv4.slice(8, 12).map((b) => new Ipv4View(b).options),
    );
  });

  test('tshark: plain, optioned, fragmented and tagged packets from the builder dissect cleanly', {
    skip: !tsharkAvailable(),
  }, () => {
    const udp = (
      opts: Ipv4Option[],
      extra: object = {},
      vlan?: { pcp: number; dei: boolean; id: number },
    ) => {
      const pb = PacketBuffer.from(new TextEncoder().encode('netstack ipv4'), MAX_HEADROOM);
      emitUdp(pb, 5000, 6000, { kind: 'v4', src: A, dst: B });
      return ipv4Frame(
        pb,
        { src: A, dst: B, protocol: IP_PROTOCOL_UDP, ttl: 64, options: buildIpv4Options(opts), ...extra },
        undefined,
        vlan,
      );
    };
    const frames = [
      udp([], { id: 7, tos: 0xb8, dontFragment: true }),
      udp([{ type: 'nop' }, { type: 'record-route', pointer: 8, addresses: [A, 0, 0, 0, 0, 0, 0, 0, 0] }]),
      udp([
        {
          type: 'timestamp',
          pointer: 13,
          overflow: 0,
          flag: 1,
          entries: [
            { address: A, timestamp: 1000 },
            { address: 0, timestamp: 0 },
          ],
        },
      ]),
      udp([
        {
          type: 'timestamp',
          pointer: 9,
          overflow: 2,
          flag: 0,
          entries: [{ timestamp: 5 }, { timestamp: 0 }],
        },
      ]),
      udp([{ type: 'router-alert', value: 0 }]),
      udp([{ type: 'nop' }, { type: 'nop' }, { type: 'end' }]),
      udp([], { id: 9 }, { pcp: 0, dei: false, id: 5 }),
      ...fragments(3000, 1480, 0x1234),
    ];
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols.slice(0, 6), Array(6).fill('eth:ethertype:ip:udp:data'));
    assert.equal(protocols[6], 'eth:ethertype:vlan:ethertype:ip:udp:data');
    assert.deepEqual(protocols.slice(7), [
      'eth:ethertype:ip:data',
      'eth:ethertype:ip:data',
      'eth:ethertype:ip:udp:data',
    ]);
  });
});

const ip = fc.integer({ min: 0, max: 0xffff_ffff });
/** Options that fit in 40 bytes; End of Option List, when present, is last. */
const optionList: fc.Arbitrary<Ipv4Option[]> = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constant<Ipv4Option>({ type: 'nop' }),
        fc.record({
          type: fc.constantFrom(
            'record-route' as const,
            'loose-source-route' as const,
            'strict-source-route' as const,
          ),
          pointer: fc.integer({ min: 4, max: 255 }),
          addresses: fc.array(ip, { maxLength: 9 }),
        }),
        fc.oneof(
          fc.record({
            type: fc.constant('timestamp' as const),
            pointer: fc.integer({ min: 5, max: 255 }),
            overflow: fc.integer({ min: 0, max: 15 }),
            flag: fc.constant(0 as const),
            entries: fc.array(fc.record({ timestamp: ip }), { maxLength: 9 }),
          }),
          fc.record({
            type: fc.constant('timestamp' as const),
            pointer: fc.integer({ min: 5, max: 255 }),
            overflow: fc.integer({ min: 0, max: 15 }),
            flag: fc.constantFrom(1 as const, 3 as const),
            entries: fc.array(fc.record({ address: ip, timestamp: ip }), { maxLength: 4 }),
          }),
        ),
        fc.record({ type: fc.constant('router-alert' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
        fc.record({
          type: fc.constant('unknown' as const),
          optionType: fc.integer({ min: 2, max: 255 }).filter((t) => ![7, 68, 131, 137, 148].includes(t)),
          data: fc.uint8Array({ maxLength: 10 }),
        }),
      ),
      { maxLength: 6 },
    ),
    fc.boolean(),
  )
  .map(([opts, end]) => (end ? [...opts, { type: 'end' as const }] : opts).map((o) => structuredClone(o)))
  .filter((opts) => buildIpv4Options(opts).length <= 40);
