/**
 * One direction of a simulated cable: takes the frames a sender transmits, applies the direction's
 * impairments, and hands the survivors to the receiver at their arrival time, as timer events of
 * the environment. Internal to the memory bindings: wires and switch ports are made of two.
 *
 * Delivery is never synchronous: even on a perfect cable, frames arrive in an event at the current
 * time, so a receiver never runs inside its sender's `transmit`. Frames due at the same instant
 * arrive as one batch.
 */
import type { LinkCapabilities, LinkEndpoint } from '../../core/device/link.ts';
import type { Environment } from '../../core/environment.ts';
import { type Rng, randomBelow, randomFloat, SeededRng } from '../../core/rng.ts';
import type { Instant } from '../../core/time.ts';
import { Timer, TimerQueue } from '../../core/timers.ts';
import type { MacAddr } from '../../wire/address.ts';
import { ETHERNET_HEADER_LEN, ETHERTYPE_VLAN, VLAN_TAG_LEN } from '../../wire/ethernet.ts';
import {
  DEFAULT_QUEUE_BYTES,
  type Impairments,
  type LinkStats,
  newLinkStats,
  validateImpairments,
} from './impairments.ts';

/** Where a channel hands the frames that arrive. */
export type FrameSink = (frames: Uint8Array[]) => void;

/** An independent random stream derived from `rng` (its `fork` when it has one). */
export function forkRng(rng: Rng): Rng {
  const forkable = rng as Rng & { fork?: () => Rng };
  return typeof forkable.fork === 'function' ? forkable.fork() : new SeededRng(rng.nextU32());
}

/** The payload length of an Ethernet frame: after 14 header bytes, or 18 with an 802.1Q tag. */
function payloadLength(frame: Uint8Array): number {
  const tagged = frame.length >= ETHERNET_HEADER_LEN && ((frame[12]! << 8) | frame[13]!) === ETHERTYPE_VLAN;
  return frame.length - ETHERNET_HEADER_LEN - (tagged ? VLAN_TAG_LEN : 0);
}

/** One direction of a cable: impairments, a rate-limited FIFO and the frames in flight. */
export class Channel {
  /** The receiver; frames arriving while it is unset are counted as `droppedNoPeer`. */
  sink: FrameSink | undefined;
  readonly stats: LinkStats = newLinkStats();
  private settings: Impairments = {};
  /** Frames on the wire, ordered by (arrival time, order of sending). */
  private readonly inFlight = new TimerQueue();
  /** The frames collected by the in-flight timers that are due, before they go to the sink. */
  private arrived: Uint8Array[] = [];
  /** The one environment timer of this channel, armed at the earliest arrival. */
  private readonly timer: Timer;
  /** Gilbert-Elliott state. */
  private bad = false;
  /** Rate limiter: when the transmitter finishes the last accepted frame. */
  private busyUntil: Instant = Number.NEGATIVE_INFINITY;
  /** Rate limiter FIFO, as parallel arrays from `queueHead`: finish time and size of each frame. */
  private queueFinish: Instant[] = [];
  private queueSize: number[] = [];
  private queueHead = 0;
  private queueBytes = 0;

  constructor(
    private readonly env: Environment,
    private readonly rng: Rng,
    /** The MTU of the link, the default of the `mtu` impairment. */
    private readonly linkMtu: number,
    impairments: Impairments = {},
  ) {
    this.timer = new Timer((now) => this.arrive(now));
    this.impairments = impairments;
  }

  /** The impairments in force. */
  get impairments(): Impairments {
    return this.settings;
  }

  /** Replaces the impairments; frames already on the wire keep their arrival times. */
  set impairments(impairments: Impairments) {
    this.settings = { ...validateImpairments(impairments) };
    if (typeof impairments.loss !== 'object') this.bad = false;
  }

  /** Frames sent and not yet arrived. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Takes a batch from the sender. */
  send(frames: readonly Uint8Array[]): void {
    const now = this.env.clock.now();
    for (const frame of frames) this.offer(frame, now);
    const next = this.inFlight.nextDeadline();
    if (next < this.timer.deadline) this.env.timers.schedule(this.timer, next);
  }

  private offer(frame: Uint8Array, now: Instant): void {
    const s = this.stats;
    const imp = this.settings;
    s.sent++;
    if (payloadLength(frame) > (imp.mtu ?? this.linkMtu)) {
      s.droppedMtu++;
      return;
    }
    if (this.lose()) {
      s.lost++;
      return;
    }
    const duplicate = this.chance(imp.duplicate);
    if (duplicate) s.duplicated++;
    // The original goes first; a duplicate is a copy, so each arrival owns its bytes.
    this.transmitCopy(frame, now);
    if (duplicate) this.transmitCopy(frame.slice(), now);
  }

  private transmitCopy(frame: Uint8Array, now: Instant): void {
    let bytes = frame;
    if (this.chance(this.settings.corrupt) && frame.length > 0) {
      bytes = frame.slice();
      const bit = randomBelow(this.rng, bytes.length * 8);
      bytes[bit >>> 3]! ^= 1 << (bit & 7);
      this.stats.corrupted++;
    }
    const departure = this.serialize(bytes.length, now);
    if (departure === undefined) {
      this.stats.droppedQueue++;
      return;
    }
    const arrival = departure + this.propagationDelay();
    const timer = new Timer(() => this.arrived.push(bytes));
    this.inFlight.schedule(timer, arrival);
  }

  /** True with probability `p` (drawing randomness only when 0 < p). */
  private chance(p: number | undefined): boolean {
    if (p === undefined || p <= 0) return false;
    return p >= 1 || randomFloat(this.rng) < p;
  }

  private lose(): boolean {
    const loss = this.settings.loss;
    if (typeof loss !== 'object') return this.chance(loss);
    // Gilbert-Elliott: lose by the current state's probability, then move between states.
    const lost = this.bad ? this.chance(loss.lossInBad ?? 1) : this.chance(loss.lossInGood ?? 0);
    this.bad = this.bad ? !this.chance(loss.r) : this.chance(loss.p);
    return lost;
  }

  /**
   * Puts a frame of `length` bytes in the rate limiter's FIFO; returns when its last bit leaves, or
   * undefined when the queue has no room (tail drop).
   */
  private serialize(length: number, now: Instant): Instant | undefined {
    const rate = this.settings.rateBitsPerSecond;
    if (rate === undefined) return now;
    while (this.queueHead < this.queueFinish.length && this.queueFinish[this.queueHead]! <= now) {
      this.queueBytes -= this.queueSize[this.queueHead]!;
      this.queueHead++;
    }
    if (this.queueHead === this.queueFinish.length) {
      this.queueFinish = [];
      this.queueSize = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queueFinish.length) {
      this.queueFinish = this.queueFinish.slice(this.queueHead);
      this.queueSize = this.queueSize.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.queueBytes + length > (this.settings.queueBytes ?? DEFAULT_QUEUE_BYTES)) return undefined;
    const finish = Math.max(now, this.busyUntil) + (length * 8 * 1000) / rate;
    this.busyUntil = finish;
    this.queueFinish.push(finish);
    this.queueSize.push(length);
    this.queueBytes += length;
    return finish;
  }

  /** The delay of one frame after it leaves the transmitter: delay ± jitter, or 0 when reordered. */
  private propagationDelay(): number {
    const delay = this.settings.delay ?? 0;
    const jitter = this.settings.jitter ?? 0;
    if (delay === 0 && jitter === 0) return 0;
    if (this.chance(this.settings.reorder)) {
      this.stats.reordered++;
      return 0;
    }
    if (jitter === 0) return delay;
    return Math.max(0, delay + (2 * randomFloat(this.rng) - 1) * jitter);
  }

  /** The channel timer: hands every frame due at `now` to the sink as one batch. */
  private arrive(now: Instant): void {
    this.inFlight.runDue(now);
    const frames = this.arrived;
    this.arrived = [];
    const next = this.inFlight.nextDeadline();
    if (Number.isFinite(next)) this.env.timers.schedule(this.timer, next);
    if (frames.length === 0) return;
    if (this.sink === undefined) {
      this.stats.droppedNoPeer += frames.length;
      return;
    }
    this.stats.delivered += frames.length;
    this.sink(frames);
  }
}

/** The `LinkEndpoint` a stack's interface sends through: its frames go into one channel. */
export class ChannelEndpoint implements LinkEndpoint {
  readonly kind = 'ethernet';
  constructor(
    readonly mtu: number,
    readonly mac: MacAddr,
    readonly capabilities: LinkCapabilities,
    private readonly out: Channel,
  ) {}

  transmit(frames: readonly Uint8Array[]): void {
    this.out.send(frames);
  }
}

/** Options of an interface attached to a wire or a switch. */
export interface AttachOptions {
  /** The interface's MAC address; by default the network gives a unique locally administered one. */
  readonly mac?: MacAddr;
}
