/**
 * Two stacks on Node's real clock joined by a simulated wire, for running unchanged Node code
 * (http, tls, http2, undici, ws) over `stack.net` in-process: a is 10.0.0.1/24, b 10.0.0.2/24.
 * Close it in an `after` hook: that stops the stacks' timers.
 */
import '../../src/api/install.ts';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { NodeEnvironment } from '../../src/bindings/node/node-environment.ts';
import { Stack } from '../../src/core/stack.ts';
import { configure } from './sim-hosts.ts';

export interface NetStacks {
  env: NodeEnvironment;
  a: Stack;
  b: Stack;
  close(): void;
}

export const A_IP = '10.0.0.1';
export const B_IP = '10.0.0.2';

export function netStacks(impairments: Impairments = {}): NetStacks {
  const env = new NodeEnvironment();
  const network = new VirtualNetwork(env);
  const wire = network.wire({ impairments });
  const a = new Stack(env, { name: 'a', ipv6: false });
  const b = new Stack(env, { name: 'b', ipv6: false });
  configure(a, wire.attach(a, 'eth0'), `${A_IP}/24`);
  configure(b, wire.attach(b, 'eth0'), `${B_IP}/24`);
  return { env, a, b, close: () => env.close() };
}

/** Resolves once `cond()` holds, polling every millisecond (rejects after `timeout` ms). */
export async function until(cond: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
