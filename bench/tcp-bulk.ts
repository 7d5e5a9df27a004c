/**
 * TCP bulk transfer throughput in simulation, in real time: bytes moved / wall-clock seconds
 * (independent of virtual time). Two stacks on one wire (MTU 1500), one connection, 100 MiB one
 * way; reports wall time, MiB/s of payload, segments per real second, and virtual time.
 *
 *   node --import tsx bench/tcp-bulk.ts [MiB] [loss] [delayMs]
 *   node --cpu-prof --import tsx bench/tcp-bulk.ts      (writes a .cpuprofile)
 */
import { VirtualNetwork } from '../src/bindings/memory/network.ts';
import { Simulation } from '../src/bindings/memory/simulation.ts';
import type { TcpSocket } from '../src/core/tcp/tcp-socket.ts';
import { parseIpv4 } from '../src/wire/address.ts';

const mib = Number(process.argv[2] ?? 100);
const loss = Number(process.argv[3] ?? 0);
const delay = Number(process.argv[4] ?? 10);

const sim = new Simulation({ seed: 1 });
const net = new VirtualNetwork(sim);
const wire = net.wire({ impairments: { delay, loss } });
const hosts = ['10.0.0.1', '10.0.0.2'].map((ip, i) => {
  const stack = sim.createStack({ name: `h${i}` });
  const iface = wire.attach(stack, 'eth0');
  stack.ipv4.addAddress(iface, parseIpv4(ip)!, 24);
  return { stack, ip: parseIpv4(ip)! };
});
const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];

const total = mib * 1024 * 1024;
const chunk = new Uint8Array(1 << 20);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;

const l = b.stack.tcp.listen({ port: 80 });
let server: TcpSocket | undefined;
let received = 0;
let ended = false;
l.onConnection = () => {
  server = l.accept();
  if (server === undefined) return;
  const s = server;
  s.onReadable = () => {
    for (let c = s.read(); c; c = s.read()) received += c.length;
  };
  s.onEnd = () => {
    ended = true;
  };
};
const client = a.stack.tcp.connect({ address: b.ip, port: 80 });
let written = 0;
const pump = () => {
  while (written < total) {
    const n = client.write(chunk.subarray(0, Math.min(chunk.length, total - written)));
    written += n;
    if (n < Math.min(chunk.length, total - written + n)) return;
  }
  client.shutdown();
};
client.onConnect = pump;
client.onWritable = pump;

const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
const v0 = sim.now;
if (!sim.runUntil(() => ended, 3_600_000)) throw new Error(`stalled at ${received} bytes`);
const seconds = (performance.now() - t0) / 1000;
const info = client.info();
const out = {
  bytes: received,
  wallSeconds: Number(seconds.toFixed(3)),
  mibPerSecond: Number((received / 1048576 / seconds).toFixed(1)),
  segmentsPerSecond: Math.round((info.segsOut + (server?.info().segsOut ?? 0)) / seconds),
  virtualSeconds: Number(((sim.now - v0) / 1000).toFixed(3)),
  retransmits: info.totalRetrans,
  heapGrowthMiB: Number(((process.memoryUsage().heapUsed - heap0) / 1048576).toFixed(1)),
};
console.log(JSON.stringify(out));
