/**
 * The network of the over-TAP benchmarks: namespace `local` holds the kernel's tools, `netstack up`
 * on a TAP (the stack at 10.251.0.2, the kernel's side of the TAP at 10.251.0.1) and one end of a
 * veth pair whose other end is in namespace `peer` (10.252.0.1 here, 10.252.0.2 there): the kernel
 * to kernel reference. Names carry the run's prefix (test/helpers/netns.ts); `close()` kills the
 * processes started here, by PID, and deletes the namespaces, and so does the process's exit after
 * SIGINT or SIGTERM.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsHarness, type NsProcess, waitFor } from '../test/helpers/netns.ts';
import {
  cliInteropSkipReason,
  disableIpv6,
  kernelTap,
  type NetstackProcess,
  NetstackRunner,
} from '../test/helpers/netstack-cli.ts';

export const STACK = '10.251.0.2';
export const KERNEL_TAP = '10.251.0.1';
export const VETH_LOCAL = '10.252.0.1';
export const VETH_PEER = '10.252.0.2';
/** The stack of bench/tap-udp.ts (UDP source and sink) on a TAP of its own, and the kernel there. */
export const STACK_UDP = '10.253.0.2';
export const KERNEL_UDP = '10.253.0.1';
const HERE = dirname(fileURLToPath(import.meta.url));
/** The Python peers (TCP_RR client, echo server, UDP sender and sink): bench/tap-peer.py. */
export const PEER_SCRIPT = join(HERE, 'tap-peer.py');
export const UDP_SCRIPT = join(HERE, 'tap-udp.ts');

/** Why the over-TAP rows cannot run here (root, /dev/net/tun, the addon, the tools), or undefined. */
export function tapSkipReason(tools: readonly string[]): string | undefined {
  return cliInteropSkipReason(tools);
}

export class TapWorld {
  private constructor(
    readonly netns: NetnsHarness,
    readonly runner: NetstackRunner,
    readonly local: string,
    readonly peer: string,
    readonly tap: string,
    readonly up: NetstackProcess,
    /** A persistent TAP (kernel side KERNEL_UDP) that each bench/tap-udp.ts run attaches to. */
    readonly udpTap: string,
    private readonly onSignal: () => void,
  ) {}

  /** Builds the namespaces, the veth pair and `netstack up --serve SERVICES` on the TAP. */
  static async open(services: readonly string[]): Promise<TapWorld> {
    const netns = new NetnsHarness();
    const runner = new NetstackRunner();
    // The harnesses' exit hooks clean up synchronously; a signal must end the process through exit.
    const onSignal = () => process.exit(130);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const local = await netns.createNamespace();
      const peer = await netns.createNamespace();
      for (const ns of [local, peer]) await disableIpv6(netns, ns);
      const [a, b] = [netns.uniqueName('v'), netns.uniqueName('v')];
      await netns.exec(local, 'ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', peer]);
      await netns.exec(local, 'ip', ['addr', 'add', `${VETH_LOCAL}/24`, 'dev', a]);
      await netns.exec(local, 'ip', ['link', 'set', a, 'up']);
      await netns.exec(peer, 'ip', ['addr', 'add', `${VETH_PEER}/24`, 'dev', b]);
      await netns.exec(peer, 'ip', ['link', 'set', b, 'up']);
      const tap = netns.uniqueName('t');
      const up = runner.start(local, [
        'up',
        '--tap',
        tap,
        '--ipv4',
        `${STACK}/24`,
        '--serve',
        services.join(','),
      ]);
      await up.ready();
      await netns.exec(local, 'ip', ['addr', 'add', `${KERNEL_TAP}/24`, 'dev', tap]);
      const udpTap = await kernelTap(netns, local, `${KERNEL_UDP}/24`);
      return new TapWorld(netns, runner, local, peer, tap, up, udpTap, onSignal);
    } catch (e) {
      await runner.cleanup();
      await netns.cleanup();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      throw e;
    }
  }

  /** Runs `sh -c COMMAND` in `ns` to completion and returns its standard output. */
  async sh(ns: string, command: string, timeoutMs = 60_000): Promise<string> {
    return (await this.netns.exec(ns, 'sh', ['-c', command], { timeout: timeoutMs })).stdout;
  }

  /** Starts a server in `ns` and resolves once `ready(stdout)` or the TCP/UDP `port` listens. */
  async server(ns: string, command: string, args: readonly string[], port: number): Promise<NsProcess> {
    const p = this.netns.spawn(ns, command, args);
    await waitFor(
      async () => {
        if (p.child.exitCode !== null) throw new Error(`${command} exited: ${p.stderr}`);
        return new RegExp(`:${port}\\b`).test(await this.sh(ns, 'ss -tlnH; ss -ulnH'));
      },
      { timeout: 10_000, what: `${command} to listen on ${port}` },
    );
    return p;
  }

  /** Stops `netstack up` (its counters are then in `up.stdout`), the servers, and the namespaces. */
  async close(): Promise<void> {
    try {
      await this.runner.cleanup();
      await this.netns.cleanup();
    } finally {
      process.removeListener('SIGINT', this.onSignal);
      process.removeListener('SIGTERM', this.onSignal);
    }
  }
}
