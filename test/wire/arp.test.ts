import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAC_BROADCAST, parseIpv4 } from '../../src/wire/address.ts';
import { ARP_PACKET_LEN, ARP_REPLY, ARP_REQUEST, ArpView, emitArp, parseArp } from '../../src/wire/arp.ts';
import { EthernetView } from '../../src/wire/ethernet.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { arpFrame, MAC_A, MAC_B } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/arp.pcap (scripts/fixtures/arp.sh): the kernel's request/reply, arping's request,
// probe and announcement with B's replies. vlan.pcap holds two more requests, tagged.
const frames = loadFixture('arp.pcap').map((p) => p.data);
const taggedFrames = loadFixture('vlan.pcap').map((p) => p.data);
const packets = [...frames, ...taggedFrames].map((f) => new EthernetView(f).payload);
const A = parseIpv4('10.200.0.1')!;
const B = parseIpv4('10.200.0.2')!;

describe('ARP wire format', () => {
  test('golden: requests, replies, an RFC 5227 probe and announcement captured from Linux', () => {
    assert.equal(frames.length, 7);
    const reprs = packets.map((p) => {
      const r = parseArp(p);
      assert.ok(r.ok);
      return r.value;
    });
    const macA = reprs[0]!.senderMac;
    const macB = reprs[1]!.senderMac;
    assert.equal(new EthernetView(frames[0]!).src, macA);
    assert.equal(new EthernetView(frames[1]!).src, macB);
    assert.deepEqual(reprs[0], {
      operation: ARP_REQUEST,
      senderMac: macA,
      senderIp: A,
      targetMac: 0,
      targetIp: B,
    });
    assert.deepEqual(reprs[1], {
      operation: ARP_REPLY,
      senderMac: macB,
      senderIp: B,
      targetMac: macA,
      targetIp: A,
    });
    // Probe: sender IP 0.0.0.0 (RFC 5227 2.1.1).
    assert.equal(reprs[4]!.operation, ARP_REQUEST);
    assert.equal(reprs[4]!.senderIp, 0);
    assert.equal(reprs[4]!.targetIp, B);
    // Announcement: sender IP = target IP (RFC 5227 2.3).
    assert.equal(reprs[6]!.operation, ARP_REQUEST);
    assert.equal(reprs[6]!.senderIp, A);
    assert.equal(reprs[6]!.targetIp, A);
    assert.deepEqual(
      reprs.slice(7).map((r) => [r.operation, r.senderIp, r.targetIp]),
      [
        [ARP_REQUEST, A, B],
        [ARP_REQUEST, A, B],
      ],
    );
    for (const [i, p] of packets.entries()) {
      const out = PacketBuffer.alloc(ARP_PACKET_LEN, 0);
      emitArp(out, reprs[i]!);
      assert.deepEqual(out.bytes(), p.subarray(0, ARP_PACKET_LEN), `packet ${i}`);
    }
    // The kernel's request and reply re-emitted as whole frames (arping pads its frames).
    assert.deepEqual(arpFrame(reprs[0]!), frames[0]);
    assert.deepEqual(arpFrame(reprs[1]!), frames[1]);
  });

  test('round trip: emit then parse gives back every field', () => {
    const mac = fc.integer({ min: 0, max: 0xffff_ffff_ffff });
    const ip = fc.integer({ min: 0, max: 0xffff_ffff });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        mac,
        ip,
        mac,
        ip,
        (operation, senderMac, senderIp, targetMac, targetIp) => {
          const repr = { operation, senderMac, senderIp, targetMac, targetIp };
          const pb = PacketBuffer.alloc(ARP_PACKET_LEN, 0);
          emitArp(pb, repr);
          assert.deepEqual(parseArp(pb.bytes()), { ok: true, value: repr });
          assert.equal(new ArpView(pb.bytes()).targetIp, targetIp);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    const good = packets[0]!.subarray(0, ARP_PACKET_LEN);
    const withByte = (i: number, v: number) => {
      const copy = good.slice();
      copy[i] = v;
      return parseArp(copy);
    };
    assert.deepEqual(parseArp(good.subarray(0, 27)), { ok: false, error: 'truncated' });
    assert.deepEqual(withByte(1, 6), { ok: false, error: 'unsupported-hardware' });
    assert.deepEqual(withByte(2, 0x86), { ok: false, error: 'unsupported-protocol' });
    assert.deepEqual(withByte(4, 8), { ok: false, error: 'bad-address-length' });
    assert.deepEqual(withByte(5, 16), { ok: false, error: 'bad-address-length' });
    assertNeverThrows(parseArp, [good]);
  });

  test('tshark: request, reply, probe, announcement and a tagged request dissect cleanly', {
    skip: !tsharkAvailable(),
  }, () => {
    const frames = [
      arpFrame({ operation: ARP_REQUEST, senderMac: MAC_A, senderIp: A, targetMac: 0, targetIp: B }),
      arpFrame({ operation: ARP_REPLY, senderMac: MAC_B, senderIp: B, targetMac: MAC_A, targetIp: A }),
      arpFrame({ operation: ARP_REQUEST, senderMac: MAC_A, senderIp: 0, targetMac: 0, targetIp: B }),
      arpFrame({ operation: ARP_REQUEST, senderMac: MAC_A, senderIp: A, targetMac: 0, targetIp: A }),
      arpFrame(
        { operation: ARP_REQUEST, senderMac: MAC_A, senderIp: A, targetMac: 0, targetIp: B },
        { vlan: { pcp: 1, dei: false, id: 7 } },
      ),
    ];
    assert.equal(new EthernetView(frames[0]!).dst, MAC_BROADCAST);
    assert.equal(new EthernetView(frames[1]!).dst, MAC_A);
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, [...Array(4).fill('eth:ethertype:arp'), 'eth:ethertype:vlan:ethertype:arp']);
  });
});
