import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4, parseIpv6 } from '../../src/wire/address.ts';
import {
  DNS_CLASS_IN,
  DNS_PORT,
  DNS_RCODE,
  DNS_TYPE,
  type DnsMessage,
  type DnsRdata,
  type DnsRecord,
  DnsView,
  dnsFullRcode,
  dnsLength,
  dnsQuery,
  dnsResponse,
  emitDns,
  parseDns,
} from '../../src/wire/dns.ts';
import { dnsNamesEqual, labelsToName, nameToLabels, readName } from '../../src/wire/dns-name.ts';
import { IP_PROTOCOL_UDP } from '../../src/wire/ipv4.ts';
import { emitUdp } from '../../src/wire/udp.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { ipv4Frame } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

const ip4 = (s: string) => parseIpv4(s)!;
const ip6 = (s: string) => parseIpv6(s)!;
const ascii = (s: string) => new TextEncoder().encode(s);

// test/fixtures/dns.pcap (scripts/fixtures/dns.sh): dig asking dnsmasq, query then response, nine
// times. Untagged Ethernet, IPv4 without options, UDP.
const frames = loadFixture('dns.pcap').map((p) => p.data);
const messages = frames.map((f) => f.subarray(14 + (f[14]! & 0xf) * 4 + 8));

function parsed(bytes: Uint8Array): DnsMessage {
  const r = parseDns(bytes);
  assert.ok(r.ok, `parse failed: ${r.ok ? '' : r.error}`);
  return r.value;
}

function errorOf(bytes: Uint8Array): string {
  const r = parseDns(bytes);
  return r.ok ? 'ok' : r.error;
}

const rec = (name: string, data: DnsRdata, ttl = 300): DnsRecord => ({
  name,
  class: DNS_CLASS_IN,
  ttl,
  data,
});

/** A 12-octet header with the given counts, then `body`. */
function message(counts: [number, number, number, number], body: number[]): Uint8Array {
  const h = [0x12, 0x34, 0x81, 0x80];
  for (const c of counts) h.push(c >>> 8, c & 0xff);
  return Uint8Array.from([...h, ...body]);
}
/** The wire form of a name without compression. */
const wireName = (name: string) =>
  nameToLabels(name)!
    .flatMap((l) => [l.length, ...l])
    .concat(0);
const QUESTION_A = [...wireName('a.example'), 0, 1, 0, 1];

describe('DNS wire format', () => {
  test('golden: dig queries and dnsmasq responses parse to the expected records', () => {
    assert.equal(messages.length, 18);
    const all = messages.map(parsed);
    for (let i = 0; i < all.length; i += 2) {
      const [q, r] = [all[i]!, all[i + 1]!];
      assert.equal(q.qr, false);
      assert.equal(r.qr, true);
      assert.equal(r.id, q.id);
      assert.equal(q.rd, true);
      assert.deepEqual(r.questions, q.questions);
      assert.equal(q.questions.length, 1);
    }
    const responses = all.filter((m) => m.qr);
    const answers = (i: number) => responses[i]!.answers.map((a) => [a.name, a.ttl, a.data]);
    // 1. A, without EDNS.
    assert.equal(all[0]!.edns, undefined);
    assert.deepEqual(all[0]!.questions, [{ name: 'host.fx.test', type: DNS_TYPE.A, class: DNS_CLASS_IN }]);
    assert.deepEqual(answers(0), [['host.fx.test', 300, { type: 'A', address: ip4('10.200.0.10') }]]);
    assert.equal(responses[0]!.aa, true);
    assert.equal(responses[0]!.ra, true);
    // 2. AAAA, EDNS with a 1232-octet payload and no cookie.
    assert.deepEqual(all[2]!.edns, {
      udpPayloadSize: 1232,
      extendedRcode: 0,
      version: 0,
      dnssecOk: false,
      options: [],
    });
    assert.deepEqual(answers(1), [['host.fx.test', 300, { type: 'AAAA', address: ip6('fd00:200::10') }]]);
    // 3. CNAME with +dnssec: the DO bit, and dig's client cookie (RFC 7873, option 10, 8 octets).
    assert.equal(all[4]!.edns?.dnssecOk, true);
    assert.deepEqual(
      all[4]!.edns?.options.map((o) => [o.code, o.data.length]),
      [[10, 8]],
    );
    assert.deepEqual(answers(2), [['www.fx.test', 300, { type: 'CNAME', name: 'host.fx.test' }]]);
    // 4. A through a CNAME.
    assert.deepEqual(answers(3), [
      ['www.fx.test', 300, { type: 'CNAME', name: 'host.fx.test' }],
      ['host.fx.test', 300, { type: 'A', address: ip4('10.200.0.10') }],
    ]);
    // 5. TXT with three strings, one empty.
    assert.deepEqual(answers(4), [
      [
        'txt.fx.test',
        300,
        { type: 'TXT', strings: [ascii('v=spf1 -all'), ascii('second string'), ascii('')] },
      ],
    ]);
    // 6. SRV, with the targets' addresses as additional records.
    assert.deepEqual(answers(5), [
      [
        '_http._tcp.fx.test',
        300,
        { type: 'SRV', priority: 20, weight: 1, port: 8080, target: 'many.fx.test' },
      ],
      ['_http._tcp.fx.test', 300, { type: 'SRV', priority: 10, weight: 5, port: 80, target: 'host.fx.test' }],
    ]);
    const extra = responses[5]!.additionals;
    assert.equal(extra.length, 8);
    assert.deepEqual(
      extra.map((r) => [r.name, r.data.type]),
      [
        ['host.fx.test', 'A'],
        ['host.fx.test', 'AAAA'],
        ...[1, 2, 3, 4].map(() => ['many.fx.test', 'A']),
        ['many.fx.test', 'AAAA'],
        ['many.fx.test', 'AAAA'],
      ],
    );
    // 7. PTR.
    assert.deepEqual(answers(6), [['10.0.200.10.in-addr.arpa', 300, { type: 'PTR', name: 'host.fx.test' }]]);
    // 8. MX.
    assert.deepEqual(answers(7), [
      ['fx.test', 300, { type: 'MX', preference: 20, exchange: 'backup-mail.fx.test' }],
      ['fx.test', 300, { type: 'MX', preference: 10, exchange: 'mail.fx.test' }],
    ]);
    // 9. A name dnsmasq has no data for: REFUSED, with an Extended DNS Error (RFC 8914, option 15).
    assert.equal(responses[8]!.rcode, DNS_RCODE.REFUSED);
    assert.equal(dnsFullRcode(responses[8]!), DNS_RCODE.REFUSED);
    assert.deepEqual(responses[8]!.answers, []);
    assert.deepEqual(
      responses[8]!.edns?.options.map((o) => o.code),
      [15],
    );
    const v = new DnsView(messages[11]!);
    assert.deepEqual([v.qdcount, v.ancount, v.nscount, v.arcount], [1, 2, 0, 9]);
  });

  test('golden: re-emitting gives the same message, as short or shorter', () => {
    const shorter: number[] = [];
    for (const [i, bytes] of messages.entries()) {
      const m = parsed(bytes);
      const out = emitDns(m).bytes();
      assert.deepEqual(parsed(out), m, `message ${i}`);
      assert.ok(out.length <= bytes.length, `message ${i}: ${out.length} > ${bytes.length}`);
      if (out.length < bytes.length) shorter.push(i);
      else assert.deepEqual(out, bytes, `message ${i}`);
    }
    // dnsmasq does not compress the names inside CNAME and MX data; everything else matches byte
    // for byte, the compressed SRV response included.
    assert.deepEqual(shorter, [5, 7, 15]);
    assert.ok(messages[11]!.length > 250 && messages[11]!.includes(0xc0));
  });

  test('round trip: random messages with random names and records of every type', () => {
    const label = fc.oneof(
      fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/).map(ascii),
      fc.uint8Array({ minLength: 1, maxLength: 63 }),
    );
    const suffix = fc.array(label, { minLength: 0, maxLength: 3 });
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const known = new Set<number>(Object.values(DNS_TYPE));
    const msg = fc.array(suffix, { minLength: 1, maxLength: 3 }).chain((bases) => {
      // Names share suffixes from a few bases, so compression has something to do.
      const name = fc
        .tuple(fc.array(label, { maxLength: 2 }), fc.constantFrom(...bases))
        .map(([pre, base]) => [...pre, ...base])
        .filter((ls) => ls.reduce((n, l) => n + l.length + 1, 1) <= 255)
        .map(labelsToName);
      const rdata: fc.Arbitrary<DnsRdata> = fc.oneof(
        u32.map((address) => ({ type: 'A' as const, address })),
        fc
          .uint8Array({ minLength: 16, maxLength: 16 })
          .map((address) => ({ type: 'AAAA' as const, address })),
        fc
          .tuple(fc.constantFrom('CNAME' as const, 'NS' as const, 'PTR' as const), name)
          .map(([type, n]) => ({ type, name: n })),
        fc.tuple(u16, name).map(([preference, exchange]) => ({ type: 'MX' as const, preference, exchange })),
        fc
          .array(fc.uint8Array({ maxLength: 255 }), { maxLength: 4 })
          .map((strings) => ({ type: 'TXT' as const, strings })),
        fc.tuple(u16, u16, u16, name).map(([priority, weight, port, target]) => ({
          type: 'SRV' as const,
          priority,
          weight,
          port,
          target,
        })),
        fc
          .tuple(name, name, u32, u32, u32, u32, u32)
          .map(([mname, rname, serial, refresh, retry, expire, minimum]) => ({
            type: 'SOA' as const,
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
          })),
        fc
          .tuple(
            u16.filter((c) => !known.has(c)),
            fc.uint8Array({ maxLength: 40 }),
          )
          .map(([code, data]) => ({ type: 'unknown' as const, code, data })),
      );
      const record = fc.record({ name, class: u16, ttl: u32, data: rdata }, { noNullPrototype: true });
      const records = fc.array(record, { maxLength: 4 });
      const edns = fc.record(
        {
          udpPayloadSize: u16,
          extendedRcode: fc.integer({ min: 0, max: 255 }),
          version: fc.integer({ min: 0, max: 255 }),
          dnssecOk: fc.boolean(),
          options: fc.array(
            fc.record({ code: u16, data: fc.uint8Array({ maxLength: 20 }) }, { noNullPrototype: true }),
            {
              maxLength: 3,
            },
          ),
        },
        { noNullPrototype: true },
      );
      return fc.record(
        {
          id: u16,
          qr: fc.boolean(),
          opcode: fc.integer({ min: 0, max: 15 }),
          aa: fc.boolean(),
          tc: fc.boolean(),
          rd: fc.boolean(),
          ra: fc.boolean(),
          ad: fc.boolean(),
          cd: fc.boolean(),
          rcode: fc.integer({ min: 0, max: 15 }),
          questions: fc.array(fc.record({ name, type: u16, class: u16 }, { noNullPrototype: true }), {
            maxLength: 3,
          }),
          answers: records,
          authorities: records,
          additionals: records,
          edns,
        },
        {
          requiredKeys: [
            'id',
            'qr',
            'opcode',
            'aa',
            'tc',
            'rd',
            'ra',
            'ad',
            'cd',
            'rcode',
            'questions',
            'answers',
            'authorities',
            'additionals',
          ],
          noNullPrototype: true,
        },
      );
    });
    fc.assert(
      fc.property(msg, (m) => {
        const out = emitDns(m);
        assert.equal(out.length, dnsLength(m));
        assert.deepEqual(parsed(out.bytes()), m);
      }),
      { numRuns: RUNS },
    );
  });

  test('names: compression pointers, loops, bounds, and the text form', () => {
    // A compressed name: "www" then a pointer to "a.example" in the question.
    const ptr = [3, 0x77, 0x77, 0x77, 0xc0, 12];
    assert.deepEqual(readName(message([1, 0, 0, 0], [...QUESTION_A, ...ptr]), 12 + QUESTION_A.length), {
      ok: true,
      value: { name: 'www.a.example', end: 12 + QUESTION_A.length + ptr.length },
    });
    // Self-pointer.
    assert.equal(errorOf(message([1, 0, 0, 0], [0xc0, 12, 0, 1, 0, 1])), 'pointer-loop');
    // A -> B -> A: the name at 14 points back to the label at 12, whose next "label" is that pointer.
    const loop = message([0, 0, 0, 0], [1, 0x78, 0xc0, 12]);
    assert.deepEqual(readName(loop, 14), { ok: false, error: 'pointer-loop' });
    assert.deepEqual(readName(loop, 12), { ok: false, error: 'pointer-loop' });
    // A forward pointer, even to a valid name.
    assert.equal(errorOf(message([1, 0, 0, 0], [0xc0, 18, 0, 1, 0, 1, ...QUESTION_A])), 'forward-pointer');
    // A pointer with only one octet left.
    assert.equal(errorOf(message([1, 0, 0, 0], [0xc0])), 'truncated');
    // Labels of 64 octets, and the 0x40/0x80 label types.
    assert.equal(
      errorOf(message([1, 0, 0, 0], [64, ...new Array(64).fill(0x61), 0, 0, 1, 0, 1])),
      'label-too-long',
    );
    assert.equal(errorOf(message([1, 0, 0, 0], [0x80, 0, 0, 1, 0, 1])), 'label-too-long');
    // 255 octets is the most a name may take; 256 is too long (four labels: 63, 63, 63, 61 or 62).
    const long = (last: number) =>
      [63, 63, 63, last].flatMap((n) => [n, ...new Array(n).fill(0x61)]).concat(0);
    assert.equal(long(61).length, 255);
    assert.equal(errorOf(message([1, 0, 0, 0], [...long(61), 0, 1, 0, 1])), 'ok');
    assert.equal(errorOf(message([1, 0, 0, 0], [...long(62), 0, 1, 0, 1])), 'name-too-long');
    // ... also when the length comes through a pointer.
    const half = [63, 63].flatMap((n) => [n, ...new Array(n).fill(0x62)]);
    const viaPointer = [...long(61), 0, 1, 0, 1, ...half, 0xc0, 12, 0, 1, 0, 1];
    assert.equal(errorOf(message([2, 0, 0, 0], viaPointer)), 'name-too-long');
    // Text form: escapes make every octet representable, and parsing it back gives the octets.
    const odd = [Uint8Array.of(0x61, 0x2e, 0x62), Uint8Array.of(0x5c, 0x20, 0x00, 0xff), ascii('Z')];
    assert.equal(labelsToName(odd), 'a\\.b.\\\\\\032\\000\\255.Z');
    assert.deepEqual(nameToLabels(labelsToName(odd)), odd);
    assert.deepEqual(nameToLabels('example.com.'), [ascii('example'), ascii('com')]);
    assert.deepEqual(nameToLabels('.'), []);
    for (const bad of [
      'a..b',
      '.a',
      `${'a'.repeat(64)}.b`,
      'a\\256',
      'a\\1',
      'a\\',
      'ü\u0100',
      `${'a'.repeat(63)}.`.repeat(4),
    ]) {
      assert.equal(nameToLabels(bad), undefined, bad);
    }
    assert.throws(() => emitDns(dnsQuery(1, 'a..b', DNS_TYPE.A)), RangeError);
    // RFC 4343: ASCII case-insensitive comparison.
    assert.ok(dnsNamesEqual('WWW.Example.COM.', 'www.example.com'));
    assert.ok(dnsNamesEqual('\\065b', 'ab'));
    assert.ok(!dnsNamesEqual('a\\.b', 'a.b'));
    assert.ok(!dnsNamesEqual('\\196', '\\228')); // non-ASCII octets do not fold
    assert.ok(!dnsNamesEqual('a..b', 'a..b'));
  });

  test('compression: suffixes are shared, case is kept, nothing points at or past 0x4000', () => {
    const q = dnsQuery(7, 'www.Example.com', DNS_TYPE.A);
    const r = dnsResponse(q, {
      answers: [
        rec('www.Example.com', { type: 'CNAME', name: 'web.example.com' }),
        rec('web.example.com', { type: 'A', address: ip4('192.0.2.1') }),
      ],
    });
    const out = emitDns(r).bytes();
    // The question's name in full (17 + 4); the first answer's owner is a pointer (2 + 10); its
    // target writes "web" and "example" (the question's "Example" differs in case, and compressing
    // to it would change the name read back) then points at "com" (4 + 8 + 2); the second answer's
    // owner points at that target (2 + 10 + 4).
    const expected = 12 + (17 + 4) + (2 + 10 + (4 + 8 + 2)) + (2 + 10 + 4);
    assert.equal(out.length, expected);
    assert.deepEqual(parsed(out), r);
    // A record whose data pushes later names past 0x4000: their suffixes cannot be pointed at.
    const big = rec('x.example.com', { type: 'unknown', code: 65280, data: new Uint8Array(0x4000) });
    const late = dnsResponse(q, {
      answers: [
        big,
        rec('y.late.example.com', { type: 'A', address: 1 }),
        rec('z.late.example.com', { type: 'A', address: 2 }),
      ],
    });
    const bytes = emitDns(late).bytes();
    assert.deepEqual(parsed(bytes), late);
    // "late.example.com" at 0x4000+ is written in full each time: "y"/"z" + "late" + pointer to "example.com".
    const tail = 2 * (2 + 5 + 2 + 10 + 4);
    assert.equal(bytes.length, dnsLength(dnsResponse(q, { answers: [big] })) + tail);
  });

  test('malformed: typed errors, never a throw', () => {
    assert.equal(errorOf(new Uint8Array(11)), 'truncated');
    // Counts larger than the records present.
    assert.equal(errorOf(message([2, 0, 0, 0], QUESTION_A)), 'truncated');
    assert.equal(errorOf(message([1, 1, 0, 0], QUESTION_A)), 'truncated');
    const rr = (type: number, rdata: number[], rdlength = rdata.length) => [
      0xc0,
      12,
      type >>> 8,
      type & 0xff,
      0,
      1,
      0,
      0,
      0,
      60,
      rdlength >>> 8,
      rdlength & 0xff,
      ...rdata,
    ];
    // RDLENGTH beyond the message.
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(1, [1, 2, 3, 4], 5)])), 'truncated');
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(1, [1, 2, 3, 4])])), 'ok');
    // RDATA not matching its type.
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(1, [1, 2, 3])])), 'bad-rdata');
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(28, [1, 2, 3, 4])])), 'bad-rdata');
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(16, [5, 0x61])])), 'bad-rdata');
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(33, [0, 1, 0, 2])])), 'bad-rdata');
    // A name in RDATA running past RDLENGTH, and RDATA with octets left after the name.
    assert.equal(
      errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(5, [3, 0x61, 0x62, 0x63, 0], 3)])),
      'bad-rdata',
    );
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(5, [0xc0, 12, 9])])), 'bad-rdata');
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(5, [0xc0, 12])])), 'ok');
    // A pointer inside RDATA to a later offset.
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...rr(12, [0xc0, 0x3f])])), 'forward-pointer');
    // OPT: at most one, only in the additional section, at the root, with options that fit.
    const opt = (rdata: number[] = [], name: number[] = [0]) => [
      ...name,
      0,
      41,
      4,
      0xd0,
      0,
      0,
      0x80,
      0,
      0,
      rdata.length,
      ...rdata,
    ];
    assert.equal(errorOf(message([1, 0, 0, 1], [...QUESTION_A, ...opt([0, 10, 0, 2, 1, 2])])), 'ok');
    assert.equal(errorOf(message([1, 0, 0, 2], [...QUESTION_A, ...opt(), ...opt()])), 'multiple-opt');
    assert.equal(errorOf(message([1, 1, 0, 0], [...QUESTION_A, ...opt()])), 'bad-opt');
    assert.equal(errorOf(message([1, 0, 0, 1], [...QUESTION_A, ...opt([], [0xc0, 12])])), 'bad-opt');
    assert.equal(errorOf(message([1, 0, 0, 1], [...QUESTION_A, ...opt([0, 10, 0, 3, 1, 2])])), 'bad-opt');
    assert.equal(errorOf(message([1, 0, 0, 1], [...QUESTION_A, ...opt([0, 10, 0])])), 'bad-opt');
    const withOpt = parsed(message([1, 0, 0, 1], [...QUESTION_A, ...opt()]));
    assert.deepEqual(withOpt.edns, {
      udpPayloadSize: 1232,
      extendedRcode: 0,
      version: 0,
      dnssecOk: true,
      options: [],
    });
    // Builder misuse throws.
    const txt = dnsResponse(dnsQuery(1, 'a', DNS_TYPE.TXT), {
      answers: [rec('a', { type: 'TXT', strings: [new Uint8Array(256)] })],
    });
    assert.throws(() => emitDns(txt), RangeError);

    assertNeverThrows(parseDns, messages);
    // Random bodies after a header with random counts, where random bytes alone rarely reach.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 4, maxLength: 4 }),
        fc.uint8Array({ maxLength: 300 }),
        (counts, body) => {
          parseDns(message(counts as [number, number, number, number], [...QUESTION_A, ...body]));
          parseDns(message(counts as [number, number, number, number], [...body]));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('tshark: queries and responses from the builder, in UDP/IPv4/Ethernet, dissect cleanly', {
    skip: !tsharkAvailable(),
  }, () => {
    const client = ip4('10.200.0.2');
    const server = ip4('10.200.0.1');
    const q = dnsQuery(0x4242, 'www.fx.test', DNS_TYPE.A, { udpPayloadSize: 1232 });
    const edns = {
      udpPayloadSize: 1232,
      extendedRcode: 0,
      version: 0,
      dnssecOk: true,
      options: [{ code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }],
    };
    const r = dnsResponse(q, {
      aa: true,
      ra: true,
      answers: [
        rec('www.fx.test', { type: 'CNAME', name: 'host.fx.test' }),
        rec('host.fx.test', { type: 'A', address: ip4('10.200.0.10') }),
        rec('host.fx.test', { type: 'AAAA', address: ip6('fd00:200::10') }),
        rec('fx.test', { type: 'MX', preference: 10, exchange: 'mail.fx.test' }),
        rec('txt.fx.test', { type: 'TXT', strings: [ascii('v=spf1 -all'), ascii('second')] }),
        rec('_http._tcp.fx.test', { type: 'SRV', priority: 10, weight: 5, port: 80, target: 'host.fx.test' }),
        rec('10.0.200.10.in-addr.arpa', { type: 'PTR', name: 'host.fx.test' }),
        rec('fx.test', { type: 'NS', name: 'ns.fx.test' }),
      ],
      authorities: [
        rec('fx.test', {
          type: 'SOA',
          mname: 'ns.fx.test',
          rname: 'hostmaster.fx.test',
          serial: 2024010101,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: 300,
        }),
      ],
      additionals: [rec('ns.fx.test', { type: 'A', address: ip4('10.200.0.1') })],
      edns,
    });
    const nx = dnsResponse(dnsQuery(7, 'nothere.fx.test', DNS_TYPE.AAAA), {
      rcode: DNS_RCODE.NXDOMAIN,
      ra: true,
    });
    const out = [
      [q, client, server],
      [r, server, client],
      [nx, server, client],
    ].map(([m, src, dst]) => {
      const pb = emitDns(m as DnsMessage);
      const fromServer = src === server;
      emitUdp(pb, fromServer ? DNS_PORT : 40000, fromServer ? 40000 : DNS_PORT, {
        kind: 'v4',
        src: src as number,
        dst: dst as number,
      });
      return ipv4Frame(pb, { src: src as number, dst: dst as number, protocol: IP_PROTOCOL_UDP, ttl: 64 });
    });
    const { problems, protocols } = dissect(out);
    assert.deepEqual(problems, []);
    assert.equal(protocols.length, 3);
    for (const p of protocols) assert.match(p, /:udp:dns$/);
  });
});
