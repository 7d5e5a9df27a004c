/**
 * Many idle TCP connections between two simulated stacks: opens N (default 10,000), holds them
 * for a virtual minute, closes them all; reports the time to open N (wall clock), the heap per
 * connection (both ends: one client and one server block each) and the time to close.
 *
 *   node --expose-gc --import tsx bench/tcp-connections.ts [N]
 */
import { VirtualNetwork } from '../src/bindings/memory/network.ts';
import { Simulation } from '../src/bindings/memory/simulation.ts';
import type { TcpSocket } from '../src/core/tcp/tcp-socket.ts';
import { parseIpv4 } from '../src/wire/address.ts';

const n = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) console.warn('run with --expose-gc for a meaningful heap figure');
const heap = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

const sim = new Simulation({ seed: 1 });
const net = new VirtualNetwork(sim);
const wire = net.wire({ impairments: { delay: 1 } });
const hosts = ['10.0.0.1', '10.0.0.2'].map((ip, i) => {
  const stack = sim.createStack({ name: `h${i}` });
  const iface = wire.attach(stack, 'eth0');
  stack.ipv4.addAddress(iface, parseIpv4(ip)!, 24);
  return { stack, ip: parseIpv4(ip)! };
});
const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
// Short TIME-WAIT so the close phase finishes; ports: 10,000 fit the ephemeral range.
a.stack.tcp.msl = 1000;
b.stack.tcp.msl = 1000;

const l = b.stack.tcp.listen({ port: 80, backlog: 65535 });
const servers: TcpSocket[] = [];
l.onConnection = () => {
  for (let s = l.accept(); s; s = l.accept()) {
    const server = s;
    server.onEnd = () => server.close();
    servers.push(server);
  }
};
// Warm up (JIT, ARP) with one connection.
const warm = a.stack.tcp.connect({ address: b.ip, port: 80 });
sim.runUntil(() => servers.length === 1, 5000);
warm.close();
sim.advance(5000);
servers.length = 0;

const before = heap();
const t0 = performance.now();
const clients: TcpSocket[] = [];
let connected = 0;
for (let i = 0; i < n; i++) {
  const c = a.stack.tcp.connect({ address: b.ip, port: 80 });
  c.onConnect = () => connected++;
  clients.push(c);
}
if (!sim.runUntil(() => servers.length === n && connected === n, 60_000)) {
  throw new Error(`only ${servers.length} of ${n} connected`);
}
const openMs = performance.now() - t0;
sim.advance(60_000);
const held = heap();
const t1 = performance.now();
for (const c of clients) c.close();
if (!sim.runUntil(() => a.stack.tcp.connectionCount === 0 && b.stack.tcp.connectionCount === 0, 60_000)) {
  throw new Error('connections left after close');
}
const closeMs = performance.now() - t1;
console.log(
  JSON.stringify({
    connections: n,
    openMs: Math.round(openMs),
    opensPerSecond: Math.round(n / (openMs / 1000)),
    heapPerConnectionPairKiB: Number(((held - before) / n / 1024).toFixed(2)),
    heapPerConnectionBlockKiB: Number(((held - before) / (2 * n) / 1024).toFixed(2)),
    closeMs: Math.round(closeMs),
  }),
);
