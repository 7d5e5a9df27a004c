/**
 * The `netstack` command. Each subcommand parses its own flags; a usage mistake or an impossible
 * configuration prints one line and exits non-zero, never a stack trace.
 */
import { type FlagSpec, formatFlags, parseArgs, UsageError } from './args.ts';
import { runDemo } from './demo.ts';

const demoFlags: Record<string, FlagSpec> = {
  seed: { type: 'number', help: 'seed of the simulation (same seed, same run, same pcap)', value: 'N' },
  frames: { type: 'number', help: 'datagrams to send (default 2000)', value: 'N' },
  loss: { type: 'number', help: 'loss probability on the wire, each way (default 0.05)', value: 'P' },
  delay: { type: 'number', help: 'one-way delay of the wire in ms (default 10)', value: 'MS' },
  pcap: {
    type: 'string',
    help: 'capture file (default netstack-demo.pcap; "none" for no capture)',
    value: 'FILE',
  },
};

const commands: Record<
  string,
  { summary: string; flags: Record<string, FlagSpec>; run: (argv: string[]) => void }
> = {
  demo: {
    summary: 'run the demo on a simulated network (no root, no devices)',
    flags: demoFlags,
    run: (argv) => {
      const { flags, positionals } = parseArgs(argv, demoFlags);
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      const num = (name: string, fallback: number, min: number, max: number) => {
        const v = (flags[name] as number | undefined) ?? fallback;
        if (v < min || v > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
        return v;
      };
      const pcap = (flags.pcap as string | undefined) ?? 'netstack-demo.pcap';
      runDemo({
        seed: num('seed', 1, 0, 0xffffffff),
        frames: num('frames', 2000, 1, 1_000_000),
        loss: num('loss', 0.05, 0, 1),
        delay: num('delay', 10, 0, 60_000),
        pcap: pcap === 'none' ? undefined : pcap,
        log: (line) => process.stdout.write(`${line}\n`),
      });
    },
  },
};

function usage(): string {
  const lines = ['usage: netstack <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  for (const [name, c] of Object.entries(commands))
    lines.push('', `netstack ${name} options:`, formatFlags(c.flags));
  return lines.join('\n');
}

export function main(argv: string[]): number {
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
  try {
    command.run(rest);
    return 0;
  } catch (e) {
    const error = e as Error & { code?: string };
    if (error instanceof UsageError) {
      process.stderr.write(`netstack ${name}: ${error.message}\n`);
      return 2;
    }
    if (typeof error.code === 'string') {
      process.stderr.write(`netstack ${name}: ${error.message} (${error.code})\n`);
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
process.exitCode = main(process.argv.slice(2));
