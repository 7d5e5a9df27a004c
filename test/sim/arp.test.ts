import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Simulation, VirtualNetwork } from '../../src/bindings/memory/index.ts';
import type { AddressConflict } from '../../src/core/device/arp.ts';
import { ANNOUNCE_WAIT, PROBE_MAX, PROBE_MIN, PROBE_WAIT } from '../../src/core/device/arp-probe.ts';
import type { PacketSocket } from '../../src/core/device/packet-socket.ts';
import type { Stack } from '../../src/core/stack.ts';
import { type Ipv4Addr, MAC_BROADCAST, type MacAddr } from '../../src/wire/address.ts';
import { ARP_REPLY, ARP_REQUEST, type ArpRepr, parseArp } from '../../src/wire/arp.ts';
import { ETHERTYPE_ARP, parseEthernet } from '../../src/wire/ethernet.ts';
import { emitIcmpv4 } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { arpFrame } from '../helpers/frames.ts';
import { configure, type Host, ip } from '../helpers/sim-hosts.ts';

const FAKE_MAC: MacAddr = 0x02_00_00_00_99_99;

interface SeenArp extends ArpRepr {
  t: number;
  dstMac: MacAddr;
}

/** Hosts on one switch, each with the address given (or none), and a raw ARP socket on each. */
function lan(seed: number, cidrs: Array<string | undefined>) {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch();
  const hosts = cidrs.map((cidr, i) => {
    const stack = sim.createStack({ name: `h${i}` });
    const iface = sw.attach(stack, 'eth0');
    const host: Host & { arp: SeenArp[]; raw: PacketSocket; replies: number[] } = {
      stack,
      iface,
      ip: cidr === undefined ? 0 : configure(stack, iface, cidr),
      arp: [],
      replies: [],
      raw: stack.packetSockets.open({
        iface,
        ethertype: ETHERTYPE_ARP,
        promiscuous: true,
        onFrame: (frame) => {
          const eth = parseEthernet(frame);
          const arp = eth.ok ? parseArp(eth.value.payload) : undefined;
          if (eth.ok && arp?.ok) host.arp.push({ ...arp.value, t: sim.now, dstMac: eth.value.dst });
        },
      }),
    };
    stack.icmpv4.echoReplyHandler = (_p, icmp) => {
      host.replies.push(icmp.echoSeq);
      return true;
    };
    return host;
  });
  // Let the announcements of the configured addresses pass, then forget them.
  sim.advance(5000);
  for (const h of hosts) h.arp.length = 0;
  return { sim, hosts };
}

/** Sends an echo request of `size` data bytes from `h` to `dst`. */
function ping(h: Host, dst: Ipv4Addr, seq: number, size = 56): void {
  h.stack.run(() => {
    const pb = PacketBuffer.forMessage(8 + size);
    emitIcmpv4(pb, { type: 'echo-request', id: 1, seq, data: new Uint8Array(size) });
    const path = h.stack.ipv4.route(dst);
    assert.ok(typeof path === 'object');
    h.stack.ipv4.send(path, { dst, protocol: IP_PROTOCOL_ICMP }, pb);
  });
}

/** Sends a raw ARP packet from the raw socket of `from` (its sender fields may be anything). */
function injectArp(from: { raw: PacketSocket; iface: Host['iface'] }, repr: ArpRepr, dst?: MacAddr): void {
  from.raw.send(from.iface, arpFrame(repr, dst !== undefined ? { dst } : {}));
}

const v = (s: Stack, name: string) => s.counters.value(name);

describe('ARP in simulation', () => {
  test('resolution: every packet queued meanwhile is delivered, in order, after one request', () => {
    const { sim, hosts } = lan(1, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    for (let seq = 1; seq <= 5; seq++) ping(a, b.ip, seq);
    assert.equal(a.stack.arp.table.lookup(a.iface, b.ip)?.state, 'incomplete');
    sim.runUntil(() => a.replies.length === 5, 5000);
    assert.deepEqual(a.replies, [1, 2, 3, 4, 5]);
    assert.equal(v(a.stack, 'arp.tx.solicitations'), 1);
    assert.equal(a.stack.arp.table.lookup(a.iface, b.ip)?.state, 'reachable');
    assert.equal(v(a.stack, 'arp.tx.drop.queue-full'), 0);
  });

  test('the byte bound of the resolution queue drops the oldest packets, counted', () => {
    const { sim, hosts } = lan(2, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    // 84-byte IP packets: three fit.
    a.stack.arp.table.params.maxQueuedBytesPerEntry = 3 * 84;
    for (let seq = 1; seq <= 5; seq++) ping(a, b.ip, seq);
    ping(a, b.ip, 6, 400); // larger than the whole bound: dropped itself
    sim.runUntil(() => a.replies.length === 3, 5000);
    sim.advance(1000);
    assert.deepEqual(a.replies, [3, 4, 5]);
    assert.equal(v(a.stack, 'arp.tx.drop.queue-full'), 3);
  });

  test('request retransmission: 3 broadcasts 1 s apart, then FAILED (host unreachable), then removed', () => {
    const { sim, hosts } = lan(3, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const nobody = ip('10.0.0.99');
    const start = sim.now;
    ping(a, nobody, 1);
    sim.advance(2999);
    assert.deepEqual(
      b.arp.map((r) => [r.t - start, r.operation, r.targetIp === nobody, r.senderIp === a.ip, r.dstMac]),
      [
        [0, ARP_REQUEST, true, true, MAC_BROADCAST],
        [1000, ARP_REQUEST, true, true, MAC_BROADCAST],
        [2000, ARP_REQUEST, true, true, MAC_BROADCAST],
      ],
    );
    assert.equal(a.stack.arp.table.lookup(a.iface, nobody)?.state, 'incomplete');
    sim.advance(1);
    assert.equal(a.stack.arp.table.lookup(a.iface, nobody)?.state, 'failed');
    assert.equal(v(a.stack, 'arp.tx.drop.resolution-failed'), 1);
    // While FAILED, packets are refused at once (no new requests).
    ping(a, nobody, 2);
    assert.equal(v(a.stack, 'arp.tx.drop.resolution-failed'), 2);
    sim.advance(2999);
    assert.equal(b.arp.length, 3);
    assert.equal(a.stack.arp.table.lookup(a.iface, nobody)?.state, 'failed');
    sim.advance(1);
    assert.equal(a.stack.arp.table.lookup(a.iface, nobody), undefined);
    assert.equal(v(a.stack, 'icmpv4.tx.type-3-code-1'), 2);
  });

  test('REACHABLE → STALE → DELAY → PROBE → REACHABLE on the unicast reply', () => {
    const { sim, hosts } = lan(4, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const state = () => a.stack.arp.table.lookup(a.iface, b.ip)?.state;
    ping(a, b.ip, 1);
    sim.runUntil(() => a.replies.length === 1, 5000);
    assert.equal(state(), 'reachable');
    // Reachable time is drawn in [15 s, 45 s] (RFC 4861 6.3.2).
    sim.advance(14_000);
    assert.equal(state(), 'reachable');
    sim.advance(31_000);
    assert.equal(state(), 'stale');
    b.arp.length = 0;
    const used = sim.now;
    ping(a, b.ip, 2);
    assert.equal(state(), 'delay');
    sim.runUntil(() => a.replies.length === 2, 1000);
    sim.advance(4990);
    assert.equal(state(), 'delay');
    const probes = () => b.arp.filter((r) => r.operation === ARP_REQUEST && r.senderIp === a.ip);
    assert.equal(probes().length, 0);
    sim.runUntil(() => probes().length === 1, 100);
    // DELAY_FIRST_PROBE_TIME later, a unicast probe to the known MAC; b's reply confirms.
    assert.equal(probes()[0]!.t - used, 5000);
    assert.equal(probes()[0]!.dstMac, b.iface.mac);
    sim.advance(0);
    assert.equal(state(), 'reachable');
  });

  test('PROBE without answer → FAILED after 3 unicast probes, then removed', () => {
    const { sim, hosts } = lan(5, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const state = () => a.stack.arp.table.lookup(a.iface, b.ip)?.state;
    ping(a, b.ip, 1);
    sim.runUntil(() => a.replies.length === 1, 5000);
    sim.advance(45_000);
    assert.equal(state(), 'stale');
    b.stack.ipv4.removeAddress(b.iface, b.ip);
    b.arp.length = 0;
    const used = sim.now;
    ping(a, b.ip, 2);
    sim.advance(5000);
    assert.equal(state(), 'probe');
    sim.advance(2999);
    assert.equal(state(), 'probe');
    assert.deepEqual(
      b.arp.map((r) => [r.t - used, r.dstMac === b.iface.mac]),
      [
        [5000, true],
        [6000, true],
        [7000, true],
      ],
    );
    sim.advance(1);
    assert.equal(state(), 'failed');
    sim.advance(3000);
    assert.equal(state(), undefined);
  });

  test('two hosts with one address: both count the conflict, defence at most once per 10 s', () => {
    const { sim, hosts } = lan(6, ['10.0.0.1/24', undefined]);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const heard: Record<string, AddressConflict[]> = { a: [], b: [] };
    a.stack.arp.onConflict.push((c) => heard.a!.push(c));
    b.stack.arp.onConflict.push((c) => heard.b!.push(c));
    b.stack.run(() => configure(b.stack, b.iface, '10.0.0.1/24'));
    sim.advance(5000);
    // b announces; a defends; b (hearing a) defends; a, having defended, does not again; b's
    // second announcement 2 s later meets no defence either.
    assert.equal(v(a.stack, 'arp.defended'), 1);
    assert.equal(v(b.stack, 'arp.defended'), 1);
    assert.equal(v(a.stack, 'arp.conflicts'), 3);
    assert.equal(v(b.stack, 'arp.conflicts'), 1);
    assert.equal(heard.a![0]!.mac, b.iface.mac);
    assert.equal(heard.b![0]!.mac, a.iface.mac);
    assert.equal(heard.a![0]!.addr, ip('10.0.0.1'));
    const announce = () =>
      injectArp(b, {
        operation: ARP_REQUEST,
        senderMac: b.iface.mac,
        senderIp: ip('10.0.0.1'),
        targetMac: 0,
        targetIp: ip('10.0.0.1'),
      });
    // 10 s after a's defence, a defends again, once.
    sim.advance(6000);
    announce();
    sim.advance(1000);
    assert.equal(v(a.stack, 'arp.defended'), 2);
    announce();
    sim.advance(1000);
    assert.equal(v(a.stack, 'arp.defended'), 2);
    // a's conflicts: 3 above, the two injected announcements, and b's defence against a's second one.
    assert.equal(v(a.stack, 'arp.conflicts'), 6);
    assert.equal(v(b.stack, 'arp.defended'), 2);
  });

  test('probe: a used address conflicts, a free one does not after the RFC 5227 timing', () => {
    const { sim, hosts } = lan(7, ['10.0.0.1/24', '10.0.0.2/24', undefined]);
    const [a, b, c] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const results: Array<[string, boolean, number]> = [];
    const start = sim.now;
    c.stack.arp.probe(c.iface, b.ip, (conflict) => results.push(['used', conflict, sim.now - start]));
    c.stack.arp.probe(c.iface, ip('10.0.0.3'), (conflict) =>
      results.push(['free', conflict, sim.now - start]),
    );
    assert.throws(
      () => c.stack.arp.probe(c.iface, b.ip, () => {}),
      (e: Error & { code?: string }) => e.code === 'EALREADY',
    );
    assert.throws(
      () => c.stack.arp.probe(c.iface, ip('224.0.0.1'), () => {}),
      (e: Error & { code?: string }) => e.code === 'EINVAL',
    );
    sim.advance(10_000);
    assert.equal(results.length, 2);
    assert.deepEqual(results[0]!.slice(0, 2), ['used', true]);
    assert.ok(results[0]![2] <= PROBE_WAIT, 'b answers the first probe');
    assert.deepEqual(results[1]!.slice(0, 2), ['free', false]);
    const t = results[1]![2];
    assert.ok(t >= 2 * PROBE_MIN + ANNOUNCE_WAIT && t <= PROBE_WAIT + 2 * PROBE_MAX + ANNOUNCE_WAIT, `${t}`);
    const probes = a.arp.filter((r) => r.targetIp === ip('10.0.0.3'));
    assert.equal(probes.length, 3);
    assert.ok(
      probes.every((r) => r.senderIp === 0 && r.senderMac === c.iface.mac && r.dstMac === MAC_BROADCAST),
    );
    assert.equal(v(c.stack, 'arp.tx.probes'), 4);
    assert.equal(v(c.stack, 'arp.probe.conflicts'), 1);
    // Probes teach nobody anything (sender 0.0.0.0).
    assert.equal(a.stack.arp.table.size, 0);
    assert.equal(b.stack.arp.table.size, 0);
  });

  test('probe: of two hosts probing the same address, at most one gets it', () => {
    const { sim, hosts } = lan(8, [undefined, undefined]);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const results: boolean[] = [];
    a.stack.arp.probe(a.iface, ip('10.0.0.50'), (c) => results.push(c));
    b.stack.arp.probe(b.iface, ip('10.0.0.50'), (c) => results.push(c));
    sim.advance(10_000);
    // Whoever hears the other's probe first backs off (RFC 5227 2.1.1).
    assert.equal(results.length, 2);
    assert.ok(results.includes(true), `results ${results}`);
    assert.equal(
      v(a.stack, 'arp.probe.conflicts') + v(b.stack, 'arp.probe.conflicts'),
      results.filter((r) => r).length,
    );
  });

  test('a probe can be cancelled', () => {
    const { sim, hosts } = lan(9, [undefined, '10.0.0.2/24']);
    const [a] = hosts as [(typeof hosts)[0]];
    const results: boolean[] = [];
    const probe = a.stack.arp.probe(a.iface, ip('10.0.0.2'), (c) => results.push(c));
    probe.cancel();
    sim.advance(10_000);
    assert.deepEqual(results, []);
    assert.equal(v(a.stack, 'arp.tx.probes'), 0);
  });

  test('gratuitous ARP updates an existing entry but creates none', () => {
    const { sim, hosts } = lan(10, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const other = ip('10.0.0.50');
    // A host that is not in the simulation asks for a: a learns it (STALE).
    injectArp(b, {
      operation: ARP_REQUEST,
      senderMac: FAKE_MAC - 1,
      senderIp: other,
      targetMac: 0,
      targetIp: a.ip,
    });
    sim.advance(0);
    assert.equal(a.stack.arp.table.lookup(a.iface, other)?.mac, FAKE_MAC - 1);
    const gratuitous = (addr: Ipv4Addr) =>
      injectArp(b, {
        operation: ARP_REQUEST,
        senderMac: FAKE_MAC,
        senderIp: addr,
        targetMac: 0,
        targetIp: addr,
      });
    gratuitous(other);
    gratuitous(ip('10.0.0.77'));
    sim.advance(0);
    const e = a.stack.arp.table.lookup(a.iface, other);
    assert.equal(e?.mac, FAKE_MAC);
    assert.equal(e?.state, 'stale');
    assert.equal(a.stack.arp.table.lookup(a.iface, ip('10.0.0.77')), undefined);
    assert.equal(a.stack.arp.table.size, 1);
  });

  test('static entries are never overwritten by the network', () => {
    const { sim, hosts } = lan(11, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    a.stack.arp.table.addStatic(a.iface, b.ip, FAKE_MAC);
    // b asks for a (a request to us would create or update b's entry), and announces itself.
    ping(b, a.ip, 1);
    injectArp(b, {
      operation: ARP_REPLY,
      senderMac: b.iface.mac,
      senderIp: b.ip,
      targetMac: a.iface.mac,
      targetIp: a.ip,
    });
    sim.advance(100_000);
    const e = a.stack.arp.table.lookup(a.iface, b.ip);
    assert.equal(e?.state, 'static');
    assert.equal(e?.mac, FAKE_MAC);
    assert.equal(b.replies.length, 0, "a's echo reply went to the static MAC");
    assert.throws(
      () => a.stack.arp.table.addStatic(a.iface, b.ip, MAC_BROADCAST),
      (err: Error & { code?: string }) => err.code === 'EINVAL',
    );
  });

  test('a flood of requests from made-up senders stays within the table bound, evicting the oldest', () => {
    const { sim, hosts } = lan(12, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    a.stack.arp.table.params.maxEntries = 16;
    a.stack.arp.table.addStatic(a.iface, ip('10.0.0.200'), FAKE_MAC);
    const sender = (i: number) => ({ mac: 0x02_00_00_01_00_00 + i, ip: ip(`10.0.1.${i}`) });
    for (let i = 0; i < 100; i++) {
      injectArp(b, {
        operation: ARP_REQUEST,
        senderMac: sender(i).mac,
        senderIp: sender(i).ip,
        targetMac: 0,
        targetIp: a.ip,
      });
    }
    sim.advance(0);
    assert.equal(a.stack.arp.table.size, 16);
    assert.equal(v(a.stack, 'arp.evicted'), 85);
    assert.equal(v(a.stack, 'arp.tx.replies'), 100);
    assert.equal(a.stack.arp.table.lookup(a.iface, ip('10.0.0.200'))?.state, 'static');
    for (let i = 85; i < 100; i++)
      assert.equal(a.stack.arp.table.lookup(a.iface, sender(i).ip)?.state, 'stale');
    assert.equal(a.stack.arp.table.lookup(a.iface, sender(84).ip), undefined);
  });

  test('malformed ARP is counted per reason', () => {
    const { sim, hosts } = lan(13, ['10.0.0.1/24', '10.0.0.2/24']);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const good: ArpRepr = {
      operation: ARP_REQUEST,
      senderMac: b.iface.mac,
      senderIp: b.ip,
      targetMac: 0,
      targetIp: a.ip,
    };
    const patched = (offset: number, bytes: number[]) => {
      const frame = arpFrame(good).slice();
      frame.set(bytes, 14 + offset);
      return frame;
    };
    const frames = [
      arpFrame(good).slice(0, 14 + 20),
      patched(0, [0, 6]), // hardware type 6 (IEEE 802)
      patched(2, [0x86, 0xdd]), // protocol IPv6
      patched(4, [8]), // hardware address length 8
      patched(6, [0, 3]), // operation 3 (RARP)
      arpFrame({ ...good, senderMac: 0x03_00_00_00_00_01 }),
      arpFrame({ ...good, senderMac: 0 }),
      arpFrame({ ...good, senderIp: ip('224.0.0.5') }),
      arpFrame({ ...good, targetIp: ip('127.0.0.1') }),
      arpFrame({ ...good, senderMac: a.iface.mac }),
    ];
    for (const f of frames) b.raw.send(b.iface, f);
    sim.advance(0);
    const drops = Object.fromEntries(
      Object.entries(a.stack.counters.snapshot()).filter(([k]) => k.startsWith('arp.rx.drop.')),
    );
    assert.deepEqual(drops, {
      'arp.rx.drop.bad-address-length': 1,
      'arp.rx.drop.bad-sender': 2,
      'arp.rx.drop.bad-sender-ip': 1,
      'arp.rx.drop.bad-target': 1,
      'arp.rx.drop.own-frame': 1,
      'arp.rx.drop.truncated': 1,
      'arp.rx.drop.unknown-operation': 1,
      'arp.rx.drop.unsupported-hardware': 1,
      'arp.rx.drop.unsupported-protocol': 1,
    });
    assert.equal(v(a.stack, 'arp.tx.replies'), 0);
    assert.equal(a.stack.arp.table.size, 0);
  });
});
