/**
 * The `netstack` command. Each subcommand parses its own flags; a usage mistake or an impossible
 * configuration prints one line and exits non-zero, never a stack trace.
 */
import { type FlagSpec, formatFlags, parseArgs, UsageError } from './args.ts';
import { runDemo } from './demo.ts';
import { fetchFlags, runFetch } from './fetch.ts';
import { iperf3Flags, runIperf3 } from './iperf3.ts';
import { ncFlags, runNc } from './nc.ts';
import { pingFlags, runPing } from './ping.ts';
import { runUp, upFlags } from './up.ts';

const demoFlags: Record<string, FlagSpec> = {
  seed: { type: 'number', help: 'seed of the simulation (same seed, same run, same pcap)', value: 'N' },
  frames: { type: 'number', help: 'UDP datagrams in the echo exchange (default 2000)', value: 'N' },
  bytes: { type: 'number', help: 'bytes of the HTTP download (default 4 MiB)', value: 'N' },
  loss: {
    type: 'number',
    help: 'loss probability on the router-server wire, each way (default 0.05)',
    value: 'P',
  },
  delay: { type: 'number', help: 'one-way delay of the router-server wire in ms (default 10)', value: 'MS' },
  pcap: {
    type: 'string',
    help: 'capture file (default netstack-demo.pcapng; "none" for no capture)',
    value: 'FILE',
  },
};

const commands: Record<
  string,
  {
    summary: string;
    usage?: string;
    flags: Record<string, FlagSpec>;
    /** Resolves with the exit code. */
    run: (argv: string[]) => number | Promise<number>;
  }
> = {
  demo: {
    summary: 'run the demo on a simulated network (no root, no devices)',
    flags: demoFlags,
    run: async (argv) => {
      const { flags, positionals } = parseArgs(argv, demoFlags);
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      const num = (name: string, fallback: number, min: number, max: number) => {
        const v = (flags[name] as number | undefined) ?? fallback;
        if (v < min || v > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
        return v;
      };
      const pcap = (flags.pcap as string | undefined) ?? 'netstack-demo.pcapng';
      await runDemo({
        seed: num('seed', 1, 0, 0xffffffff),
        frames: num('frames', 2000, 1, 1_000_000),
        httpBytes: num('bytes', 4 << 20, 0, 2 ** 40),
        loss: num('loss', 0.05, 0, 1),
        delay: num('delay', 10, 0, 60_000),
        pcap: pcap === 'none' ? undefined : pcap,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      return 0;
    },
  },
  up: {
    summary: 'put the stack on TAP/TUN devices and serve until SIGINT/SIGTERM',
    usage: 'netstack up --tap NAME [--ipv4 ADDR/LEN] [--tap NAME --ipv4 ADDR/LEN ... --forward] [options]',
    flags: upFlags,
    run: runUp,
  },
  ping: {
    summary: 'send ICMP echo requests from the stack, like ping(8)',
    usage:
      'netstack ping [--tap NAME --ipv4 ADDR/LEN ... | --dhcp] [--dns ADDR] [-4|-6] HOST [-c N] [-i SECONDS] [-s SIZE] [-W SECONDS] [-t TTL]',
    flags: pingFlags,
    run: runPing,
  },
  nc: {
    summary:
      'netcat over the stack (TCP, or UDP with -u): standard input to the socket, the socket to standard output',
    usage:
      'netstack nc [-u] [-4|-6] [--tap NAME --ipv4 ADDR/LEN ... | --dhcp] [--dns ADDR] HOST PORT | netstack nc [-u] -l [...] [ADDR] PORT',
    flags: ncFlags,
    run: runNc,
  },
  fetch: {
    summary: 'HTTP GET over the stack: the body to standard output or a file, progress on standard error',
    usage:
      'netstack fetch [--tap NAME --ipv4 ADDR/LEN ... | --dhcp] [--dns ADDR] http://HOST[:PORT]/PATH [-o FILE]',
    flags: fetchFlags,
    run: runFetch,
  },
  iperf3: {
    summary: 'measure TCP throughput with the iperf3 protocol (against iperf3 or netstack iperf3)',
    usage:
      'netstack iperf3 -s [-p PORT] [--one-off] [...] | netstack iperf3 -c HOST [-R] [-P N] [-t SECONDS] [--json] [...]',
    flags: iperf3Flags,
    run: runIperf3,
  },
};

function usage(): string {
  const lines = ['usage: netstack <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  for (const [name, c] of Object.entries(commands)) lines.push('', commandHelp(name, c));
  return lines.join('\n');
}

function commandHelp(name: string, c: (typeof commands)[string]): string {
  return [
    `netstack ${name}: ${c.summary}`,
    ...(c.usage !== undefined ? [`  usage: ${c.usage}`] : []),
    formatFlags(c.flags),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`netstack: unknown command '${name}' (try 'netstack help')\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${commandHelp(name, command)}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    const error = e as Error & { code?: string };
    if (error instanceof UsageError) {
      process.stderr.write(`netstack ${name}: ${error.message}\n`);
      return 2;
    }
    if (typeof error.code === 'string') {
      const message = error.message.includes(error.code) ? error.message : `${error.message} (${error.code})`;
      process.stderr.write(`netstack ${name}: ${message}\n`);
      return 1;
    }
    throw error;
  }
}

// A closed pipe (`netstack ... | head`) ends the command quietly, like other Unix tools.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
