/**
 * A virtual wire: a point-to-point Ethernet cable between exactly two interfaces. The first
 * interface attached is end `a`, the second end `b`; each direction (`a-to-b`, `b-to-a`) has its
 * own impairments and counters.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Stack } from '../../core/stack.ts';
import { type AttachOptions, Channel, ChannelEndpoint } from './channel.ts';
import {
  apiError,
  checkMtu,
  corrupts,
  DEFAULT_MTU,
  type Impairments,
  type LinkStats,
  validateImpairments,
} from './impairments.ts';
import type { VirtualNetwork } from './network.ts';

/** A direction of a wire: from the first attached end to the second, or back. */
export type WireDirection = 'a-to-b' | 'b-to-a';

/** Options of `VirtualNetwork.wire`. */
export interface WireOptions {
  /** A name for reports. */
  readonly name?: string;
  /** The MTU the attached interfaces get (default 1500; e.g. 65520 for big-frame tests). */
  readonly mtu?: number;
  /** Impairments of both directions (default none). */
  readonly impairments?: Impairments;
  /**
   * Let the attached stacks skip transport checksums (`LinkCapabilities.noChecksums`). Refused
   * together with a corruption impairment, now or later, since receivers would not notice it.
   */
  readonly noChecksums?: boolean;
}

/**
 * A point-to-point Ethernet cable. Attach one interface to each end with `attach`; frames one
 * sends arrive at the other after the impairments of that direction.
 */
export class VirtualWire {
  /** The wire's name, for reports. */
  readonly name: string;
  /** The MTU of both ends. */
  readonly mtu: number;
  /** Counters per direction (live objects). */
  readonly stats: Readonly<Record<WireDirection, Readonly<LinkStats>>>;
  private readonly channels: Record<WireDirection, Channel>;
  private readonly ends: NetworkInterface[] = [];
  private readonly noChecksums: boolean;

  /** Made by `VirtualNetwork.wire`. */
  constructor(
    private readonly network: VirtualNetwork,
    options: WireOptions,
  ) {
    this.name = options.name ?? `wire${network.wires.length}`;
    this.mtu = options.mtu ?? DEFAULT_MTU;
    checkMtu(this.mtu);
    this.noChecksums = options.noChecksums ?? false;
    const env = network.env;
    this.channels = {
      'a-to-b': new Channel(env, network.forkRng(), this.mtu),
      'b-to-a': new Channel(env, network.forkRng(), this.mtu),
    };
    this.stats = { 'a-to-b': this.channels['a-to-b'].stats, 'b-to-a': this.channels['b-to-a'].stats };
    this.setImpairments(options.impairments ?? {});
  }

  /**
   * Plugs a new interface of `stack`, named `name`, into the next free end of the wire and returns
   * it. Throws an error with code `EISCONN` when both ends are taken (and `EEXIST` from the stack
   * when it already has an interface of that name).
   */
  attach(stack: Stack, name: string, options: AttachOptions = {}): NetworkInterface {
    if (this.ends.length === 2) {
      throw apiError('EISCONN', `${this.name}: both ends are already attached`);
    }
    const [outbound, inbound] =
      this.ends.length === 0
        ? [this.channels['a-to-b'], this.channels['b-to-a']]
        : [this.channels['b-to-a'], this.channels['a-to-b']];
    const mac = options.mac ?? this.network.allocateMac();
    const capabilities = this.noChecksums
      ? { noChecksums: true, keepableFrames: true }
      : { keepableFrames: true };
    const iface = stack.addInterface(name, new ChannelEndpoint(this.mtu, mac, capabilities, outbound));
    inbound.sink = (frames) => iface.receive(frames);
    this.ends.push(iface);
    return iface;
  }

  /** The attached interfaces: end `a` first. */
  get interfaces(): readonly NetworkInterface[] {
    return this.ends;
  }

  /**
   * Replaces the impairments of one direction, or of both (the default). Frames already on the
   * wire keep their arrival times. To change one field, spread the current ones:
   * `wire.setImpairments({ ...wire.impairments('a-to-b'), loss: 0.2 }, 'a-to-b')`.
   */
  setImpairments(impairments: Impairments, direction: WireDirection | 'both' = 'both'): void {
    validateImpairments(impairments);
    if (this.noChecksums && corrupts(impairments)) {
      throw apiError('EINVAL', `${this.name}: a wire without checksums cannot corrupt frames`);
    }
    if (direction !== 'b-to-a') this.channels['a-to-b'].impairments = impairments;
    if (direction !== 'a-to-b') this.channels['b-to-a'].impairments = impairments;
  }

  /** The impairments in force in one direction. */
  impairments(direction: WireDirection): Impairments {
    return this.channels[direction].impairments;
  }

  /** Frames on the wire (sent, not yet arrived), in both directions. */
  get pending(): number {
    return this.channels['a-to-b'].pending + this.channels['b-to-a'].pending;
  }
}
