import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4, parseIpv6 } from '../../src/wire/address.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp, parseUdp, UDP_PROTOCOL, UdpView } from '../../src/wire/udp.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { ipv4Frame } from '../helpers/frames.ts';
import { ipv6Frame } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/udp.pcap (scripts/fixtures/udp.sh): datagrams sent by Linux between namespaces.
const frames = loadFixture('udp.pcap').map((p) => p.data);
const A4 = parseIpv4('10.200.0.1')!;
const B4 = parseIpv4('10.200.0.2')!;
const A6 = parseIpv6('fd00:200::1')!;
const B6 = parseIpv6('fd00:200::2')!;

/** The UDP part of an untagged Ethernet frame (IPv4 without options, or IPv6 without extensions). */
function udpOf(frame: Uint8Array): Uint8Array | undefined {
  const ethertype = (frame[12]! << 8) | frame[13]!;
  if (ethertype === 0x0800 && frame[23] === 17) return frame.subarray(14 + (frame[14]! & 0xf) * 4);
  if (ethertype === 0x86dd && frame[20] === 17) return frame.subarray(54);
  return undefined;
}
const datagrams = frames.map(udpOf).filter((d) => d !== undefined);

describe('UDP wire format', () => {
  test('golden: parses datagrams captured from Linux and re-emits the same bytes', () => {
    assert.equal(datagrams.length, 3);
    const text = datagrams.map((d) => new TextDecoder().decode(new UdpView(d).payload));
    assert.deepEqual(text, ['hello netstack', '', 'odd']);
    const ports = datagrams.map((d) => new UdpView(d).dstPort);
    assert.deepEqual(ports, [4000, 4001, 4002]);
    for (const [i, d] of datagrams.entries()) {
      const v = new UdpView(d);
      const v6 = i === 2;
      assert.ok(v6 ? v.verifyV6(A6, B6) : v.verifyV4(A4, B4), `checksum of datagram ${i}`);
      const pb = PacketBuffer.from(v.payload, 8);
      emitUdp(
        pb,
        v.srcPort,
        v.dstPort,
        v6 ? { kind: 'v6', src: A6, dst: B6 } : { kind: 'v4', src: A4, dst: B4 },
      );
      assert.deepEqual(pb.bytes(), d.subarray(0, v.length));
    }
  });

  test('round trip: emit then parse gives back ports and payload, and the checksum verifies', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.uint8Array({ maxLength: 1500 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (sp, dp, payload, src, dst) => {
          const pb = PacketBuffer.from(payload, 8);
          emitUdp(pb, sp, dp, { kind: 'v4', src, dst });
          const r = parseUdp(pb.bytes());
          assert.ok(r.ok);
          assert.equal(r.value.srcPort, sp);
          assert.equal(r.value.dstPort, dp);
          assert.deepEqual(r.value.payload, payload);
          assert.ok(new UdpView(pb.bytes()).verifyV4(src, dst));
          assert.notEqual(new UdpView(pb.bytes()).checksum, 0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    assert.deepEqual(parseUdp(new Uint8Array(7)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseUdp(Uint8Array.of(0, 1, 0, 2, 0, 4, 0, 0)), { ok: false, error: 'bad-length' });
    assert.deepEqual(parseUdp(Uint8Array.of(0, 1, 0, 2, 0, 9, 0, 0)), { ok: false, error: 'truncated' });
    assertNeverThrows(parseUdp, datagrams);
  });

  test('tshark: datagrams from the builder over IPv4 and IPv6 dissect with good checksums', {
    skip: !tsharkAvailable(),
  }, () => {
    const frames: Uint8Array[] = [];
    for (const size of [0, 1, 17, 512, 1472]) {
      const payload = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
      const pb4 = PacketBuffer.from(payload, MAX_HEADROOM);
      emitUdp(pb4, 40000 + size, 9, { kind: 'v4', src: A4, dst: B4 });
      frames.push(ipv4Frame(pb4, { src: A4, dst: B4, protocol: UDP_PROTOCOL, ttl: 64 }));
      const pb6 = PacketBuffer.from(payload, MAX_HEADROOM);
      emitUdp(pb6, 40000 + size, 9, { kind: 'v6', src: A6, dst: B6 });
      frames.push(ipv6Frame(pb6, { src: A6, dst: B6, nextHeader: UDP_PROTOCOL, hopLimit: 64 }));
    }
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    for (const [i, p] of protocols.entries()) {
      assert.ok(p.startsWith(i % 2 === 0 ? 'eth:ethertype:ip:udp' : 'eth:ethertype:ipv6:udp'), p);
    }
  });
});
