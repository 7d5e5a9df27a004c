import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAC_BROADCAST } from '../../src/wire/address.ts';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  EthernetView,
  emitEthernet,
  parseEthernet,
} from '../../src/wire/ethernet.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { MAC_A, MAC_B } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/vlan.pcap (scripts/fixtures/vlan.sh): ARP requests arping sent with 802.1Q tags.
const tagged = loadFixture('vlan.pcap').map((p) => p.data);
// Untagged frames of every kind Linux sent in the other captures.
const untagged = ['arp.pcap', 'ipv4.pcap', 'igmp.pcap'].flatMap((f) => loadFixture(f).map((p) => p.data));

/** Re-emits the header of a parsed frame in front of its payload. */
function reemit(frame: Uint8Array): Uint8Array {
  const r = parseEthernet(frame);
  assert.ok(r.ok);
  const pb = PacketBuffer.from(r.value.payload, 18);
  emitEthernet(pb, r.value);
  return pb.bytes();
}

describe('Ethernet wire format', () => {
  test('golden: 802.1Q tags from arping, with priority and the highest usable VLAN id', () => {
    assert.equal(tagged.length, 2);
    const views = tagged.map((f) => new EthernetView(f));
    assert.deepEqual(
      views.map((v) => v.vlan),
      [
        { pcp: 3, dei: false, id: 5 },
        { pcp: 0, dei: false, id: 4094 },
      ],
    );
    for (const v of views) {
      assert.equal(v.tagged, true);
      assert.equal(v.ethertype, ETHERTYPE_ARP);
      assert.equal(v.headerLength, 18);
      assert.equal(v.dst, MAC_BROADCAST);
      assert.equal(v.payload.length, tagged[0]!.length - 18);
      assert.deepEqual(reemit(v.bytes), v.bytes);
    }
  });

  test('golden: untagged frames parse and re-emit to the same bytes', () => {
    assert.ok(untagged.length > 30);
    for (const frame of untagged) {
      const v = new EthernetView(frame);
      assert.equal(EthernetView.check(frame), undefined);
      assert.equal(v.vlan, undefined);
      assert.equal(v.headerLength, 14);
      assert.ok([ETHERTYPE_ARP, ETHERTYPE_IPV4].includes(v.ethertype));
      assert.deepEqual(reemit(frame), frame);
    }
  });

  test('round trip: emit then parse gives back addresses, type, tag and payload', () => {
    const mac = fc.integer({ min: 0, max: 0xffff_ffff_ffff });
    const vlan = fc.option(
      fc.record({
        pcp: fc.integer({ min: 0, max: 7 }),
        dei: fc.boolean(),
        id: fc.integer({ min: 0, max: 4095 }),
      }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        mac,
        mac,
        fc.integer({ min: 0x600, max: 0xffff }),
        vlan,
        fc.uint8Array({ maxLength: 100 }),
        (dst, src, ethertype, tag, payload) => {
          fc.pre(ethertype !== 0x8100);
          const pb = PacketBuffer.from(payload, 18);
          emitEthernet(pb, { dst, src, ethertype, ...(tag ? { vlan: tag } : {}) });
          assert.equal(pb.length, payload.length + (tag ? 18 : 14));
          const r = parseEthernet(pb.bytes());
          assert.ok(r.ok);
          assert.deepEqual(r.value, { dst, src, ethertype, payload, ...(tag ? { vlan: { ...tag } } : {}) });
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    assert.deepEqual(parseEthernet(new Uint8Array(13)), { ok: false, error: 'truncated' });
    const shortTag = new Uint8Array(17);
    shortTag.set([0x81, 0x00], 12);
    assert.deepEqual(parseEthernet(shortTag), { ok: false, error: 'truncated' });
    assert.equal(EthernetView.check(new Uint8Array(14)), undefined);
    assertNeverThrows(parseEthernet, [...tagged, untagged[0]!]);
  });

  test('tshark: frames from the builder dissect cleanly, tagged or not', { skip: !tsharkAvailable() }, () => {
    const payload = new TextEncoder().encode('netstack ethernet payload, long enough for the minimum');
    const frames = [undefined, { pcp: 5, dei: true, id: 100 }, { pcp: 0, dei: false, id: 0 }].map((vlan) => {
      const pb = PacketBuffer.from(payload, 18);
      emitEthernet(pb, { dst: MAC_B, src: MAC_A, ethertype: 0x88b5, ...(vlan ? { vlan } : {}) });
      return pb.bytes();
    });
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols, [
      'eth:ethertype:data',
      'eth:ethertype:vlan:ethertype:data',
      'eth:ethertype:vlan:ethertype:data',
    ]);
  });
});
