import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4 } from '../../src/wire/address.ts';
import {
  emitIcmpv4,
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_ECHO_REQUEST,
  type Icmpv4Repr,
  Icmpv4View,
  icmpv4Length,
  parseIcmpv4,
  TIME_EXCEEDED_REASSEMBLY,
  TIME_EXCEEDED_TTL,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
} from '../../src/wire/icmpv4.ts';
import { emitIpv4, IP_PROTOCOL_ICMP, IP_PROTOCOL_UDP, Ipv4View } from '../../src/wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp, UdpView } from '../../src/wire/udp.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { ipv4Frame, ipv4PacketsOf } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/ipv4.pcap (scripts/fixtures/ipv4.sh): the unfragmented ICMP messages in it.
const packets = ipv4PacketsOf(loadFixture('ipv4.pcap').map((p) => p.data)).map((b) => new Ipv4View(b));
const messages = packets
  .filter((v) => v.protocol === IP_PROTOCOL_ICMP && !v.isFragment)
  .map((v) => v.payload);
const A = parseIpv4('10.200.0.1')!;
const B = parseIpv4('10.200.0.2')!;
const C = parseIpv4('10.201.0.2')!;

function parsed(bytes: Uint8Array): Icmpv4Repr {
  const r = parseIcmpv4(bytes);
  assert.ok(r.ok, `parse: ${r.ok ? '' : r.error}`);
  return r.value;
}

function emitted(repr: Icmpv4Repr): Uint8Array {
  const pb = PacketBuffer.alloc(icmpv4Length(repr), 0);
  emitIcmpv4(pb, repr);
  assert.equal(pb.headroom, 0);
  return pb.bytes();
}

/** The first 28 octets of a UDP datagram from B to A, as an ICMP error about it would quote. */
function quotedUdp(): Uint8Array {
  const pb = PacketBuffer.from(new TextEncoder().encode('some payload'), 28);
  emitUdp(pb, 4000, 53, { kind: 'v4', src: B, dst: A });
  emitIpv4(pb, { src: B, dst: A, protocol: IP_PROTOCOL_UDP, ttl: 64, id: 99 });
  return pb.bytes().subarray(0, 28);
}

describe('ICMPv4 wire format', () => {
  test('golden: echo, port unreachable, time exceeded and fragmentation needed from Linux', () => {
    assert.equal(messages.length, 11);
    const reprs = messages.map(parsed);
    assert.deepEqual(
      reprs.map((r) => r.type),
      [
        'echo-request',
        'echo-reply',
        'echo-request',
        'echo-reply',
        'echo-request',
        'echo-reply',
        'dest-unreachable',
        'echo-request',
        'time-exceeded',
        'echo-request',
        'dest-unreachable',
      ],
    );
    const [request, reply] = reprs;
    assert.ok(request?.type === 'echo-request' && reply?.type === 'echo-reply');
    assert.deepEqual([reply.id, reply.seq, reply.data], [request.id, 1, request.data]);
    assert.match(new TextDecoder().decode(request.data), /netsnetsnets/);
    for (const [i, m] of messages.entries()) assert.deepEqual(emitted(reprs[i]!), m, `message ${i}`);

    // Port unreachable: the original datagram is A's UDP to B's port 9.
    const unreach = new Icmpv4View(messages[6]!);
    assert.deepEqual(
      [unreach.type, unreach.code, unreach.isError],
      [ICMPV4_DEST_UNREACHABLE, UNREACH_PORT, true],
    );
    const original = unreach.original!;
    assert.deepEqual([original.src, original.dst, original.protocol], [A, B, IP_PROTOCOL_UDP]);
    assert.equal(new UdpView(original.payload).dstPort, 9);
    // Time exceeded from the router B, quoting A's echo request with TTL 1 towards C.
    const exceeded = new Icmpv4View(messages[8]!);
    assert.equal(exceeded.code, TIME_EXCEEDED_TTL);
    assert.deepEqual([exceeded.original!.ttl, exceeded.original!.dst], [1, C]);
    const quotedEcho = new Icmpv4View(exceeded.original!.payload.subarray(0, 8));
    assert.equal(quotedEcho.type, ICMPV4_ECHO_REQUEST);
    assert.equal(quotedEcho.echoId, new Icmpv4View(messages[7]!).echoId);
    // Fragmentation needed (RFC 1191): the next-hop MTU of the B-C link.
    const tooBig = parsed(messages[10]!);
    assert.deepEqual(tooBig.type === 'dest-unreachable' && [tooBig.code, tooBig.nextHopMtu], [
      UNREACH_FRAG_NEEDED,
      1000,
    ]);
    assert.equal(new Icmpv4View(messages[0]!).original, undefined);
  });

  test('round trip: emit then parse gives back every message kind', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u8 = fc.integer({ min: 0, max: 255 });
    const body = fc.uint8Array({ maxLength: 200 });
    const repr: fc.Arbitrary<Icmpv4Repr> = fc.oneof(
      fc.record({
        type: fc.constantFrom('echo-request' as const, 'echo-reply' as const),
        id: u16,
        seq: u16,
        data: body,
      }),
      fc.record({
        type: fc.constant('dest-unreachable' as const),
        code: u8,
        nextHopMtu: u16,
        original: body,
      }),
      fc.record({ type: fc.constant('time-exceeded' as const), code: u8, original: body }),
      fc.record({ type: fc.constant('parameter-problem' as const), code: u8, pointer: u8, original: body }),
      fc.record({
        type: fc.constant('redirect' as const),
        code: u8,
        gateway: fc.integer({ min: 0, max: 0xffff_ffff }),
        original: body,
      }),
      fc.record({
        type: fc.constant('other' as const),
        icmpType: u8.filter((t) => ![0, 3, 5, 8, 11, 12].includes(t)),
        code: u8,
        rest: fc.integer({ min: 0, max: 0xffff_ffff }),
        body,
      }),
    );
    fc.assert(
      fc.property(repr, (r) => {
        const bytes = emitted(r);
        assert.equal(Icmpv4View.check(bytes), undefined);
        assert.deepEqual(parsed(bytes), { ...r });
      }),
      { numRuns: RUNS },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    assert.deepEqual(parseIcmpv4(new Uint8Array(7)), { ok: false, error: 'truncated' });
    const corrupt = messages[0]!.slice();
    corrupt[20]! ^= 1;
    assert.deepEqual(parseIcmpv4(corrupt), { ok: false, error: 'bad-checksum' });
    // An error whose body is not an IPv4 header has no original view.
    const junk = emitted({ type: 'time-exceeded', code: 0, original: new Uint8Array(28) });
    assert.equal(new Icmpv4View(junk).original, undefined);
    assertNeverThrows(parseIcmpv4, [messages[0]!, messages[6]!]);
    assertNeverThrows((b) => new Icmpv4View(b).original?.payload, [messages[6]!, messages[8]!]);
  });

  test('tshark: every message kind from the builder dissects cleanly', { skip: !tsharkAvailable() }, () => {
    const original = quotedUdp();
    const data = new TextEncoder().encode('netstack echo data');
    const reprs: Icmpv4Repr[] = [
      { type: 'echo-request', id: 0x1234, seq: 1, data },
      { type: 'echo-reply', id: 0x1234, seq: 1, data },
      { type: 'dest-unreachable', code: UNREACH_HOST, nextHopMtu: 0, original },
      { type: 'dest-unreachable', code: UNREACH_PROTOCOL, nextHopMtu: 0, original },
      { type: 'dest-unreachable', code: UNREACH_PORT, nextHopMtu: 0, original },
      { type: 'dest-unreachable', code: UNREACH_FRAG_NEEDED, nextHopMtu: 1280, original },
      { type: 'time-exceeded', code: TIME_EXCEEDED_TTL, original },
      { type: 'time-exceeded', code: TIME_EXCEEDED_REASSEMBLY, original },
      { type: 'parameter-problem', code: 0, pointer: 20, original },
      { type: 'redirect', code: 1, gateway: C, original },
      // Timestamp request (RFC 792): originate, receive and transmit timestamps.
      { type: 'other', icmpType: 13, code: 0, rest: 0x0001_0001, body: new Uint8Array(12) },
    ];
    const frames = reprs.map((r, i) => {
      const pb = PacketBuffer.alloc(MAX_HEADROOM + icmpv4Length(r), 0);
      emitIcmpv4(pb, r);
      return ipv4Frame(pb, { src: A, dst: B, protocol: IP_PROTOCOL_ICMP, ttl: 64, id: i + 1 });
    });
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    assert.deepEqual(protocols.slice(0, 2), Array(2).fill('eth:ethertype:ip:icmp:data'));
    assert.deepEqual(protocols.slice(2, 10), Array(8).fill('eth:ethertype:ip:icmp:ip:udp'));
    assert.equal(protocols[10], 'eth:ethertype:ip:icmp');
  });
});
