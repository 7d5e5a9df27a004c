import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  IPV4_BROADCAST,
  IPV6_UNSPECIFIED,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4Mask,
  ipv4MulticastMac,
  ipv4ToString,
  ipv6Equal,
  ipv6IsLinkLocal,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  ipv6Key,
  ipv6MulticastMac,
  ipv6SolicitedNode,
  ipv6ToString,
  MAC_BROADCAST,
  macIsMulticast,
  macToString,
  parseIpv4,
  parseIpv4Cidr,
  parseIpv6,
  parseMac,
  readIpv4,
  readIpv6,
  readMac,
  writeIpv4,
  writeIpv6,
  writeMac,
} from '../../src/wire/address.ts';
import { fromHex, hex } from '../helpers/fixtures.ts';
import { RUNS } from '../helpers/fuzz.ts';

/** An IPv6 address from its 8 groups. */
function groups(...g: number[]): Uint8Array {
  assert.equal(g.length, 8);
  const out = new Uint8Array(16);
  g.forEach((v, i) => {
    out[2 * i] = v >>> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** Groups biased towards zero, so that runs of zeros (and ties between runs) are common. */
const ipv6Arb = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((g) => groups(...g));
const macArb = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

describe('IPv6 text form (RFC 5952 4 and 5)', () => {
  test('formatting: leading zeros dropped, longest zero run as ::, first on a tie, lowercase', () => {
    const cases: [Uint8Array, string][] = [
      [groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), '2001:db8::1'],
      [IPV6_UNSPECIFIED, '::'],
      [groups(0, 0, 0, 0, 0, 0, 0, 1), '::1'],
      [groups(0xfe80, 0, 0, 0, 0, 0, 0, 0), 'fe80::'],
      [groups(1, 2, 3, 4, 5, 6, 7, 8), '1:2:3:4:5:6:7:8'],
      // 4.2.3: the longest run is shortened, not the first one.
      [groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 0), '2001:db8:0:0:1::'],
      [groups(0x2001, 0, 0, 1, 0, 0, 0, 1), '2001:0:0:1::1'],
      // 4.2.3: on a tie the first run is shortened.
      [groups(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1), '2001:db8::1:0:0:1'],
      [groups(1, 0, 0, 2, 3, 0, 0, 4), '1::2:3:0:0:4'],
      // 4.2.2: a single zero group is never shortened.
      [groups(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1), '2001:db8:0:1:1:1:1:1'],
      [groups(1, 0, 2, 0, 3, 0, 4, 0), '1:0:2:0:3:0:4:0'],
      [groups(0, 1, 2, 3, 4, 5, 6, 7), '0:1:2:3:4:5:6:7'],
      [groups(1, 2, 3, 4, 5, 6, 7, 0), '1:2:3:4:5:6:7:0'],
      // 4.3: lowercase hexadecimal.
      [groups(0x2001, 0xdb8, 0, 0, 0, 0, 0xabcd, 0xef01), '2001:db8::abcd:ef01'],
      [groups(0xff02, 0, 0, 0, 0, 1, 0xff28, 0x9c5a), 'ff02::1:ff28:9c5a'],
      // 5: IPv4-mapped addresses end in a dotted quad; look-alikes do not.
      [groups(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), '::ffff:192.0.2.1'],
      [groups(0, 0, 0, 0, 0, 0xffff, 0, 0), '::ffff:0.0.0.0'],
      [groups(0, 0, 0, 0, 0, 0xfffe, 0xc000, 0x0201), '::fffe:c000:201'],
      [groups(1, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), '1::ffff:c000:201'],
    ];
    for (const [addr, text] of cases) assert.equal(ipv6ToString(addr), text, text);
  });

  test('parsing: every RFC 4291 2.2 form', () => {
    const cases: [string, Uint8Array][] = [
      // 2.2 (1): the preferred form, any case, with or without leading zeros.
      [
        'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789',
        groups(0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789),
      ],
      ['2001:DB8:0:0:8:800:200C:417A', groups(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a)],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', groups(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
      // 2.2 (2): "::" for one or more groups of zeros, at the start, middle or end.
      ['2001:DB8::8:800:200C:417A', groups(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a)],
      ['FF01::101', groups(0xff01, 0, 0, 0, 0, 0, 0, 0x101)],
      ['::1', groups(0, 0, 0, 0, 0, 0, 0, 1)],
      ['::', IPV6_UNSPECIFIED],
      ['fe80::', groups(0xfe80, 0, 0, 0, 0, 0, 0, 0)],
      ['1::3:4:5:6:7:8', groups(1, 0, 3, 4, 5, 6, 7, 8)],
      ['1:2:3:4:5:6:7::', groups(1, 2, 3, 4, 5, 6, 7, 0)],
      ['::2:3:4:5:6:7:8', groups(0, 2, 3, 4, 5, 6, 7, 8)],
      // 2.2 (3): the low 32 bits as a dotted quad, full or compressed.
      ['0:0:0:0:0:0:13.1.68.3', groups(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403)],
      ['0:0:0:0:0:FFFF:129.144.52.38', groups(0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426)],
      ['::13.1.68.3', groups(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403)],
      ['::FFFF:129.144.52.38', groups(0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426)],
      ['64:ff9b::192.0.2.33', groups(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221)],
      ['1:2:3:4:5:6:1.2.3.4', groups(1, 2, 3, 4, 5, 6, 0x0102, 0x0304)],
      ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', new Uint8Array(16).fill(0xff)],
    ];
    for (const [text, addr] of cases) assert.deepEqual(parseIpv6(text), addr, text);
  });

  test('parsing: malformed text is rejected', () => {
    const bad = [
      '',
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4::5:6:7:8',
      ':1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:',
      '1:2:3:4:5:6:7:',
      ':1::',
      '12345::',
      'g::',
      '::-1',
      '::+1',
      '::0x1',
      ' ::1',
      '::1 ',
      'fe80::1%eth0',
      '2001:db8::/32',
      '1.2.3.4',
      '::1.2.3',
      '::1.2.3.4.5',
      '::256.1.1.1',
      '::01.2.3.4',
      '::1.2.3.4:5',
      '1.2.3.4::',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5:6:7:8:1.2.3.4',
      '0000:0000:0000:0000:0000:ffff:255.255.255.255:0',
      `${'0'.repeat(44)}::`,
    ];
    for (const text of bad) assert.equal(parseIpv6(text), undefined, JSON.stringify(text));
  });

  test('round trip: format then parse is the identity, and the text is canonical', () => {
    fc.assert(
      fc.property(ipv6Arb, (addr) => {
        const text = ipv6ToString(addr);
        assert.deepEqual(parseIpv6(text), addr);
        assert.equal(ipv6ToString(parseIpv6(text)!), text);
        assert.equal(text, text.toLowerCase());
        assert.ok(!/(^|:)0[0-9a-f]/.test(text), `no leading zeros in ${text}`);
        assert.ok(text.split('::').length <= 2, `at most one :: in ${text}`);
        if (!text.includes('::'))
          assert.ok(!/(^|:)0:0(:|$)/.test(text), `a run of zeros is shortened in ${text}`);
        // The uncompressed, zero-padded, uppercase form parses to the same address.
        const full = hex(addr).toUpperCase().match(/.{4}/g)!.join(':');
        assert.deepEqual(parseIpv6(full), addr);
      }),
      { numRuns: RUNS },
    );
  });

  test('bytes, predicates and keys', () => {
    const a = parseIpv6('2001:db8::42')!;
    const buf = new Uint8Array(20).fill(0xaa);
    writeIpv6(buf, 2, a);
    assert.equal(hex(buf), `aaaa${hex(a)}aaaa`);
    const read = readIpv6(buf, 2);
    assert.deepEqual(read, a);
    buf[2] = 0;
    assert.equal(read[0], 0x20, 'readIpv6 copies');
    assert.ok(ipv6Equal(a, parseIpv6('2001:DB8:0::42')!));
    assert.ok(!ipv6Equal(a, parseIpv6('2001:db8::43')!));
    assert.equal(ipv6Key(a), ipv6Key(parseIpv6('2001:0db8::0042')!));
    assert.ok(ipv6IsLinkLocal(parseIpv6('fe80::1')!));
    assert.ok(ipv6IsLinkLocal(parseIpv6('febf:ffff::1')!));
    assert.ok(!ipv6IsLinkLocal(parseIpv6('fec0::1')!));
    assert.ok(!ipv6IsLinkLocal(parseIpv6('fe00::1')!));
    assert.ok(ipv6IsMulticast(parseIpv6('ff02::1')!));
    assert.ok(!ipv6IsMulticast(parseIpv6('fe02::1')!));
    assert.ok(ipv6IsUnspecified(parseIpv6('::')!));
    assert.ok(!ipv6IsUnspecified(parseIpv6('::1')!));
  });
});

describe('MAC addresses', () => {
  test('read and write 6 bytes, including the high bits', () => {
    assert.equal(readMac(fromHex('ff 02005e100001 ff'), 1), 0x02_00_5e_10_00_01);
    assert.equal(readMac(fromHex('ffffffffffff'), 0), MAC_BROADCAST);
    assert.equal(readMac(fromHex('a45e60e41f3b'), 0), 0xa4_5e_60_e4_1f_3b);
    assert.equal(readMac(fromHex('000000000000'), 0), 0);
    const buf = new Uint8Array(8).fill(0xee);
    writeMac(buf, 1, 0xa4_5e_60_e4_1f_3b);
    assert.equal(hex(buf), 'eea45e60e41f3bee');
    fc.assert(
      fc.property(macArb, (mac) => {
        const b = new Uint8Array(6);
        writeMac(b, 0, mac);
        assert.equal(readMac(b, 0), mac);
      }),
      { numRuns: RUNS },
    );
  });

  test('format and parse', () => {
    assert.equal(macToString(0x02_00_5e_10_00_01), '02:00:5e:10:00:01');
    assert.equal(macToString(MAC_BROADCAST), 'ff:ff:ff:ff:ff:ff');
    assert.equal(macToString(0), '00:00:00:00:00:00');
    assert.equal(parseMac('A4:5E:60:E4:1F:3B'), 0xa4_5e_60_e4_1f_3b);
    assert.equal(parseMac('a4-5e-60-e4-1f-3b'), 0xa4_5e_60_e4_1f_3b);
    assert.equal(parseMac('2:0:5e:10:0:1'), 0x02_00_5e_10_00_01);
    for (const bad of [
      '',
      'a4:5e:60:e4:1f',
      'a4:5e:60:e4:1f:3b:00',
      'a4:5e:60:e4:1f:',
      'a45:e:60:e4:1f:3b',
      'g4:5e:60:e4:1f:3b',
      'a4:5e:60:e4:1f:3b ',
      'a45e.60e4.1f3b',
      '+4:5e:60:e4:1f:3b',
    ]) {
      assert.equal(parseMac(bad), undefined, bad);
    }
    fc.assert(
      fc.property(macArb, (mac) => {
        const text = macToString(mac);
        assert.match(text, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        assert.equal(parseMac(text), mac);
      }),
      { numRuns: RUNS },
    );
  });

  test('group bit (IEEE 802: least significant bit of the first octet)', () => {
    assert.ok(macIsMulticast(MAC_BROADCAST));
    assert.ok(macIsMulticast(parseMac('01:00:5e:00:00:01')!));
    assert.ok(macIsMulticast(parseMac('33:33:00:00:00:01')!));
    assert.ok(!macIsMulticast(parseMac('02:00:5e:10:00:01')!));
    assert.ok(!macIsMulticast(parseMac('fe:ff:ff:ff:ff:ff')!));
    assert.ok(!macIsMulticast(parseMac('00:00:00:00:00:01')!), 'the last octet is not the group bit');
  });

  test('multicast mapping: RFC 1112 6.4 (IPv4) and RFC 2464 7 (IPv6)', () => {
    const v4 = (group: string) => macToString(ipv4MulticastMac(parseIpv4(group)!));
    assert.equal(v4('224.0.0.1'), '01:00:5e:00:00:01');
    assert.equal(v4('224.0.0.251'), '01:00:5e:00:00:fb');
    // Only the low 23 bits are kept: the high bit of the second octet is dropped.
    assert.equal(v4('239.255.255.250'), '01:00:5e:7f:ff:fa');
    assert.equal(v4('224.128.0.1'), '01:00:5e:00:00:01');
    assert.equal(v4('238.1.2.3'), '01:00:5e:01:02:03');
    const v6 = (group: string) => macToString(ipv6MulticastMac(parseIpv6(group)!));
    assert.equal(v6('ff02::1'), '33:33:00:00:00:01');
    assert.equal(v6('ff02::1:ff28:9c5a'), '33:33:ff:28:9c:5a');
    assert.equal(v6('ff05::1:3'), '33:33:00:01:00:03');
    assert.equal(v6('ff02::ffff:ffff'), '33:33:ff:ff:ff:ff');
    fc.assert(
      fc.property(u32, (low) => {
        const group = ((0xe0 << 24) | (low & 0x0fff_ffff)) >>> 0;
        const mac = ipv4MulticastMac(group);
        assert.ok(macIsMulticast(mac));
        assert.equal(Math.floor(mac / 2 ** 24), 0x01_00_5e);
        assert.equal(mac % 2 ** 24, group & 0x7f_ffff);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('IPv4 addresses', () => {
  test('parse is strict: four decimal octets, no leading zeros, no signs, no spaces', () => {
    assert.equal(parseIpv4('192.0.2.1'), 0xc0_00_02_01);
    assert.equal(parseIpv4('0.0.0.0'), 0);
    assert.equal(parseIpv4('255.255.255.255'), IPV4_BROADCAST);
    assert.equal(parseIpv4('10.0.0.10'), 0x0a_00_00_0a);
    for (const bad of [
      '',
      '192.0.2',
      '192.0.2.1.5',
      '192.0.2.',
      '.192.0.2',
      '1..3.4',
      '01.2.3.4',
      '1.2.3.00',
      '1.2.3.256',
      '1.2.3.1000',
      '1.2.3.-1',
      '1.2.3.+1',
      '0x1.2.3.4',
      '1e2.0.0.1',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4/24',
      '3232235777',
      '١.٢.٣.٤',
    ]) {
      assert.equal(parseIpv4(bad), undefined, bad);
    }
    fc.assert(
      fc.property(u32, (addr) => {
        assert.equal(parseIpv4(ipv4ToString(addr)), addr);
      }),
      { numRuns: RUNS },
    );
  });

  test('bytes, masks, CIDR and predicates', () => {
    const buf = new Uint8Array(6).fill(0xee);
    writeIpv4(buf, 1, 0xc0_00_02_ff);
    assert.equal(hex(buf), 'eec00002ffee');
    assert.equal(readIpv4(buf, 1), 0xc0_00_02_ff);
    assert.equal(ipv4ToString(0xc0_00_02_ff), '192.0.2.255');
    assert.equal(ipv4Mask(0), 0);
    assert.equal(ipv4Mask(8), 0xff00_0000);
    assert.equal(ipv4Mask(31), 0xffff_fffe);
    assert.equal(ipv4Mask(32), 0xffff_ffff);
    assert.deepEqual(parseIpv4Cidr('10.1.0.0/16'), { addr: 0x0a01_0000, prefixLen: 16 });
    assert.deepEqual(parseIpv4Cidr('0.0.0.0/0'), { addr: 0, prefixLen: 0 });
    for (const bad of ['10.1.0.0', '10.1.0.0/33', '10.1.0.0/', '10.1.0/16', '10.1.0.0/-1', '10.1.0.0/1/2']) {
      assert.equal(parseIpv4Cidr(bad), undefined, bad);
    }
    assert.ok(ipv4IsMulticast(parseIpv4('224.0.0.1')!));
    assert.ok(ipv4IsMulticast(parseIpv4('239.255.255.255')!));
    assert.ok(!ipv4IsMulticast(parseIpv4('240.0.0.1')!));
    assert.ok(!ipv4IsMulticast(parseIpv4('223.255.255.255')!));
    assert.ok(ipv4IsLoopback(parseIpv4('127.0.0.1')!));
    assert.ok(ipv4IsLoopback(parseIpv4('127.255.0.1')!));
    assert.ok(!ipv4IsLoopback(parseIpv4('128.0.0.1')!));
  });
});

describe('solicited-node multicast (RFC 4291 2.7.1)', () => {
  test('ff02::1:ff00:0/104 plus the low 24 bits of the address', () => {
    const sn = (addr: string) => ipv6ToString(ipv6SolicitedNode(parseIpv6(addr)!));
    assert.equal(sn('fe80::2aa:ff:fe28:9c5a'), 'ff02::1:ff28:9c5a');
    assert.equal(sn('2001:db8::1'), 'ff02::1:ff00:1');
    assert.equal(sn('2001:db8:1:2:abcd:ef01:2345:6789'), 'ff02::1:ff45:6789');
    assert.equal(
      macToString(ipv6MulticastMac(ipv6SolicitedNode(parseIpv6('fe80::1234:5678')!))),
      '33:33:ff:34:56:78',
    );
    fc.assert(
      fc.property(ipv6Arb, (addr) => {
        const group = ipv6SolicitedNode(addr);
        assert.ok(ipv6IsMulticast(group));
        assert.equal(hex(group.subarray(0, 13)), 'ff0200000000000000000001ff');
        assert.deepEqual(group.subarray(13), addr.subarray(13));
      }),
      { numRuns: RUNS },
    );
  });
});
