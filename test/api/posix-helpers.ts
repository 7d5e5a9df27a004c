/** Helpers of the POSIX API tests: two stacks on a simulated wire, and a pump for async bodies. */
import assert from 'node:assert/strict';
import type { Simulation } from '../../src/bindings/memory/simulation.ts';
import '../../src/api/install.ts';
import type { SocketError } from '../../src/api/posix/socket-error.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { configure, twoHosts } from '../helpers/sim-hosts.ts';
import { ip6, linkLocal, twoHosts6 } from '../sim/ipv6-helpers.ts';

/** Hosts a (10.0.0.1) and b (10.0.0.2) with their posix modules. */
export function posixPair(seed: number, impairments = {}) {
  const world = twoHosts(seed, impairments);
  return { ...world, pa: world.a.stack.posix, pb: world.b.stack.posix };
}

/**
 * Awaits `body` while running the simulation one event per macrotask, so that the body's
 * continuations see every event (virtual time jumps to the next deadline). Fails if the
 * simulation goes idle with the body still waiting, or after `limit` ms of virtual time.
 */
export async function drive<T>(sim: Simulation, body: Promise<T>, limit = 600_000): Promise<T> {
  let settled = false;
  const watched = body.finally(() => {
    settled = true;
  });
  watched.catch(() => {});
  const end = sim.now + limit;
  while (!settled) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (settled) break;
    if (sim.now > end) throw new Error(`still waiting after ${limit} ms of virtual time`);
    if (!sim.step()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!settled) throw new Error('the simulation is idle and the body still waits');
    }
  }
  return watched;
}

/** Asserts that `fn` throws a SocketError with `code` (and its Linux errno). */
export function throwsErrno(fn: () => unknown, code: string, errno?: number): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as SocketError;
    assert.equal(err.name, 'SocketError', String(e));
    assert.equal(err.code, code, err.message);
    if (errno !== undefined) assert.equal(err.errno, errno);
    return true;
  });
}

/** Asserts that `p` rejects with a SocketError of `code`. */
export async function rejectsErrno(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as SocketError).code, code, String(e));
    return true;
  });
}

export const text = (s: string) => new TextEncoder().encode(s);
export const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** `n` bytes of a deterministic pattern. */
export function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * Dual-stack hosts a (10.0.0.1, 2001:db8::1) and b (10.0.0.2, 2001:db8::2) on one wire, with their
 * link-local addresses settled and their posix modules.
 */
export function posixPair6(seed: number) {
  const t = twoHosts6(seed);
  configure(t.a, t.ia, '10.0.0.1/24');
  configure(t.b, t.ib, '10.0.0.2/24');
  t.a.ipv6!.addAddress(t.ia, ip6('2001:db8::1'), 64, { dad: false });
  t.b.ipv6!.addAddress(t.ib, ip6('2001:db8::2'), 64, { dad: false });
  const ll = (s: typeof t.a, i: typeof t.ia) => ipv6ToString(linkLocal(s, i)!);
  return { ...t, pa: t.a.posix, pb: t.b.posix, llA: ll(t.a, t.ia), llB: ll(t.b, t.ib) };
}
