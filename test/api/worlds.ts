/**
 * The same test body run in three worlds, to compare the stack's Node-compatible APIs with Node's
 * own: Node's `dgram` on loopback; two stacks on a simulated wire in a Simulation, whose virtual
 * time a pump advances between the body's awaits; two stacks on a real-time NodeEnvironment with
 * a VirtualNetwork.
 */
import type dgram from 'node:dgram';
import nodeDgram from 'node:dgram';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { NodeEnvironment } from '../../src/bindings/node/node-environment.ts';
import type { Environment } from '../../src/core/environment.ts';
import { Stack } from '../../src/core/stack.ts';
import '../../src/api/install.ts';
import { configure } from '../helpers/sim-hosts.ts';
import { pumpedSimulation } from '../helpers/sim-pump.ts';

/** One endpoint: a `dgram`-like module and the address its sockets bind and are reached at. */
export interface Endpoint {
  dgram: { createSocket(type: 'udp4' | dgram.SocketOptions): dgram.Socket };
  address: string;
  stack?: Stack;
}

export interface World {
  name: string;
  a: Endpoint;
  b: Endpoint;
  /** An address that is on no host of the world. */
  foreign: string;
  close(): void;
}

/** Node on loopback: two addresses of lo stand for the two hosts. */
export function nodeWorld(): World {
  return {
    name: 'node',
    a: { dgram: nodeDgram, address: '127.0.0.1' },
    b: { dgram: nodeDgram, address: '127.0.0.2' },
    foreign: '10.99.99.99',
    close: () => {},
  };
}

function stackWorld(name: string, env: Environment, newStack: (n: string) => Stack, stop: () => void): World {
  const wire = new VirtualNetwork(env).wire({ impairments: { delay: 1 } });
  const host = (n: string, cidr: string): Endpoint => {
    const stack = newStack(n);
    // A default route, as a host on a LAN has (multicast and broadcast follow it).
    configure(stack, wire.attach(stack, 'eth0'), cidr, '10.0.0.254');
    return { dgram: stack.dgram as unknown as Endpoint['dgram'], address: cidr.split('/')[0]!, stack };
  };
  return {
    name,
    a: host('a', '10.0.0.1/24'),
    b: host('b', '10.0.0.2/24'),
    foreign: '10.99.99.99',
    close: stop,
  };
}

/**
 * Two stacks in a Simulation. A pump runs one event per macrotask, so the body's promise
 * continuations see each event before the next one (virtual time jumps to the next deadline).
 */
export function simWorld(seed = 1): World {
  const { sim, stop } = pumpedSimulation(seed);
  return stackWorld('simulation', sim, (n) => sim.createStack({ name: n }), stop);
}

/** Two stacks on Node's clock. */
export function realtimeWorld(): World {
  const env = new NodeEnvironment();
  return stackWorld(
    'real-time',
    env,
    (n) => new Stack(env, { name: n }),
    () => env.close(),
  );
}

export const WORLDS = [nodeWorld, simWorld, realtimeWorld];

/** Runs `body` in a fresh world, closing it afterwards. */
export async function inWorld<T>(make: () => World, body: (w: World) => Promise<T>): Promise<T> {
  const w = make();
  try {
    return await body(w);
  } finally {
    w.close();
  }
}

/** How `shapeOfError` shows an error. */
export interface ErrorShapeOptions {
  /** Replaces a world's addresses and ports in a text by their names. */
  normalise(text: string): string;
  /** Ports by name: a `port` property among them shows as its name. */
  ports: Record<string, number>;
  /** The properties shown (strings normalised) besides name, constructor, message and keys. */
  fields: readonly string[];
  /** Whether `String(e)` is shown too. */
  string: boolean;
  /** How a `port` that is not among `ports` shows. */
  otherPort(port: unknown): unknown;
}

/** The observable shape of an error, with a world's addresses and ports replaced by names. */
export function shapeOfError(e: unknown, o: ErrorShapeOptions): Record<string, unknown> {
  const x = e as Error & Record<string, unknown>;
  const shape: Record<string, unknown> = {
    name: x.name,
    ctor: x.constructor?.name,
    message: o.normalise(x.message),
    ...(o.string ? { string: o.normalise(String(x)) } : {}),
    keys: Object.keys(x).sort(),
  };
  for (const k of o.fields) {
    if (x[k] !== undefined) shape[k] = typeof x[k] === 'string' ? o.normalise(x[k] as string) : x[k];
  }
  if (x.port !== undefined)
    shape.port = Object.entries(o.ports).find(([, p]) => p === x.port)?.[0] ?? o.otherPort(x.port);
  return shape;
}

/** What a synchronous call did: its value or, through `shape`, what it threw. */
export function attemptWith(fn: () => unknown, shape: (e: unknown) => unknown): unknown {
  try {
    const v = fn();
    return { value: typeof v === 'object' && v !== null ? typeof v : v };
  } catch (e) {
    return { threw: shape(e) };
  }
}

/** The observable shape of an error, with the world's addresses replaced by names. */
export function errorShape(
  w: World,
  e: unknown,
  ports: Record<string, number> = {},
): Record<string, unknown> {
  return shapeOfError(e, {
    normalise: (text) => normalise(w, text, ports),
    ports,
    fields: ['code', 'errno', 'syscall', 'address', 'hostname'],
    string: true,
    otherPort: (port) => port,
  });
}

/** `text` with the world's addresses and the given ports replaced by their names. */
export function normalise(w: World, text: string, ports: Record<string, number> = {}): string {
  let out = text.replaceAll(w.a.address, 'A').replaceAll(w.b.address, 'B');
  for (const [name, port] of Object.entries(ports)) out = out.replaceAll(`:${port}`, `:${name}`);
  return out;
}

/** What a synchronous call did: its value or the shape of what it threw. */
export function attempt(w: World, fn: () => unknown): unknown {
  return attemptWith(fn, (e) => errorShape(w, e));
}

/** Resolves after `ms` of real time. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until it holds (or throws after `ms` of real time). */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(2);
  }
}
