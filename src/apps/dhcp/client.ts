/**
 * The DHCPv4 client (RFC 2131 4.4, options of RFC 2132, classless routes of RFC 3442, rapid commit
 * of RFC 4039): gets a lease for one interface, checks the address with ARP probes (RFC 5227),
 * puts the lease on the stack (lease-apply.ts), renews and rebinds it, and takes it off when it
 * ends. Sans-IO: it runs on the stack's timers, randomness and UDP sockets.
 *
 * Receiving before the address is configured: the IPv4 layer only accepts unicast to addresses it
 * owns, so while it has no address the client sets the BROADCAST flag (RFC 2131 4.1, as Windows
 * and many embedded clients do) and servers answer to 255.255.255.255. Sending before then, the
 * route to 255.255.255.255 out of an interface without an address has source 0.0.0.0, as RFC 2131
 * 4.1 asks. (An interface that already holds another address sends from that one.)
 */
import type { ArpProbeHandle } from '../../core/device/arp-probe.ts';
import type { NetworkInterface } from '../../core/device/interface.ts';
import { randomFloat } from '../../core/rng.ts';
import type { Stack } from '../../core/stack.ts';
import { type Duration, SECOND } from '../../core/time.ts';
import type { Timer } from '../../core/timers.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import { IPV4_BROADCAST, type Ipv4Addr } from '../../wire/address.ts';
import {
  BOOTREPLY,
  BOOTREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  type DhcpRepr,
  emitDhcp,
} from '../../wire/dhcp.ts';
import { DHCP_MESSAGE_TYPE, type DhcpOptions } from '../../wire/dhcp-options.ts';
import {
  DECLINE_BACKOFF,
  type DhcpClientState,
  type DhcpLease,
  describeLease,
  leaseDeadlines,
  leaseFromAck,
  MAX_REQUESTS,
  renewRetransmitDelay,
  retransmitDelay,
  sameConfiguration,
} from './client-state.ts';
import {
  chaddrToMac,
  type DhcpRxDrop,
  ethernetClientId,
  macToChaddr,
  messageName,
  openDhcpSocket,
  parseDhcpDatagram,
  REQUESTED_PARAMETERS,
} from './dhcp-common.ts';
import { type AppliedLease, applyLease, removeLease } from './lease-apply.ts';

export interface DhcpClientOptions {
  /** Option 61 (default: type 1 and the interface's MAC, RFC 2132 9.14). */
  clientId?: Uint8Array;
  /** Option 12, sent in DISCOVER and REQUEST. */
  hostName?: string;
  /** A lease from before (e.g. a previous run): start in INIT-REBOOT asking for this address. */
  previousAddress?: Ipv4Addr;
  /** Ask for rapid commit (RFC 4039) in DISCOVER (default true). */
  rapidCommit?: boolean;
  /** Probe the address before using it (RFC 5227; default true on Ethernet). */
  probe?: boolean;
  /**
   * The random wait before the first DISCOVER, in ms (RFC 2131 4.4.1: "between one and ten
   * seconds" to desynchronize clients that start together; default [1000, 10000]).
   */
  startDelay?: readonly [Duration, Duration];
  /** Send DHCPRELEASE on `stop` (default true). */
  releaseOnStop?: boolean;
  /** Put the lease on the stack (default true); false leaves it to the callbacks. */
  configure?: boolean;
  onLease?: (lease: DhcpLease) => void;
  /** A lease given by `onLease` ended (expired, NAK, stop): its address and routes are gone. */
  onLeaseLost?: (lease: DhcpLease, reason: LeaseLossReason) => void;
  onStateChange?: (state: DhcpClientState) => void;
}

export type LeaseLossReason = 'expired' | 'nak' | 'stopped';

/** Drops counted under `dhcp.client.rx.drop.<reason>`. */
type ClientDrop = DhcpRxDrop | 'wrong-xid' | 'wrong-chaddr' | 'no-server-id' | 'bad-lease' | 'unexpected';

/** RFC 2131 4.4.1's default start delay. */
const DEFAULT_START_DELAY: readonly [Duration, Duration] = [1 * SECOND, 10 * SECOND];

export class DhcpClient {
  state: DhcpClientState = 'stopped';
  /** The lease in use (BOUND, RENEWING, REBINDING), or the one being checked. */
  lease: DhcpLease | undefined;

  private socket: UdpSocket | undefined;
  private applied: AppliedLease | undefined;
  private xid = 0;
  /** When this exchange began (for secs) and when its last request was sent (for lease times). */
  private exchangeStart = 0;
  private sentAt = 0;
  private attempt = 0;
  private offer: { address: Ipv4Addr; serverId: Ipv4Addr } | undefined;
  private probe: ArpProbeHandle | undefined;
  private readonly retransmit: Timer;
  private readonly leaseTimer: Timer;
  private readonly clientId: Uint8Array;
  private readonly drops;

  constructor(
    readonly stack: Stack,
    readonly iface: NetworkInterface,
    private readonly options: DhcpClientOptions = {},
  ) {
    this.clientId = options.clientId ?? ethernetClientId(iface.mac);
    this.retransmit = stack.createTimer(() => this.onRetransmit());
    this.leaseTimer = stack.createTimer(() => this.onLeaseTimer());
    this.drops = stack.counters.drops<ClientDrop>('dhcp.client.rx.drop');
  }

  /** Starts: INIT-REBOOT with `previousAddress`, else INIT. EALREADY when running. */
  start(): void {
    if (this.state !== 'stopped')
      throw Object.assign(new Error('DHCP client already running'), { code: 'EALREADY' });
    this.stack.run(() => {
      this.socket = openDhcpSocket(this.stack, this.iface, DHCP_CLIENT_PORT, (d) => this.receive(d));
      const previous = this.options.previousAddress;
      if (previous !== undefined && previous !== 0) this.initReboot(previous);
      else {
        const [lo, hi] = this.options.startDelay ?? DEFAULT_START_DELAY;
        this.init(lo + (hi - lo) * randomFloat(this.stack.env.rng));
      }
    });
  }

  /** Stops: sends DHCPRELEASE for a lease in use (unless told not to), removes it, closes. */
  stop(): void {
    if (this.state === 'stopped') return;
    this.stack.run(() => {
      const lease = this.lease;
      if (lease !== undefined && this.inUse() && this.options.releaseOnStop !== false) {
        this.newXid();
        // RFC 2131 4.4.6: unicast to the server, ciaddr set, server identifier, no requested address.
        this.send(
          DHCP_MESSAGE_TYPE.release,
          { ciaddr: lease.address, serverId: lease.serverId },
          lease.serverId,
        );
      }
      this.loseLease('stopped');
      this.cancelAll();
      this.socket?.close();
      this.socket = undefined;
      this.enter('stopped');
    });
  }

  /** The state and lease, JSON-able (for `netstack up --json`). */
  info(): { state: DhcpClientState; lease?: ReturnType<typeof describeLease> } {
    return {
      state: this.state,
      ...(this.lease !== undefined && this.inUse()
        ? { lease: describeLease(this.lease, this.stack.now()) }
        : {}),
    };
  }

  // ---- states ----

  /** INIT: after `delay`, a new transaction starts with DISCOVER and the client is SELECTING. */
  private init(delay: Duration): void {
    this.cancelAll();
    this.offer = undefined;
    this.enter('init');
    this.stack.schedule(this.retransmit, this.stack.now() + delay);
  }

  private initReboot(address: Ipv4Addr): void {
    this.enter('init-reboot');
    this.newXid();
    this.offer = { address, serverId: 0 };
    this.enter('rebooting');
    this.sendRequest();
  }

  private discover(): void {
    this.newXid();
    this.enter('selecting');
    this.sendDiscover();
  }

  private onRetransmit(): void {
    switch (this.state) {
      case 'init':
        this.discover();
        return;
      case 'selecting':
        // RFC 2131 4.4.1: DISCOVER is retransmitted until an offer comes, with the same xid.
        this.attempt++;
        this.sendDiscover();
        return;
      case 'requesting':
      case 'rebooting':
        if (++this.attempt >= MAX_REQUESTS) {
          // RFC 2131 3.1 step 5, 3.2 step 6: no answer: start again from INIT.
          this.stack.counters.add('dhcp.client.request-timeouts');
          this.init(0);
          return;
        }
        this.sendRequest();
        return;
      case 'renewing':
      case 'rebinding':
        this.sendRenewal();
        return;
      default:
        return;
    }
  }

  /** T1, T2 and the end of the lease (RFC 2131 4.4.5). */
  private onLeaseTimer(): void {
    const lease = this.lease;
    if (lease === undefined) return;
    const { t1, t2, expires } = leaseDeadlines(lease);
    const now = this.stack.now();
    if (now >= expires) {
      // "If the lease expires before the client receives a DHCPACK, the client moves to INIT
      // state, MUST immediately stop any other network processing and requests network
      // initialization parameters as if the client were uninitialized."
      this.stack.counters.add('dhcp.client.expired');
      this.loseLease('expired');
      this.init(0);
    } else if (now >= t2 && this.state !== 'rebinding') {
      this.enter('rebinding');
      this.newXid();
      this.stack.schedule(this.leaseTimer, expires);
      this.sendRenewal();
    } else if (now >= t1 && this.state === 'bound') {
      this.enter('renewing');
      this.newXid();
      this.stack.schedule(this.leaseTimer, t2);
      this.sendRenewal();
    }
  }

  // ---- receiving ----

  private receive(d: UdpDatagram): void {
    const parsed = parseDhcpDatagram(d, BOOTREPLY);
    if (!parsed.ok) {
      this.drops.drop(parsed.error);
      return;
    }
    const m = parsed.value;
    if (m.xid !== this.xid) {
      this.drops.drop('wrong-xid');
      return;
    }
    if (chaddrToMac(m.chaddr) !== this.iface.mac) {
      this.drops.drop('wrong-chaddr');
      return;
    }
    const type = m.options.messageType;
    const serverId = m.options.serverId;
    // RFC 2131 4.3.1, 4.3.2: OFFER, ACK and NAK carry the server identifier.
    if (serverId === undefined) {
      this.drops.drop('no-server-id');
      return;
    }
    this.stack.counters.add(`dhcp.client.rx.${messageName(type!)}`);
    if (type === DHCP_MESSAGE_TYPE.offer && this.state === 'selecting') {
      if (m.yiaddr === 0 || m.yiaddr === IPV4_BROADCAST) {
        this.drops.drop('bad-lease');
        return;
      }
      // The first acceptable offer is taken (RFC 2131 4.4.1 lets the client choose).
      this.offer = { address: m.yiaddr, serverId };
      this.enter('requesting');
      this.sendRequest();
      return;
    }
    if (type === DHCP_MESSAGE_TYPE.ack) {
      const rapid = this.state === 'selecting' && m.options.rapidCommit === true && this.rapidCommit;
      const chosen = this.state === 'requesting' && serverId === this.offer?.serverId;
      if (rapid || chosen || this.state === 'rebooting') this.acknowledged(m, serverId);
      else if (this.state === 'renewing' || this.state === 'rebinding') this.renewed(m, serverId);
      else this.drops.drop('unexpected');
      return;
    }
    if (type === DHCP_MESSAGE_TYPE.nak && this.waitingForAck()) {
      // RFC 2131 3.1 step 5, 3.2 step 4, 4.4.5: restart from INIT (and stop using the address).
      this.stack.counters.add('dhcp.client.naks');
      this.loseLease('nak');
      this.init(0);
      return;
    }
    this.drops.drop('unexpected');
  }

  private acknowledged(m: DhcpRepr, serverId: Ipv4Addr): void {
    const lease = leaseFromAck(m, serverId, this.sentAt);
    if (lease === undefined) {
      this.drops.drop('bad-lease');
      return;
    }
    this.stack.cancel(this.retransmit);
    this.lease = lease;
    const probe = this.options.probe ?? this.iface.link.kind === 'ethernet';
    if (!probe) {
      this.bind(lease);
      return;
    }
    this.enter('checking');
    this.probe = this.stack.arp.probe(this.iface, lease.address, (conflict) => {
      this.probe = undefined;
      if (conflict) this.decline(lease);
      else this.bind(lease);
    });
  }

  /** RFC 2131 3.1 step 5: the address is in use: DECLINE, and start again after ten seconds. */
  private decline(lease: DhcpLease): void {
    this.stack.counters.add('dhcp.client.declines');
    this.send(
      DHCP_MESSAGE_TYPE.decline,
      { requestedAddress: lease.address, serverId: lease.serverId },
      IPV4_BROADCAST,
    );
    this.lease = undefined;
    this.init(DECLINE_BACKOFF);
  }

  private bind(lease: DhcpLease): void {
    this.stack.counters.add('dhcp.client.leases');
    if (this.options.configure !== false) this.applied = applyLease(this.stack, this.iface, lease);
    this.enterBound(lease);
  }

  private renewed(m: DhcpRepr, serverId: Ipv4Addr): void {
    const lease = leaseFromAck(m, serverId, this.sentAt);
    if (lease === undefined) {
      this.drops.drop('bad-lease');
      return;
    }
    this.stack.counters.add('dhcp.client.renewals');
    const old = this.applied;
    if (this.options.configure !== false && (old === undefined || !sameConfiguration(old.lease, lease))) {
      if (old !== undefined) removeLease(this.stack, this.iface, old);
      this.applied = applyLease(this.stack, this.iface, lease);
    } else if (old !== undefined) {
      this.applied = { ...old, lease };
    }
    this.lease = lease;
    this.enterBound(lease);
  }

  private enterBound(lease: DhcpLease): void {
    this.stack.cancel(this.retransmit);
    this.enter('bound');
    this.stack.schedule(this.leaseTimer, leaseDeadlines(lease).t1);
    this.options.onLease?.(lease);
  }

  // ---- sending ----

  private sendDiscover(): void {
    const options: DhcpOptions = {};
    if (this.rapidCommit) options.rapidCommit = true;
    this.send(DHCP_MESSAGE_TYPE.discover, options, IPV4_BROADCAST);
    this.stack.schedule(
      this.retransmit,
      this.stack.now() + retransmitDelay(this.attempt, this.stack.env.rng),
    );
  }

  /** A REQUEST while REQUESTING (with the server identifier) or REBOOTING (without). */
  private sendRequest(): void {
    const offer = this.offer!;
    this.send(
      DHCP_MESSAGE_TYPE.request,
      { requestedAddress: offer.address, ...(offer.serverId !== 0 ? { serverId: offer.serverId } : {}) },
      IPV4_BROADCAST,
    );
    this.stack.schedule(
      this.retransmit,
      this.stack.now() + retransmitDelay(this.attempt, this.stack.env.rng),
    );
  }

  /** RFC 2131 4.4.5: REQUEST with ciaddr, unicast to the server (RENEWING) or broadcast (REBINDING). */
  private sendRenewal(): void {
    const lease = this.lease!;
    const renewing = this.state === 'renewing';
    this.send(
      DHCP_MESSAGE_TYPE.request,
      { ciaddr: lease.address },
      renewing ? lease.serverId : IPV4_BROADCAST,
    );
    const { t2, expires } = leaseDeadlines(lease);
    const until = renewing ? t2 : expires;
    const now = this.stack.now();
    // The lease timer moves the state on at `until`; retransmit only if that comes first.
    const delay = renewRetransmitDelay(now, until);
    if (delay < until - now) this.stack.schedule(this.retransmit, now + delay);
    else this.stack.cancel(this.retransmit);
  }

  /**
   * Sends a BOOTREQUEST of `type` (RFC 2131 table 5) to `dst`:67. `fields` holds ciaddr and the
   * per-message options; the client identifier, host name and parameter list are added here.
   */
  private send(type: number, fields: DhcpOptions & { ciaddr?: Ipv4Addr }, dst: Ipv4Addr): void {
    const { ciaddr = 0, ...specific } = fields;
    const options: DhcpOptions = { messageType: type, ...specific, clientId: this.clientId };
    if (type !== DHCP_MESSAGE_TYPE.decline && type !== DHCP_MESSAGE_TYPE.release) {
      options.parameterRequestList = REQUESTED_PARAMETERS;
      options.maxMessageSize = Math.max(576, Math.min(this.iface.mtu, 0xffff));
      if (this.options.hostName !== undefined) options.hostName = this.options.hostName;
    }
    const now = this.stack.now();
    if (type === DHCP_MESSAGE_TYPE.discover || type === DHCP_MESSAGE_TYPE.request) this.sentAt = now;
    const repr: DhcpRepr = {
      op: BOOTREQUEST,
      htype: 1,
      hops: 0,
      xid: this.xid,
      secs: Math.min(0xffff, Math.floor((now - this.exchangeStart) / SECOND)),
      // Without an address, ask for broadcast replies (see the top of this file).
      broadcast: ciaddr === 0 && !this.inUse(),
      ciaddr,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: macToChaddr(this.iface.mac),
      sname: '',
      file: '',
      options,
    };
    this.stack.counters.add(`dhcp.client.tx.${messageName(type)}`);
    try {
      this.socket!.send(emitDhcp(repr).bytes(), dst, DHCP_SERVER_PORT);
    } catch {
      // No route (interface down) or no ARP entry yet: the retransmission tries again.
      this.stack.counters.add('dhcp.client.tx.errors');
    }
  }

  // ---- helpers ----

  private get rapidCommit(): boolean {
    return this.options.rapidCommit !== false;
  }

  /** The lease's address is configured (or was, for the RELEASE of `stop`). */
  private inUse(): boolean {
    return this.state === 'bound' || this.state === 'renewing' || this.state === 'rebinding';
  }

  private waitingForAck(): boolean {
    return (
      this.state === 'requesting' ||
      this.state === 'rebooting' ||
      this.state === 'renewing' ||
      this.state === 'rebinding'
    );
  }

  private newXid(): void {
    this.xid = this.stack.env.rng.nextU32();
    this.attempt = 0;
    this.exchangeStart = this.stack.now();
  }

  /** Takes the lease off the stack and tells the owner, if it was told of it (`onLease`). */
  private loseLease(reason: LeaseLossReason): void {
    const lease = this.lease;
    const announced = this.inUse();
    this.lease = undefined;
    if (this.applied !== undefined) {
      removeLease(this.stack, this.iface, this.applied);
      this.applied = undefined;
    }
    if (lease !== undefined && announced) this.options.onLeaseLost?.(lease, reason);
  }

  private cancelAll(): void {
    this.stack.cancel(this.retransmit);
    this.stack.cancel(this.leaseTimer);
    this.probe?.cancel();
    this.probe = undefined;
  }

  private enter(state: DhcpClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state);
  }
}
