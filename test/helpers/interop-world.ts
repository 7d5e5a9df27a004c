/**
 * The set-up the interop tests share: a namespace harness, a `netstack` runner and a temporary
 * directory for one describe() block, undone in its after() hook (processes killed by PID,
 * namespaces deleted, the directory removed) even when a test failed half-way; and the usual
 * world of one test, `netstack up` on a TAP in a namespace whose kernel side has an address.
 *
 *   describe('...', { skip: SKIP }, () => {
 *     const { netns, runner, dir } = interopWorld('http');
 *     let up: NetstackProcess;
 *     before(async () => {
 *       ({ up } = await stackOnTap({ netns, runner }, { stack: '10.1.0.2/24', kernel: '10.1.0.1/24' }));
 *     });
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { NetnsHarness } from './netns.ts';
import { disableIpv6, type NetstackProcess, NetstackRunner } from './netstack-cli.ts';

export interface InteropWorld {
  readonly netns: NetnsHarness;
  readonly runner: NetstackRunner;
  /** A fresh temporary directory (`netstack-<tag>-XXXXXX`), for captures and files. */
  readonly dir: string;
}

/**
 * Call in a describe() body (which node:test does not run when the block is skipped): makes the
 * world at once and registers the after() hook that undoes it.
 */
export function interopWorld(tag: string): InteropWorld {
  const world: InteropWorld = {
    netns: new NetnsHarness(),
    runner: new NetstackRunner(),
    dir: mkdtempSync(join(tmpdir(), `netstack-${tag}-`)),
  };
  // Last resort when the hooks never run (the block's tests all filtered out).
  const removeDir = () => rmSync(world.dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  after(async () => {
    await world.runner.cleanup();
    await world.netns.cleanup();
    removeDir();
    process.removeListener('exit', removeDir);
  });
  return world;
}

export interface StackOnTapOptions {
  /** The stack's IPv4 address with its prefix length (`--ipv4`). */
  readonly stack: string;
  /** The address with prefix length the kernel side of the TAP gets once the stack is ready. */
  readonly kernel: string;
  /** More arguments of `netstack up`. */
  readonly args?: readonly string[];
  /** The TAP's name; a fresh one with the run's prefix by default. */
  readonly tap?: string;
}

/**
 * A new namespace, quiet for exact counts (no IPv6 on its devices), with `netstack up` on a TAP
 * it creates (TUNSETIFF) and raises; once the stack is ready, the kernel side gets its address.
 */
export async function stackOnTap(
  world: Pick<InteropWorld, 'netns' | 'runner'>,
  options: StackOnTapOptions,
): Promise<{ ns: string; tap: string; up: NetstackProcess }> {
  const { netns, runner } = world;
  const ns = await netns.createNamespace();
  await disableIpv6(netns, ns);
  const tap = options.tap ?? netns.uniqueName('t');
  const up = runner.start(ns, ['up', '--tap', tap, '--ipv4', options.stack, ...(options.args ?? [])]);
  await up.ready();
  await netns.exec(ns, 'ip', ['addr', 'add', options.kernel, 'dev', tap]);
  return { ns, tap, up };
}

export interface KernelIpv6Addr {
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
}

/** The kernel's IPv6 addresses on `dev` in `ns` (`ip -6 -j addr show dev DEV [scope SCOPE]`). */
export async function kernelIpv6Addrs(
  netns: NetnsHarness,
  ns: string,
  dev: string,
  scope?: 'global' | 'link',
): Promise<KernelIpv6Addr[]> {
  const filter = scope === undefined ? [] : ['scope', scope];
  const { stdout } = await netns.exec(ns, 'ip', ['-6', '-j', 'addr', 'show', 'dev', dev, ...filter]);
  const [link] = JSON.parse(stdout) as Array<{ addr_info: Array<Partial<KernelIpv6Addr>> }>;
  // iproute2 prints an empty object in addr_info for the filtered-out IPv4 side.
  return (link?.addr_info ?? []).filter((a): a is KernelIpv6Addr => a.local !== undefined);
}
