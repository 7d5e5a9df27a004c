/**
 * Interop: the stack on real Linux TAP and TUN devices, against the kernel in a network namespace.
 * Needs Linux, root, /dev/net/tun, iproute2, iputils ping and the native addon; without them the
 * namespace tests are skipped with a loud warning (CI runs as root, so there they run).
 *
 * Each device is created by this process in the root namespace and moved into the test namespace
 * (`ip link set DEV netns NS`): the descriptor keeps working after the move.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import {
  type AttachedDevice,
  attachTap,
  attachTun,
  randomMac,
  TapDevice,
  TunDevice,
} from '../../src/bindings/node/tap.ts';
import { TUN_F_CSUM, TUN_F_TSO4 } from '../../src/bindings/node/tap-native.ts';
import { SeededRng } from '../../src/core/rng.ts';
import type { Stack } from '../../src/core/stack.ts';
import { macIsMulticast, macToString, parseIpv4, parseMac } from '../../src/wire/address.ts';
import { ARP_REQUEST, parseArp } from '../../src/wire/arp.ts';
import { emitEthernet } from '../../src/wire/ethernet.ts';
import { emitIpv4, parseIpv4Packet } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';
import { emitUdp } from '../../src/wire/udp.ts';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason } from '../helpers/netstack-cli.ts';
import { moveIntoNamespace, type StackInNamespace, stackInNamespace } from '../helpers/stack-in-namespace.ts';

const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
/** IEEE 802 local experimental EtherType: the kernel counts such frames and then ignores them. */
const ETHERTYPE_EXPERIMENTAL = 0x88b5;
const IPPROTO_ICMP = 1;
const IPPROTO_UDP = 17;

const KERNEL_IP = ip('10.201.0.1');
const STACK_IP = ip('10.201.0.2');
const TUN_KERNEL_IP = ip('10.202.0.1');
const TUN_STACK_IP = ip('10.202.0.2');

function ip(text: string): number {
  const addr = parseIpv4(text);
  if (addr === undefined) throw new Error(`bad address ${text}`);
  return addr;
}

const SKIP = cliInteropSkipReason();
if (SKIP !== undefined) {
  console.warn(`\n!!! SKIPPING the TAP/TUN interop tests: ${SKIP} !!!\n`);
}

/** A node one-liner that prints each UDP datagram it gets on addr:port, after printing "ready". */
function udpReceiverScript(addr: string, port: number): string {
  return `const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => console.log('got ' + m.toString() + ' from ' + r.address + ':' + r.port));
s.bind(${port}, '${addr}', () => console.log('ready'));`;
}

/** A node one-liner that sends `count` small UDP datagrams to addr:port as fast as it can. */
function udpFloodScript(addr: string, port: number, count: number): string {
  return `const s = require('node:dgram').createSocket('udp4');
const payload = Buffer.alloc(18);
let done = 0, errors = 0;
for (let i = 0; i < ${count}; i++) s.send(payload, ${port}, '${addr}', (e) => {
  if (e) errors++;
  if (++done === ${count}) { console.log('sent ' + (done - errors) + ' errors ' + errors); s.close(); }
});`;
}

/** The JSON of `ip -s -j link show dev DEV` in `ns`. */
async function linkStats(
  netns: NetnsHarness,
  ns: string,
  dev: string,
): Promise<{ address: string; rx: { packets: number }; tx: { packets: number; dropped: number } }> {
  const { stdout } = await netns.exec(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', dev]);
  const [link] = JSON.parse(stdout) as {
    address: string;
    stats64: { rx: { packets: number }; tx: { packets: number; dropped: number } };
  }[];
  assert.ok(link !== undefined, `no link ${dev} in ${ns}`);
  return { address: link.address, rx: link.stats64.rx, tx: link.stats64.tx };
}

/** An Ethernet + IPv4 + UDP frame (or a bare IPv4 packet when `eth` is absent). */
function udpPacket(
  src: number,
  dst: number,
  dstPort: number,
  payload: Uint8Array,
  eth?: { src: number; dst: number },
): Uint8Array {
  const pb = PacketBuffer.from(payload, 14 + 20 + 8);
  emitUdp(pb, 40000, dstPort, { kind: 'v4', src, dst });
  emitIpv4(pb, { src, dst, protocol: IPPROTO_UDP, ttl: 64 });
  if (eth !== undefined) emitEthernet(pb, { ...eth, ethertype: ETHERTYPE_IPV4 });
  return pb.bytes();
}

describe('randomMac', () => {
  test('gives locally administered unicast addresses', () => {
    const rng = new SeededRng(7);
    for (let i = 0; i < 100; i++) {
      const mac = randomMac(rng);
      assert.equal(macIsMulticast(mac), false, macToString(mac));
      assert.equal(Math.floor(mac / 2 ** 40) & 0x02, 0x02, macToString(mac));
    }
  });
});

describe('TAP and TUN devices against the Linux kernel', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let ns: string;
  let world: StackInNamespace | undefined;
  let stack: Stack;
  let tap: AttachedDevice<TapDevice>;
  let kernelMac: number;

  before(async () => {
    netns = new NetnsHarness();
    // No IPv6 (in the stack nor on the namespace's devices): its autoconfiguration frames would
    // spoil the exact frame counts of the device tests.
    world = await stackInNamespace(netns, {
      name: 'tap-interop',
      ipv6: 'off',
      kernel4: '10.201.0.1/24',
      env: { ref: false },
    });
    const { dev } = world;
    ({ ns, stack, tap } = world);
    const mac = parseMac((await linkStats(netns, ns, dev)).address);
    assert.ok(mac !== undefined);
    kernelMac = mac;
  });

  after(async () => {
    // Close the devices before their namespace goes, so no read error is reported.
    world?.close();
    await netns?.cleanup();
  });

  test('open errors carry a code: a second open of an attached name is EBUSY', () => {
    const name = netns.uniqueName('b');
    const first = TapDevice.open({ name, ref: false });
    try {
      assert.throws(() => TapDevice.open({ name }), { code: 'EBUSY' });
      assert.throws(() => TapDevice.open({ name: 'x'.repeat(16) }), { code: 'EINVAL' });
    } finally {
      first.close();
    }
    first.transmit([new Uint8Array(60)]);
    assert.equal(first.stats.txDrops, 1, 'a frame sent after close is a drop, not a throw');
  });

  test('kernel to stack: ping makes the kernel ask for our address with ARP', async () => {
    const asked: number[] = [];
    const sock = stack.packetSockets.open({
      iface: tap.iface,
      ethertype: ETHERTYPE_ARP,
      onFrame: (frame) => {
        const arp = parseArp(frame.subarray(14));
        if (arp.ok && arp.value.operation === ARP_REQUEST && arp.value.senderIp === KERNEL_IP) {
          asked.push(arp.value.targetIp);
        }
      },
    });
    const ping = netns.spawn(ns, 'ping', ['-c', '3', '-W', '1', '10.201.0.2']);
    try {
      await waitFor(() => asked.includes(STACK_IP), { what: 'an ARP request for 10.201.0.2' });
    } finally {
      ping.kill();
      sock.close();
    }
    assert.ok(tap.device.stats.rxFrames >= 1);
  });

  test('stack to kernel: a UDP datagram from a packet socket reaches a kernel socket', async () => {
    const dev = tap.device.name;
    await netns.exec(ns, 'ip', [
      'neigh',
      'replace',
      '10.201.0.2',
      'lladdr',
      macToString(tap.device.mac),
      'dev',
      dev,
    ]);
    const receiver = netns.spawn(ns, process.execPath, ['-e', udpReceiverScript('10.201.0.1', 5001)]);
    await waitFor(() => receiver.stdout.includes('ready'), { what: 'the UDP receiver' });
    const sock = stack.packetSockets.open({ iface: tap.iface, onFrame: () => undefined });
    const payload = new TextEncoder().encode('hello from netstack-ts');
    sock.send(
      tap.iface,
      udpPacket(STACK_IP, KERNEL_IP, 5001, payload, { src: tap.device.mac, dst: kernelMac }),
    );
    sock.close();
    await waitFor(() => receiver.stdout.includes('got hello from netstack-ts from 10.201.0.2:40000'), {
      what: `the kernel to receive the datagram (receiver said ${JSON.stringify(receiver.stdout)})`,
    });
    receiver.kill();
  });

  test('a frame larger than our MTU is dropped and counted, and reading goes on', async () => {
    const dev = tap.device.name;
    const sizes: number[] = [];
    const sock = stack.packetSockets.open({
      iface: tap.iface,
      ethertype: ETHERTYPE_IPV4,
      onFrame: (frame) => sizes.push(frame.length),
    });
    const before = tap.device.stats.rxOversized;
    const mac = macToString(tap.device.mac);
    await netns.exec(ns, 'ip', ['neigh', 'replace', '10.201.0.2', 'lladdr', mac, 'dev', dev]);
    await netns.exec(ns, 'ip', ['link', 'set', 'dev', dev, 'mtu', '3000']);
    try {
      // Echo requests to the static neighbor: 2500 + 8 + 20 + 14 bytes, then 100 + 8 + 20 + 14.
      await netns
        .exec(ns, 'ping', ['-c', '1', '-s', '2500', '-W', '0.1', '10.201.0.2'])
        .catch(() => undefined);
      await netns
        .exec(ns, 'ping', ['-c', '1', '-s', '100', '-W', '0.1', '10.201.0.2'])
        .catch(() => undefined);
      await waitFor(() => sizes.includes(142), { what: 'the small echo request' });
      assert.equal(tap.device.stats.rxOversized - before, 1);
      assert.ok(!sizes.some((n) => n > 1514), `a frame over the MTU reached the stack: ${sizes}`);
    } finally {
      sock.close();
      await netns.exec(ns, 'ip', ['link', 'set', 'dev', dev, 'mtu', '1500']);
    }
  });

  test('a burst of 10,000 frames to the kernel arrives in full', async () => {
    const dev = tap.device.name;
    const total = 10_000;
    const batch = 250;
    const frame = new Uint8Array(60);
    const pb = PacketBuffer.from(new Uint8Array(46), 14);
    emitEthernet(pb, { dst: kernelMac, src: tap.device.mac, ethertype: ETHERTYPE_EXPERIMENTAL });
    frame.set(pb.bytes());
    const sock = stack.packetSockets.open({ iface: tap.iface, onFrame: () => undefined });
    const before = (await linkStats(netns, ns, dev)).rx.packets;
    const statsBefore = { ...tap.device.stats };
    const start = performance.now();
    for (let sent = 0; sent < total; sent += batch) {
      // One entry into the stack: its frames reach the device as one batch, one native call.
      stack.run(() => {
        for (let i = 0; i < batch; i++) sock.send(tap.iface, frame);
      });
    }
    const seconds = (performance.now() - start) / 1000;
    sock.close();
    const txFrames = tap.device.stats.txFrames - statsBefore.txFrames;
    const txDrops = tap.device.stats.txDrops - statsBefore.txDrops;
    assert.equal(txFrames + txDrops, total);
    const rise = await waitFor(
      async () => {
        const r = (await linkStats(netns, ns, dev)).rx.packets - before;
        return r >= txFrames ? r : undefined;
      },
      { what: 'the kernel rx counter to rise' },
    );
    console.log(
      `tap tx: ${txFrames} frames in ${(seconds * 1000).toFixed(1)} ms = ${Math.round(txFrames / seconds)} frames/s; ` +
        `${txDrops} dropped (queue full); kernel rx counter +${rise}`,
    );
    assert.equal(rise, txFrames, 'the kernel counted exactly the frames the device wrote');
    assert.ok(txFrames >= total * 0.99, `only ${txFrames} of ${total} frames were written`);
  });

  /**
   * Has the kernel send `total` UDP datagrams to the stack's MAC (a static neighbor) from one sender
   * in the namespace, the device paused while they are sent when `paused`; returns once the stack has
   * read every frame the kernel queued for it (the kernel counts a TAP's tx when the frame is read,
   * so its tx counter and the device's rx counter meet), with the time the stack spent receiving.
   */
  async function floodFromKernel(total: number, paused: boolean) {
    const dev = tap.device.name;
    let udp = 0;
    let first = 0;
    let last = 0;
    const sock = stack.packetSockets.open({
      iface: tap.iface,
      ethertype: ETHERTYPE_IPV4,
      onFrame: (frame) => {
        // IPv4 protocol UDP, destination port 9 (discard).
        if (frame[14 + 9] !== IPPROTO_UDP || frame[14 + 20 + 2] !== 0 || frame[14 + 20 + 3] !== 9) return;
        if (udp++ === 0) first = performance.now();
        last = performance.now();
      },
    });
    const mac = macToString(tap.device.mac);
    await netns.exec(ns, 'ip', ['neigh', 'replace', '10.201.0.2', 'lladdr', mac, 'dev', dev]);
    const kernelBefore = await linkStats(netns, ns, dev);
    const rxBefore = { ...tap.device.stats };
    if (paused) tap.device.pause();
    try {
      const sender = netns.spawn(ns, process.execPath, ['-e', udpFloodScript('10.201.0.2', 9, total)]);
      assert.equal(await sender.exited, 0, `sender failed: ${sender.stderr}`);
      const resumed = performance.now();
      if (paused) tap.device.resume();
      const [kernelTx, kernelDropped] = await waitFor(
        async () => {
          const k = await linkStats(netns, ns, dev);
          const tx = k.tx.packets - kernelBefore.tx.packets;
          const dropped = k.tx.dropped - kernelBefore.tx.dropped;
          return tx === tap.device.stats.rxFrames - rxBefore.rxFrames && tx + dropped >= total
            ? [tx, dropped]
            : undefined;
        },
        { what: 'the stack to read every frame the kernel queued' },
      );
      const frames = tap.device.stats.rxFrames - rxBefore.rxFrames;
      const batches = tap.device.stats.rxBatches - rxBefore.rxBatches;
      return {
        udp,
        frames,
        batches,
        kernelTx,
        kernelDropped,
        ms: last - (paused ? resumed : first),
        sent: sender.stdout.trim(),
      };
    } finally {
      tap.device.resume();
      sock.close();
    }
  }

  test('a flood from the kernel: every frame the kernel sends reaches the stack', async () => {
    const total = 20_000;
    const r = await floodFromKernel(total, false);
    console.log(
      `tap rx (live, paced by one Node sender: ${r.sent}): ${r.udp} of ${total} datagrams, kernel tx +${r.kernelTx}, ` +
        `dropped at the device +${r.kernelDropped}; ${r.frames} frames in ${r.batches} batches ` +
        `(mean ${(r.frames / r.batches).toFixed(1)}); ${Math.round(r.udp / (r.ms / 1000))} frames/s over ${r.ms.toFixed(1)} ms`,
    );
    assert.equal(r.udp, r.frames, 'every frame read was one of the datagrams');
    assert.equal(
      r.udp + r.kernelDropped,
      total,
      'every datagram was either read or counted as dropped by the kernel',
    );
    assert.ok(r.udp >= total / 2, `only ${r.udp} of ${total} datagrams arrived`);
  });

  test('draining a full device queue: the receive rate of addon and stack', async () => {
    const total = 10_000;
    // Room for every datagram in the device's queue while the stack is paused.
    await netns.exec(ns, 'ip', ['link', 'set', 'dev', tap.device.name, 'txqueuelen', String(total)]);
    const r = await floodFromKernel(total, true);
    console.log(
      `tap rx (drain of a queued burst): ${r.udp} frames in ${r.batches} batches ` +
        `(mean ${(r.frames / r.batches).toFixed(1)}) in ${r.ms.toFixed(1)} ms = ${Math.round(r.udp / (r.ms / 1000))} frames/s; ` +
        `dropped at the device +${r.kernelDropped}`,
    );
    assert.equal(r.udp, r.frames);
    assert.equal(r.udp + r.kernelDropped, total);
    assert.ok(r.udp >= total / 2, `only ${r.udp} of ${total} datagrams were queued`);
  });

  test('TUN: an IP packet each way', async () => {
    const tun = attachTun(stack, { name: netns.uniqueName('u') });
    const receiver = netns.spawn(ns, process.execPath, ['-e', udpReceiverScript('10.202.0.1', 5002)]);
    try {
      const dev = tun.device.name;
      assert.equal(tun.iface.link.kind, 'ip');
      await moveIntoNamespace(netns, ns, dev, ['10.202.0.1', 'peer', '10.202.0.2']);
      // Kernel to stack: an echo request to the peer address comes out of the TUN as a bare IPv4 packet.
      const seen: { src: number; dst: number; protocol: number }[] = [];
      tun.iface.addObserver((direction, packet) => {
        const p = parseIpv4Packet(packet);
        if (direction === 'rx' && p.ok) seen.push(p.value);
      });
      const ping = netns.spawn(ns, 'ping', ['-c', '3', '-W', '1', '10.202.0.2']);
      try {
        await waitFor(
          () =>
            seen.find(
              (p) => p.protocol === IPPROTO_ICMP && p.src === TUN_KERNEL_IP && p.dst === TUN_STACK_IP,
            ),
          { what: 'the echo request on the TUN device' },
        );
      } finally {
        ping.kill();
      }
      // Stack to kernel: a bare IPv4 UDP packet from the interface reaches a kernel socket.
      await waitFor(() => receiver.stdout.includes('ready'), { what: 'the UDP receiver' });
      const payload = new TextEncoder().encode('hello through tun');
      stack.run(() => tun.iface.enqueue(udpPacket(TUN_STACK_IP, TUN_KERNEL_IP, 5002, payload)));
      await waitFor(() => receiver.stdout.includes('got hello through tun from 10.202.0.2:40000'), {
        what: `the kernel to receive the datagram (receiver said ${JSON.stringify(receiver.stdout)})`,
      });
      assert.equal(tun.device.stats.txFrames, 1);
    } finally {
      receiver.kill();
      tun.close();
    }
  });

  test('with the virtio-net header: a frame each way, and offload settings', async () => {
    const vnet = attachTap(stack, { name: netns.uniqueName('v'), vnetHeader: true });
    const receiver = netns.spawn(ns, process.execPath, ['-e', udpReceiverScript('10.203.0.1', 5003)]);
    try {
      const dev = vnet.device.name;
      assert.throws(() => vnet.device.setOffload(TUN_F_TSO4), { code: 'ENOTSUP' });
      vnet.device.setOffload(0);
      await moveIntoNamespace(netns, ns, dev, ['10.203.0.1/24']);
      // Kernel to stack: the header is stripped, the view starts at the Ethernet header.
      const asked: number[] = [];
      const sock = stack.packetSockets.open({
        iface: vnet.iface,
        ethertype: ETHERTYPE_ARP,
        onFrame: (frame) => {
          const arp = parseArp(frame.subarray(14));
          if (arp.ok && arp.value.operation === ARP_REQUEST) asked.push(arp.value.targetIp);
        },
      });
      const ping = netns.spawn(ns, 'ping', ['-c', '3', '-W', '1', '10.203.0.2']);
      try {
        await waitFor(() => asked.includes(ip('10.203.0.2')), {
          what: 'an ARP request through the vnet TAP',
        });
      } finally {
        ping.kill();
      }
      // Stack to kernel: the addon writes a zeroed header in front of the frame.
      await waitFor(() => receiver.stdout.includes('ready'), { what: 'the UDP receiver' });
      const kernel = parseMac((await linkStats(netns, ns, dev)).address)!;
      const payload = new TextEncoder().encode('hello with a vnet header');
      const frame = udpPacket(ip('10.203.0.2'), ip('10.203.0.1'), 5003, payload, {
        src: vnet.device.mac,
        dst: kernel,
      });
      sock.send(vnet.iface, frame);
      sock.close();
      await waitFor(() => receiver.stdout.includes('got hello with a vnet header from 10.203.0.2:40000'), {
        what: `the kernel to receive the datagram (receiver said ${JSON.stringify(receiver.stdout)})`,
      });
    } finally {
      receiver.kill();
      vnet.close();
    }
  });

  test('offloads need the virtio-net header', () => {
    const plain = TapDevice.open({ ref: false });
    try {
      assert.throws(() => plain.setOffload(TUN_F_CSUM), { code: 'EINVAL' });
    } finally {
      plain.close();
    }
  });

  test('TunDevice opens in the root namespace with a kernel-chosen name', () => {
    const tun = TunDevice.open({ ref: false });
    try {
      assert.match(tun.name, /^tun\d+$/);
      assert.equal(tun.kind, 'ip');
    } finally {
      tun.close();
    }
  });
});
