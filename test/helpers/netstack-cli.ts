/**
 * Runs the `netstack` command inside network namespaces for the interop tests: the source through
 * tsx, its standard input optionally piped, its output collected; every process started is tracked
 * by PID and killed by `cleanup()` (call it in `after()`, before the namespaces are deleted).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTapNative } from '../../src/bindings/node/tap-native.ts';
import { type NetnsHarness, netnsUnavailableReason, spawnInNamespace, waitFor } from './netns.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(REPO, 'src', 'cli', 'main.ts');

/** Why the CLI interop tests cannot run here, or undefined; `tools` are commands they need. */
export function cliInteropSkipReason(tools: readonly string[] = []): string | undefined {
  const netns = netnsUnavailableReason();
  if (netns !== undefined) return netns;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  try {
    loadTapNative();
  } catch (e) {
    return (e as Error).message;
  }
  const path = (process.env.PATH ?? '').split(':');
  for (const tool of tools) {
    if (!path.some((dir) => existsSync(join(dir, tool)))) return `the \`${tool}\` command is missing`;
  }
  return undefined;
}

/** A running `netstack` command. */
export interface NetstackProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** The exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` if the process still runs. */
  kill(signal?: NodeJS.Signals): void;
  /** Writes to its standard input (when started with `stdin: true`). */
  write(text: string): void;
  /** Resolves once its standard output (or error) has a line starting with `ready`. */
  ready(options?: { stream?: 'stdout' | 'stderr'; timeout?: number }): Promise<void>;
  /** The JSON events it printed on standard output (with `--json`). */
  events(): Array<Record<string, unknown>>;
}

export class NetstackRunner {
  private readonly running = new Set<NetstackProcess>();
  /** Last resort if the test process exits before the after() hooks run. */
  private readonly exitHook = () => {
    for (const p of this.running) p.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.exitHook);
  }

  /** Starts `netstack ARGS` in `ns` (`ip netns exec` execs node, so the PID is node's own). */
  start(ns: string, args: readonly string[], options: { stdin?: boolean } = {}): NetstackProcess {
    const base = spawnInNamespace(ns, process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: REPO,
      stdin: options.stdin ?? false,
    });
    const proc: NetstackProcess = Object.assign(base, {
      write: (text: string) => {
        base.child.stdin!.write(text);
      },
      ready: async ({ stream = 'stdout' as 'stdout' | 'stderr', timeout = 30_000 } = {}) => {
        await Promise.race([
          waitFor(() => /^(ready|\{"event":"ready")/m.test(base[stream]), {
            timeout,
            what: `netstack ${args[0]} to be ready`,
          }),
          base.exited.then((code) => {
            throw new Error(`netstack ${args.join(' ')} exited (${code}) before ready: ${base.stderr}`);
          }),
        ]);
      },
      events: () =>
        base.stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    });
    this.running.add(proc);
    void proc.exited.then(() => this.running.delete(proc));
    return proc;
  }

  /** Stops `proc` with SIGTERM and returns its exit code. */
  async stop(proc: NetstackProcess, timeout = 15_000): Promise<number | string> {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeout);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  }

  /** Kills every process this runner started that still runs, and waits for them. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.running].map((p) => this.stop(p, 2000)));
    process.removeListener('exit', this.exitHook);
  }
}

/** `ip -s -j link show dev DEV` in `ns`: the device's MAC and packet counters. */
export async function linkStats(
  netns: NetnsHarness,
  ns: string,
  dev: string,
): Promise<{
  address: string;
  rx: { packets: number; dropped: number };
  tx: { packets: number; dropped: number };
}> {
  const { stdout } = await netns.exec(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', dev]);
  const [link] = JSON.parse(stdout) as Array<{
    address: string;
    stats64: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
  }>;
  if (link === undefined) throw new Error(`no link ${dev} in ${ns}`);
  return { address: link.address, rx: link.stats64.rx, tx: link.stats64.tx };
}

/** The kernel's UDP counters in `ns` (the `Udp:` lines of /proc/net/snmp, read inside it). */
export async function kernelUdpCounters(netns: NetnsHarness, ns: string): Promise<Record<string, number>> {
  const { stdout } = await netns.exec(ns, 'cat', ['/proc/net/snmp']);
  const lines = stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

/** Makes a namespace quiet for exact counts: no IPv6 on its devices (no MLD, RS, DAD). */
export async function disableIpv6(netns: NetnsHarness, ns: string): Promise<void> {
  await netns.exec(ns, 'sysctl', [
    '-qw',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
}

/** A persistent TAP made by the kernel side (`ip tuntap add`), with `cidr` on it and up. */
export async function kernelTap(netns: NetnsHarness, ns: string, cidr: string): Promise<string> {
  const name = netns.uniqueName('k');
  await netns.exec(ns, 'ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  await netns.exec(ns, 'ip', ['addr', 'add', cidr, 'dev', name]);
  await netns.exec(ns, 'ip', ['link', 'set', name, 'up']);
  return name;
}

/** The MACs of the TAPs listed under a text `ready` line (`  NAME tap MAC mtu ...`). */
export function readyMacs(stdout: string): string[] {
  return [...stdout.matchAll(/^ {2}\S+ tap ([0-9a-f:]{17}) mtu/gm)].map((m) => m[1]!);
}
