/**
 * `netstack demo` (what `npm start` runs): a tour of the stack on a simulated network, on virtual
 * time, with no root and no devices. It grows with the stack; today: two stacks on an impaired
 * virtual wire exchange UDP/IPv4 frames built by the wire layer, one echoing what the other
 * sends, while a pcap records the wire.
 */

import { VirtualNetwork } from '../bindings/memory/network.ts';
import { Simulation } from '../bindings/memory/simulation.ts';
import { captureInterfaces } from '../bindings/pcap/capture.ts';
import { openCaptureFile } from '../bindings/pcap/pcap-file.ts';
import { LINKTYPE_ETHERNET } from '../bindings/pcap/pcap-format.ts';
import type { NetworkInterface } from '../core/device/interface.ts';
import type { Stack } from '../core/stack.ts';
import { type Ipv4Addr, ipv4ToString, macToString, parseIpv4 } from '../wire/address.ts';
import { ETHERTYPE_IPV4, EthernetView, emitEthernet } from '../wire/ethernet.ts';
import { emitIpv4, Ipv4View } from '../wire/ipv4.ts';
import { MAX_HEADROOM, PacketBuffer } from '../wire/packet-buffer.ts';
import { emitUdp, UDP_PROTOCOL, UdpView } from '../wire/udp.ts';

export interface DemoOptions {
  seed: number;
  frames: number;
  pcap: string | undefined;
  loss: number;
  delay: number;
  log: (line: string) => void;
}

interface Host {
  stack: Stack;
  iface: NetworkInterface;
  ip: Ipv4Addr;
}

const PORT = 7;

/** Builds one UDP/IPv4/Ethernet frame carrying `payload`. */
function udpFrame(from: Host, to: Host, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const pb = PacketBuffer.from(payload, MAX_HEADROOM);
  emitUdp(pb, srcPort, dstPort, { kind: 'v4', src: from.ip, dst: to.ip });
  emitIpv4(pb, { src: from.ip, dst: to.ip, protocol: UDP_PROTOCOL, ttl: 64 });
  emitEthernet(pb, { dst: to.iface.mac, src: from.iface.mac, ethertype: ETHERTYPE_IPV4 });
  return pb.bytes();
}

/** Parses a received frame down to a verified UDP datagram, or names why it is refused. */
function receiveUdp(frame: Uint8Array): { udp: UdpView; ip: Ipv4View } | string {
  const eth = new EthernetView(frame);
  const ipError = Ipv4View.check(eth.payload);
  if (ipError !== undefined) return `ipv4 ${ipError}`;
  const ip = new Ipv4View(eth.payload);
  if (ip.protocol !== UDP_PROTOCOL) return 'not udp';
  const udpError = UdpView.check(ip.payload);
  if (udpError !== undefined) return `udp ${udpError}`;
  const udp = new UdpView(ip.payload);
  if (!udp.verifyV4(ip.src, ip.dst)) return 'udp bad checksum';
  return { udp, ip };
}

export function runDemo(options: DemoOptions): void {
  const { log } = options;
  const sim = new Simulation({ seed: options.seed });
  const net = new VirtualNetwork(sim);
  const wire = net.wire({
    impairments: {
      loss: options.loss,
      delay: options.delay,
      jitter: options.delay / 5,
      reorder: 0.02,
      duplicate: 0.01,
      corrupt: 0.005,
      rateBitsPerSecond: 100e6,
    },
  });
  const make = (name: string, ip: string): Host => {
    const stack = sim.createStack({ name });
    return { stack, iface: wire.attach(stack, 'eth0'), ip: parseIpv4(ip)! };
  };
  const client = make('client', '192.0.2.1');
  const server = make('server', '192.0.2.2');

  const stopCapture = (() => {
    if (options.pcap === undefined) return () => {};
    const file = openCaptureFile(options.pcap, {
      interfaces: [{ linkType: LINKTYPE_ETHERNET, name: 'wire' }],
    });
    const stop = captureInterfaces([client.iface], file, {
      directions: ['tx', 'rx'],
      toWallClock: (t) => sim.wallClock(t),
    });
    return () => {
      stop();
      file.close();
    };
  })();

  log(`netstack-ts demo (seed ${options.seed})`);
  log(`  client ${ipv4ToString(client.ip)} ${macToString(client.iface.mac)}`);
  log(`  server ${ipv4ToString(server.ip)} ${macToString(server.iface.mac)}`);
  log(
    `  wire: ${options.loss * 100}% loss, ${options.delay} ms delay ±${options.delay / 5}, 2% reorder, 1% duplicate, 0.5% corrupt, 100 Mbit/s`,
  );

  // The server echoes every valid datagram; corrupted ones are refused by their checksums.
  const serverRefused = new Map<string, number>();
  const serverSocket = server.stack.packetSockets.open({
    ethertype: ETHERTYPE_IPV4,
    onFrame: (frame, iface) => {
      const r = receiveUdp(frame);
      if (typeof r === 'string') {
        serverRefused.set(r, (serverRefused.get(r) ?? 0) + 1);
        return;
      }
      if (r.udp.dstPort !== PORT) return;
      serverSocket.send(iface, udpFrame(server, client, PORT, r.udp.srcPort, r.udp.payload));
    },
  });

  // The client sends numbered datagrams, one every millisecond, and records the echoes.
  const echoed = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let highest = -1;
  const rtts: number[] = [];
  const sentAt: number[] = [];
  const clientSocket = client.stack.packetSockets.open({
    ethertype: ETHERTYPE_IPV4,
    onFrame: (frame) => {
      const r = receiveUdp(frame);
      if (typeof r === 'string' || r.udp.payload.length < 4) return;
      const seq = new DataView(r.udp.payload.buffer, r.udp.payload.byteOffset).getUint32(0);
      if (echoed.has(seq)) {
        duplicates++;
        return;
      }
      echoed.add(seq);
      if (seq < highest) outOfOrder++;
      highest = Math.max(highest, seq);
      rtts.push(sim.now - sentAt[seq]!);
    },
  });
  for (let seq = 0; seq < options.frames; seq++) {
    sim.at(seq, () => {
      const payload = new Uint8Array(64);
      new DataView(payload.buffer).setUint32(0, seq);
      sentAt[seq] = sim.now;
      clientSocket.send(client.iface, udpFrame(client, server, 40000, PORT, payload));
    });
  }
  sim.runUntilIdle();
  stopCapture();

  rtts.sort((a, b) => a - b);
  const pct = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]?.toFixed(3) ?? '-';
  const lost = options.frames - echoed.size;
  log('');
  log(
    `UDP echo over the impaired wire: ${options.frames} datagrams in ${sim.now.toFixed(1)} ms of virtual time`,
  );
  log(`  echoed       ${echoed.size} (${((echoed.size / options.frames) * 100).toFixed(1)}%)`);
  log(`  lost         ${lost} (either way, or refused as corrupt)`);
  log(`  duplicates   ${duplicates} (ignored by the client)`);
  log(`  reordered    ${outOfOrder} (arrived after a later one)`);
  log(
    `  refused      ${[...serverRefused].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'} (by the server)`,
  );
  log(`  rtt          p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
  for (const [dir, s] of Object.entries(wire.stats)) {
    log(
      `  wire ${dir.padEnd(7)} sent ${s.sent}, delivered ${s.delivered}, lost ${s.lost}, duplicated ${s.duplicated}, corrupted ${s.corrupted}, reordered ${s.reordered}`,
    );
  }
  log('');
  log('client counters:');
  log(indent(client.stack.counters.format()));
  log('server counters:');
  log(indent(server.stack.counters.format()));
  if (options.pcap !== undefined)
    log(`\ncapture written to ${options.pcap} (open it with wireshark or tshark -r)`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
