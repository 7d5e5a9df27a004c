import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ipv6ToString, parseIpv6 } from '../../src/wire/address.ts';
import {
  emitIcmpv6,
  ICMPV6_ERROR_MAX_INVOKING,
  type Icmpv6Repr,
  Icmpv6View,
  IP_PROTOCOL_ICMPV6,
  icmpv6IsError,
  PARAM_UNRECOGNIZED_NEXT_HEADER,
  parseIcmpv6,
  TIME_EXCEEDED_HOP_LIMIT,
  UNREACH_NO_ROUTE,
  UNREACH_PORT,
} from '../../src/wire/icmpv6.ts';
import { emitIpv6, Ipv6View } from '../../src/wire/ipv6.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp, UDP_PROTOCOL } from '../../src/wire/udp.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { icmpv6MessagesOf, messageFrame6 } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/ipv6.pcap (scripts/fixtures/ipv6.sh).
const samples = icmpv6MessagesOf(loadFixture('ipv6.pcap').map((p) => p.data));
const A = parseIpv6('fd00:200::1')!;
const B = parseIpv6('fd00:200::2')!;

/** Re-emits a parsed message and returns the bytes. */
function reemit(repr: Icmpv6Repr, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const pb = PacketBuffer.alloc(2048, 0);
  emitIcmpv6(pb, repr, src, dst);
  return pb.bytes();
}

/** A UDP datagram from B to A in an IPv6 packet: the invoking packet of test errors. */
function invokingPacket(): Uint8Array {
  const pb = PacketBuffer.from(new TextEncoder().encode('invoking'), 64);
  emitUdp(pb, 4000, 33434, { kind: 'v6', src: B, dst: A });
  emitIpv6(pb, { src: B, dst: A, nextHeader: UDP_PROTOCOL, hopLimit: 1 });
  return pb.bytes();
}

describe('ICMPv6 wire format', () => {
  test('golden: echo, Port Unreachable and Packet Too Big from Linux, checksums and re-emission', () => {
    const kinds = samples.map((s) => parseIcmpv6(s.message)).map((r) => (r.ok ? r.value.kind : r.error));
    assert.deepEqual(
      kinds.filter((k) => k !== 'other'),
      ['echo-request', 'echo-reply', 'destination-unreachable', 'echo-request', 'packet-too-big'],
    );
    for (const s of samples) {
      assert.ok(new Icmpv6View(s.message).verify(s.ip.src, s.ip.dst), 'checksum');
      const r = parseIcmpv6(s.message);
      assert.ok(r.ok);
      if (r.value.kind === 'other') continue;
      assert.deepEqual(reemit(r.value, s.ip.src, s.ip.dst), s.message);
    }
    const [request, reply, unreachable, , tooBig] = samples
      .map((s) => parseIcmpv6(s.message))
      .filter((r) => r.ok && r.value.kind !== 'other')
      .map((r) => (r.ok ? r.value : undefined));
    assert.ok(request?.kind === 'echo-request' && reply?.kind === 'echo-reply');
    assert.equal(request.identifier, reply.identifier);
    assert.equal(request.sequence, 1);
    // ping -p 6e6574737461636b fills the data with "netstack" after its 16-octet timestamp.
    assert.equal(new TextDecoder().decode(request.data.subarray(16, 24)), 'netstack');
    assert.ok(unreachable?.kind === 'destination-unreachable' && unreachable.code === UNREACH_PORT);
    const invoking = new Ipv6View(unreachable.invoking);
    assert.equal(ipv6ToString(invoking.src), 'fd00:200::1');
    assert.equal(invoking.nextHeader, UDP_PROTOCOL);
    assert.ok(tooBig?.kind === 'packet-too-big');
    assert.equal(tooBig.mtu, 1280);
    assert.equal(ipv6ToString(new Ipv6View(tooBig.invoking).dst), 'fd00:201::2');
    assert.equal(tooBig.invoking.length, 1280 - 48);
  });

  test('round trip: every RFC 4443 message', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const code = fc.integer({ min: 0, max: 255 });
    const data = fc.uint8Array({ maxLength: 1232 });
    const repr: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const),
        identifier: u16,
        sequence: u16,
        data,
      }),
      fc.record({ kind: fc.constant('destination-unreachable' as const), code, invoking: data }),
      fc.record({ kind: fc.constant('packet-too-big' as const), mtu: u32, invoking: data }),
      fc.record({ kind: fc.constant('time-exceeded' as const), code, invoking: data }),
      fc.record({ kind: fc.constant('parameter-problem' as const), code, pointer: u32, invoking: data }),
      fc.record({
        kind: fc.constant('other' as const),
        type: fc.integer({ min: 5, max: 127 }),
        code,
        body: fc.uint8Array({ maxLength: 64 }),
      }),
    );
    fc.assert(
      fc.property(repr, (r) => {
        const bytes = reemit(r, A, B);
        assert.ok(new Icmpv6View(bytes).verify(A, B));
        assert.equal(new Icmpv6View(bytes).verify(A, parseIpv6('fd00:200::3')!), false);
        const parsed = parseIcmpv6(bytes);
        assert.ok(parsed.ok);
        assert.deepEqual({ ...parsed.value }, { ...r });
      }),
      { numRuns: RUNS },
    );
  });

  test('errors carry at most what fits in the minimum MTU (RFC 4443 2.4 c)', () => {
    const big = new Uint8Array(3000).fill(7);
    const bytes = reemit({ kind: 'time-exceeded', code: TIME_EXCEEDED_HOP_LIMIT, invoking: big }, A, B);
    assert.equal(bytes.length, 8 + ICMPV6_ERROR_MAX_INVOKING);
    assert.equal(40 + bytes.length, 1280);
    assert.deepEqual([icmpv6IsError(1), icmpv6IsError(127), icmpv6IsError(128)], [true, true, false]);
  });

  test('malformed: typed errors, never a throw', () => {
    assert.deepEqual(parseIcmpv6(Uint8Array.of(128, 0, 0)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseIcmpv6(Uint8Array.of(1, 0, 0, 0, 0, 0, 0)), { ok: false, error: 'truncated' });
    const other = parseIcmpv6(Uint8Array.of(200, 1, 0, 0));
    assert.ok(other.ok && other.value.kind === 'other' && other.value.body.length === 0);
    const corrupt = samples[0]!.message.slice();
    corrupt[9]! ^= 1;
    assert.equal(new Icmpv6View(corrupt).verify(samples[0]!.ip.src, samples[0]!.ip.dst), false);
    assertNeverThrows(
      parseIcmpv6,
      samples.slice(0, 3).map((s) => s.message),
    );
  });

  test('tshark: every RFC 4443 message dissects cleanly', (t) => {
    if (!tsharkAvailable()) return t.skip('tshark missing');
    const invoking = invokingPacket();
    const reprs: Icmpv6Repr[] = [
      { kind: 'echo-request', identifier: 0x1234, sequence: 1, data: new Uint8Array(32).fill(0x41) },
      { kind: 'echo-reply', identifier: 0x1234, sequence: 1, data: new Uint8Array(32).fill(0x41) },
      { kind: 'destination-unreachable', code: UNREACH_NO_ROUTE, invoking },
      { kind: 'destination-unreachable', code: UNREACH_PORT, invoking },
      { kind: 'packet-too-big', mtu: 1280, invoking },
      { kind: 'time-exceeded', code: TIME_EXCEEDED_HOP_LIMIT, invoking },
      { kind: 'parameter-problem', code: PARAM_UNRECOGNIZED_NEXT_HEADER, pointer: 6, invoking },
    ];
    const frames = reprs.map((r) =>
      messageFrame6((pb) => emitIcmpv6(pb, r, A, B), {
        src: A,
        dst: B,
        nextHeader: IP_PROTOCOL_ICMPV6,
        hopLimit: 64,
      }),
    );
    const { problems, protocols } = dissect(frames);
    assert.deepEqual(problems, []);
    const error = 'eth:ethertype:ipv6:icmpv6:ipv6:udp:data';
    assert.deepEqual(protocols, [
      'eth:ethertype:ipv6:icmpv6:data',
      'eth:ethertype:ipv6:icmpv6:data',
      error,
      error,
      error,
      error,
      error,
    ]);
  });
});
