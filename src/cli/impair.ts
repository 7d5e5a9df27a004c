/**
 * `--impair LIST`: netem-like impairments of what the stack's devices receive, done inside the
 * stack's process with the simulated network's channel (src/bindings/memory/channel.ts): each
 * received frame is copied, then lost, duplicated, corrupted, delayed and reordered as asked before
 * the interface sees it. It stands in for `tc qdisc ... netem` on kernels built without sch_netem
 * (the interop tests use it with iptables' random drops on the kernel side; docs/cli.md).
 *
 *   --impair loss=0.03,delay=20,jitter=5,reorder=0.05,duplicate=0.01,corrupt=0.001
 */
import { Channel, forkRng } from '../bindings/memory/channel.ts';
import type { Impairments } from '../bindings/memory/impairments.ts';
import type { Environment } from '../core/environment.ts';
import { type FlagSpec, UsageError } from './args.ts';

export const impairFlag: FlagSpec = {
  type: 'string',
  help: 'impair what the devices receive, like netem: loss=P,delay=MS,jitter=MS,reorder=P,duplicate=P,corrupt=P',
  value: 'LIST',
};

const PROBABILITIES = ['loss', 'reorder', 'duplicate', 'corrupt'] as const;
const DURATIONS = ['delay', 'jitter'] as const;

/** `loss=0.03,delay=20` to impairments; a usage error for an unknown key or a value out of range. */
export function parseImpairments(text: string | undefined): Impairments | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const item of text.split(',')) {
    const m = /^([a-z]+)=([0-9]+(?:\.[0-9]+)?)$/.exec(item.trim());
    if (m === null) throw new UsageError(`--impair: expected KEY=NUMBER, got '${item}'`);
    const [, key, value] = m as unknown as [string, string, string];
    const v = Number(value);
    if ((PROBABILITIES as readonly string[]).includes(key)) {
      if (v > 1) throw new UsageError(`--impair: ${key} is a probability from 0 to 1`);
    } else if ((DURATIONS as readonly string[]).includes(key)) {
      if (v > 60_000) throw new UsageError(`--impair: ${key} is at most 60000 ms`);
    } else
      throw new UsageError(
        `--impair: unknown impairment '${key}' (known: ${[...PROBABILITIES, ...DURATIONS].join(', ')})`,
      );
    if (key in out) throw new UsageError(`--impair: ${key} is given twice`);
    out[key] = v;
  }
  return out as Impairments;
}

/** A device whose received batches go to `receiver` (a TAP or TUN device). */
export interface ReceivingDevice {
  readonly mtu: number;
  /** With offloads the kernel hands over TCP super-frames of up to 64 KiB (see tap.ts). */
  readonly offload?: boolean;
  receiver: ((frames: readonly Uint8Array[]) => void) | undefined;
}

/** The largest IP packet a device with offloads receives: a 64 KiB GSO super-frame. */
const SUPER_FRAME_IP = 65535 + 40;

/** Puts `impairments` between `device` and whatever receives its frames now. */
export function impairReceive(env: Environment, device: ReceivingDevice, impairments: Impairments): void {
  // The kernel hands over no more than the MTU, or a super-frame with offloads: the channel's MTU
  // check must let both through (it is the sender's link, not this one, that bounds them).
  const mtu = device.offload === true ? Math.max(device.mtu, SUPER_FRAME_IP) : device.mtu;
  const channel = new Channel(env, forkRng(env.rng), mtu, impairments);
  channel.sink = device.receiver;
  // Received frames are views of the device's buffer, valid only during the call: copied.
  device.receiver = (frames) => channel.send(frames.map((f) => f.slice()));
}
