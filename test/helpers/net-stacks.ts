/**
 * Worlds for running unchanged Node code over `stack.net`, and the same code over Node's own
 * `net` to compare: Node on loopback; two stacks in a Simulation whose virtual time a pump
 * advances one event per macrotask; two stacks on Node's real clock. In the stack worlds a is
 * 10.0.0.1/24 and b 10.0.0.2/24 on one simulated wire. Close a world in an `after`/`finally`.
 */
import nodeNet from 'node:net';
import '../../src/api/install.ts';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import type { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { VirtualWire } from '../../src/bindings/memory/virtual-wire.ts';
import { NodeEnvironment } from '../../src/bindings/node/node-environment.ts';
import type { Environment } from '../../src/core/environment.ts';
import { Stack } from '../../src/core/stack.ts';
import { configure } from './sim-hosts.ts';
import { pumpedSimulation } from './sim-pump.ts';

/** `node:net`'s shape: the stack's module is used through it, as Node code would. */
export type Net = typeof nodeNet;

export interface NetHost {
  net: Net;
  address: string;
  stack?: Stack;
}

export interface NetWorld {
  name: string;
  a: NetHost;
  b: NetHost;
  /** The wire between a and b (stack worlds). */
  wire?: VirtualWire;
  /** The simulation (simulation world). */
  sim?: Simulation;
  close(): void;
}

export const A_IP = '10.0.0.1';
export const B_IP = '10.0.0.2';

export function nodeWorld(): NetWorld {
  const host: NetHost = { net: nodeNet, address: '127.0.0.1' };
  return { name: 'node', a: host, b: host, close: () => {} };
}

function stackWorld(
  name: string,
  env: Environment,
  impairments: Impairments,
  stop: () => void,
): Omit<NetWorld, 'sim'> {
  const wire = new VirtualNetwork(env).wire({ impairments });
  const host = (n: string, address: string): NetHost => {
    const stack = new Stack(env, { name: n, ipv6: false });
    configure(stack, wire.attach(stack, 'eth0'), `${address}/24`);
    return { net: stack.net as unknown as Net, address, stack };
  };
  return { name, a: host('a', A_IP), b: host('b', B_IP), wire, close: stop };
}

/**
 * Two stacks in a Simulation. A pump runs one event per macrotask, so Node's ticks and the
 * callbacks of the code under test run between the stack's events (virtual time jumps ahead).
 */
export function simWorld(seed = 1, impairments: Impairments = { delay: 1 }): NetWorld {
  const { sim, stop } = pumpedSimulation(seed);
  return { ...stackWorld('simulation', sim, impairments, stop), sim };
}

/** Two stacks on Node's clock. */
export function realtimeWorld(impairments: Impairments = {}): NetWorld {
  const env = new NodeEnvironment();
  return stackWorld('real-time', env, impairments, () => env.close());
}

/** Runs `body` in a fresh world, closing it afterwards. */
export async function inWorld<T>(make: () => NetWorld, body: (w: NetWorld) => Promise<T>): Promise<T> {
  const w = make();
  try {
    return await body(w);
  } finally {
    w.close();
  }
}

/** Resolves once `cond()` holds, polling every millisecond (rejects after `timeout` ms). */
export async function until(cond: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
