/**
 * A small command-line parser: long flags (`--name value`, `--name=value`), short aliases, boolean
 * switches, repeatable flags and positionals. Mistakes become a `UsageError` with a one-line
 * message, which the command prints without a stack trace.
 */

export class UsageError extends Error {
  readonly code = 'EUSAGE';
}

export interface FlagSpec {
  /** 'string' and 'number' take a value; 'boolean' does not. */
  type: 'string' | 'number' | 'boolean';
  /** One-letter alias, e.g. 'c' for -c. */
  short?: string;
  /** May be given several times (values collected in an array). */
  repeatable?: boolean;
  /** For the help text. */
  help: string;
  /** Name of the value in the help text. */
  value?: string;
}

export type FlagValue = string | number | boolean | Array<string | number>;

export interface ParsedArgs {
  flags: Record<string, FlagValue | undefined>;
  positionals: string[];
  /** Every flag in the order given (for flags whose relative order matters, e.g. --tap and --tun). */
  sequence: Array<{ name: string; value: string | number | boolean }>;
}

export function parseArgs(argv: readonly string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags: Record<string, FlagValue | undefined> = {};
  const positionals: string[] = [];
  const sequence: ParsedArgs['sequence'] = [];
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) if (s.short !== undefined) byShort.set(s.short, name);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string | undefined;
    let inline: string | undefined;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith('-') && arg.length === 2 && (!/^-[0-9]$/.test(arg) || byShort.has(arg[1]!))) {
      // A digit is a flag only when the spec has it (`-4`, `-6`); else `-1` is a positional.
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const s = spec[name];
    if (s === undefined) throw new UsageError(`unknown option --${name}`);
    let value: string | number | boolean;
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      value = true;
    } else {
      const text = inline ?? argv[++i];
      if (text === undefined) throw new UsageError(`option --${name} needs a value`);
      if (s.type === 'number') {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n))
          throw new UsageError(`option --${name}: not a number: ${text}`);
        value = n;
      } else {
        value = text;
      }
    }
    sequence.push({ name, value });
    if (s.repeatable) {
      const list = (flags[name] as Array<string | number> | undefined) ?? [];
      list.push(value as string | number);
      flags[name] = list;
    } else {
      flags[name] = value;
    }
  }
  return { flags, positionals, sequence };
}

/** Help lines for a flag spec. */
export function formatFlags(spec: Record<string, FlagSpec>): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const left = `${s.short !== undefined ? `-${s.short}, ` : '    '}--${name}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}`;
    return [left, s.help] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`).join('\n');
}
