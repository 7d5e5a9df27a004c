import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { IPV4_BROADCAST, parseIpv4, readMac } from '../../src/wire/address.ts';
import {
  BOOTP_MIN_LEN,
  BOOTREPLY,
  BOOTREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_HTYPE_ETHERNET,
  DHCP_SERVER_PORT,
  type DhcpRepr,
  DhcpView,
  emitDhcp,
  parseDhcp,
} from '../../src/wire/dhcp.ts';
import { DHCP_MESSAGE_TYPE, DHCP_OPTION, type DhcpOptions } from '../../src/wire/dhcp-options.ts';
import { labelsToName } from '../../src/wire/dns-name.ts';
import { IP_PROTOCOL_UDP } from '../../src/wire/ipv4.ts';
import type { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp } from '../../src/wire/udp.ts';
import { loadFixture } from '../helpers/fixtures.ts';
import { ipv4Frame } from '../helpers/frames.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { dissect, tsharkAvailable } from '../helpers/tshark.ts';

const ip = (s: string) => parseIpv4(s)!;

// test/fixtures/dhcp.pcap (scripts/fixtures/dhcp.sh): udhcpc and dnsmasq; DISCOVER, OFFER, REQUEST,
// ACK, RELEASE. Untagged Ethernet, IPv4 without options, UDP.
const frames = loadFixture('dhcp.pcap').map((p) => p.data);
const payloadOf = (f: Uint8Array) => f.subarray(14 + (f[14]! & 0xf) * 4 + 8);
const messages = frames.map(payloadOf);

function parsed(bytes: Uint8Array): DhcpRepr {
  const r = parseDhcp(bytes);
  assert.ok(r.ok, `parse failed: ${r.ok ? '' : r.error}`);
  return r.value;
}

/** A message with the fixed part of a minimal request and the given options-field octets. */
function withOptions(options: number[], patch: (b: Uint8Array) => void = () => {}): Uint8Array {
  const fixed = emitDhcp(base({})).bytes().subarray(0, 240);
  const b = new Uint8Array(240 + options.length);
  b.set(fixed);
  b.set(options, 240);
  patch(b);
  return b;
}

function base(options: DhcpOptions): DhcpRepr {
  return {
    op: BOOTREQUEST,
    htype: DHCP_HTYPE_ETHERNET,
    hops: 0,
    xid: 0x12345678,
    secs: 3,
    broadcast: true,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: Uint8Array.of(2, 0, 0, 0, 0, 0x0a),
    sname: '',
    file: '',
    options,
  };
}

const MT = DHCP_OPTION.messageType;

describe('DHCPv4 wire format', () => {
  test('golden: a dnsmasq/udhcpc exchange parses to the expected fields and re-emits the same bytes', () => {
    assert.equal(messages.length, 5);
    const [discover, offer, request, ack, release] = messages.map(parsed) as [
      DhcpRepr,
      DhcpRepr,
      DhcpRepr,
      DhcpRepr,
      DhcpRepr,
    ];
    assert.deepEqual(
      [discover, offer, request, ack, release].map((m) => m.options.messageType),
      [
        DHCP_MESSAGE_TYPE.discover,
        DHCP_MESSAGE_TYPE.offer,
        DHCP_MESSAGE_TYPE.request,
        DHCP_MESSAGE_TYPE.ack,
        DHCP_MESSAGE_TYPE.release,
      ],
    );
    assert.deepEqual(
      [discover, offer, request, ack, release].map((m) => m.op),
      [BOOTREQUEST, BOOTREPLY, BOOTREQUEST, BOOTREPLY, BOOTREQUEST],
    );
    // One transaction; the client's MAC is the Ethernet source of its frames and chaddr.
    for (const m of [offer, request, ack]) assert.equal(m.xid, discover.xid);
    const clientMac = readMac(frames[0]!, 6);
    for (const m of [discover, offer, request, ack, release]) {
      assert.equal(m.htype, DHCP_HTYPE_ETHERNET);
      assert.equal(readMac(m.chaddr, 0), clientMac);
      assert.equal(m.sname, '');
      assert.equal(m.file, '');
    }
    const server = ip('10.200.0.1');
    const lease = offer.yiaddr;
    assert.ok(lease >= ip('10.200.0.50') && lease <= ip('10.200.0.99'));
    // The client's side: host name, its client id (type 1 + MAC), and what it asks for.
    for (const m of [discover, request]) {
      assert.equal(m.options.hostName, 'fxclient');
      assert.deepEqual(m.options.clientId, Uint8Array.of(1, ...m.chaddr));
      assert.equal(m.options.maxMessageSize, 576);
      assert.ok(m.options.parameterRequestList?.includes(DHCP_OPTION.classlessRoutes));
      assert.equal(m.options.other?.[0]?.code, 60); // vendor class "udhcp 1.35.0"
      assert.equal(new TextDecoder().decode(m.options.other?.[0]?.data), 'udhcp 1.35.0');
    }
    assert.equal(request.options.requestedAddress, lease);
    assert.equal(request.options.serverId, server);
    // The server's side: everything dnsmasq was told to hand out.
    for (const m of [offer, ack]) {
      const o = m.options;
      assert.equal(m.yiaddr, lease);
      assert.equal(m.siaddr, server);
      assert.equal(o.serverId, server);
      assert.equal(o.leaseTime, 3600);
      assert.equal(o.renewalTime, 1800);
      assert.equal(o.rebindingTime, 3150);
      assert.equal(o.subnetMask, ip('255.255.255.0'));
      assert.equal(o.broadcastAddress, ip('10.200.0.255'));
      assert.deepEqual(o.routers, [server]);
      assert.deepEqual(o.dnsServers, [server, ip('10.200.0.3')]);
      assert.equal(o.domainName, 'fx.test');
      assert.equal(o.interfaceMtu, 1400);
      assert.deepEqual(o.classlessRoutes, [
        { prefixLen: 24, destination: ip('192.168.10.0'), router: server },
        { prefixLen: 8, destination: ip('10.0.0.0'), router: ip('10.200.0.254') },
        { prefixLen: 0, destination: 0, router: server },
      ]);
      assert.equal(o.other, undefined);
    }
    assert.equal(ack.options.hostName, 'fxclient');
    assert.equal(release.ciaddr, lease);
    assert.deepEqual(release.options.order, [
      DHCP_OPTION.messageType,
      DHCP_OPTION.serverId,
      DHCP_OPTION.clientId,
    ]);
    // Byte for byte: the option order is kept and both sides pad to 300 octets or end at End.
    for (const [i, m] of messages.entries()) {
      assert.deepEqual(emitDhcp(parsed(m)).bytes(), m, `message ${i}`);
    }
    const v = new DhcpView(messages[1]!);
    assert.equal(DhcpView.check(messages[1]!), undefined);
    assert.equal(v.hlen, 6);
    assert.equal(v.broadcast, false);
    assert.equal(v.optionsField.length, messages[1]!.length - 240);
  });

  test('round trip: random messages with random option sets', () => {
    const addr = fc.integer({ min: 0, max: 0xffffffff });
    /** 8-bit text without NUL (which ends the sname and file fields). */
    const text = (max: number, minLength = 1) =>
      fc
        .array(fc.integer({ min: 1, max: 255 }), { minLength, maxLength: max })
        .map((cs) => String.fromCharCode(...cs));
    const route = fc
      .record(
        { prefixLen: fc.integer({ min: 0, max: 32 }), destination: addr, router: addr },
        { noNullPrototype: true },
      )
      .map((r) => ({
        ...r,
        destination:
          (r.prefixLen === 0 ? 0 : (r.destination >>> (32 - r.prefixLen)) << (32 - r.prefixLen)) >>> 0,
      }));
    // RFC 3397 names: labels of any octets (in their canonical text form), suffixes shared often.
    const label = fc.oneof(
      fc.constantFrom('example', 'com', 'corp', 'EXAMPLE'),
      fc.uint8Array({ minLength: 1, maxLength: 63 }).map((l) => labelsToName([l])),
    );
    const searchName = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.'));
    const typedCodes = new Set<number>(Object.values(DHCP_OPTION));
    const options = fc.record(
      {
        messageType: fc.integer({ min: 1, max: 18 }),
        subnetMask: addr,
        routers: fc.array(addr, { minLength: 1, maxLength: 5 }),
        dnsServers: fc.array(addr, { minLength: 1, maxLength: 80 }), // over 255 octets: RFC 3396 split
        hostName: text(300),
        domainName: text(40),
        domainSearch: fc.array(searchName, { minLength: 1, maxLength: 8 }), // often over 255 octets
        interfaceMtu: fc.integer({ min: 68, max: 65535 }),
        broadcastAddress: addr,
        requestedAddress: addr,
        leaseTime: addr,
        serverId: addr,
        parameterRequestList: fc.array(fc.integer({ min: 1, max: 254 }), { minLength: 1, maxLength: 20 }),
        message: text(60),
        maxMessageSize: fc.integer({ min: 576, max: 65535 }),
        renewalTime: addr,
        rebindingTime: addr,
        clientId: fc.uint8Array({ minLength: 2, maxLength: 20 }),
        rapidCommit: fc.constant(true as const),
        classlessRoutes: fc.array(route, { minLength: 1, maxLength: 6 }),
        other: fc.uniqueArray(
          fc.record(
            {
              code: fc.integer({ min: 1, max: 254 }).filter((c) => !typedCodes.has(c)),
              data: fc.uint8Array({ maxLength: 300 }),
            },
            { noNullPrototype: true },
          ),
          { selector: (o) => o.code, maxLength: 4 },
        ),
      },
      { requiredKeys: [], noNullPrototype: true },
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            op: fc.constantFrom(BOOTREQUEST, BOOTREPLY),
            htype: fc.integer({ min: 0, max: 255 }),
            hops: fc.integer({ min: 0, max: 255 }),
            xid: addr,
            secs: fc.integer({ min: 0, max: 65535 }),
            broadcast: fc.boolean(),
            ciaddr: addr,
            yiaddr: addr,
            siaddr: addr,
            giaddr: addr,
            chaddr: fc.uint8Array({ maxLength: 16 }),
            sname: text(64, 0),
            file: text(128, 0),
            options,
          },
          { noNullPrototype: true },
        ),
        (repr) => {
          if (repr.options.other?.length === 0) delete repr.options.other;
          const bytes = emitDhcp(repr).bytes();
          assert.ok(bytes.length >= BOOTP_MIN_LEN);
          const back = parsed(bytes);
          const order = back.options.order;
          delete back.options.order;
          assert.deepEqual(back, repr);
          // The order is what was written: re-emitting with it gives the same bytes.
          assert.deepEqual(emitDhcp({ ...repr, options: { ...repr.options, order } }).bytes(), bytes);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('RFC 3396: repeated instances of an option are concatenated; the builder splits long ones', () => {
    // host name "ab" + "cd" as two instances, with a message type between them.
    const m = parsed(withOptions([12, 2, 0x61, 0x62, MT, 1, 1, 12, 2, 0x63, 0x64, 255]));
    assert.equal(m.options.hostName, 'abcd');
    assert.deepEqual(m.options.order, [12, MT]);
    const long = 'h'.repeat(600);
    const bytes = emitDhcp(base({ hostName: long })).bytes();
    // 600 octets go out as 255 + 255 + 90.
    assert.deepEqual(
      [bytes[240], bytes[241], bytes[240 + 257], bytes[240 + 258], bytes[240 + 514]],
      [12, 255, 12, 255, 12],
    );
    assert.equal(bytes[240 + 515], 90);
    assert.equal(parsed(bytes).options.hostName, long);
  });

  test('RFC 3397: the domain search list, compressed across instances split by RFC 3396', () => {
    // eng.apple.com and marketing.apple.com, the second ending in a pointer to "apple.com" (offset
    // 4 of the concatenated data), sent as three instances of 9 octets.
    const data = [
      ...[3, ...'eng', 5, ...'apple', 3, ...'com', 0].map((c) =>
        typeof c === 'string' ? c.charCodeAt(0) : c,
      ),
      ...[9, ...'marketing', 0xc0, 4].map((c) => (typeof c === 'string' ? c.charCodeAt(0) : c)),
    ];
    assert.equal(data.length, 27);
    const split = [0, 9, 18].flatMap((i) => [119, 9, ...data.slice(i, i + 9)]);
    const m = parsed(withOptions([MT, 1, 1, ...split, 255]));
    assert.deepEqual(m.options.domainSearch, ['eng.apple.com', 'marketing.apple.com']);
    // The builder compresses the same way: the same 27 octets, in one instance.
    const bytes = emitDhcp(base({ domainSearch: ['eng.apple.com', 'marketing.apple.com'] })).bytes();
    assert.deepEqual([...bytes.subarray(240, 240 + 29)], [119, 27, ...data]);
    // Names with bytes outside letters and digits keep their escaped text form.
    const odd = ['a\\.b\\026c.example', 'x.a\\.b\\026c.example'];
    assert.deepEqual(parsed(emitDhcp(base({ domainSearch: odd })).bytes()).options.domainSearch, odd);
    const e = (option: number[]) => {
      const r = parseDhcp(withOptions([...option, 255]));
      return r.ok ? 'ok' : r.error;
    };
    assert.equal(e([119, 5, 1, 0x61, 0xc0, 0, 0]), 'bad-domain-search'); // pointer into itself
    assert.equal(e([119, 4, 1, 0x61, 0xc0, 9]), 'bad-domain-search'); // forward pointer
    assert.equal(e([119, 3, 3, 0x61, 0x62]), 'bad-domain-search'); // runs past the data
    assert.equal(e([119, 4, 1, 0x61, 0, 0]), 'bad-domain-search'); // a root name
    assert.equal(e([119, 0]), 'bad-domain-search');
    assert.equal(e([119, 3, 1, 0x61, 0]), 'ok');
    assert.throws(() => emitDhcp(base({ domainSearch: [] })), RangeError);
    assert.throws(() => emitDhcp(base({ domainSearch: ['a..b'] })), RangeError);
    assert.throws(() => emitDhcp(base({ domainSearch: ['.'] })), RangeError);
    // Random option data never throws, whatever it points at.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (d) => {
        const r = parseDhcp(
          emitDhcp(base({ other: [{ code: 120, data: d }] }))
            .bytes()
            .map((b, i) => (i === 240 ? 119 : b)),
        );
        if (r.ok) assert.ok(r.value.options.domainSearch!.length > 0);
      }),
      { numRuns: RUNS },
    );
  });

  test('RFC 2132 9.3: option overload reads file then sname, in that order, after the options field', () => {
    const patchAreas = (b: Uint8Array) => {
      b.set([15, 2, 0x62, 0x2e, 255], 108); // file: domain name "b."
      b.set([15, 1, 0x63, 12, 1, 0x7a, 255], 44); // sname: domain name "c", host name "z"
    };
    const m = parsed(withOptions([MT, 1, 1, 52, 1, 3, 15, 1, 0x61, 255], patchAreas));
    assert.equal(m.options.domainName, 'ab.c');
    assert.equal(m.options.hostName, 'z');
    assert.equal(m.sname, '');
    assert.equal(m.file, '');
    assert.deepEqual(m.options.order, [MT, 15, 12]);
    // Overload 1 (file only): sname is a name again.
    const fileOnly = parsed(withOptions([52, 1, 1, 255], patchAreas));
    assert.equal(fileOnly.options.domainName, 'b.');
    assert.equal(fileOnly.sname, '\x0f\x01c\x0c\x01z\xff');
    assert.equal(fileOnly.file, '');
    const bad = (options: number[], patch?: (b: Uint8Array) => void) =>
      parseDhcp(withOptions(options, patch));
    assert.deepEqual(bad([52, 1, 4, 255]), { ok: false, error: 'bad-overload' });
    assert.deepEqual(bad([52, 2, 1, 1, 255]), { ok: false, error: 'bad-overload' });
    assert.deepEqual(
      bad([52, 1, 1, 255], (b) => b.set([52, 1, 2, 255], 108)),
      { ok: false, error: 'bad-overload' },
    );
    assert.deepEqual(
      bad([52, 1, 2, 255], (b) => b.set([15, 70, 0x61], 44)),
      { ok: false, error: 'option-truncated' },
    );
  });

  test('malformed: typed errors, never a throw', () => {
    const sample = messages[1]!;
    const e = (b: Uint8Array) => {
      const r = parseDhcp(b);
      return r.ok ? 'ok' : r.error;
    };
    assert.equal(e(sample.subarray(0, 239)), 'truncated');
    const noCookie = sample.slice();
    noCookie[236] = 0;
    assert.equal(e(noCookie), 'bad-magic-cookie');
    const bigHlen = sample.slice();
    bigHlen[2] = 17;
    assert.equal(e(bigHlen), 'bad-hlen');
    // Option length past the end of the message.
    assert.equal(e(withOptions([MT, 1, 1, 12, 10, 0x61])), 'option-truncated');
    assert.equal(e(withOptions([MT])), 'option-truncated');
    assert.equal(e(withOptions([MT, 1, 1])), 'missing-end');
    assert.equal(e(withOptions([0, 0, 0, 255])), 'ok');
    // Typed options with the wrong length or a value their RFC forbids.
    assert.equal(e(withOptions([1, 3, 255, 255, 255, 255])), 'bad-option');
    assert.equal(e(withOptions([3, 6, 1, 2, 3, 4, 5, 6, 255])), 'bad-option');
    assert.equal(e(withOptions([26, 2, 0, 67, 255])), 'bad-option');
    assert.equal(e(withOptions([57, 2, 2, 63, 255])), 'bad-option');
    assert.equal(e(withOptions([61, 1, 1, 255])), 'bad-option');
    assert.equal(e(withOptions([80, 1, 0, 255])), 'bad-option');
    assert.equal(e(withOptions([121, 0, 255])), 'bad-option');
    // RFC 3442: prefix > 32, a descriptor cut short, bits set past the prefix.
    assert.equal(e(withOptions([121, 9, 33, 10, 0, 0, 0, 1, 2, 3, 4, 255])), 'bad-classless-route');
    assert.equal(e(withOptions([121, 6, 16, 10, 0, 1, 2, 3, 255])), 'bad-classless-route');
    assert.equal(e(withOptions([121, 7, 16, 10, 1, 1, 2, 3, 4, 255])), 'ok');
    assert.equal(e(withOptions([121, 7, 15, 10, 1, 1, 2, 3, 4, 255])), 'bad-classless-route');
    assert.throws(
      () => emitDhcp(base({ classlessRoutes: [{ prefixLen: 33, destination: 0, router: 0 }] })),
      RangeError,
    );
    assert.throws(() => emitDhcp({ ...base({}), chaddr: new Uint8Array(17) }), RangeError);

    assertNeverThrows(parseDhcp, messages);
    // Random options after a valid fixed part, where random bytes alone would rarely reach.
    const fixed = messages[0]!.subarray(0, 240);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 3 }), (tail, overload) => {
        const b = new Uint8Array(240 + 3 + tail.length);
        b.set(fixed);
        b.set([52, 1, overload], 240);
        b.set(tail, 243);
        b.fill(0x63, 44, 236); // sname and file full of option 99 headers when overloaded
        parseDhcp(b);
        parseDhcp(b.subarray(0, 240 + tail.length));
      }),
      { numRuns: RUNS },
    );
  });

  test('tshark: messages from the builder, in UDP/IPv4/Ethernet, dissect cleanly', {
    skip: !tsharkAvailable(),
  }, () => {
    const server = ip('10.200.0.1');
    const client = ip('10.200.0.57');
    const common: DhcpOptions = {
      serverId: server,
      leaseTime: 3600,
      renewalTime: 1800,
      rebindingTime: 3150,
      subnetMask: ip('255.255.255.0'),
      broadcastAddress: ip('10.200.0.255'),
      routers: [server],
      dnsServers: [server, ip('10.200.0.3')],
      domainName: 'fx.test',
      domainSearch: ['fx.test', 'lab.fx.test', 'other.example'],
      interfaceMtu: 1400,
      classlessRoutes: [
        { prefixLen: 24, destination: ip('192.168.10.0'), router: server },
        { prefixLen: 0, destination: 0, router: server },
      ],
    };
    const request: DhcpOptions = {
      clientId: Uint8Array.of(1, 2, 0, 0, 0, 0, 0x0a),
      hostName: 'netstack',
      maxMessageSize: 1500,
      parameterRequestList: [1, 3, 6, 15, 26, 119, 121],
    };
    const msgs: { repr: DhcpRepr; fromServer: boolean }[] = [
      {
        repr: base({ messageType: DHCP_MESSAGE_TYPE.discover, rapidCommit: true, ...request }),
        fromServer: false,
      },
      {
        repr: { ...base({ messageType: DHCP_MESSAGE_TYPE.offer, ...common }), op: BOOTREPLY, yiaddr: client },
        fromServer: true,
      },
      {
        repr: base({
          messageType: DHCP_MESSAGE_TYPE.request,
          requestedAddress: client,
          serverId: server,
          ...request,
        }),
        fromServer: false,
      },
      {
        repr: {
          ...base({ messageType: DHCP_MESSAGE_TYPE.ack, message: 'welcome', ...common }),
          op: BOOTREPLY,
          yiaddr: client,
        },
        fromServer: true,
      },
      {
        repr: {
          ...base({ messageType: DHCP_MESSAGE_TYPE.release, serverId: server }),
          ciaddr: client,
          broadcast: false,
        },
        fromServer: false,
      },
    ];
    const out = msgs.map(({ repr, fromServer }) => {
      const pb: PacketBuffer = emitDhcp(repr);
      const src = fromServer ? server : 0;
      const dst = IPV4_BROADCAST;
      const [sp, dp] = fromServer
        ? [DHCP_SERVER_PORT, DHCP_CLIENT_PORT]
        : [DHCP_CLIENT_PORT, DHCP_SERVER_PORT];
      emitUdp(pb, sp, dp, { kind: 'v4', src, dst });
      return ipv4Frame(pb, { src, dst, protocol: IP_PROTOCOL_UDP, ttl: 64 });
    });
    const { problems, protocols } = dissect(out);
    assert.deepEqual(problems, []);
    assert.equal(protocols.length, 5);
    for (const p of protocols) assert.match(p, /:udp:dhcp$/);
  });
});
