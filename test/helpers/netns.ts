/**
 * A harness for interop tests against the Linux kernel in network namespaces. Every name it creates
 * carries a per-run prefix (`nst<pid>`), it tracks the namespaces it created and the processes it
 * started (by PID), and `cleanup()` (call it from an `after()` hook) kills exactly those processes
 * and deletes exactly those namespaces, even when a test failed half-way.
 *
 *   const netns = new NetnsHarness();
 *   after(() => netns.cleanup());
 *   const ns = await netns.createNamespace();
 *   await netns.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
 *   const server = netns.spawn(ns, 'node', ['-e', '...']);
 *   await waitFor(() => server.stdout.includes('ready'), { what: 'the server to start' });
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Milliseconds before the command is killed (default 10 s). */
  timeout?: number;
}

/** A process started in a namespace; its output accumulates in `stdout` and `stderr`. */
export interface NsProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` to this PID if it is still running. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `command` inside `ns` with its output collected into `stdout`/`stderr`. `ip netns exec`
 * execs the command, so the PID is the command's own and can be killed by PID.
 */
export function spawnInNamespace(
  ns: string,
  command: string,
  args: readonly string[],
  options: { stdin?: boolean; cwd?: string } = {},
): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  if (child.pid === undefined) throw new Error(`cannot start ${command} in ${ns}`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (e) => resolve(e.message));
  });
  const proc: NsProcess = {
    pid: child.pid,
    child,
    stdout: '',
    stderr: '',
    exited,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
    },
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    proc.stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    proc.stderr += d;
  });
  return proc;
}

/** Why namespace tests cannot run here (not Linux, not root, no `ip`), or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the `ip` command (iproute2) is missing';
  }
  if (!existsSync('/var/run/netns') && !existsSync('/run')) return 'no /run for `ip netns`';
  return undefined;
}

let harnessCount = 0;

export class NetnsHarness {
  /** `nst<pid>` plus a per-harness letter, so that two harnesses of one run never collide. */
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<NsProcess>();
  private counter = 0;
  private readonly exitHook = () => this.cleanupSync();

  constructor() {
    this.prefix = `nst${process.pid}${String.fromCharCode(97 + (harnessCount++ % 26))}`;
    // Last resort if the runner exits before the after() hooks run: delete what is left, synchronously.
    process.once('exit', this.exitHook);
  }

  /** A fresh name with the run's prefix (at most 15 bytes, so it also fits an interface name). */
  uniqueName(tag = ''): string {
    const name = `${this.prefix}${tag}${this.counter++}`;
    if (name.length > 15) throw new Error(`name ${name} is longer than an interface name may be`);
    return name;
  }

  /** Creates a namespace with its loopback up; it is deleted by `cleanup`. */
  async createNamespace(): Promise<string> {
    const name = this.uniqueName('n');
    await run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await this.exec(name, 'ip', ['link', 'set', 'lo', 'up']);
    return name;
  }

  /** Runs a command to completion inside `ns`; rejects with its stderr when it fails. */
  exec(ns: string, command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', ns, command, ...args], options);
  }

  /**
   * Starts a long-running command inside `ns` (`ip netns exec` execs it, so the PID is the
   * command's own); it is killed by `cleanup` if still running.
   */
  spawn(ns: string, command: string, args: readonly string[]): NsProcess {
    const proc = spawnInNamespace(ns, command, args);
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** Kills the processes this harness started (by PID) and deletes the namespaces it created. */
  async cleanup(): Promise<void> {
    const procs = [...this.processes];
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(
      procs.map(async (p) => {
        const timer = setTimeout(() => p.kill('SIGKILL'), 2000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    const errors: string[] = [];
    for (const ns of this.namespaces.splice(0).reverse()) {
      await run('ip', ['netns', 'del', ns]).catch((e: Error) => errors.push(e.message));
    }
    process.removeListener('exit', this.exitHook);
    if (errors.length > 0) throw new Error(`netns cleanup: ${errors.join('; ')}`);
  }

  private cleanupSync(): void {
    for (const p of this.processes) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Nothing more can be done while exiting.
      }
    }
  }
}

function run(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: options.timeout ?? 10_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

export interface WaitOptions {
  /** Milliseconds before giving up (default 5 s). */
  timeout?: number;
  /** Milliseconds between polls (default 10). */
  interval?: number;
  /** What is being waited for, for the timeout message. */
  what?: string;
}

/**
 * Polls `condition` until it returns a value other than undefined, null or false, and resolves with
 * that value; rejects after `timeout`. Use this instead of fixed sleeps.
 */
export async function waitFor<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeout = options.timeout ?? 5000;
  const interval = options.interval ?? 10;
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeout} ms waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
