/**
 * Items 2, 3 and 4 of issue 8: the stack as `netstack up` on a TAP against the Linux kernel's tools
 * in the same namespace, each figure beside the same measurement between two kernel namespaces over
 * a veth pair, taken in the same run (bench/tap-world.ts builds both):
 *
 *   2. TCP bulk with iperf3, both directions (target >= 0.5x the kernel)
 *   3. ping RTT p50/p99 (`ping -A`: one request in flight; target p50 <= 40 us) and TCP
 *      request/response with 1-byte messages like netperf TCP_RR (bench/tap-peer.py; target
 *      >= 0.3x the kernel)
 *   4. UDP datagrams received per second, 64 and 1472-byte payloads, both directions, the kernel's
 *      end bench/udp-blast.c (target >= 1,000,000/s with 64-byte payloads)
 *
 * Needs root, /dev/net/tun, the TAP addon, ping, python3, iperf3 and (for the UDP rows) gcc; without them every row says why
 * it was skipped. A missed target is a finding, not a failure.
 */
import { loadavg } from 'node:os';
import { SERVICES } from '../src/cli/services.ts';
import { waitFor } from '../test/helpers/netns.ts';
import { printTable } from './lib.ts';
import {
  KERNEL_UDP,
  PEER_SCRIPT,
  STACK,
  STACK_UDP,
  TapWorld,
  tapSkipReason,
  UDP_SCRIPT,
  VETH_LOCAL,
  VETH_PEER,
} from './tap-world.ts';
import { buildUdpBlast, type UdpBlast } from './udp-blast.ts';

export interface TapRow {
  readonly item: number;
  readonly name: string;
  readonly unit: string;
  /** The stack's figure, or null when the row was skipped. */
  readonly value: number | null;
  /** The kernel to kernel figure over veth, measured in the same run. */
  readonly reference: number | null;
  /** value / reference. */
  readonly ratio: number | null;
  readonly target: string | null;
  readonly met: boolean | null;
  readonly note?: string;
}

export interface TapResult {
  readonly rows: TapRow[];
  /** The 1-minute load average before and after the rows ran. */
  readonly load: { readonly before: number; readonly after: number };
  readonly skipped?: string;
}

const TOOLS = ['ping', 'python3', 'iperf3', 'ss'];
const IPERF_PORT = 5201;
const UDP_PORT = 5300;

interface Settings {
  /** Seconds of each iperf3 or TCP_RR run. */
  readonly seconds: number;
  /** Echo requests per ping run. */
  readonly pings: number;
}

/** The over-TAP rows (`udpOnly`: item 4's alone, as `node --import tsx bench/over-tap.ts --udp`). */
export async function measureOverTap(quick: boolean, udpOnly = false): Promise<TapResult> {
  const before = loadavg()[0]!;
  const skip = tapSkipReason(TOOLS);
  if (skip !== undefined) {
    return {
      rows: skippedRows('skipped (needs root and /dev/net/tun)'),
      load: { before, after: before },
      skipped: skip,
    };
  }
  const settings: Settings = quick ? { seconds: 1, pings: 1000 } : { seconds: 4, pings: 10000 };
  const iperfService = SERVICES['iperf3'] !== undefined;
  const world = await TapWorld.open(['echo', 'discard', 'chargen', ...(iperfService ? ['iperf3'] : [])]);
  try {
    await world.server(world.peer, 'iperf3', ['-s', '-B', VETH_PEER, '-p', String(IPERF_PORT)], IPERF_PORT);
    await world.server(world.peer, 'python3', [PEER_SCRIPT, 'echo-server', VETH_PEER, '7'], 7);
    if (udpOnly) return { rows: await udpRate(world, settings), load: { before, after: loadavg()[0]! } };
    const rows = [
      ...(await tcpBulk(world, settings, iperfService)),
      ...(await pingRtt(world, settings)),
      await tcpRr(world, settings),
      ...(await udpRate(world, settings)),
    ];
    return { rows, load: { before, after: loadavg()[0]! } };
  } finally {
    await world.close();
  }
}

/** The rows, each with `note` saying why there is no figure. */
function skippedRows(note: string): TapRow[] {
  return ROWS.map(([item, name, unit, target]) => ({
    item,
    name,
    unit,
    value: null,
    reference: null,
    ratio: null,
    target,
    met: null,
    note,
  }));
}

const ROWS: Array<[number, string, string, string | null]> = [
  [2, 'TCP bulk kernel -> netstack', 'Gbit/s', '>= 0.5x kernel'],
  [2, 'TCP bulk netstack -> kernel', 'Gbit/s', '>= 0.5x kernel'],
  [3, 'ping RTT p50', 'us', '<= 40 us'],
  [3, 'ping RTT p99', 'us', null],
  [3, 'TCP_RR 1 byte', 'trans/s', '>= 0.3x kernel'],
  [4, 'UDP 64 B kernel -> netstack', 'datagrams/s', '>= 1,000,000/s'],
  [4, 'UDP 64 B netstack -> kernel', 'datagrams/s', '>= 1,000,000/s'],
  [4, 'UDP 1472 B kernel -> netstack', 'datagrams/s', null],
  [4, 'UDP 1472 B netstack -> kernel', 'datagrams/s', null],
];

function row(
  item: number,
  name: string,
  unit: string,
  value: number | null,
  reference: number | null,
  target: string | null,
  met: ((value: number, ratio: number) => boolean) | null,
  note?: string,
): TapRow {
  const ratio = value !== null && reference !== null && reference > 0 ? value / reference : null;
  return {
    item,
    name,
    unit,
    value,
    reference,
    ratio,
    target,
    met: met === null || value === null || ratio === null ? null : met(value, ratio),
    ...(note !== undefined ? { note } : {}),
  };
}

/** Runs an iperf3 client in the local namespace and returns its JSON report. */
async function iperf3(world: TapWorld, server: string, args: readonly string[], seconds: number) {
  const out = await world.sh(
    world.local,
    `iperf3 -c ${server} -p ${IPERF_PORT} -t ${seconds} --json ${args.join(' ')}`,
    (seconds + 30) * 1000,
  );
  return JSON.parse(out) as {
    end: { sum_received: { bytes: number; seconds: number }; sum_sent: { bytes: number; seconds: number } };
    error?: string;
  };
}

/**
 * iperf3 both ways against the kernel over veth; against the stack with iperf3 too when `netstack
 * up` serves it, else (until then) bench/tap-peer.py's sender into the discard service and receiver
 * from the chargen service, said in the row's note.
 */
async function tcpBulk(world: TapWorld, s: Settings, iperfService: boolean): Promise<TapRow[]> {
  const rows: TapRow[] = [];
  for (const [name, reverse] of [
    ['TCP bulk kernel -> netstack', false],
    ['TCP bulk netstack -> kernel', true],
  ] as const) {
    const viaIperf = async (server: string) => {
      const r = await iperf3(world, server, reverse ? ['-R'] : [], s.seconds);
      return (r.end.sum_received.bytes * 8) / r.end.sum_received.seconds / 1e9;
    };
    const viaPython = async () => {
      const [command, port] = reverse ? ['tcp-recv', 19] : ['tcp-send', 9];
      const out = await world.sh(
        world.local,
        `python3 ${PEER_SCRIPT} ${command} ${STACK} ${port} ${s.seconds}`,
        (s.seconds + 60) * 1000,
      );
      const r = JSON.parse(out) as { bytes: number; seconds: number };
      return (r.bytes * 8) / r.seconds / 1e9;
    };
    const reference = await viaIperf(VETH_PEER);
    const value = iperfService ? await viaIperf(STACK) : await viaPython();
    const note = iperfService
      ? undefined
      : `python3 ${reverse ? 'from chargen' : 'to discard'} (no iperf3 in up)`;
    rows.push(row(2, name, 'Gbit/s', value, reference, '>= 0.5x kernel', (_, r) => r >= 0.5, note));
  }
  return rows;
}

/** `ping -A` (adaptive: the next request as soon as the reply came) from the local namespace. */
async function pingTimes(world: TapWorld, address: string, count: number): Promise<number[]> {
  const out = await world.sh(world.local, `ping -A -W 1 -c ${count} ${address}`, 120_000);
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  if (times.length < count * 0.99) throw new Error(`ping ${address}: ${times.length} of ${count} replies`);
  return times.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function pingRtt(world: TapWorld, s: Settings): Promise<TapRow[]> {
  // Warm up ARP and the JIT first.
  await pingTimes(world, STACK, 200);
  await pingTimes(world, VETH_PEER, 200);
  const stack = await pingTimes(world, STACK, s.pings);
  const kernel = await pingTimes(world, VETH_PEER, s.pings);
  return [
    row(3, 'ping RTT p50', 'us', percentile(stack, 0.5), percentile(kernel, 0.5), '<= 40 us', (v) => v <= 40),
    row(3, 'ping RTT p99', 'us', percentile(stack, 0.99), percentile(kernel, 0.99), null, null),
  ];
}

async function tcpRr(world: TapWorld, s: Settings): Promise<TapRow> {
  const rate = async (address: string) => {
    const out = await world.sh(
      world.local,
      `python3 ${PEER_SCRIPT} rr ${address} 7 ${s.seconds}`,
      (s.seconds + 30) * 1000,
    );
    const r = JSON.parse(out) as { transactions: number; seconds: number };
    return r.transactions / r.seconds;
  };
  return row(
    3,
    'TCP_RR 1 byte',
    'trans/s',
    await rate(STACK),
    await rate(VETH_PEER),
    '>= 0.3x kernel',
    (_, r) => r >= 0.3,
  );
}

/** A sink (bench/udp-blast.c or bench/tap-udp.ts) that reports once no datagram came for a second. */
async function udpSink(
  world: TapWorld,
  ns: string,
  command: string,
  args: readonly string[],
  stream: 'stdout' | 'stderr',
) {
  const p = world.netns.spawn(ns, command, args);
  await waitFor(
    () => {
      if (p.child.exitCode !== null) throw new Error(`${command} ${args.join(' ')} exited: ${p.stderr}`);
      return /^ready/m.test(p[stream]);
    },
    { timeout: 30_000, what: 'the UDP sink to be ready' },
  );
  return async () => {
    await p.exited;
    const r = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as { timed: number; seconds: number };
    return r.seconds > 0 ? r.timed / r.seconds : 0;
  };
}

/**
 * Datagrams received per second, SIZE-byte payloads sent as fast as the sender can: the kernel's
 * end is bench/udp-blast.c (built here with gcc; batches of 64 by sendmmsg / recvmmsg), the
 * stack's is bench/tap-udp.ts; the receiver counts what reached its application. The kernel's own
 * run uses the same udp-blast sender and sink over veth, so the ratio compares the stacks, not the
 * tools. Without gcc the rows say so.
 */
async function udpRate(world: TapWorld, s: Settings): Promise<TapRow[]> {
  let blast: UdpBlast;
  try {
    blast = buildUdpBlast();
  } catch (e) {
    return skippedRows((e as Error).message).filter((r) => r.item === 4);
  }
  try {
    return await udpRows(world, s, blast.path);
  } finally {
    blast.remove();
  }
}

async function udpRows(world: TapWorld, s: Settings, blast: string): Promise<TapRow[]> {
  const rows: TapRow[] = [];
  const kernel = (...args: Array<string | number>) => args.map(String);
  const stackArgs = (...args: Array<string | number>) => [
    '--import',
    'tsx',
    UDP_SCRIPT,
    '--tap',
    world.udpTap,
    '--ipv4',
    `${STACK_UDP}/24`,
    ...args.map(String),
  ];
  const send = (ns: string, command: string, args: readonly string[]) =>
    world.sh(ns, [command, ...args].join(' '), (s.seconds + 30) * 1000);
  for (const size of [64, 1472]) {
    // kernel -> netstack, and the kernel to kernel reference
    const intoStack = await udpSink(
      world,
      world.local,
      process.execPath,
      stackArgs('sink', UDP_PORT),
      'stderr',
    );
    await send(world.local, blast, kernel('send', STACK_UDP, UDP_PORT, size, s.seconds));
    const toStack = await intoStack();
    const intoPeer = await udpSink(world, world.peer, blast, kernel('sink', VETH_PEER, UDP_PORT), 'stdout');
    await send(world.local, blast, kernel('send', VETH_PEER, UDP_PORT, size, s.seconds));
    const toPeer = await intoPeer();
    // netstack -> kernel, and the reference the other way over veth
    const fromStack = await udpSink(
      world,
      world.local,
      blast,
      kernel('sink', KERNEL_UDP, UDP_PORT),
      'stdout',
    );
    await send(world.local, process.execPath, stackArgs('send', KERNEL_UDP, UDP_PORT, size, s.seconds));
    const stackSent = await fromStack();
    const fromPeer = await udpSink(world, world.local, blast, kernel('sink', VETH_LOCAL, UDP_PORT), 'stdout');
    await send(world.peer, blast, kernel('send', VETH_LOCAL, UDP_PORT, size, s.seconds));
    const peerSent = await fromPeer();
    const target = size === 64 ? '>= 1,000,000/s' : null;
    const met = size === 64 ? (v: number) => v >= 1e6 : null;
    rows.push(row(4, `UDP ${size} B kernel -> netstack`, 'datagrams/s', toStack, toPeer, target, met));
    rows.push(row(4, `UDP ${size} B netstack -> kernel`, 'datagrams/s', stackSent, peerSent, target, met));
  }
  return rows;
}

const fmt = (v: number | null, unit: string) =>
  v === null
    ? '-'
    : unit === 'Gbit/s'
      ? v.toFixed(2)
      : unit === 'us'
        ? v.toFixed(0)
        : Math.round(v).toLocaleString('en-US');

/** The table of the over-TAP rows. */
export function printOverTap(result: TapResult): void {
  console.log('\nOver TAP (netstack up in a namespace vs kernel to kernel over veth, same run)');
  const header = ['item', 'measure', 'unit', 'netstack', 'kernel', 'ratio', 'target', ''];
  const cells = result.rows.map((r) => [
    String(r.item),
    r.name,
    r.unit,
    fmt(r.value, r.unit),
    fmt(r.reference, r.unit),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
    r.target ?? '-',
    [r.met === null ? '' : r.met ? 'met' : 'MISSED', r.note === undefined ? '' : `(${r.note})`]
      .join(' ')
      .trim(),
  ]);
  printTable(header, cells, [1, 2, 6, 7]);
  if (result.skipped !== undefined) console.log(`(${result.skipped})`);
  console.log(
    `load average (1 min): ${result.load.before.toFixed(2)} before, ${result.load.after.toFixed(2)} after`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printOverTap(await measureOverTap(process.argv.includes('--quick'), process.argv.includes('--udp')));
}
