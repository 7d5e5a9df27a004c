import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIpv6 } from '../../src/wire/address.ts';
import {
  emitIcmpv6,
  ICMPV6_MLD_QUERY,
  Icmpv6View,
  IP_PROTOCOL_ICMPV6,
  parseIcmpv6,
} from '../../src/wire/icmpv6.ts';
import { Ipv6View } from '../../src/wire/ipv6.ts';
import {
  emitFragmentHeader,
  emitOptionsHeader,
  emitRoutingHeader,
  type Ipv6OptionRepr,
  NH_AH,
  NH_DEST_OPTS,
  NH_ESP,
  NH_FRAGMENT,
  NH_HOP_BY_HOP,
  NH_NO_NEXT_HEADER,
  NH_ROUTING,
  OPT_PAD1,
  OPT_PADN,
  OPT_ROUTER_ALERT,
  optionAction,
  optionMayChange,
  parseFragmentHeader,
  parseOptionsHeader,
  parseRoutingHeader,
  ROUTER_ALERT_MLD,
  ROUTING_TYPE_0,
  readOptions,
  routerAlertOption,
  routerAlertValue,
  walkExtensionHeaders,
} from '../../src/wire/ipv6-ext.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { ipv6Frame, ipv6PacketsOf } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// Fragments of `ping -6 -s 4000` (ipv6.pcap) and MLD reports with a Hop-by-Hop Router Alert (mld.pcap).
const ipv6Packets = ipv6PacketsOf(loadFixture('ipv6.pcap').map((p) => p.data));
const mldPackets = ipv6PacketsOf(loadFixture('mld.pcap').map((p) => p.data));
const A = parseIpv6('fd00:200::1')!;
const B = parseIpv6('fd00:200::2')!;
const bytes = (...b: number[]) => Uint8Array.of(...b);

/** A chain built by the builders, innermost first: what the walker must find. */
function builtChain(): Uint8Array {
  const pb = PacketBuffer.alloc(256, 0);
  emitIcmpv6(pb, { kind: 'echo-request', identifier: 7, sequence: 1, data: bytes(1, 2, 3) }, A, B);
  emitOptionsHeader(pb, IP_PROTOCOL_ICMPV6, [{ type: 0x9e, data: bytes(0xaa) }]);
  emitFragmentHeader(pb, { nextHeader: NH_DEST_OPTS, offset: 0, more: false, identification: 0xdeadbeef });
  emitRoutingHeader(pb, {
    nextHeader: NH_FRAGMENT,
    routingType: 2,
    segmentsLeft: 0,
    data: new Uint8Array(20),
  });
  emitOptionsHeader(pb, NH_ROUTING, []);
  emitOptionsHeader(pb, NH_DEST_OPTS, [routerAlertOption(ROUTER_ALERT_MLD)]);
  return pb.bytes();
}

describe('IPv6 extension headers', () => {
  test('golden: fragments of a 4000-byte echo request reassemble into a valid message', () => {
    const fromA = ipv6Packets.filter((p) => new Ipv6View(p).nextHeader === NH_FRAGMENT).slice(0, 3);
    const parts = fromA.map((p) => {
      const v = new Ipv6View(p);
      const chain = walkExtensionHeaders(v.nextHeader, v.payload);
      assert.ok(chain.ok);
      assert.equal(chain.value.headers.length, 1);
      assert.equal(chain.value.offset, 8);
      assert.equal(chain.value.protocol, IP_PROTOCOL_ICMPV6);
      const f = chain.value.fragment!;
      // Re-emit the Fragment header from its parsed form.
      const pb = PacketBuffer.alloc(8, 0);
      emitFragmentHeader(pb, f);
      assert.deepEqual(pb.bytes(), chain.value.headers[0]!.bytes);
      return { f, data: chain.value.payload };
    });
    assert.deepEqual(
      parts.map(({ f }) => [f.offset, f.more]),
      [
        [0, true],
        [1448, true],
        [2896, false],
      ],
    );
    assert.equal(new Set(parts.map(({ f }) => f.identification)).size, 1);
    const whole = new Uint8Array(4008);
    for (const { f, data } of parts) whole.set(data, f.offset);
    const echo = parseIcmpv6(whole);
    assert.ok(echo.ok && echo.value.kind === 'echo-request');
    assert.equal(echo.value.data.length, 4000);
    assert.ok(new Icmpv6View(whole).verify(A, B));
  });

  test('golden: MLD reports carry a Hop-by-Hop Router Alert (MLD), re-emitted identically', () => {
    const withHbh = mldPackets.filter((p) => new Ipv6View(p).nextHeader === NH_HOP_BY_HOP);
    // Every MLD message of the capture (RS and the DAD Neighbor Solicitation have none).
    assert.equal(withHbh.length, 23);
    for (const p of withHbh) {
      const v = new Ipv6View(p);
      const chain = walkExtensionHeaders(v.nextHeader, v.payload);
      assert.ok(chain.ok);
      assert.equal(chain.value.protocol, IP_PROTOCOL_ICMPV6);
      assert.equal(chain.value.fragment, undefined);
      const hbh = parseOptionsHeader(chain.value.headers[0]!.bytes);
      assert.ok(hbh.ok);
      assert.equal(routerAlertValue(hbh.value.options), ROUTER_ALERT_MLD);
      assert.equal(hbh.value.options[0]!.offset, 2);
      const pb = PacketBuffer.alloc(8, 0);
      emitOptionsHeader(pb, hbh.value.nextHeader, hbh.value.options);
      // Linux hosts pad with PadN as the builder does; the bridge querier pads with two Pad1.
      const original = chain.value.headers[0]!.bytes;
      if (chain.value.payload[0] === ICMPV6_MLD_QUERY) {
        assert.deepEqual([...original.subarray(6)], [OPT_PAD1, OPT_PAD1]);
        assert.deepEqual(parseOptionsHeader(pb.bytes()), hbh);
      } else {
        assert.deepEqual(pb.bytes(), original);
      }
    }
  });

  test('the walker goes through every header the builders make, in order', () => {
    const chain = walkExtensionHeaders(NH_HOP_BY_HOP, builtChain());
    assert.ok(chain.ok);
    assert.deepEqual(
      chain.value.headers.map((h) => [h.type, h.offset, h.bytes.length]),
      [
        [NH_HOP_BY_HOP, 0, 8],
        [NH_DEST_OPTS, 8, 8],
        [NH_ROUTING, 16, 24],
        [NH_FRAGMENT, 40, 8],
        [NH_DEST_OPTS, 48, 8],
      ],
    );
    assert.equal(chain.value.protocol, IP_PROTOCOL_ICMPV6);
    assert.equal(chain.value.offset, 56);
    assert.deepEqual(chain.value.fragment, {
      nextHeader: NH_DEST_OPTS,
      offset: 0,
      more: false,
      identification: 0xdeadbeef,
    });
    const routing = parseRoutingHeader(chain.value.headers[2]!.bytes);
    assert.ok(routing.ok);
    assert.deepEqual(
      [routing.value.routingType, routing.value.segmentsLeft, routing.value.data.length],
      [2, 0, 20],
    );
    const last = parseOptionsHeader(chain.value.headers[4]!.bytes);
    assert.ok(last.ok);
    assert.deepEqual(last.value.options, [{ type: 0x9e, data: bytes(0xaa), offset: 2 }]);
    const echo = parseIcmpv6(chain.value.payload);
    assert.ok(echo.ok && echo.value.kind === 'echo-request' && echo.value.identifier === 7);
  });

  test('the walker stops at a non-first fragment, ESP and No Next Header; AH lengths count 32-bit words', () => {
    const pb = PacketBuffer.alloc(64, 4);
    emitFragmentHeader(pb, { nextHeader: NH_ROUTING, offset: 8, more: true, identification: 1 });
    const frag = walkExtensionHeaders(NH_FRAGMENT, pb.bytes());
    assert.ok(frag.ok);
    assert.deepEqual([frag.value.protocol, frag.value.offset, frag.value.payload.length], [NH_ROUTING, 8, 4]);
    const esp = walkExtensionHeaders(NH_ESP, bytes(1, 2, 3, 4));
    assert.ok(esp.ok && esp.value.protocol === NH_ESP && esp.value.headers.length === 0);
    const none = walkExtensionHeaders(NH_DEST_OPTS, bytes(NH_NO_NEXT_HEADER, 0, 1, 4, 0, 0, 0, 0, 0xff));
    assert.ok(none.ok && none.value.protocol === NH_NO_NEXT_HEADER && none.value.offset === 8);
    // AH with Payload Len 4: (4 + 2) * 4 = 24 octets.
    const ah = new Uint8Array(26);
    ah[0] = 17;
    ah[1] = 4;
    const walked = walkExtensionHeaders(NH_AH, ah);
    assert.ok(walked.ok && walked.value.offset === 24 && walked.value.protocol === 17);
  });

  test('TLV options: padding skipped, action bits exposed, Router Alert checked', () => {
    const header = bytes(59, 1, OPT_PAD1, OPT_PADN, 1, 0, 0x3e, 2, 7, 8, 0xc2, 4, 0, 1, 0, 0);
    const opts = readOptions(header);
    assert.ok(opts.ok);
    assert.deepEqual(
      opts.value.map((o) => [o.type, [...o.data], o.offset]),
      [
        [0x3e, [7, 8], 6],
        [0xc2, [0, 1, 0, 0], 10],
      ],
    );
    assert.deepEqual([0x3e, 0x7e, 0xbe, 0xfe].map(optionAction), [
      'skip',
      'discard',
      'discard-send-icmp',
      'discard-send-icmp-unicast',
    ]);
    assert.deepEqual([0x3e, 0x1e].map(optionMayChange), [true, false]);
    assert.deepEqual(readOptions(bytes(59, 0, 0x3e, 5, 0, 0, 0, 0)), {
      ok: false,
      error: 'truncated-option',
    });
    assert.deepEqual(readOptions(bytes(59, 0, 0, 0, 0, 0, 0, 0x3e)), {
      ok: false,
      error: 'truncated-option',
    });
    assert.deepEqual(readOptions(bytes(59, 0, OPT_ROUTER_ALERT, 1, 0, 1, 0, 0)), {
      ok: false,
      error: 'bad-router-alert',
    });
    assert.equal(routerAlertValue([]), undefined);
  });

  test('builders pad with Pad1 or PadN to 8 octets', () => {
    const pb = PacketBuffer.alloc(16, 0);
    emitOptionsHeader(pb, 6, [{ type: 0x1e, data: bytes(1, 2, 3) }]);
    assert.deepEqual([...pb.bytes()], [6, 0, 0x1e, 3, 1, 2, 3, OPT_PAD1]);
    const pb2 = PacketBuffer.alloc(16, 0);
    emitOptionsHeader(pb2, 6, []);
    assert.deepEqual([...pb2.bytes()], [6, 0, OPT_PADN, 4, 0, 0, 0, 0]);
    assert.throws(() =>
      emitRoutingHeader(PacketBuffer.alloc(64, 0), { ...routing0(), data: new Uint8Array(3) }),
    );
    assert.throws(() =>
      emitFragmentHeader(PacketBuffer.alloc(8, 0), {
        nextHeader: 6,
        offset: 3,
        more: false,
        identification: 0,
      }),
    );
  });

  test('round trip: options headers, routing and fragment headers', () => {
    const option = fc.record({
      type: fc.integer({ min: 2, max: 255 }).filter((t) => t !== OPT_ROUTER_ALERT),
      data: fc.uint8Array({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.array(option, { maxLength: 6 }), (nh, options) => {
        const pb = PacketBuffer.alloc(512, 0);
        emitOptionsHeader(pb, nh, options);
        assert.equal(pb.length % 8, 0);
        const r = parseOptionsHeader(pb.bytes());
        assert.ok(r.ok);
        assert.equal(r.value.nextHeader, nh);
        assert.deepEqual(
          r.value.options.map(({ type, data }): Ipv6OptionRepr => ({ type, data })),
          options.map(({ type, data }) => ({ type, data })),
        );
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 8191 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 30 }),
        (nextHeader, units, more, identification, segmentsLeft, words) => {
          const f = { nextHeader, offset: units * 8, more, identification };
          const pb = PacketBuffer.alloc(8, 0);
          emitFragmentHeader(pb, f);
          assert.deepEqual(parseFragmentHeader(pb.bytes()), { ok: true, value: f });
          const r = {
            nextHeader,
            routingType: ROUTING_TYPE_0,
            segmentsLeft,
            data: new Uint8Array(4 + 8 * words).fill(9),
          };
          const rb = PacketBuffer.alloc(256, 0);
          emitRoutingHeader(rb, r);
          assert.deepEqual(parseRoutingHeader(rb.bytes()), { ok: true, value: r });
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('malformed chains: typed errors, never a throw', () => {
    const chain = builtChain();
    assert.deepEqual(walkExtensionHeaders(NH_HOP_BY_HOP, chain.subarray(0, 20)), {
      ok: false,
      error: 'truncated',
    });
    assert.deepEqual(walkExtensionHeaders(NH_FRAGMENT, bytes(6, 0, 0, 0)), { ok: false, error: 'truncated' });
    assert.deepEqual(walkExtensionHeaders(NH_AH, bytes(6, 9, 0, 0, 0, 0, 0, 0)), {
      ok: false,
      error: 'truncated',
    });
    // RFC 8200 4.1: Hop-by-Hop only right after the IPv6 header.
    assert.deepEqual(
      walkExtensionHeaders(NH_DEST_OPTS, bytes(NH_HOP_BY_HOP, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0)),
      {
        ok: false,
        error: 'misplaced-hop-by-hop',
      },
    );
    assert.deepEqual(walkExtensionHeaders(NH_HOP_BY_HOP, chain, 4), { ok: false, error: 'too-many-headers' });
    const loop = new Uint8Array(8 * 40);
    for (let i = 0; i < loop.length; i += 8) loop.set([NH_DEST_OPTS, 0, OPT_PADN, 4], i);
    assert.deepEqual(walkExtensionHeaders(NH_DEST_OPTS, loop), { ok: false, error: 'too-many-headers' });
    assert.deepEqual(parseOptionsHeader(bytes(6, 1, 0, 0, 0, 0, 0, 0)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseRoutingHeader(bytes(6)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseFragmentHeader(bytes(6, 0, 0, 0, 0, 0, 0)), { ok: false, error: 'truncated' });
    assertNeverThrows(
      (b) => walkExtensionHeaders(b[0] ?? 0, b.subarray(1)),
      [chain, ...mldPackets.slice(0, 2)],
    );
    assertNeverThrows(parseOptionsHeader, [chain.subarray(0, 8)]);
    assertNeverThrows(parseRoutingHeader);
  });

  test('tshark: every extension header dissects cleanly', (t) => {
    if (!tsharkAvailable()) return t.skip('tshark missing');
    const ip = { src: A, dst: B, hopLimit: 64 };
    const echo = (pb: PacketBuffer) =>
      emitIcmpv6(
        pb,
        { kind: 'echo-request', identifier: 1, sequence: 2, data: new Uint8Array(24).fill(0x61) },
        A,
        B,
      );
    const frames: Uint8Array[] = [];
    // Hop-by-Hop with Router Alert and an unknown skippable option, then Destination Options.
    let pb = PacketBuffer.alloc(512, 0);
    echo(pb);
    emitOptionsHeader(pb, IP_PROTOCOL_ICMPV6, [{ type: 0x1e, data: bytes(1, 2, 3, 4, 5) }]);
    emitOptionsHeader(pb, NH_DEST_OPTS, [routerAlertOption(ROUTER_ALERT_MLD)]);
    frames.push(ipv6Frame(pb, { ...ip, nextHeader: NH_HOP_BY_HOP }));
    // Routing header type 0 with two addresses, all visited.
    pb = PacketBuffer.alloc(512, 0);
    echo(pb);
    emitRoutingHeader(pb, routing0());
    frames.push(ipv6Frame(pb, { ...ip, nextHeader: NH_ROUTING }));
    // An echo request in two fragments.
    const whole = PacketBuffer.alloc(512, 0);
    echo(whole);
    const msg = whole.bytes();
    const fragments = [
      { data: msg.subarray(0, 16), offset: 0, more: true },
      { data: msg.subarray(16), offset: 16, more: false },
    ];
    for (const f of fragments) {
      pb = PacketBuffer.from(f.data, 128);
      emitFragmentHeader(pb, {
        nextHeader: IP_PROTOCOL_ICMPV6,
        offset: f.offset,
        more: f.more,
        identification: 77,
      });
      frames.push(ipv6Frame(pb, { ...ip, nextHeader: NH_FRAGMENT }));
    }
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, [
      'eth:ethertype:ipv6:ipv6.hopopts:ipv6.dstopts:icmpv6:data',
      'eth:ethertype:ipv6:ipv6.routing:icmpv6:data',
      'eth:ethertype:ipv6:ipv6.fraghdr:data',
      'eth:ethertype:ipv6:ipv6.fraghdr:icmpv6:data',
    ]);
  });
});

/** RFC 5095: a type 0 header (recognisable so it can be refused), two addresses, none left. */
function routing0() {
  const data = new Uint8Array(4 + 32);
  data.set(A, 4);
  data.set(B, 20);
  return { nextHeader: IP_PROTOCOL_ICMPV6, routingType: ROUTING_TYPE_0, segmentsLeft: 0, data };
}
