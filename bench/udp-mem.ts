/**
 * The in-memory UDP row of `npm run bench` (issue 8, item 4): datagrams received per second between
 * two simulated stacks over a memory wire (bench/lib.ts `twoStacks`), beside Node's `dgram` over
 * 127.0.0.1 in the same process as the reference. Each sender keeps a window of datagrams in
 * flight (so that neither receive queue overflows) and the receiver counts what its application
 * got; rates are on the wall clock and per CPU-second of the process.
 *
 *   node --import tsx bench/udp-mem.ts [SIZE] [COUNT]   one run of each, printed (for --cpu-prof)
 */
import dgram from 'node:dgram';
import { printTable, twoStacks } from './lib.ts';

/** Datagrams in flight at most. */
const WINDOW = 128;
/** Both receivers' SO_RCVBUF, as bench/udp-blast.c's sink: a window of either size fits. */
const RCVBUF = 4 << 20;
const PORT = 9000;

export interface UdpRun {
  readonly received: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

function timed<T extends { received: number }>(run: () => T | Promise<T>) {
  return async (): Promise<UdpRun> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { received } = await run();
    const wallSeconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { received, wallSeconds, cpuSeconds: (c.user + c.system) / 1e6 };
  };
}

/** `count` datagrams of `size` bytes from one stack's socket to the other's, on virtual time. */
export const simUdp = (size: number, count: number) =>
  timed(() => {
    const { sim, a, b } = twoStacks();
    const data = new Uint8Array(size);
    const tx = a.stack.udp.open();
    const rx = b.stack.udp.open();
    b.stack.run(() => rx.bind(PORT));
    rx.setRecvBufferSize(RCVBUF);
    let received = 0;
    rx.onReadable = () => {
      for (let d = rx.recv(); d; d = rx.recv()) received++;
    };
    let sent = 0;
    while (sent < count) {
      const burst = Math.min(WINDOW, count - sent);
      for (let i = 0; i < burst; i++) tx.send(data, b.ip, PORT);
      sent += burst;
      if (!sim.runUntil(() => received === sent, 10_000)) break;
    }
    tx.close();
    rx.close();
    return { received };
  })();

/** The same over Node's `dgram` on 127.0.0.1: the kernel's UDP through libuv, one syscall each way per datagram. */
export const loopbackUdp = (size: number, count: number) =>
  timed(
    () =>
      new Promise<{ received: number }>((resolve) => {
        const data = Buffer.alloc(size);
        const rx = dgram.createSocket('udp4');
        const tx = dgram.createSocket('udp4');
        let sent = 0;
        let received = 0;
        let idle: NodeJS.Timeout | undefined;
        const finish = () => {
          clearTimeout(idle);
          tx.close();
          rx.close();
          resolve({ received });
        };
        // A datagram the kernel dropped would stall the window: end after 200 ms without one.
        const arm = () => {
          clearTimeout(idle);
          idle = setTimeout(finish, 200);
        };
        const pump = () => {
          while (sent < count && sent - received < WINDOW) {
            tx.send(data, port);
            sent++;
          }
        };
        let port = 0;
        rx.on('message', () => {
          received++;
          if (received === count) finish();
          else if ((received & 31) === 0) {
            arm();
            pump();
          }
        });
        rx.bind(0, '127.0.0.1', () => {
          port = rx.address().port;
          rx.setRecvBufferSize(RCVBUF);
          tx.connect(port, '127.0.0.1', () => {
            arm();
            pump();
          });
        });
      }),
  )();

export interface UdpRow {
  readonly name: string;
  readonly size: number;
  readonly datagramsPerSecond: number;
  readonly datagramsPerCpuSecond: number;
  /** Payload bits received per CPU-second of the process. */
  readonly gbitPerCpuSecond: number;
  /** Datagrams sent that never reached the application (the loopback's kernel may drop). */
  readonly lost: number;
}

/** One row: a warm-up run, then the run of the 3 timed ones with the median wall time. */
async function udpRow(name: string, run: typeof simUdp, size: number, count: number): Promise<UdpRow> {
  await run(size, count >> 2);
  const runs: UdpRun[] = [];
  for (let i = 0; i < 3; i++) runs.push(await run(size, count));
  const r = runs.sort((x, y) => x.received / x.wallSeconds - y.received / y.wallSeconds)[1]!;
  return {
    name,
    size,
    datagramsPerSecond: r.received / r.wallSeconds,
    datagramsPerCpuSecond: r.received / r.cpuSeconds,
    gbitPerCpuSecond: (r.received * size * 8) / r.cpuSeconds / 1e9,
    lost: count - r.received,
  };
}

/** The in-memory UDP rows of bench/run.ts, 64 and 1472-byte payloads, each beside Node's dgram. */
export async function measureUdp(quick: boolean): Promise<UdpRow[]> {
  const rows: UdpRow[] = [];
  for (const size of [64, 1472]) {
    const count = quick ? 50_000 : 400_000;
    rows.push(await udpRow('node dgram loopback', loopbackUdp, size, count));
    rows.push(await udpRow('netstack memory wire', simUdp, size, count));
  }
  return rows;
}

export function printUdp(rows: UdpRow[]): void {
  console.log('\nUDP datagrams received per second (in memory; node dgram over 127.0.0.1 as the reference)');
  const header = [
    'path',
    'payload',
    'datagrams/s',
    'vs dgram',
    'per CPU-s',
    'Gbit/CPU s',
    'target',
    '',
    'lost',
  ];
  const cells = rows.map((r) => {
    const ref = rows.find((x) => x.size === r.size && x.name.startsWith('node'))!;
    const stack = r.name.startsWith('netstack');
    const target = stack && r.size === 64;
    return [
      r.name,
      `${r.size} B`,
      Math.round(r.datagramsPerSecond).toLocaleString('en-US'),
      stack ? `${(r.datagramsPerSecond / ref.datagramsPerSecond).toFixed(2)}x` : '-',
      Math.round(r.datagramsPerCpuSecond).toLocaleString('en-US'),
      r.gbitPerCpuSecond.toFixed(2),
      target ? '>= 1,000,000/s' : '-',
      target ? (r.datagramsPerSecond >= 1e6 ? 'met' : 'MISSED') : '',
      String(r.lost),
    ];
  });
  printTable(header, cells, [0, 6, 7]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const size = Number(process.argv[2] ?? 64);
  const count = Number(process.argv[3] ?? 200_000);
  for (const [name, run] of [
    ['netstack memory wire', simUdp],
    ['node dgram loopback', loopbackUdp],
  ] as const) {
    await run(size, count / 4); // warm-up
    const r = await run(size, count);
    console.log(
      `${name}: ${size} B, ${r.received} datagrams, ${Math.round(r.received / r.wallSeconds)}/s, ${Math.round(r.received / r.cpuSeconds)}/CPU-s`,
    );
  }
}
