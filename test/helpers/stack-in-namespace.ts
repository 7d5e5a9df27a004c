/**
 * The in-process variant of `stackOnTap` (test/helpers/interop-world.ts): a stack in this test
 * process, on a TAP device it creates in the root namespace and moves into a fresh namespace
 * (`ip link set DEV netns NS`; the descriptor keeps working after the move), where the kernel
 * side gets its addresses and goes up.
 *
 *   let netns: NetnsHarness;
 *   let world: StackInNamespace | undefined;
 *   before(async () => {
 *     netns = new NetnsHarness();
 *     world = await stackInNamespace(netns, { name: 'x', stack4: '10.1.0.2/24', kernel4: '10.1.0.1/24' });
 *   });
 *   after(async () => {
 *     world?.close();
 *     await netns?.cleanup();
 *   });
 */
import { execFile } from 'node:child_process';
import { NodeEnvironment, type NodeEnvironmentOptions } from '../../src/bindings/node/node-environment.ts';
import { type AttachedDevice, attachTap, type TapDevice } from '../../src/bindings/node/tap.ts';
import { Stack } from '../../src/core/stack.ts';
import { parseIpv6 } from '../../src/wire/address.ts';
import type { NetnsHarness } from './netns.ts';
import { disableIpv6 } from './netstack-cli.ts';
import { configure } from './sim-hosts.ts';

export interface StackInNamespaceOptions {
  /** The stack's name. */
  readonly name: string;
  /**
   * 'off': no IPv6 in the stack nor on the namespace's devices (no autoconfiguration chatter, the
   * counts stay exact); 'no-dad': IPv6 on both, the kernel without DAD (its addresses usable at
   * once); 'on' (the default): IPv6 on both.
   */
  readonly ipv6?: 'off' | 'no-dad' | 'on';
  /** The stack's IPv4 address with its prefix length; none when absent. */
  readonly stack4?: string;
  /** The stack's IPv6 address with its prefix length (added without DAD). */
  readonly stack6?: string;
  /** The kernel side's IPv4 address with its prefix length. */
  readonly kernel4: string;
  /** The kernel side's IPv6 address with its prefix length (added `nodad`). */
  readonly kernel6?: string;
  readonly env?: NodeEnvironmentOptions;
}

export interface StackInNamespace {
  readonly ns: string;
  readonly env: NodeEnvironment;
  readonly stack: Stack;
  readonly tap: AttachedDevice<TapDevice>;
  /** The TAP device's name (the same on both sides). */
  readonly dev: string;
  /** Closes the TAP and the environment (call before the namespace goes, so no read error is reported). */
  close(): void;
}

/** Runs `ip link set DEV netns NS` in this process's (root) namespace. */
export function moveLinkToNamespace(dev: string, ns: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('ip', ['link', 'set', dev, 'netns', ns], (e, _o, stderr) =>
      e ? reject(new Error(`ip link set ${dev} netns ${ns}: ${stderr}`)) : resolve(),
    ),
  );
}

/** Moves a device of this process into `ns`, gives it `address` (`ip addr add` arguments) and brings it up. */
export async function moveIntoNamespace(
  netns: NetnsHarness,
  ns: string,
  dev: string,
  address: readonly string[],
): Promise<void> {
  await moveLinkToNamespace(dev, ns);
  await netns.exec(ns, 'ip', ['addr', 'add', ...address, 'dev', dev]);
  await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
}

/**
 * A new namespace of `netns` and a stack in this process on a TAP whose kernel side lives there,
 * addressed and up. On failure half-way, what was made in this process is closed before the error
 * is thrown (the namespace goes with `netns.cleanup()`).
 */
export async function stackInNamespace(
  netns: NetnsHarness,
  options: StackInNamespaceOptions,
): Promise<StackInNamespace> {
  const ipv6 = options.ipv6 ?? 'on';
  const ns = await netns.createNamespace();
  if (ipv6 === 'off') await disableIpv6(netns, ns);
  if (ipv6 === 'no-dad') {
    await netns.exec(ns, 'sysctl', [
      '-qw',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ]);
  }
  const env = new NodeEnvironment(options.env);
  let tap: AttachedDevice<TapDevice> | undefined;
  const close = () => {
    tap?.close();
    env.close();
  };
  try {
    const stack = new Stack(env, { name: options.name, ...(ipv6 === 'off' ? { ipv6: false } : {}) });
    tap = attachTap(stack, { name: netns.uniqueName('t'), mtu: 1500 });
    if (options.stack4 !== undefined) configure(stack, tap.iface, options.stack4);
    if (options.stack6 !== undefined) {
      const [addr, len] = options.stack6.split('/');
      stack.ipv6!.addAddress(tap.iface, parseIpv6(addr!)!, Number(len), { dad: false });
    }
    const dev = tap.device.name;
    await moveLinkToNamespace(dev, ns);
    await netns.exec(ns, 'ip', ['addr', 'add', options.kernel4, 'dev', dev]);
    if (options.kernel6 !== undefined) {
      await netns.exec(ns, 'ip', ['addr', 'add', options.kernel6, 'dev', dev, 'nodad']);
    }
    await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    return { ns, env, stack, tap, dev, close };
  } catch (e) {
    close();
    throw e;
  }
}
