import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { openCaptureFile } from '../../src/bindings/pcap/pcap-file.ts';
import { parseIpv4, parseIpv6, readIpv4, readIpv6 } from '../../src/wire/address.ts';
import { readU16 } from '../../src/wire/bytes.ts';
import { MAX_HEADROOM, PacketBuffer } from '../../src/wire/packet-buffer.ts';
import {
  emitTcp,
  parseTcp,
  TCP_ACK,
  TCP_AE,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PROTOCOL,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  type TcpHeader,
  TcpView,
  tcpHeaderLength,
} from '../../src/wire/tcp.ts';
import { parseTcpOptions, type TcpOptions } from '../../src/wire/tcp-options.ts';
import type { UdpChecksum } from '../../src/wire/udp.ts';
import { fromHex, loadFixture } from '../helpers/fixtures.ts';
import { ipv4FrameOf } from '../helpers/frames.ts';
import { ipv6FrameOf } from '../helpers/frames6.ts';
import { assertNeverThrows, RUNS } from '../helpers/fuzz.ts';
import { tcpHeaderArb } from '../helpers/tcp-arbitraries.ts';
import { dissect, tsharkAvailable, tsharkFields } from '../helpers/tshark.ts';

type Addresses = Exclude<UdpChecksum, { kind: 'none' }>;

interface Captured {
  segment: Uint8Array;
  addrs: Addresses;
}

/** The TCP segment of an untagged Ethernet frame (IPv4 or IPv6 without extensions), bounded by the IP length. */
function segmentOf(frame: Uint8Array): Captured | undefined {
  const ethertype = readU16(frame, 12);
  if (ethertype === 0x0800 && frame[23] === TCP_PROTOCOL) {
    const end = 14 + readU16(frame, 16);
    const addrs: Addresses = { kind: 'v4', src: readIpv4(frame, 26), dst: readIpv4(frame, 30) };
    return { segment: frame.subarray(14 + (frame[14]! & 0xf) * 4, end), addrs };
  }
  if (ethertype === 0x86dd && frame[20] === TCP_PROTOCOL) {
    const end = 54 + readU16(frame, 18);
    const addrs: Addresses = { kind: 'v6', src: readIpv6(frame, 22), dst: readIpv6(frame, 38) };
    return { segment: frame.subarray(54, end), addrs };
  }
  return undefined;
}

function segmentsOf(fixture: string): Captured[] {
  return loadFixture(fixture)
    .map((p) => segmentOf(p.data))
    .filter((s) => s !== undefined);
}

function verifies(view: TcpView, addrs: Addresses): boolean {
  return addrs.kind === 'v4' ? view.verifyV4(addrs.src, addrs.dst) : view.verifyV6(addrs.src, addrs.dst);
}

/** Emits `h` over `payload` and returns the segment. */
function emit(h: TcpHeader, payload: Uint8Array, checksum: UdpChecksum): Uint8Array {
  const pb = PacketBuffer.from(payload, tcpHeaderLength(h.options));
  emitTcp(pb, h, checksum);
  assert.equal(pb.headroom, 0, 'tcpHeaderLength is the length emitTcp prepends');
  return pb.bytes();
}

// test/fixtures/tcp.pcap and tcp-sack.pcap (scripts/fixtures/tcp.sh): segments Linux sent between namespaces.
const conn = segmentsOf('tcp.pcap');
const sack = segmentsOf('tcp-sack.pcap');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('TCP wire format', () => {
  test('golden: every captured segment parses, verifies, and re-emits the same bytes', () => {
    assert.equal(conn.length, 24);
    assert.ok(sack.length > 50);
    for (const [i, { segment, addrs }] of [...conn, ...sack].entries()) {
      const parsed = parseTcp(segment);
      assert.ok(parsed.ok, `segment ${i}: ${parsed.ok || parsed.error}`);
      const view = new TcpView(segment);
      assert.ok(verifies(view, addrs), `checksum of segment ${i}`);
      assert.equal(view.reserved, 0);
      assert.deepEqual(emit(parsed.value, parsed.value.payload, addrs), segment, `re-emit of segment ${i}`);
    }
  });

  test('golden: handshake, data, FIN and RST fields over IPv4 and IPv6', () => {
    const linuxSyn = (mss: number, value: number): TcpOptions => ({
      mss,
      sackPermitted: true,
      timestamp: { value, echo: 0 },
      windowScale: 10,
    });
    const expected: [number, Omit<TcpHeader, 'urgentPointer'>, string | number][] = [
      // IPv4: SYN, SYN-ACK (all four options), the client's data (timestamps only), the server's FIN.
      [
        0,
        {
          srcPort: 58390,
          dstPort: 5001,
          seqNumber: 2865350084,
          ackNumber: 0,
          flags: TCP_SYN,
          window: 64240,
          options: linuxSyn(1460, 0x2bb50146),
        },
        0,
      ],
      [
        1,
        {
          srcPort: 5001,
          dstPort: 58390,
          seqNumber: 2852258852,
          ackNumber: 2865350085,
          flags: TCP_SYN | TCP_ACK,
          window: 65160,
          options: { ...linuxSyn(1460, 0x0db75bed), timestamp: { value: 0x0db75bed, echo: 0x2bb50146 } },
        },
        0,
      ],
      [
        3,
        {
          srcPort: 58390,
          dstPort: 5001,
          seqNumber: 2865350085,
          ackNumber: 2852258853,
          flags: TCP_PSH | TCP_ACK,
          window: 63,
          options: { timestamp: { value: 0x2bb50146, echo: 0x0db75bed } },
        },
        'hello netstack\n',
      ],
      [
        7,
        {
          srcPort: 5001,
          dstPort: 58390,
          seqNumber: 2852258868,
          ackNumber: 2865350100,
          flags: TCP_FIN | TCP_ACK,
          window: 64,
          options: { timestamp: { value: 0x0db75bee, echo: 0x2bb50147 } },
        },
        0,
      ],
      // IPv6: SYN (MSS 1440 = 1500 - 40 - 20), data; then RSTs from closed ports, with no options.
      [
        10,
        {
          srcPort: 44854,
          dstPort: 5001,
          seqNumber: 3172644665,
          ackNumber: 0,
          flags: TCP_SYN,
          window: 64800,
          options: linuxSyn(1440, 0xfb07f758),
        },
        0,
      ],
      [
        13,
        {
          srcPort: 44854,
          dstPort: 5001,
          seqNumber: 3172644666,
          ackNumber: 2038531589,
          flags: TCP_PSH | TCP_ACK,
          window: 64,
          options: { timestamp: { value: 0xfb07f758, echo: 0x80b7e329 } },
        },
        'hello over ipv6\n',
      ],
      [
        21,
        {
          srcPort: 5009,
          dstPort: 59916,
          seqNumber: 0,
          ackNumber: 850846260,
          flags: TCP_RST | TCP_ACK,
          window: 0,
          options: {},
        },
        0,
      ],
      [
        23,
        {
          srcPort: 5009,
          dstPort: 54880,
          seqNumber: 0,
          ackNumber: 1374343795,
          flags: TCP_RST | TCP_ACK,
          window: 0,
          options: {},
        },
        0,
      ],
    ];
    for (const [i, header, payload] of expected) {
      const r = parseTcp(conn[i]!.segment);
      assert.ok(r.ok);
      assert.deepEqual(
        { ...r.value, payload: typeof payload === 'string' ? text(r.value.payload) : r.value.payload.length },
        { ...header, urgentPointer: 0, payload },
        `segment ${i}`,
      );
    }
    assert.deepEqual(
      conn.map((c) => c.addrs.kind),
      [...Array(10).fill('v4'), ...Array(10).fill('v6'), 'v4', 'v4', 'v6', 'v6'],
    );
    // The flag getters agree with the flag word, and the header length with the options.
    const syn = new TcpView(conn[0]!.segment);
    assert.deepEqual(
      [syn.syn, syn.ack, syn.fin, syn.rst, syn.psh, syn.urg, syn.ece, syn.cwr, syn.ae],
      [true, false, false, false, false, false, false, false, false],
    );
    assert.equal(syn.dataOffset, 10);
    assert.equal(syn.options.length, 20);
    const rst = new TcpView(conn[21]!.segment);
    assert.deepEqual(
      [rst.rst, rst.ack, rst.syn, rst.headerLen, rst.options.length],
      [true, true, false, 20, 0],
    );
    const fin = new TcpView(conn[7]!.segment);
    assert.deepEqual([fin.fin, fin.ack, fin.psh], [true, true, false]);
  });

  test('golden: SACK blocks from a lossy transfer, over IPv4 and IPv6', () => {
    const counts = { v4: [0, 0, 0, 0, 0], v6: [0, 0, 0, 0, 0] };
    for (const { segment, addrs } of sack) {
      const r = parseTcp(segment);
      assert.ok(r.ok);
      const blocks = r.value.options.sackBlocks ?? [];
      counts[addrs.kind][blocks.length]!++;
      for (const { left, right } of blocks) {
        // RFC 2018 3: a block is non-empty; received data sits above the cumulative ACK, or is a
        // D-SACK (RFC 2883) at or below it, which Linux sends for duplicates after retransmissions.
        assert.ok((right - left) >>> 0 > 0 && (right - left) >>> 0 < 0x8000_0000, 'left < right');
      }
      if (blocks.length > 0) assert.ok(r.value.options.timestamp !== undefined, 'Linux sends TS with SACK');
    }
    for (const family of ['v4', 'v6'] as const) {
      for (const n of [1, 2, 3])
        assert.ok(counts[family][n]! > 0, `${family} segments with ${n} SACK blocks`);
    }
    // Three blocks and timestamps fill the 40-byte options area.
    const three = sack.find((s) => parseTcp(s.segment).ok && new TcpView(s.segment).dataOffset === 15);
    assert.ok(three !== undefined);
    const opts = parseTcpOptions(new TcpView(three.segment).options);
    assert.ok(opts.ok);
    assert.equal(opts.value.sackBlocks?.length, 3);
  });

  test('round trip: emit then parse gives back the header, options and data, and the checksum verifies', () => {
    const a6 = parseIpv6('fd00:200::1')!;
    const b6 = parseIpv6('fd00:200::2')!;
    fc.assert(
      fc.property(
        tcpHeaderArb,
        fc.uint8Array({ maxLength: 1500 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.boolean(),
        (h, payload, src4, v6) => {
          const addrs: Addresses = v6
            ? { kind: 'v6', src: a6, dst: b6 }
            : { kind: 'v4', src: src4, dst: 0x0a000001 };
          const segment = emit(h, payload, addrs);
          const r = parseTcp(segment);
          assert.ok(r.ok);
          assert.deepEqual(r.value, { ...h, payload });
          const view = new TcpView(segment);
          assert.ok(verifies(view, addrs));
          assert.equal(view.reserved, 0);
          assert.equal(view.headerLen, tcpHeaderLength(h.options));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('emit: sequence numbers wrap modulo 2^32; checksum "none" leaves zero; AE is bit 8', () => {
    const h: TcpHeader = {
      srcPort: 1,
      dstPort: 2,
      seqNumber: 0xffff_fff0 + 0x20,
      ackNumber: -1,
      flags: TCP_AE | TCP_CWR | TCP_ECE | TCP_URG | TCP_SYN,
      window: 0xffff,
      urgentPointer: 7,
      options: {},
    };
    const segment = emit(h, new Uint8Array(0), { kind: 'none' });
    const view = new TcpView(segment);
    assert.equal(view.seqNumber, 0x10);
    assert.equal(view.ackNumber, 0xffff_ffff);
    assert.equal(view.checksum, 0);
    assert.equal(segment[12], 0x51, 'data offset 5, reserved 0, AE');
    assert.equal(segment[13], 0xe2, 'CWR ECE URG SYN');
    assert.deepEqual(
      [view.ae, view.cwr, view.ece, view.urg, view.syn, view.ack],
      [true, true, true, true, true, false],
    );
    assert.equal(view.urgentPointer, 7);
  });

  test('emit: options over 40 bytes are a caller bug (RangeError)', () => {
    const options: TcpOptions = {
      mss: 1460,
      timestamp: { value: 1, echo: 2 },
      sackBlocks: [
        { left: 1, right: 2 },
        { left: 3, right: 4 },
        { left: 5, right: 6 },
      ],
    };
    const h: TcpHeader = {
      srcPort: 1,
      dstPort: 2,
      seqNumber: 0,
      ackNumber: 0,
      flags: TCP_ACK,
      window: 0,
      urgentPointer: 0,
      options,
    };
    assert.throws(() => emitTcp(PacketBuffer.alloc(MAX_HEADROOM, 0), h, { kind: 'none' }), RangeError);
  });

  test('malformed: typed errors, never a throw', () => {
    const header = (dataOffsetByte: number, options = '') =>
      fromHex(
        `0001 0002 00000000 00000000 ${dataOffsetByte.toString(16).padStart(2, '0')}10 ffff 0000 0000 ${options}`,
      );
    assert.deepEqual(parseTcp(new Uint8Array(19)), { ok: false, error: 'truncated' });
    assert.deepEqual(parseTcp(header(0x00)), { ok: false, error: 'bad-data-offset' });
    assert.deepEqual(parseTcp(header(0x40)), { ok: false, error: 'bad-data-offset' });
    assert.deepEqual(parseTcp(header(0x60)), { ok: false, error: 'bad-data-offset' }, 'offset past the end');
    assert.deepEqual(parseTcp(header(0xf0, '00'.repeat(39))), { ok: false, error: 'bad-data-offset' });
    assert.ok(parseTcp(header(0xf0, '00'.repeat(40))).ok);
    assert.deepEqual(parseTcp(header(0x60, '02030000')), { ok: false, error: 'bad-option-length' });
    assert.deepEqual(parseTcp(header(0x60, '02000000')), { ok: false, error: 'bad-option-length' });
    assert.deepEqual(parseTcp(header(0x60, '1e080000 0000')), { ok: false, error: 'option-truncated' });
    // Reserved bits are ignored on receipt (RFC 9293 3.1), and the bytes after the header are data.
    const reserved = parseTcp(header(0x5e, 'abcd'));
    assert.ok(reserved.ok);
    assert.equal(reserved.value.flags, TCP_ACK);
    assert.deepEqual(reserved.value.payload, Uint8Array.of(0xab, 0xcd));
    const samples = [conn[0]!, conn[1]!, conn[3]!, conn[21]!, conn[10]!].map((c) => c.segment);
    const sackSample = sack.find((s) => new TcpView(s.segment).dataOffset === 15);
    assertNeverThrows(parseTcp, [...samples, sackSample!.segment]);
    assertNeverThrows((bytes) => {
      if (TcpView.check(bytes) !== undefined) return;
      const v = new TcpView(bytes);
      void [
        v.options,
        v.payload,
        v.flags,
        v.verifyV4(1, 2),
        v.verifyV6(new Uint8Array(16), new Uint8Array(16)),
      ];
    }, samples);
  });

  test('tshark: SYNs with every option, data, SACK, FIN and ECN bits over IPv4 and IPv6 dissect cleanly', (t) => {
    if (!tsharkAvailable()) {
      t.skip('tshark not installed');
      return;
    }
    const a4 = parseIpv4('192.0.2.1')!;
    const b4 = parseIpv4('192.0.2.2')!;
    const a6 = parseIpv6('2001:db8::1')!;
    const b6 = parseIpv6('2001:db8::2')!;
    const base = { window: 502, urgentPointer: 0 };
    const segments: [TcpHeader, Uint8Array][] = [
      [
        {
          ...base,
          srcPort: 40000,
          dstPort: 80,
          seqNumber: 1000,
          ackNumber: 0,
          flags: TCP_SYN,
          window: 64240,
          options: { mss: 1460, sackPermitted: true, timestamp: { value: 11, echo: 0 }, windowScale: 7 },
        },
        new Uint8Array(0),
      ],
      [
        {
          ...base,
          srcPort: 80,
          dstPort: 40000,
          seqNumber: 0xffff_fff0,
          ackNumber: 1001,
          flags: TCP_SYN | TCP_ACK,
          window: 65160,
          options: { mss: 1460, sackPermitted: true, timestamp: { value: 22, echo: 11 }, windowScale: 7 },
        },
        new Uint8Array(0),
      ],
      [
        {
          ...base,
          srcPort: 40000,
          dstPort: 80,
          seqNumber: 1001,
          ackNumber: 0xffff_fff1,
          flags: TCP_PSH | TCP_ACK,
          options: { timestamp: { value: 12, echo: 22 } },
        },
        new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'),
      ],
      [
        {
          ...base,
          srcPort: 40000,
          dstPort: 80,
          seqNumber: 1019,
          ackNumber: 0xffff_fff1 + 1448,
          flags: TCP_ACK,
          options: {
            timestamp: { value: 13, echo: 23 },
            sackBlocks: [
              { left: 0xffff_fff1 + 2896, right: 0xffff_fff1 + 4344 },
              { left: 0xffff_fff1 + 5792, right: 0xffff_fff1 + 7240 },
              { left: 0xffff_fff1 + 8688, right: 0xffff_fff1 + 10136 },
            ],
          },
        },
        new Uint8Array(0),
      ],
      [
        {
          ...base,
          srcPort: 40000,
          dstPort: 80,
          seqNumber: 1019,
          ackNumber: 0xffff_fff1 + 1448,
          flags: TCP_FIN | TCP_ACK,
          // An option we do not interpret is written as given: an RFC 6994 experiment (kind 253, ExID).
          options: {
            timestamp: { value: 14, echo: 23 },
            unknown: [{ kind: 253, data: Uint8Array.of(0x12, 0x34) }],
          },
        },
        new Uint8Array(0),
      ],
      // Timestamps off: MSS, NOP NOP SACK-permitted, NOP WS; and an ECN-setup SYN (RFC 3168 6.1.1).
      [
        {
          ...base,
          srcPort: 40001,
          dstPort: 80,
          seqNumber: 5,
          ackNumber: 0,
          flags: TCP_SYN | TCP_ECE | TCP_CWR,
          options: { mss: 536, sackPermitted: true, windowScale: 14 },
        },
        new Uint8Array(0),
      ],
      // Four SACK blocks without timestamps.
      [
        {
          ...base,
          srcPort: 40002,
          dstPort: 80,
          seqNumber: 77,
          ackNumber: 1000,
          flags: TCP_ACK,
          options: {
            sackBlocks: [
              { left: 2000, right: 3000 },
              { left: 4000, right: 5000 },
              { left: 6000, right: 7000 },
              { left: 8000, right: 9000 },
            ],
          },
        },
        new Uint8Array(0),
      ],
    ];
    const frames: Uint8Array[] = [];
    for (const [h, payload] of segments) {
      frames.push(
        ipv4FrameOf(
          emit(h, payload, { kind: 'v4', src: h.srcPort === 80 ? b4 : a4, dst: h.srcPort === 80 ? a4 : b4 }),
          {
            src: h.srcPort === 80 ? b4 : a4,
            dst: h.srcPort === 80 ? a4 : b4,
            protocol: TCP_PROTOCOL,
            ttl: 64,
          },
        ),
      );
    }
    for (const [h, payload] of segments) {
      const [src, dst] = h.srcPort === 80 ? [b6, a6] : [a6, b6];
      frames.push(
        ipv6FrameOf(emit(h, payload, { kind: 'v6', src, dst }), {
          src,
          dst,
          nextHeader: TCP_PROTOCOL,
          hopLimit: 64,
        }),
      );
    }
    // These are single segments, not a captured conversation: the SACK blocks name data that was
    // never sent in this file, which tshark's sequence analysis would flag as "ACKed segment that
    // wasn't captured". Each connection has its own ports; sequence analysis is off for that reason.
    const noSeqAnalysis = ['-o', 'tcp.analyze_sequence_numbers:FALSE'];
    const { problems, protocols } = dissect(frames, undefined, noSeqAnalysis);
    assert.deepEqual(problems, []);
    assert.equal(protocols.length, frames.length);
    for (const p of protocols) assert.match(p, /^eth:ethertype:(ip|ipv6):tcp/);
    assert.match(protocols[2]!, /:http$/);

    // tshark decodes the options and flags we wrote to the values we meant.
    const dir = mkdtempSync(join(tmpdir(), 'netstack-tcp-'));
    try {
      const path = join(dir, 'tcp.pcap');
      const writer = openCaptureFile(path);
      frames.forEach((data, i) => {
        writer.write({ timestamp: 1_700_000_000_000 + i, data });
      });
      writer.close();
      const rows = tsharkFields(
        path,
        [
          'tcp.flags',
          'tcp.options.mss_val',
          'tcp.options.wscale.shift',
          'tcp.options.sack.count',
          'tcp.options.timestamp.tsval',
          'tcp.checksum.status',
        ],
        noSeqAnalysis,
      );
      // Flags, MSS, shift, SACK block count, TSval, checksum status (1: good).
      const expectedRows = [
        ['0x0002', '1460', '7', '', '11', '1'],
        ['0x0012', '1460', '7', '', '22', '1'],
        ['0x0018', '', '', '', '12', '1'],
        ['0x0010', '', '', '3', '13', '1'],
        ['0x0011', '', '', '', '14', '1'],
        ['0x00c2', '536', '14', '', '', '1'],
        ['0x0010', '', '', '4', '', '1'],
      ];
      assert.deepEqual(
        rows.map((r) => r.map((f) => f ?? '')),
        [...expectedRows, ...expectedRows],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
