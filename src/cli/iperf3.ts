/**
 * `netstack iperf3`: iperf3 over the stack (src/apps/iperf3), compatible with the iperf3 program.
 *
 *   netstack iperf3 -s [-p PORT] [--one-off] [interface options]
 *       an iperf3 server: each test's intervals and totals as iperf3 prints them (or JSON lines
 *       with --json), until SIGINT/SIGTERM
 *   netstack iperf3 -c HOST [-R] [-P N] [-t SECONDS] [-p PORT] [-l LEN] [-i SECONDS] [--json]
 *       an iperf3 client: intervals and sender/receiver totals as iperf3 prints them, or with
 *       --json (-J) one JSON document shaped like iperf3's (start, intervals, end)
 *
 * The client's standard output carries only the report; the stack's status lines (`ready ...`) go
 * to standard error. Exit 0 when the test completed, 1 when it failed.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Iperf3Client, type Iperf3Error, type Iperf3Report } from '../apps/iperf3/client.ts';
import { type CpuUtil, DEFAULT_PORT } from '../apps/iperf3/protocol.ts';
import { formatEnd, formatInterval, intervalHeader } from '../apps/iperf3/report.ts';
import { Iperf3Server } from '../apps/iperf3/server.ts';
import { ipToString } from '../core/ip-address.ts';
import { ipv4ToString } from '../wire/address.ts';
import { type FlagSpec, parseArgs, UsageError } from './args.ts';
import {
  interfaceFlags,
  parseAddressArg,
  parseInterfaceOptions,
  parsePortArg,
  Session,
  untilSignal,
} from './interface-options.ts';

export const iperf3Flags: Record<string, FlagSpec> = {
  server: { type: 'boolean', short: 's', help: 'run as a server' },
  client: { type: 'string', short: 'c', help: 'run as a client of the server at HOST', value: 'HOST' },
  port: { type: 'number', short: 'p', help: `server port (default ${DEFAULT_PORT})`, value: 'PORT' },
  reverse: { type: 'boolean', short: 'R', help: 'reverse mode: the server sends, the client receives' },
  parallel: { type: 'number', short: 'P', help: 'parallel streams (default 1, at most 128)', value: 'N' },
  time: { type: 'number', short: 't', help: 'seconds to transmit (default 10)', value: 'SECONDS' },
  length: { type: 'number', short: 'l', help: 'bytes of one write (default 128 KiB)', value: 'LEN' },
  interval: { type: 'number', short: 'i', help: 'seconds between reports (default 1)', value: 'SECONDS' },
  'one-off': { type: 'boolean', help: 'server: handle one test, then exit' },
  ...interfaceFlags,
  json: {
    type: 'boolean',
    short: 'J',
    help: "client: the report as iperf3's JSON document; server: JSON lines",
  },
};

/** CPU use of this process between the call and each call of the function it returns. */
function startCpu(): () => CpuUtil {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return () => {
    const wall = (performance.now() - t0) * 1000;
    const c = process.cpuUsage(c0);
    if (wall <= 0) return { total: 0, user: 0, system: 0 };
    const user = (100 * c.user) / wall;
    const system = (100 * c.system) / wall;
    return { total: user + system, user, system };
  };
}

function numberFlag(
  flags: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const v = flags[name] as number | undefined;
  if (v !== undefined && !(v >= min && v <= max))
    throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return v;
}

export async function runIperf3(argv: string[]): Promise<number> {
  const args = parseArgs(argv, iperf3Flags);
  const { flags } = args;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const server = flags.server === true;
  const host = flags.client as string | undefined;
  if (server === (host !== undefined)) throw new UsageError('give either -s (server) or -c HOST (client)');
  const portFlag = flags.port as number | undefined;
  const port = portFlag === undefined ? DEFAULT_PORT : parsePortArg(String(portFlag), '-p');
  const config = parseInterfaceOptions(args);
  if (server) {
    for (const name of ['reverse', 'parallel', 'time', 'length'])
      if (flags[name] !== undefined) throw new UsageError(`--${name} is a client option`);
    const interval = numberFlag(flags, 'interval', 0.1, 60);
    return runServer(config, port, flags['one-off'] === true, interval);
  }
  if (flags['one-off'] !== undefined) throw new UsageError('--one-off is a server option');
  const address = parseAddressArg(host!, '-c');
  const parallel = numberFlag(flags, 'parallel', 1, 128);
  if (parallel !== undefined && !Number.isInteger(parallel)) throw new UsageError('-P must be an integer');
  const length = numberFlag(flags, 'length', 1, 1024 * 1024);
  if (length !== undefined && !Number.isInteger(length)) throw new UsageError('-l must be an integer');
  const options = {
    address,
    port,
    reverse: flags.reverse === true,
    ...(parallel !== undefined ? { parallel } : {}),
    ...(length !== undefined ? { length } : {}),
    time: numberFlag(flags, 'time', 0.1, 86_400) ?? 10,
    interval: (numberFlag(flags, 'interval', 0.1, 60) ?? 1) * 1000,
  };
  return runClient(config, options);
}

async function runClient(
  config: ReturnType<typeof parseInterfaceOptions>,
  options: ConstructorParameters<typeof Iperf3Client>[1] & { port: number; address: number; time: number },
): Promise<number> {
  const json = config.json;
  const out = process.stdout;
  const print = (lines: string[]) => {
    if (!json && lines.length > 0) out.write(`${lines.join('\n')}\n`);
  };
  const host = ipv4ToString(options.address);
  const session = new Session(config, 'netstack-iperf3', process.stderr);
  const timestamp = new Date();
  const system = {
    system_info: `${os.type()} ${os.hostname()} ${os.release()} ${os.arch()}`,
    timestamp: { time: timestamp.toUTCString(), timesecs: Math.floor(timestamp.getTime() / 1000) },
  };
  try {
    session.ready({ iperf3: 'client', remote: `${host}:${options.port}` }, [
      `  iperf3 client to ${host} port ${options.port}`,
    ]);
    const client = session.stack.run(() => new Iperf3Client(session.stack, { ...options, startCpu }));
    print([`Connecting to host ${host}, port ${options.port}`]);
    if (options.reverse) print([`Reverse mode, remote host ${host} is sending`]);
    let headed = false;
    const outcome = new Promise<Iperf3Report>((resolve, reject) => {
      client.onStreamConnected = (s) =>
        print([
          `[${String(s.socket).padStart(3)}] local ${s.local_host} port ${s.local_port} connected to ${s.remote_host} port ${s.remote_port}`,
        ]);
      client.onInterval = (i) => {
        if (!headed) print([intervalHeader(!options.reverse)]);
        headed = true;
        print(formatInterval(i));
      };
      client.onDone = resolve;
      client.onError = reject;
    });
    client.start();
    let code: number;
    try {
      const result = await Promise.race([outcome, untilSignal(), session.failed]);
      if (typeof result === 'string') {
        client.abort();
        print(['iperf3: interrupt - the client has terminated']);
        code = 130;
      } else {
        const report = result;
        if (json)
          out.write(`${JSON.stringify({ ...report, start: { ...report.start, ...system } }, null, 2)}\n`);
        print([...formatEnd(report.end), '', 'iperf Done.']);
        code = 0;
      }
    } catch (e) {
      const err = e as Iperf3Error;
      if (json)
        out.write(
          `${JSON.stringify({ start: { ...system }, intervals: [], end: {}, error: err.message }, null, 2)}\n`,
        );
      else process.stderr.write(`${err.message}\n`);
      code = 1;
    }
    await new Promise<void>((resolve) => (out.writableLength === 0 ? resolve() : out.once('drain', resolve)));
    return code;
  } finally {
    session.close();
  }
}

async function runServer(
  config: ReturnType<typeof parseInterfaceOptions>,
  port: number,
  oneOff: boolean,
  interval: number | undefined,
): Promise<number> {
  const session = new Session(config, 'netstack-iperf3');
  try {
    const server = new Iperf3Server(session.stack, {
      startCpu,
      ...(interval !== undefined ? { interval: interval * 1000 } : {}),
    });
    let ended: () => void = () => {};
    const oneTest = new Promise<void>((resolve) => {
      ended = resolve;
    });
    server.onTestStart = (t) => {
      const from = ipToString(t.remoteAddress);
      session.event('test', { remote: from, port: t.remotePort, ...t, remoteAddress: from }, () => [
        `Accepted connection from ${from}, port ${t.remotePort}`,
        `  ${t.parallel} stream(s), ${t.reverse ? 'sending (reverse mode)' : 'receiving'}, ${t.time} s, blocks of ${t.length} bytes`,
        intervalHeader(t.reverse),
      ]);
    };
    server.onInterval = (i) => session.event('interval', { ...i }, () => formatInterval(i));
    server.onTestEnd = (end) => {
      session.event('result', { end }, () => [
        ...formatEnd(end),
        '-----------------------------------------------------------',
      ]);
      if (oneOff) ended();
    };
    server.onTestError = (message) => {
      session.event('test-error', { message }, () => `iperf3: error - ${message}`);
      if (oneOff) ended();
    };
    const stop = server.listen(port);
    const signalled = untilSignal();
    session.ready({ iperf3: 'server', port }, [`  iperf3 server listening on port ${port}`]);
    await Promise.race([signalled, session.failed, oneTest]);
    stop();
    return 0;
  } finally {
    session.close();
  }
}
