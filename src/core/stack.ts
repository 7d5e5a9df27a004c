/**
 * The stack: one object that owns interfaces, protocol state, sockets and timers. It never touches
 * Node APIs, the wall clock, `setTimeout` or `Math.random`: time, timers and randomness come from
 * the `Environment` it is given, frames come in through `NetworkInterface.receive` and leave through
 * each interface's `LinkEndpoint`.
 *
 * Every entry into the stack (a received batch, a timer, an API call) goes through `run`, which
 * hands the frames queued during the entry to each link as one batch when the outermost entry ends.
 */
import { parseIpv4 } from '../wire/address.ts';
import { IP_PROTOCOL_ICMP, IP_PROTOCOL_UDP } from '../wire/ipv4.ts';
import { Counters } from './counters.ts';
import { ArpLayer } from './device/arp.ts';
import { EthernetLayer } from './device/ethernet-layer.ts';
import { NetworkInterface } from './device/interface.ts';
import type { LinkEndpoint } from './device/link.ts';
import { LoopbackLink } from './device/loopback.ts';
import { PacketSockets } from './device/packet-socket.ts';
import type { Environment } from './environment.ts';
import { EchoLayer } from './icmp-echo/echo-layer.ts';
import { Icmpv4Layer } from './ip/icmpv4.ts';
import { IgmpLayer } from './ip/igmp.ts';
import { Ipv4Layer } from './ip/ipv4.ts';
import { Ipv6Layer, type Ipv6LayerOptions } from './ip6/ipv6.ts';
import { TcpLayer } from './tcp/tcp-layer.ts';
import type { Instant } from './time.ts';
import { Timer, type TimerCallback } from './timers.ts';
import { UdpLayer } from './udp/udp-layer.ts';

export interface StackOptions {
  /** A name for logs and reports. */
  name?: string;
  /** IPv6 (default on, link-local autoconfiguration included); `false` turns it off, an object configures it. */
  ipv6?: boolean | Ipv6LayerOptions;
}

export class Stack {
  readonly name: string;
  readonly env: Environment;
  readonly counters = new Counters();
  readonly packetSockets: PacketSockets;
  readonly ethernet: EthernetLayer;
  readonly ipv4: Ipv4Layer;
  /** The IPv6 layer, undefined when the stack was made with `ipv6: false`. */
  readonly ipv6: Ipv6Layer | undefined;
  readonly icmpv4: Icmpv4Layer;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
  /** ICMP echo sockets (ping). */
  readonly icmpEcho: EchoLayer;
  readonly igmp: IgmpLayer;
  readonly arp: ArpLayer;
  /** The loopback interface `lo` (index 1) with 127.0.0.1/8. */
  readonly loopback: NetworkInterface;
  private readonly interfaces: NetworkInterface[] = [];
  private depth = 0;
  private readonly entryEnd: Array<() => void> = [];

  constructor(env: Environment, options: StackOptions = {}) {
    this.env = env;
    this.name = options.name ?? 'stack';
    this.packetSockets = new PacketSockets(this);
    this.ethernet = new EthernetLayer(this);
    this.ipv4 = new Ipv4Layer(this);
    this.icmpv4 = new Icmpv4Layer(this);
    this.ipv4.register(IP_PROTOCOL_ICMP, this.icmpv4);
    this.udp = new UdpLayer(this);
    this.ipv4.register(IP_PROTOCOL_UDP, this.udp);
    this.tcp = new TcpLayer(this);
    this.ipv4.register(6, this.tcp);
    this.icmpEcho = new EchoLayer(this);
    this.icmpv4.echoReplyHandler = (packet, icmp) => this.icmpEcho.receiveReply(packet, icmp);
    this.icmpv4.echoErrorHandler = (report) => this.icmpEcho.receiveError(report);
    this.igmp = new IgmpLayer(this);
    this.arp = new ArpLayer(this);
    this.ipv6 =
      options.ipv6 === false ? undefined : new Ipv6Layer(this, options.ipv6 === true ? {} : options.ipv6);
    if (this.ipv6 !== undefined) {
      this.ipv6.icmp.echoReplyHandler = (packet, icmp) => this.icmpEcho.receiveReply6(packet, icmp);
      this.ipv6.icmp.echoErrorHandler = (report) => this.icmpEcho.receiveError6(report);
      this.ipv6.register(IP_PROTOCOL_UDP, this.udp.v6);
      this.ipv6.register(6, this.tcp.v6);
    }
    const lo = new LoopbackLink(this);
    this.loopback = this.addInterface('lo', lo);
    lo.iface = this.loopback;
    this.ipv4.addAddress(this.loopback, parseIpv4('127.0.0.1')!, 8);
  }

  /** The current instant on the environment's clock. */
  now(): Instant {
    return this.env.clock.now();
  }

  /** Adds an interface on `link`; frames received on it are passed to `receive` by the binding. */
  addInterface(name: string, link: LinkEndpoint): NetworkInterface {
    if (this.interfaces.some((i) => i.name === name)) {
      throw Object.assign(new Error(`interface ${name} already exists`), { code: 'EEXIST' });
    }
    const iface = new NetworkInterface(
      this.interfaces.length + 1,
      name,
      link,
      (i, frames) => this.run(() => this.receiveBatch(i, frames)),
      () => this.now(),
    );
    this.interfaces.push(iface);
    this.ipv6?.interfaceAdded(iface);
    return iface;
  }

  /** The interface with this name or index, if any. */
  getInterface(nameOrIndex: string | number): NetworkInterface | undefined {
    return typeof nameOrIndex === 'number'
      ? this.interfaces[nameOrIndex - 1]
      : this.interfaces.find((i) => i.name === nameOrIndex);
  }

  /** Every interface, in the order they were added. */
  listInterfaces(): readonly NetworkInterface[] {
    return this.interfaces;
  }

  /** A timer whose callback runs as an entry into this stack. */
  createTimer(callback: TimerCallback): Timer {
    return new EntryTimer(callWith, callback, this);
  }

  /**
   * A timer that runs `callback(owner, now)` as an entry into this stack. With one callback shared
   * by every owner (a function made once), a timer costs one object and no closure: what a TCP
   * connection's timers use, 100,000 connections at a time.
   */
  createOwnedTimer<T>(callback: (owner: T, now: Instant) => void, owner: T): Timer {
    return new EntryTimer(callback, owner, this);
  }

  /** Schedules `timer` at `deadline` on the environment's timer queue. */
  schedule(timer: Timer, deadline: Instant): void {
    this.env.timers.schedule(timer, deadline);
  }

  cancel(timer: Timer): void {
    this.env.timers.cancel(timer);
  }

  /** Runs the timers that are due now; returns how many ran. */
  poll(): number {
    return this.env.timers.runDue(this.now());
  }

  /** When the stack next needs `poll` (Infinity when nothing is pending). */
  nextDeadline(): Instant {
    return this.env.timers.nextDeadline();
  }

  /**
   * Runs `body` as an entry into the stack: frames it sends are handed to the links when the
   * outermost entry returns.
   */
  run<T>(body: () => T): T {
    this.depth++;
    try {
      return body();
    } finally {
      if (this.depth === 1) this.runEntryEnd();
      if (--this.depth === 0) for (const i of this.interfaces) i.flush();
    }
  }

  /**
   * Runs `callback` once when the current outermost entry ends, before its frames go to the links
   * (so TCP can answer a whole received batch with one ACK, RFC 9293 3.10.7.4 MUST-58/59).
   * Outside an entry it runs at once.
   */
  atEntryEnd(callback: () => void): void {
    if (this.depth === 0) {
      this.run(callback);
      return;
    }
    this.entryEnd.push(callback);
  }

  private runEntryEnd(): void {
    // Callbacks may queue more callbacks; run until none is left.
    for (let i = 0; i < this.entryEnd.length; i++) this.entryEnd[i]!();
    this.entryEnd.length = 0;
  }

  private receiveBatch(iface: NetworkInterface, frames: readonly Uint8Array[]): void {
    if (iface.link.kind === 'ethernet') {
      for (const frame of frames) this.ethernet.receive(iface, frame);
      return;
    }
    // Links that carry bare IP packets (TUN, loopback): the version nibble tells the protocol.
    for (const packet of frames) {
      const version = packet.length > 0 ? packet[0]! >>> 4 : 0;
      if (version === 4) this.ipv4.receive(iface, packet, 'unicast');
      else if (version === 6 && this.ipv6 !== undefined) this.ipv6.receive(iface, packet, 'unicast');
      else this.counters.add('ip.rx.drop.unknown-version');
    }
  }
}

/**
 * A timer that runs `callback(owner, now)` as an entry into its stack: one object per timer, where
 * a wrapping closure (and its context) per timer cost about 70 bytes for each of a connection's
 * timers.
 */
class EntryTimer<T> extends Timer {
  constructor(
    private readonly action: (owner: T, now: Instant) => void,
    private readonly owner: T,
    private readonly stack: Stack,
  ) {
    super();
  }

  override fire(now: Instant): void {
    this.stack.run(() => this.action(this.owner, now));
  }
}

/** `createTimer`'s callback: the owner is the function to call. */
const callWith = (callback: TimerCallback, now: Instant) => callback(now);
