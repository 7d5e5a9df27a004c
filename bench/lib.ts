/**
 * Shared pieces of the benchmarks: two simulated stacks on one wire, and a bulk TCP transfer
 * between them timed on the wall clock (bytes moved / real seconds, independent of virtual time).
 */
import { VirtualNetwork } from '../src/bindings/memory/network.ts';
import { Simulation } from '../src/bindings/memory/simulation.ts';
import type { WireOptions } from '../src/bindings/memory/virtual-wire.ts';
import type { TcpInfo } from '../src/core/tcp/tcp-info.ts';
import type { TcpSocket } from '../src/core/tcp/tcp-socket.ts';
import { parseIpv4 } from '../src/wire/address.ts';

/**
 * A simulation with two stacks, 10.0.0.1 (`a`) and 10.0.0.2 (`b`), on one wire. The wire carries
 * no transport checksums (`noChecksums`, unless `wireOptions` says otherwise): a memory wire
 * between two of our stacks cannot corrupt a frame, just as Linux's loopback, the reference,
 * neither computes nor verifies them.
 */
export function twoStacks(wireOptions: WireOptions = {}) {
  const sim = new Simulation({ seed: 1 });
  const net = new VirtualNetwork(sim);
  const wire = net.wire({ noChecksums: true, ...wireOptions });
  const hosts = ['10.0.0.1', '10.0.0.2'].map((ip, i) => {
    const stack = sim.createStack({ name: `h${i}` });
    const iface = wire.attach(stack, 'eth0');
    stack.ipv4.addAddress(iface, parseIpv4(ip)!, 24);
    return { stack, ip: parseIpv4(ip)! };
  });
  const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
  return { sim, a, b };
}

/** A 1 MiB chunk of patterned bytes that the writers send again and again. */
export const CHUNK = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);

/** Splits `total` bytes over `flows` writers (the first ones take the remainder). */
export function shares(total: number, flows: number): number[] {
  return Array.from({ length: flows }, (_, i) => Math.floor(total / flows) + (i < total % flows ? 1 : 0));
}

export interface SimBulkResult {
  readonly bytes: number;
  readonly wallSeconds: number;
  readonly virtualSeconds: number;
  /** `info()` of each client (sender) and server (receiver), in flow order. */
  readonly clients: TcpInfo[];
  readonly servers: TcpInfo[];
}

/**
 * Sends `total` bytes from `a` to `b` of a `twoStacks` simulation over `flows` connections at
 * once (each writes its share, then shuts down) and waits until every receiver saw the end.
 */
export function simBulk(setup: ReturnType<typeof twoStacks>, total: number, flows = 1): SimBulkResult {
  const { sim, a, b } = setup;
  const l = b.stack.tcp.listen({ port: 80, backlog: Math.max(flows, 16) });
  const servers: TcpSocket[] = [];
  let received = 0;
  let ended = 0;
  l.onConnection = () => {
    for (let s = l.accept(); s; s = l.accept()) {
      const server = s;
      servers.push(server);
      server.onReadable = () => {
        for (let c = server.read(); c; c = server.read()) received += c.length;
      };
      server.onEnd = () => {
        ended++;
      };
    }
  };
  const clients = shares(total, flows).map((share) => {
    const client = a.stack.tcp.connect({ address: b.ip, port: 80 });
    let written = 0;
    const pump = () => {
      while (written < share) {
        const want = Math.min(CHUNK.length, share - written);
        const n = client.write(CHUNK.subarray(0, want));
        written += n;
        if (n < want) return;
      }
      client.shutdown();
    };
    client.onConnect = pump;
    client.onWritable = pump;
    return client;
  });
  const t0 = performance.now();
  const v0 = sim.now;
  if (!sim.runUntil(() => ended === flows, 3_600_000)) throw new Error(`stalled at ${received} bytes`);
  const wallSeconds = (performance.now() - t0) / 1000;
  l.close();
  return {
    bytes: received,
    wallSeconds,
    virtualSeconds: (sim.now - v0) / 1000,
    clients: clients.map((c) => c.info()),
    servers: servers.map((s) => s.info()),
  };
}

/** Prints a text table: columns in `left` are left-aligned, the others right-aligned. */
export function printTable(header: string[], cells: string[][], left: readonly number[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((s, i) => (left.includes(i) ? s.padEnd(widths[i]!) : s.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}
