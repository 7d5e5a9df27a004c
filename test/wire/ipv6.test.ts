import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ipv6ToString, parseIpv6 } from '../../src/wire/address.ts';
import { IP_PROTOCOL_ICMPV6 } from '../../src/wire/icmpv6.ts';
import { emitIpv6, IPV6_HEADER_LEN, Ipv6View, parseIpv6Packet } from '../../src/wire/ipv6.ts';
import { NH_FRAGMENT, NH_NO_NEXT_HEADER } from '../../src/wire/ipv6-ext.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp, UDP_PROTOCOL } from '../../src/wire/udp.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { ipv6Frame, ipv6FrameOf, ipv6PacketsOf } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/ipv6.pcap (scripts/fixtures/ipv6.sh): pings (one fragmented), a Port Unreachable,
// a Packet Too Big, and the MLD/RS traffic of B turning into a router.
const packets = ipv6PacketsOf(loadFixture('ipv6.pcap').map((p) => p.data));
const A = parseIpv6('fd00:200::1')!;
const B = parseIpv6('fd00:200::2')!;
const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('IPv6 wire format', () => {
  test('golden: parses packets captured from Linux and re-emits the same header', () => {
    assert.equal(packets.length, 17);
    const first = new Ipv6View(packets[0]!);
    assert.equal(first.version, 6);
    assert.equal(ipv6ToString(first.src), 'fd00:200::1');
    assert.deepEqual(first.dstBytes, B);
    assert.equal(first.nextHeader, IP_PROTOCOL_ICMPV6);
    assert.equal(first.hopLimit, 64);
    assert.equal(first.payloadLength, 64);
    assert.equal(first.trafficClass, 0);
    // The fragmented echo request: three fragments from A, each with a Fragment header.
    const frags = packets.filter((p) => new Ipv6View(p).nextHeader === NH_FRAGMENT);
    assert.equal(frags.length, 6);
    assert.deepEqual(
      frags.map((p) => new Ipv6View(p).payloadLength),
      [1456, 1456, 1120, 1456, 1456, 1120],
    );
    for (const p of packets) {
      const r = parseIpv6Packet(p);
      assert.ok(r.ok);
      assert.equal(r.value.payload.length, new Ipv6View(p).payloadLength);
      const pb = PacketBuffer.from(r.value.payload, IPV6_HEADER_LEN);
      emitIpv6(pb, r.value);
      assert.deepEqual(pb.bytes(), p);
    }
  });

  test('round trip: emit then parse gives back every field', () => {
    fc.assert(
      fc.property(
        addr,
        addr,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xfffff }),
        fc.uint8Array({ maxLength: 1500 }),
        (src, dst, nextHeader, hopLimit, trafficClass, flowLabel, payload) => {
          const pb = PacketBuffer.from(payload, IPV6_HEADER_LEN);
          emitIpv6(pb, { src, dst, nextHeader, hopLimit, trafficClass, flowLabel });
          const r = parseIpv6Packet(pb.bytes());
          assert.ok(r.ok);
          assert.deepEqual(r.value, { src, dst, nextHeader, hopLimit, trafficClass, flowLabel, payload });
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('trailing bytes (Ethernet padding) are outside the payload', () => {
    const pb = PacketBuffer.alloc(IPV6_HEADER_LEN, 3);
    emitIpv6(pb, { src: A, dst: B, nextHeader: NH_NO_NEXT_HEADER, hopLimit: 1 });
    const padded = new Uint8Array(pb.length + 5);
    padded.set(pb.bytes());
    assert.equal(new Ipv6View(padded).payload.length, 3);
  });

  test('malformed: typed errors, never a throw', () => {
    const pb = PacketBuffer.alloc(IPV6_HEADER_LEN, 8);
    emitIpv6(pb, { src: A, dst: B, nextHeader: UDP_PROTOCOL, hopLimit: 64 });
    const good = pb.bytes();
    assert.deepEqual(parseIpv6Packet(good.subarray(0, 39)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseIpv6Packet(good.subarray(0, 47)), { ok: false, error: 'truncated' });
    const v4 = good.slice();
    v4[0] = 0x45;
    assert.deepEqual(parseIpv6Packet(v4), { ok: false, error: 'bad-version' });
    assert.throws(() =>
      emitIpv6(PacketBuffer.alloc(40, 65536), { src: A, dst: B, nextHeader: 59, hopLimit: 1 }),
    );
    assertNeverThrows(parseIpv6Packet, packets.slice(0, 3));
  });

  test('tshark: built packets dissect cleanly', (t) => {
    if (!tsharkAvailable()) return t.skip('tshark missing');
    const udp = PacketBuffer.from(new TextEncoder().encode('netstack'), MAX_HEADROOM);
    emitUdp(udp, 5000, 4000, { kind: 'v6', src: A, dst: B });
    const frames = [
      ipv6Frame(udp, {
        src: A,
        dst: B,
        nextHeader: UDP_PROTOCOL,
        hopLimit: 64,
        trafficClass: 0xb8,
        flowLabel: 0x12345,
      }),
      ipv6FrameOf(new Uint8Array(0), {
        src: A,
        dst: parseIpv6('ff02::1')!,
        nextHeader: NH_NO_NEXT_HEADER,
        hopLimit: 1,
      }),
    ];
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, ['eth:ethertype:ipv6:udp:data', 'eth:ethertype:ipv6']);
  });
});
