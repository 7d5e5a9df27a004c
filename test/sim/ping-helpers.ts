/** Runs a `Pinger` (either family) to the end in a simulation and records every event. */
import assert from 'node:assert/strict';
import type { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { EchoAddr } from '../../src/core/icmp-echo/echo-family.ts';
import type { EchoError } from '../../src/core/icmp-echo/echo-socket.ts';
import {
  Pinger,
  type PingOptions,
  type PingReply,
  type PingSummary,
} from '../../src/core/icmp-echo/pinger.ts';
import type { Stack } from '../../src/core/stack.ts';

export function ping<A extends EchoAddr>(
  sim: Simulation,
  stack: Stack,
  dst: A,
  options: PingOptions,
  limit = 120_000,
) {
  const replies: PingReply<A>[] = [];
  const timeouts: number[] = [];
  const errors: EchoError<A>[] = [];
  let summary: PingSummary<A> | undefined;
  const p = new Pinger(stack, dst, options);
  p.onReply = (r) => replies.push(r);
  p.onTimeout = (seq) => timeouts.push(seq);
  p.onError = (e) => errors.push(e);
  p.onDone = (s) => {
    summary = s;
  };
  p.start();
  assert.ok(
    sim.runUntil(() => summary !== undefined, limit),
    'the pinger finished',
  );
  return { replies, timeouts, errors, summary: summary! };
}
