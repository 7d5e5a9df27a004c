/**
 * TCP bulk transfer throughput in simulation, in real time: bytes moved / wall-clock seconds
 * (independent of virtual time). Two stacks on one wire (MTU 1500), one connection, 100 MiB one
 * way; reports wall time, MiB/s of payload, segments per real second, and virtual time.
 *
 *   node --import tsx bench/tcp-bulk.ts [MiB] [loss] [delayMs]
 *   node --cpu-prof --import tsx bench/tcp-bulk.ts      (writes a .cpuprofile)
 */
import { simBulk, twoStacks } from './lib.ts';

const mib = Number(process.argv[2] ?? 100);
const loss = Number(process.argv[3] ?? 0);
const delay = Number(process.argv[4] ?? 10);

const heap0 = process.memoryUsage().heapUsed;
const r = simBulk(twoStacks({ impairments: { delay, loss } }), mib * 1024 * 1024);
const seconds = r.wallSeconds;
const out = {
  bytes: r.bytes,
  wallSeconds: Number(seconds.toFixed(3)),
  mibPerSecond: Number((r.bytes / 1048576 / seconds).toFixed(1)),
  segmentsPerSecond: Math.round((r.clients[0]!.segsOut + (r.servers[0]?.segsOut ?? 0)) / seconds),
  virtualSeconds: Number(r.virtualSeconds.toFixed(3)),
  retransmits: r.clients[0]!.totalRetrans,
  heapGrowthMiB: Number(((process.memoryUsage().heapUsed - heap0) / 1048576).toFixed(1)),
};
console.log(JSON.stringify(out));
