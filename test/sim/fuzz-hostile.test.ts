/**
 * Whole-stack tests with structured hostile input: IPv6 extension header chains, IPv4 options
 * and fragment floods, TCP segments with every flag combination and broken options against a
 * live connection, forged ICMP errors, neighbour cache poisoning, DHCP and DNS answers with wrong
 * IDs and compression loops. Each batch must be taken without a throw, leave counted drops where
 * the input is invalid, and leave the busy victim bounded and still transferring.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixChecksums } from '../helpers/hostile-frames.ts';
import {
  assertBounded,
  assertStillTransfers,
  dropTotal,
  type HostileWorld,
  hostileWorld,
  inject,
  type Victim,
} from '../helpers/hostile-world.ts';

const SEED = 7;
const ATTACKER = [0x02, 0, 0, 0, 0, 0x66];

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u16 = (v: number) => [v >>> 8, v & 0xff];
const u32 = (v: number) => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** An Ethernet frame to the victim from the attacker's MAC. */
function eth(v: Victim, type: number, body: Uint8Array, dst: ArrayLike<number> = v.mac): Uint8Array {
  return concat(dst, ATTACKER, u16(type), body);
}

/** An IPv6 packet (checksums fixed) with `next` and `rest` after the fixed header. */
function ip6(v: Victim, src: Uint8Array, next: number, rest: Uint8Array, dst: Uint8Array = v.ip6, hop = 64) {
  const head = concat([0x60, 0, 0, 0], u16(rest.length), [next, hop], src, dst);
  return fixChecksums(eth(v, 0x86dd, concat(head, rest)));
}

/** An IPv4 packet (checksums fixed) with options. */
function ip4(
  v: Victim,
  src: number[],
  proto: number,
  body: Uint8Array,
  opts: number[] = [],
  frag = 0,
  id = 1,
) {
  const ihl = 5 + Math.ceil(opts.length / 4);
  const padded = concat(opts, new Uint8Array(ihl * 4 - 20 - opts.length));
  const head = concat(
    [0x40 | ihl, 0],
    u16(ihl * 4 + body.length),
    u16(id),
    u16(frag),
    [64, proto, 0, 0],
    src,
    v.ip4,
  );
  return fixChecksums(eth(v, 0x0800, concat(head, padded, body)));
}

/** A Destination Options (60) / Hop-by-Hop (0) header holding `options`, padded to 8 octets. */
function optionsHeader(next: number, options: number[]): number[] {
  const len = Math.ceil((options.length + 2) / 8) * 8;
  const pad = len - options.length - 2;
  return [
    next,
    len / 8 - 1,
    ...options,
    ...(pad === 1 ? [0] : pad > 1 ? [1, pad - 2, ...new Array(pad - 2).fill(0)] : []),
  ];
}

const ICMP6_ECHO = [128, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4];
const PEER6 = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 1, ...new Array(9).fill(0), 0x99]);

/** The last TCP segment the router sent to a for the IPv4 connection: ports, seq, ack. */
function lastSegmentToA(w: HostileWorld) {
  for (let i = w.recent.length - 1; i >= 0; i--) {
    const f = w.recent[i]!;
    if (
      f[12] === 0x08 &&
      f[13] === 0 &&
      f[23] === 6 &&
      f[30] === 10 &&
      f[33] === 2 &&
      ((f[34]! << 8) | f[35]!) === 80
    ) {
      const t = 34;
      const len = ((f[16]! << 8) | f[17]!) - 20 - (f[t + 12]! >>> 4) * 4;
      const seq = ((f[t + 4]! << 24) | (f[t + 5]! << 16) | (f[t + 6]! << 8) | f[t + 7]!) >>> 0;
      const ack = ((f[t + 8]! << 24) | (f[t + 9]! << 16) | (f[t + 10]! << 8) | f[t + 11]!) >>> 0;
      return { dport: (f[36]! << 8) | f[37]!, seq, end: (seq + len) >>> 0, ack };
    }
  }
  throw new Error('no segment to a seen');
}

function tcp4(w: HostileWorld, seq: number, ack: number, flags: number, options: number[] = [], data = 0) {
  const s = lastSegmentToA(w);
  const optLen = Math.ceil(options.length / 4) * 4;
  const hdr = concat(
    u16(80),
    u16(s.dport),
    u32(seq),
    u32(ack),
    [((20 + optLen) / 4) << 4, flags],
    u16(1000),
    [0, 0, 0, 0],
  );
  const body = concat(hdr, options, new Uint8Array(optLen - options.length), new Uint8Array(data));
  return ip4(w.host, [10, 0, 2, 2], 6, body);
}

/** Injects `frames` into `victim`; asserts drops were counted when `dropped`, then the invariants. */
function hostile(w: HostileWorld, victim: Victim, frames: Uint8Array[], what: string, dropped = true) {
  const before = dropTotal(victim.stack);
  inject(victim, frames, SEED);
  if (dropped) assert.ok(dropTotal(victim.stack) > before, `${what}: no drop counted`);
  w.sim.advance(100);
  assertBounded(w, SEED);
}

describe('whole stack under structured hostile input', () => {
  const w = hostileWorld(SEED);
  const a = w.host;
  const r = w.gateway;

  it('IPv6 extension header chains', () => {
    for (const v of [a, r]) {
      // A chain of 40 Destination Options headers, each full of Pad1.
      let chain: number[] = ICMP6_ECHO;
      let next = 58;
      for (let i = 0; i < 40; i++) {
        chain = [...optionsHeader(next, new Array(6).fill(0)), ...chain];
        next = 60;
      }
      hostile(w, v, [ip6(v, PEER6, 60, new Uint8Array(chain))], 'long chain', false);
      // Hundreds of PadN options in one header (RFC 8504 5.3 limits padding).
      const padn = optionsHeader(58, new Array(100).fill([1, 0]).flat());
      hostile(w, v, [ip6(v, PEER6, 60, new Uint8Array([...padn, ...ICMP6_ECHO]))], 'many PadN', false);
      // Hop-by-Hop after a Destination Options header (RFC 8200 4.1: parameter problem).
      const late = [
        ...optionsHeader(0, [0, 0, 0, 0, 0, 0]),
        ...optionsHeader(58, [0, 0, 0, 0, 0, 0]),
        ...ICMP6_ECHO,
      ];
      hostile(w, v, [ip6(v, PEER6, 60, new Uint8Array(late))], 'hop-by-hop not first');
      // Routing type 0 with segments left (RFC 5095: deprecated, parameter problem).
      const rh0 = [58, 2, 0, 1, 0, 0, 0, 0, ...w.bAddr, ...ICMP6_ECHO];
      hostile(w, v, [ip6(v, PEER6, 43, new Uint8Array(rh0))], 'routing type 0');
      // Overlapping, tiny and atomic fragments (RFC 5722, RFC 6946, RFC 8200 4.5).
      const frag = (offset: number, more: boolean, id: number, body: number[]) =>
        ip6(
          v,
          PEER6,
          44,
          new Uint8Array([58, 0, ...u16((offset << 3) | (more ? 1 : 0)), ...u32(id), ...body]),
        );
      hostile(
        w,
        v,
        [
          frag(0, true, 77, new Array(16).fill(1)),
          frag(1, true, 77, new Array(16).fill(2)),
          frag(3, false, 77, [3]),
        ],
        'overlapping fragments',
      );
      hostile(w, v, [frag(0, true, 78, [1, 2, 3])], 'tiny fragment');
      hostile(w, v, [frag(0, false, 79, ICMP6_ECHO)], 'atomic fragment', false);
      // A Neighbour Advertisement in a fragment (RFC 6980: dropped).
      const na = [136, 0, 0, 0, 0x20, 0, 0, 0, ...w.aLinkLocal, 2, 1, ...ATTACKER];
      hostile(
        w,
        v,
        [ip6(v, PEER6, 44, new Uint8Array([58, 0, 0, 0, 0, 0, 0, 9, ...na]), v.ip6, 255)],
        'NDP in a fragment',
      );
    }
    assertStillTransfers(w, SEED);
  });

  it('IPv4 options and fragment floods', () => {
    for (const v of [a, r]) {
      fc.assert(
        fc.property(fc.array(fc.nat(255), { maxLength: 40 }), (opts) => {
          inject(v, [ip4(v, [10, 0, 1, 9], 1, new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1]), opts)], SEED);
        }),
        { seed: SEED, numRuns: 200 },
      );
      // Zero-length and overlong option lengths are malformed (RFC 791 3.1).
      hostile(w, v, [ip4(v, [10, 0, 1, 9], 17, new Uint8Array(8), [0x83, 0, 0, 0])], 'option length 0');
      hostile(
        w,
        v,
        [ip4(v, [10, 0, 1, 9], 17, new Uint8Array(8), [0x44, 40, 5, 0])],
        'option length past header',
      );
      const flood = Array.from({ length: 3000 }, (_, i) =>
        ip4(v, [10, 0, 1, 9], 17, new Uint8Array(64), [], 0x2000, i),
      );
      hostile(w, v, flood, 'fragment flood', false);
    }
    assertStillTransfers(w, SEED);
  });

  it('forged ICMP errors about the live connections', () => {
    const c4 = w.connections[0]!.client;
    const c6 = w.connections[1]!.client;
    const quote4 = concat(
      [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2],
      u16(c4.localPort),
      u16(80),
      u32(1),
      u32(0),
    );
    // Fragmentation Needed with an MTU below 68 (RFC 1191 3, RFC 791: at least 68) and a port
    // unreachable for an established connection (RFC 1122 4.2.3.9: a soft error).
    const icmp4 = (type: number, code: number, mtu: number) =>
      ip4(a, [10, 0, 1, 1], 1, concat([type, code, 0, 0, 0, 0], u16(mtu), quote4));
    hostile(
      w,
      a,
      [icmp4(3, 4, 0), icmp4(3, 4, 40), icmp4(3, 4, 67), icmp4(3, 3, 0), icmp4(3, 1, 0)],
      'ICMPv4',
      false,
    );
    const head6 = concat([0x60, 0, 0, 0, 0, 20, 6, 64], w.aAddr, w.bAddr);
    const quote6 = concat(head6, u16(c6.localPort), u16(80), u32(1), u32(0));
    // Packet Too Big below the IPv6 minimum MTU of 1280 (RFC 8201 4), and port unreachable.
    const icmp6 = (type: number, code: number, mtu: number) =>
      ip6(
        a,
        new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        58,
        concat([type, code, 0, 0], u32(mtu), quote6),
      );
    hostile(w, a, [icmp6(2, 0, 0), icmp6(2, 0, 68), icmp6(2, 0, 1279), icmp6(1, 4, 0)], 'ICMPv6', false);
    assertStillTransfers(w, SEED);
  });

  it('neighbour cache poisoning and floods', () => {
    for (const v of [a, r]) {
      // NS from the unspecified address with a source link-layer option (RFC 4861 7.1.1: drop).
      const target = v === a ? w.aLinkLocal : r.ip6;
      const ns = new Uint8Array([135, 0, 0, 0, 0, 0, 0, 0, ...target, 1, 1, ...ATTACKER]);
      const snm = new Uint8Array([
        0xff,
        2,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0xff,
        target[13]!,
        target[14]!,
        target[15]!,
      ]);
      hostile(w, v, [ip6(v, new Uint8Array(16), 58, ns, snm, 255)], 'NS from unspecified with SLLAO');
      // Unsolicited NA with Override for an address nobody asked about (RFC 4861 7.2.5).
      const na = new Uint8Array([136, 0, 0, 0, 0xa0, 0, 0, 0, ...PEER6, 2, 1, ...ATTACKER]);
      hostile(w, v, [ip6(v, PEER6, 58, na, v.ip6, 255)], 'unsolicited NA', false);
      // Floods of NS and ARP requests from distinct sources: the caches stay bounded.
      const nsFlood = Array.from({ length: 1500 }, (_, i) => {
        const src = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, i >> 8, i & 0xff]);
        return ip6(
          v,
          src,
          58,
          new Uint8Array([135, 0, 0, 0, 0, 0, 0, 0, ...target, 1, 1, 2, 0, 1, 0, i >> 8, i & 0xff]),
          target,
          255,
        );
      });
      hostile(w, v, nsFlood, 'NS flood', false);
      // The flood filled the cache to its bound, evicting (and counting) the rest.
      assert.equal(v.stack.ipv6!.ndp.table.size, 1024, `${v.name}: neighbour cache after the NS flood`);
      assert.ok(v.stack.counters.value('ndp.evicted') >= 400, `${v.name}: evictions not counted`);
      const arpFlood = Array.from({ length: 1500 }, (_, i) =>
        eth(
          v,
          0x0806,
          new Uint8Array([
            0,
            1,
            8,
            0,
            6,
            4,
            0,
            1,
            2,
            0,
            2,
            0,
            i >> 8,
            i & 0xff,
            10,
            0,
            i >> 8,
            i & 0xff,
            0,
            0,
            0,
            0,
            0,
            0,
            ...v.ip4,
          ]),
        ),
      );
      const arpSeen = () => {
        const snap = v.stack.counters.snapshot();
        return Object.entries(snap).reduce(
          (n, [k, x]) => n + (/^arp\.rx\.(requests|drop)/.test(k) ? x : 0),
          0,
        );
      };
      const arpBefore = arpSeen();
      hostile(w, v, arpFlood, 'ARP flood', false);
      assert.ok(arpSeen() - arpBefore >= 1500, `${v.name}: ARP flood frames not all counted`);
    }
    assertStillTransfers(w, SEED);
  });

  it('DNS and DHCP answers with wrong IDs and compression loops', () => {
    const udp = (srcPort: number, dstPort: number, body: Uint8Array) =>
      concat(u16(srcPort), u16(dstPort), u16(8 + body.length), [0, 0], body);
    // A response whose answer name points at itself (RFC 1035 4.1.4 pointers must go backwards).
    const loop = (id: number) =>
      concat(
        u16(id),
        [0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0],
        [0xc0, 12, 0, 1, 0, 1],
        [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4],
      );
    const queries = w.sent.filter(
      (f) => f[12] === 8 && f[13] === 0 && f[23] === 17 && f[36] === 0 && f[37] === 53,
    );
    assert.ok(queries.length > 0, 'no DNS query seen');
    const frames = queries.slice(-4).flatMap((q) => {
      const port = (q[34]! << 8) | q[35]!;
      const id = (q[42]! << 8) | q[43]!;
      return [
        ip4(a, [10, 0, 2, 2], 17, udp(53, port, loop(id))),
        ip4(a, [10, 0, 2, 2], 17, udp(53, port, loop(id ^ 0x5555))),
      ];
    });
    const lookups = w.lookups();
    hostile(w, a, frames, 'DNS', false);
    // A DHCP OFFER with a wrong transaction ID and a domain search option that loops (RFC 3397).
    const bootp = new Uint8Array(240);
    bootp.set([2, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef]);
    bootp.set([99, 130, 83, 99], 236);
    const offer = concat(bootp, [53, 1, 2, 54, 4, 10, 0, 1, 1, 119, 2, 0xc0, 0, 255]);
    const bcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const f = ip4(a, [10, 0, 1, 1], 17, udp(67, 68, offer));
    f.set(bcast, 0);
    f.set([255, 255, 255, 255], 30);
    hostile(w, a, [fixChecksums(f)], 'DHCP', false);
    assert.ok(
      w.sim.runUntil(() => w.lookups() > lookups, 60_000),
      'the resolver stopped',
    );
    assertStillTransfers(w, SEED);
  });

  it('TCP: every flag combination, broken options, out-of-window SACK, against the live connection', () => {
    const challenge0 = a.stack.counters.snapshot();
    let s = lastSegmentToA(w);
    // Out of window: whatever the flags, never a reset (RFC 9293 3.10.7.4, RFC 5961).
    const outside = Array.from({ length: 256 }, (_, f) =>
      tcp4(w, (s.end + 0x40000000) >>> 0, s.ack, f, [], f & 1 ? 0 : 10),
    );
    hostile(w, a, outside, 'out-of-window flags', false);
    assertStillTransfers(w, SEED);
    // In window but not exact: RST and SYN get challenge ACKs (RFC 5961 3.2, 4.2), no reset.
    s = lastSegmentToA(w);
    hostile(
      w,
      a,
      [tcp4(w, (s.end + 1000) >>> 0, 0, 0x04), tcp4(w, (s.end + 1000) >>> 0, 0, 0x02)],
      'in-window RST/SYN',
      false,
    );
    const after = a.stack.counters.snapshot();
    const challenges = (after['tcp.tx.challenge-acks'] ?? 0) - (challenge0['tcp.tx.challenge-acks'] ?? 0);
    const limited =
      (after['tcp.tx.challenge-acks-limited'] ?? 0) - (challenge0['tcp.tx.challenge-acks-limited'] ?? 0);
    assert.ok(challenges + limited >= 1, `no challenge ACK: ${JSON.stringify(after)}`);
    assertStillTransfers(w, SEED);
    // Options: zero and oversized lengths, window scale 15, MSS 0, SACK outside the window, TS wrap.
    s = lastSegmentToA(w);
    const opts: number[][] = [
      [2, 0, 0, 0],
      [8, 40, 0, 0],
      [3, 3, 15, 1],
      [2, 4, 0, 0],
      [5, 10, ...u32((s.ack + 0x70000000) >>> 0), ...u32((s.ack + 0x70001000) >>> 0), 1, 1],
      [8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 1],
      [5, 34, ...new Array(32).fill(0xee)],
    ];
    hostile(
      w,
      a,
      opts.map((o) => tcp4(w, s.end, s.ack, 0x10, o)),
      'broken options',
      false,
    );
    assertStillTransfers(w, SEED);
    // SYNs with broken options at the listener, and a SYN flood: the queue stays bounded.
    const syns = Array.from({ length: 2000 }, (_, i) => {
      const body = concat(
        u16(1024 + i),
        u16(22),
        u32(i * 7919),
        u32(0),
        [0x70, 0x02],
        u16(1000),
        [0, 0, 0, 0],
        ...[opts[i % opts.length]!],
        new Uint8Array(8),
      );
      return ip4(a, [10, 0, 1, 9 + (i % 200)], 6, body.subarray(0, 28));
    });
    hostile(w, a, syns, 'SYN flood', false);
    // Every flag combination at the listener (LISTEN, then SYN-RECEIVED for the SYNs) and at a
    // closed port (RFC 9293 3.10.7.1-2): answered or dropped, counted, nothing left behind.
    const states = [22, 23].flatMap((port) =>
      Array.from({ length: 256 }, (_, f) => {
        const body = concat(
          u16(4000 + f),
          u16(port),
          u32(f * 104729),
          u32(f),
          [0x50, f],
          u16(1000),
          [0, 0, 0, 0],
        );
        return ip4(a, [10, 0, 1, 9], 6, body);
      }),
    );
    hostile(w, a, states, 'flags at LISTEN and CLOSED', false);
    hostile(w, a, states, 'flags at SYN-RECEIVED', false);
    assertStillTransfers(w, SEED);
    // The exact RST (sequence number = RCV.NXT) legitimately resets the connection (RFC 5961 3.2).
    const c4 = w.connections[0]!;
    const rcvNxt = (c4.client as unknown as { tcb: { rcvNxt: number } }).tcb.rcvNxt >>> 0;
    inject(a, [tcp4(w, rcvNxt, 0, 0x04)], SEED);
    assert.equal(c4.client.state, 'CLOSED', 'the exact RST did not reset the connection');
    const gone = assertStillTransfers(w, SEED, 8 * 1024, true);
    assert.deepEqual(gone, ['tcp4'], 'the RST resets the IPv4 connection only');
  });
});
