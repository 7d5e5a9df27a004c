import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ipv6ToString, parseIpv6 } from '../../src/wire/address.ts';
import {
  DHCPV6_CLIENT_PORT,
  DHCPV6_MSG,
  DHCPV6_SERVER_PORT,
  type Dhcpv6Option,
  type Dhcpv6Repr,
  emitDhcpv6,
  findOption,
  parseDhcpv6,
} from '../../src/wire/dhcpv6.ts';
import { IP_PROTOCOL_UDP } from '../../src/wire/ipv4.ts';
import { emitUdp } from '../../src/wire/udp.ts';
import { hex, loadFixture } from '../helpers/fixtures.ts';
import { ipv6Frame } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

// test/fixtures/dhcp6.pcap (scripts/fixtures/dhcp6.sh): ISC dhclient -6 and dnsmasq 2.90.
// Solicit, Advertise, Request, Reply, Release, Reply, then stateless Information-request, Reply.
// Untagged Ethernet, IPv6 without extension headers, UDP.
const frames = loadFixture('dhcp6.pcap').map((p) => p.data);
const messages = frames.map((f) => f.subarray(14 + 40 + 8));
const ip6 = (s: string) => parseIpv6(s)!;

function parsed(bytes: Uint8Array): Dhcpv6Repr {
  const r = parseDhcpv6(bytes);
  assert.ok(r.ok, `parse failed: ${r.ok ? '' : r.error}`);
  return r.value;
}

describe('DHCPv6 messages (RFC 8415)', () => {
  test('golden: the captured exchange parses to what tshark showed', () => {
    assert.equal(messages.length, 8);
    const types = messages.map((m) => parsed(m).type);
    assert.deepEqual(types, [
      DHCPV6_MSG.solicit,
      DHCPV6_MSG.advertise,
      DHCPV6_MSG.request,
      DHCPV6_MSG.reply,
      DHCPV6_MSG.release,
      DHCPV6_MSG.reply,
      DHCPV6_MSG.informationRequest,
      DHCPV6_MSG.reply,
    ]);
    const solicit = parsed(messages[0]!);
    assert.equal(solicit.transactionId, 0x20c71b);
    assert.equal(hex(findOption(solicit.options, 'client-id')!.duid), '000100013299622ca27b08b52c28');
    assert.ok(findOption(solicit.options, 'elapsed-time') !== undefined);
    assert.ok(findOption(solicit.options, 'oro')!.codes.includes(23));
    const advertise = parsed(messages[1]!);
    assert.equal(advertise.transactionId, 0x20c71b);
    const ia = findOption(advertise.options, 'ia-na')!;
    assert.equal(ia.t1, 1800);
    assert.equal(ia.t2, 3150);
    const addr = findOption(ia.options, 'ia-addr')!;
    assert.equal(ipv6ToString(addr.address), 'fd00:200::16e');
    assert.equal(addr.preferredLifetime, 3600);
    assert.equal(addr.validLifetime, 3600);
    const reply = parsed(messages[3]!);
    assert.deepEqual(findOption(reply.options, 'dns-servers')!.servers.map(ipv6ToString), [
      'fd00:200::1',
      'fd00:200::53',
    ]);
    assert.deepEqual(findOption(reply.options, 'domain-list')!.domains, ['fx.test', 'example.org']);
    assert.equal(findOption(reply.options, 'server-id')!.duid.length, 10);
    const info = parsed(messages[6]!);
    assert.equal(findOption(info.options, 'ia-na'), undefined);
    assert.equal(hex(findOption(info.options, 'client-id')!.duid), '00030001a27b08b52c28');
    const infoReply = parsed(messages[7]!);
    assert.equal(findOption(infoReply.options, 'dns-servers')!.servers.length, 2);
  });

  test('golden: every captured message re-emits to the same bytes', () => {
    for (const m of messages) assert.equal(hex(emitDhcpv6(parsed(m)).bytes()), hex(m));
  });

  test('malformed input is refused with a reason', () => {
    assert.deepEqual(parseDhcpv6(new Uint8Array(3)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseDhcpv6(Uint8Array.of(12, 0, 0, 0)), { ok: false, error: 'relay-message' });
    assert.deepEqual(parseDhcpv6(Uint8Array.of(7, 0, 0, 1, 0, 1, 0, 9, 1)), {
      ok: false,
      error: 'bad-option-length',
    });
    // DNS servers not a multiple of 16; rapid commit with data; a compressed name.
    assert.deepEqual(parseDhcpv6(Uint8Array.of(7, 0, 0, 1, 0, 23, 0, 1, 9)), {
      ok: false,
      error: 'bad-option',
    });
    assert.deepEqual(parseDhcpv6(Uint8Array.of(7, 0, 0, 1, 0, 14, 0, 1, 9)), {
      ok: false,
      error: 'bad-option',
    });
    assert.deepEqual(parseDhcpv6(Uint8Array.of(7, 0, 0, 1, 0, 24, 0, 2, 0xc0, 4)), {
      ok: false,
      error: 'bad-option',
    });
    // Unknown options are kept.
    const r = parsed(Uint8Array.of(7, 0, 0, 1, 0, 99, 0, 2, 5, 6));
    assert.deepEqual(r.options, [{ kind: 'unknown', code: 99, data: Uint8Array.of(5, 6) }]);
  });

  test('round trip: a random message parses back to itself', () => {
    const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
    const u32 = fc.nat({ max: 0xffff_ffff });
    const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
    const status = fc.record({
      kind: fc.constant('status-code' as const),
      code: fc.nat({ max: 6 }),
      message: fc.stringMatching(/^[ -~]{0,20}$/),
    });
    const iaAddr = fc.record({
      kind: fc.constant('ia-addr' as const),
      address: addr,
      preferredLifetime: u32,
      validLifetime: u32,
      options: fc.array(status, { maxLength: 1 }),
    });
    const option: fc.Arbitrary<Dhcpv6Option> = fc.oneof(
      fc.record({
        kind: fc.constant('client-id' as const),
        duid: fc.uint8Array({ minLength: 2, maxLength: 20 }),
      }),
      fc.record({
        kind: fc.constant('server-id' as const),
        duid: fc.uint8Array({ minLength: 2, maxLength: 20 }),
      }),
      fc.record({
        kind: fc.constant('ia-na' as const),
        iaid: u32,
        t1: u32,
        t2: u32,
        options: fc.array(fc.oneof(iaAddr, status), { maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('oro' as const),
        codes: fc.array(fc.nat({ max: 0xffff }), { maxLength: 5 }),
      }),
      fc.record({ kind: fc.constant('preference' as const), value: fc.nat({ max: 255 }) }),
      fc.record({ kind: fc.constant('elapsed-time' as const), value: fc.nat({ max: 0xffff }) }),
      status,
      fc.constant({ kind: 'rapid-commit' as const }),
      fc.record({ kind: fc.constant('dns-servers' as const), servers: fc.array(addr, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('domain-list' as const), domains: fc.array(name, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('information-refresh-time' as const), seconds: u32 }),
      fc.record({
        kind: fc.constant('unknown' as const),
        code: fc.integer({ min: 100, max: 0xffff }),
        data: fc.uint8Array({ maxLength: 10 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: 1, max: 11 }),
          transactionId: fc.nat({ max: 0xffffff }),
          options: fc.array(option, { maxLength: 6 }),
        }),
        (repr) => {
          // fast-check records have no prototype; a structured clone is a plain object.
          assert.deepEqual(parsed(emitDhcpv6(repr).bytes()), structuredClone(repr));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('no throw: random bytes, truncations and flips of the captured messages', () => {
    assertNeverThrows(parseDhcpv6, messages);
  });

  test('tshark: messages from the builder, in UDP/IPv6/Ethernet, dissect cleanly', {
    skip: !tsharkAvailable(),
  }, () => {
    const client = ip6('fe80::1');
    const server = ip6('fe80::2');
    const duid = Uint8Array.of(0, 3, 0, 1, 2, 0, 0, 0, 0, 1);
    const ia: Dhcpv6Option = {
      kind: 'ia-na',
      iaid: 1,
      t1: 1800,
      t2: 2880,
      options: [
        {
          kind: 'ia-addr',
          address: ip6('fd00::100'),
          preferredLifetime: 3600,
          validLifetime: 7200,
          options: [],
        },
      ],
    };
    const reprs: Array<[Dhcpv6Repr, boolean]> = [
      [
        {
          type: DHCPV6_MSG.solicit,
          transactionId: 0x123456,
          options: [
            { kind: 'client-id', duid },
            { kind: 'elapsed-time', value: 0 },
            { kind: 'rapid-commit' },
            { kind: 'oro', codes: [23, 24] },
            { kind: 'ia-na', iaid: 1, t1: 0, t2: 0, options: [] },
          ],
        },
        true,
      ],
      [
        {
          type: DHCPV6_MSG.reply,
          transactionId: 0x123456,
          options: [
            { kind: 'client-id', duid },
            { kind: 'server-id', duid: Uint8Array.of(0, 3, 0, 1, 2, 0, 0, 0, 0, 2) },
            ia,
            { kind: 'dns-servers', servers: [ip6('fd00::53')] },
            { kind: 'domain-list', domains: ['example.test'] },
            { kind: 'status-code', code: 0, message: 'ok' },
          ],
        },
        false,
      ],
      [
        {
          type: DHCPV6_MSG.informationRequest,
          transactionId: 1,
          options: [
            { kind: 'client-id', duid },
            { kind: 'elapsed-time', value: 100 },
            { kind: 'oro', codes: [23, 24, 32] },
          ],
        },
        true,
      ],
    ];
    const out = reprs.map(([repr, fromClient]) => {
      const pb = emitDhcpv6(repr);
      const [src, dst] = fromClient ? [client, ip6('ff02::1:2')] : [server, client];
      emitUdp(
        pb,
        fromClient ? DHCPV6_CLIENT_PORT : DHCPV6_SERVER_PORT,
        fromClient ? DHCPV6_SERVER_PORT : DHCPV6_CLIENT_PORT,
        { kind: 'v6', src, dst },
      );
      return ipv6Frame(pb, { src, dst, nextHeader: IP_PROTOCOL_UDP, hopLimit: 1 }).slice();
    });
    const { problems, protocols } = dissect(out);
    assert.deepEqual(problems, []);
    assert.equal(protocols.length, 3);
    for (const p of protocols) assert.match(p, /:udp:dhcpv6$/);
  });
});
