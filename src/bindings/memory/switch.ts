/**
 * A virtual Ethernet switch: a transparent learning bridge after IEEE 802.1D-2004 (clauses 7.7
 * and 7.8), with one cable per port. For each frame received on a port it
 *
 * - learns the source address on that port (group source addresses are never learned);
 * - discards frames to the reserved bridge group addresses 01-80-C2-00-00-00 to -0F
 *   (802.1D 7.12.6: STP, LACP, LLDP, pause frames are link-local);
 * - forwards a unicast frame whose destination it has learned to that port only, and discards it
 *   when that port is the one it came from (filtering);
 * - floods broadcast, multicast and unknown unicast frames to every port but the one it came from.
 *
 * The filtering database is bounded: when full, learning a new address evicts the one heard from
 * least recently. An entry not refreshed for `ageingTime` expires (802.1D 7.9.2). Ageing is applied
 * when the switch receives frames or its table is read, so an idle switch schedules no timer and a
 * simulation with only switches in it becomes idle.
 *
 * The switch forwards without delay; each port's cable has its own impairments in both directions,
 * so a rate limit on the `from-switch` direction of a port models that port's egress queue.
 * There is no spanning tree: a topology of switches must not contain a loop.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Stack } from '../../core/stack.ts';
import type { Duration, Instant } from '../../core/time.ts';
import { type MacAddr, macIsMulticast, readMac } from '../../wire/address.ts';
import { ETHERNET_HEADER_LEN } from '../../wire/ethernet.ts';
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

/** 802.1D Table 7-4: the default ageing time, 300 seconds. */
export const DEFAULT_AGEING_TIME: Duration = 300_000;
/** Default bound of the filtering database. */
export const DEFAULT_MAC_TABLE_SIZE = 1024;
/** 01-80-C2-00-00-00: the first of the 16 reserved bridge group addresses (802.1D 7.12.6). */
const RESERVED_GROUP_BASE: MacAddr = 0x01_80_c2_00_00_00;

/** Options of `VirtualNetwork.switch`. */
export interface SwitchOptions {
  /** A name for reports. */
  readonly name?: string;
  /** How long a learned address lives without being heard from, in ms (default 300 000). */
  readonly ageingTime?: Duration;
  /** The most addresses the filtering database holds (default 1024). */
  readonly macTableSize?: number;
  /** The MTU of the ports' cables, unless a port says otherwise (default 1500). */
  readonly mtu?: number;
  /**
   * Let the attached stacks skip transport checksums. Since a frame may cross any two ports, no
   * port of such a switch may corrupt frames.
   */
  readonly noChecksums?: boolean;
}

/** Options of `VirtualSwitch.attach`. */
export interface SwitchAttachOptions extends AttachOptions {
  /** The MTU of this port's cable (default: the switch's). */
  readonly mtu?: number;
  /** Impairments of this port's cable, in both directions (default none). */
  readonly impairments?: Impairments;
}

/** A direction of a port's cable: from the attached interface into the switch, or out to it. */
export type PortDirection = 'to-switch' | 'from-switch';

/** Counters of one port (live objects). */
export interface SwitchPortStats {
  /** The cable, from the interface into the switch. */
  readonly 'to-switch': Readonly<LinkStats>;
  /** The cable, from the switch out to the interface. */
  readonly 'from-switch': Readonly<LinkStats>;
  /** Known unicast frames sent out of this port. */
  forwarded: number;
  /** Flooded frames (broadcast, multicast, unknown unicast) sent out of this port. */
  flooded: number;
  /** Frames received on this port for an address learned on this same port, discarded. */
  filtered: number;
}

/** Counters of the whole switch (live objects). */
export interface SwitchStats {
  /** Addresses added to the filtering database. */
  learned: number;
  /** Learned addresses heard again on another port (a station moved). */
  moved: number;
  /** Addresses evicted because the table was full. */
  evicted: number;
  /** Addresses expired by the ageing time. */
  aged: number;
  /** Received frames sent to their one learned port. */
  forwarded: number;
  /** Received frames flooded to all other ports. */
  flooded: number;
  /** Received frames discarded because their destination is on the port they came from. */
  filtered: number;
  /** Received frames to a reserved bridge group address, discarded. */
  reserved: number;
  /** Received frames shorter than an Ethernet header, discarded. */
  runts: number;
  /** Per port, in port order. */
  readonly ports: readonly SwitchPortStats[];
}

/** An entry of the filtering database. */
export interface MacTableEntry {
  /** A station address learned from the source of a received frame. */
  readonly mac: MacAddr;
  /** The port it was heard on. */
  readonly port: SwitchPort;
  /** When a frame from this address was last received. */
  readonly lastSeen: Instant;
}

/** One port of a switch, with the cable to the interface attached to it. */
export class SwitchPort {
  /** Counters of this port and its cable. */
  readonly stats: SwitchPortStats;
  /** @internal Frames from the interface, into the switch. */
  readonly toSwitch: Channel;
  /** @internal Frames from the switch, out to the interface. */
  readonly fromSwitch: Channel;

  /** Made by `VirtualSwitch.attach`. */
  constructor(
    private readonly owner: VirtualSwitch,
    /** 0-based position of the port on its switch. */
    readonly index: number,
    /** The interface attached to this port. */
    readonly iface: NetworkInterface,
    toSwitch: Channel,
    fromSwitch: Channel,
  ) {
    this.toSwitch = toSwitch;
    this.fromSwitch = fromSwitch;
    this.stats = {
      'to-switch': toSwitch.stats,
      'from-switch': fromSwitch.stats,
      forwarded: 0,
      flooded: 0,
      filtered: 0,
    };
  }

  /**
   * Replaces the impairments of this port's cable in one direction, or both (the default). Frames
   * already on the cable keep their arrival times.
   */
  setImpairments(impairments: Impairments, direction: PortDirection | 'both' = 'both'): void {
    this.owner.checkImpairments(impairments);
    if (direction !== 'from-switch') this.toSwitch.impairments = impairments;
    if (direction !== 'to-switch') this.fromSwitch.impairments = impairments;
  }

  /** The impairments in force in one direction of this port's cable. */
  impairments(direction: PortDirection): Impairments {
    return direction === 'to-switch' ? this.toSwitch.impairments : this.fromSwitch.impairments;
  }
}

interface Learned {
  port: SwitchPort;
  lastSeen: Instant;
}

/**
 * A learning switch (see the top of this file). Attach interfaces with `attach`; each gets a port
 * and a cable to it.
 */
export class VirtualSwitch {
  /** The switch's name, for reports. */
  readonly name: string;
  /** Counters (live object). */
  readonly stats: SwitchStats;
  private readonly ageingTime: Duration;
  private readonly macTableSize: number;
  private readonly mtu: number;
  private readonly noChecksums: boolean;
  private readonly portList: SwitchPort[] = [];
  private readonly portStats: SwitchPortStats[] = [];
  /** The filtering database, in order of last reception (oldest first): a Map keeps insertion order. */
  private readonly table = new Map<MacAddr, Learned>();

  /** Made by `VirtualNetwork.switch`. */
  constructor(
    private readonly network: VirtualNetwork,
    options: SwitchOptions,
  ) {
    this.name = options.name ?? `switch${network.switches.length}`;
    this.ageingTime = options.ageingTime ?? DEFAULT_AGEING_TIME;
    this.macTableSize = options.macTableSize ?? DEFAULT_MAC_TABLE_SIZE;
    this.mtu = options.mtu ?? DEFAULT_MTU;
    this.noChecksums = options.noChecksums ?? false;
    if (!(this.ageingTime > 0)) {
      throw apiError('ERR_OUT_OF_RANGE', `switch ageingTime must be positive, got ${this.ageingTime}`);
    }
    if (!(Number.isInteger(this.macTableSize) && this.macTableSize > 0)) {
      throw apiError(
        'ERR_OUT_OF_RANGE',
        `switch macTableSize must be a positive integer, got ${this.macTableSize}`,
      );
    }
    checkMtu(this.mtu);
    this.stats = {
      learned: 0,
      moved: 0,
      evicted: 0,
      aged: 0,
      forwarded: 0,
      flooded: 0,
      filtered: 0,
      reserved: 0,
      runts: 0,
      ports: this.portStats,
    };
  }

  /**
   * Adds a port with a cable to a new interface of `stack`, named `name`, and returns the
   * interface. The port is `switch.port(iface)`.
   */
  attach(stack: Stack, name: string, options: SwitchAttachOptions = {}): NetworkInterface {
    const impairments = options.impairments ?? {};
    this.checkImpairments(impairments);
    const mtu = options.mtu ?? this.mtu;
    checkMtu(mtu);
    const env = this.network.env;
    const toSwitch = new Channel(env, this.network.forkRng(), mtu, impairments);
    const fromSwitch = new Channel(env, this.network.forkRng(), mtu, impairments);
    const mac = options.mac ?? this.network.allocateMac();
    const capabilities = this.noChecksums
      ? { noChecksums: true, keepableFrames: true }
      : { keepableFrames: true };
    const iface = stack.addInterface(name, new ChannelEndpoint(mtu, mac, capabilities, toSwitch));
    const port = new SwitchPort(this, this.portList.length, iface, toSwitch, fromSwitch);
    toSwitch.sink = (frames) => this.receive(port, frames);
    fromSwitch.sink = (frames) => iface.receive(frames);
    this.portList.push(port);
    this.portStats.push(port.stats);
    return iface;
  }

  /** The ports, in order of attachment. */
  get ports(): readonly SwitchPort[] {
    return this.portList;
  }

  /** The port an interface is attached to, if it is attached to this switch. */
  port(iface: NetworkInterface): SwitchPort | undefined {
    return this.portList.find((p) => p.iface === iface);
  }

  /** The filtering database after ageing, oldest entry first. */
  macTable(): MacTableEntry[] {
    this.expire(this.network.env.clock.now());
    return [...this.table].map(([mac, e]) => ({ mac, port: e.port, lastSeen: e.lastSeen }));
  }

  /** Forgets every learned address (like `bridge fdb flush`). */
  flush(): void {
    this.table.clear();
  }

  /** @internal Throws when `impairments` are invalid or contradict the switch's options. */
  checkImpairments(impairments: Impairments): void {
    validateImpairments(impairments);
    if (this.noChecksums && corrupts(impairments)) {
      throw apiError('EINVAL', `${this.name}: a switch without checksums cannot have corrupting ports`);
    }
  }

  /** Relays a batch received on `ingress`, one batch per egress port. */
  private receive(ingress: SwitchPort, frames: readonly Uint8Array[]): void {
    const now = this.network.env.clock.now();
    this.expire(now);
    const out: Uint8Array[][] = this.portList.map(() => []);
    const s = this.stats;
    for (const frame of frames) {
      if (frame.length < ETHERNET_HEADER_LEN) {
        s.runts++;
        continue;
      }
      const dst = readMac(frame, 0);
      const src = readMac(frame, 6);
      if (!macIsMulticast(src)) this.learn(src, ingress, now);
      if (dst - RESERVED_GROUP_BASE >= 0 && dst - RESERVED_GROUP_BASE <= 0x0f) {
        s.reserved++;
        continue;
      }
      const known = macIsMulticast(dst) ? undefined : this.table.get(dst);
      if (known === undefined) {
        s.flooded++;
        this.flood(ingress, frame, out);
      } else if (known.port === ingress) {
        s.filtered++;
        ingress.stats.filtered++;
      } else {
        s.forwarded++;
        known.port.stats.forwarded++;
        out[known.port.index]!.push(frame);
      }
    }
    for (const port of this.portList) {
      const batch = out[port.index]!;
      if (batch.length > 0) port.fromSwitch.send(batch);
    }
  }

  /** Queues `frame` for every port but `ingress`: a copy each, the original for the last one. */
  private flood(ingress: SwitchPort, frame: Uint8Array, out: Uint8Array[][]): void {
    const egress = this.portList.filter((p) => p !== ingress);
    for (const [i, port] of egress.entries()) {
      port.stats.flooded++;
      out[port.index]!.push(i === egress.length - 1 ? frame : frame.slice());
    }
  }

  /** Records that `mac` was heard on `port` now, evicting the stalest entry when the table is full. */
  private learn(mac: MacAddr, port: SwitchPort, now: Instant): void {
    const entry = this.table.get(mac);
    if (entry !== undefined) {
      if (entry.port !== port) this.stats.moved++;
      // Re-insert to keep the Map ordered by last reception.
      this.table.delete(mac);
      this.table.set(mac, { port, lastSeen: now });
      return;
    }
    if (this.table.size >= this.macTableSize) {
      const oldest = this.table.keys().next().value!;
      this.table.delete(oldest);
      this.stats.evicted++;
    }
    this.table.set(mac, { port, lastSeen: now });
    this.stats.learned++;
  }

  /** Removes the entries not heard from for `ageingTime` (the oldest come first). */
  private expire(now: Instant): void {
    for (const [mac, entry] of this.table) {
      if (now - entry.lastSeen < this.ageingTime) break;
      this.table.delete(mac);
      this.stats.aged++;
    }
  }
}
