/**
 * Running one test body in Node's own `dgram` and in the stack's, and the IPv6 worlds for udp6:
 * Node on `::1` (with 127.0.0.1 and 127.0.0.2 for IPv4 peers of dual-stack sockets), and two
 * simulated stacks on a wire with 2001:db8::1/64 + 10.0.0.1/24 and 2001:db8::2/64 + 10.0.0.2/24.
 * Node's loopback has one IPv6 address, so a log names every host's IPv6 address `H6`.
 */
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import nodeDgram from 'node:dgram';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { Stack } from '../../src/core/stack.ts';
import { ipv6IsLinkLocal, ipv6ToString, parseIpv6 } from '../../src/wire/address.ts';
import '../../src/api/install.ts';
import { configure } from '../helpers/sim-hosts.ts';
import { pumpedSimulation } from '../helpers/sim-pump.ts';
import { attemptWith, shapeOfError } from './worlds.ts';

/**
 * Runs `body` in every world made by `worlds`; each stack world must log what the first (Node's
 * own dgram) logged. `check` asserts what Node's log must hold, so the body tests something.
 */
export async function compare<W extends { name: string; close(): void }>(
  worlds: ReadonlyArray<() => W>,
  body: (w: W) => Promise<unknown[]>,
  check: (log: unknown[]) => void,
): Promise<void> {
  const run = async (make: () => W) => {
    const w = make();
    try {
      return { name: w.name, log: await body(w) };
    } catch (e) {
      throw new Error(`in ${w.name}: ${(e as Error).message}`);
    } finally {
      w.close();
    }
  };
  const [node, ...stacks] = worlds;
  const expected = (await run(node!)).log;
  check(expected);
  for (const make of stacks) {
    const got = await run(make);
    assert.deepEqual(got.log, expected, `${got.name} differs from Node`);
  }
}

/** One host of an IPv6 world. */
export interface Host6 {
  dgram: { createSocket(type: 'udp6' | 'udp4' | dgram.SocketOptions): dgram.Socket };
  /** Its IPv6 address, its IPv4 address, and the zone of its interface. */
  address: string;
  address4: string;
  zone: string;
  stack?: Stack;
  iface?: NetworkInterface;
}

export interface World6 {
  name: string;
  a: Host6;
  b: Host6;
  /** An IPv6 address on no host. */
  foreign: string;
  close(): void;
}

export function nodeWorld6(): World6 {
  const host = (address4: string): Host6 => ({ dgram: nodeDgram, address: '::1', address4, zone: 'lo' });
  return {
    name: 'node',
    a: host('127.0.0.1'),
    b: host('127.0.0.2'),
    foreign: '2001:db8:99::99',
    close: () => {},
  };
}

/** Two dual-stack stacks in a Simulation, pumped one event per macrotask. */
export function simWorld6(seed = 1): World6 {
  const { sim, stop } = pumpedSimulation(seed);
  const wire = new VirtualNetwork(sim).wire({ impairments: { delay: 1 } });
  const host = (name: string, n: number): Host6 => {
    const stack = sim.createStack({ name });
    const iface = wire.attach(stack, 'eth0');
    configure(stack, iface, `10.0.0.${n}/24`, '10.0.0.254');
    const address = `2001:db8::${n}`;
    stack.ipv6!.addAddress(iface, parseIpv6(address)!, 64, { dad: false });
    return {
      dgram: stack.dgram as unknown as Host6['dgram'],
      address,
      address4: `10.0.0.${n}`,
      zone: 'eth0',
      stack,
      iface,
    };
  };
  return {
    name: 'simulation',
    a: host('a', 1),
    b: host('b', 2),
    foreign: '2001:db8:99::99',
    close: stop,
  };
}

export const WORLDS6 = [nodeWorld6, simWorld6];

/** The link-local address of a stack host once DAD is done, or undefined before. */
export function linkLocal6(h: Host6): string | undefined {
  const a = h
    .stack!.ipv6!.listAddresses(h.iface)
    .find((x) => ipv6IsLinkLocal(x.addr) && x.state === 'preferred');
  return a === undefined ? undefined : ipv6ToString(a.addr);
}

/** `text` with ports named first, then the world's addresses and zones. */
export function normalise6(w: World6, text: string, ports: Record<string, number> = {}): string {
  let out = text;
  for (const [name, port] of Object.entries(ports)) out = out.replaceAll(`:${port}`, `:${name}`);
  for (const a of [w.a.address, w.b.address, '::1']) out = out.replaceAll(a, 'H6');
  out = out.replaceAll(w.a.address4, 'A4').replaceAll(w.b.address4, 'B4').replaceAll(w.foreign, 'F6');
  return out.replaceAll(`%${w.a.zone}`, '%Z');
}

/** The observable shape of an error, normalised. */
export function errorShape6(
  w: World6,
  e: unknown,
  ports: Record<string, number> = {},
): Record<string, unknown> {
  return shapeOfError(e, {
    normalise: (text) => normalise6(w, text, ports),
    ports,
    fields: ['code', 'errno', 'syscall', 'address'],
    string: false,
    otherPort: (port) => typeof port,
  });
}

/** What a synchronous call did: its value or the shape of what it threw. */
export function attempt6(w: World6, fn: () => unknown): unknown {
  return attemptWith(fn, (e) => errorShape6(w, e));
}
