/**
 * The DHCPv6 client (RFC 8415): stateful address assignment with one IA_NA (Solicit, Advertise,
 * Request, Reply, or Solicit and Reply with Rapid Commit; Renew at T1, Rebind at T2, the
 * addresses removed when their valid lifetimes end, Release on stop), and stateless configuration
 * (Information-request, RFC 8415 18.2.6) of DNS servers and the domain search list (RFC 3646),
 * refreshed after the information refresh time (RFC 8415 21.23). Router advertisements choose
 * (RFC 4861 4.2): the M flag starts stateful, the O flag alone stateless. Retransmissions follow
 * RFC 8415 15 (`retransmit.ts`). Sans-IO: stack timers, randomness and UDP sockets only.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import { randomFloat } from '../../core/rng.ts';
import type { Stack } from '../../core/stack.ts';
import { type Duration, type Instant, SECOND } from '../../core/time.ts';
import type { Timer } from '../../core/timers.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import type { Ipv6Addr } from '../../wire/address.ts';
import {
  DHCPV6_CLIENT_PORT,
  DHCPV6_INFINITY,
  DHCPV6_MSG,
  DHCPV6_OPTION,
  DHCPV6_SERVER_PORT,
  DHCPV6_STATUS,
  type Dhcpv6Option,
  type Dhcpv6Repr,
  emitDhcpv6,
  findOption,
} from '../../wire/dhcpv6.ts';
import {
  ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
  bytesEqual,
  duidLl,
  messageName,
  openDhcp6Socket,
  parseReceived,
} from './common.ts';
import {
  Exchange,
  INF_MAX_DELAY,
  INFORMATION_REQUEST,
  REBIND,
  RELEASE,
  RENEW,
  REQUEST,
  type RetransmitParams,
  SOL_MAX_DELAY,
  SOLICIT,
} from './retransmit.ts';

export type Dhcpv6ClientState =
  | 'stopped'
  /** Waiting for a router advertisement with M or O. */
  | 'waiting'
  | 'soliciting'
  | 'requesting'
  | 'bound'
  | 'renewing'
  | 'rebinding'
  | 'informing'
  /** Stateless configuration received; waiting for the refresh. */
  | 'informed';

export interface Dhcpv6Address {
  address: Ipv6Addr;
  /** Seconds, DHCPV6_INFINITY for ever. */
  preferredLifetime: number;
  validLifetime: number;
}

export interface Dhcpv6Lease {
  serverId: Uint8Array;
  iaid: number;
  /** Seconds after `obtained` (the client's own when the server sent 0, RFC 8415 21.4). */
  t1: number;
  t2: number;
  addresses: Dhcpv6Address[];
  /** When the Request (or Renew, Rebind) that got it was first sent. */
  obtained: Instant;
}

/** What a Reply configured: handed to `onConfig`. */
export interface Dhcpv6Config {
  mode: 'stateful' | 'stateless';
  lease: Dhcpv6Lease | undefined;
  dnsServers: Ipv6Addr[];
  domains: string[];
}

export interface Dhcpv6ClientOptions {
  /** Client DUID (default DUID-LL from the interface's MAC, RFC 8415 11.4). */
  duid?: Uint8Array;
  /** IAID of the IA_NA (default: the interface index). */
  iaid?: number;
  /** Ask for Rapid Commit in Solicit (RFC 8415 18.2.1; default true). */
  rapidCommit?: boolean;
  /**
   * `ra` (default): start when a router advertisement sets M (stateful) or O (stateless);
   * `stateful` or `stateless`: start that at once, whatever routers say.
   */
  trigger?: 'ra' | 'stateful' | 'stateless';
  /** Put leased addresses on the interface (default true). */
  configure?: boolean;
  /** Send Release on `stop` (default true). */
  releaseOnStop?: boolean;
  onConfig?: (config: Dhcpv6Config) => void;
  /** The leased addresses ended (valid lifetimes over, or stop). */
  onLeaseLost?: (lease: Dhcpv6Lease, reason: 'expired' | 'stopped') => void;
  onStateChange?: (state: Dhcpv6ClientState) => void;
}

/** Drops counted under `dhcp6.client.rx.drop.<reason>`. */
type ClientDrop =
  | 'parse'
  | 'wrong-type'
  | 'wrong-xid'
  | 'wrong-client-id'
  | 'no-server-id'
  | 'no-addresses'
  | 'bad-lease'
  | 'unexpected';

/** RFC 8415 7.6 / 21.23: IRT_DEFAULT and IRT_MINIMUM. */
const IRT_DEFAULT = 86400;
const IRT_MINIMUM = 600;
/** Options asked for (ORO, RFC 8415 21.7). */
const REQUESTED = [DHCPV6_OPTION.dnsServers, DHCPV6_OPTION.domainList];
/** RFC 8415 18.2.1: a preference of 255 ends the collection of Advertise messages at once. */
const MAX_PREFERENCE = 255;

export class Dhcpv6Client {
  state: Dhcpv6ClientState = 'stopped';
  lease: Dhcpv6Lease | undefined;
  config: Dhcpv6Config | undefined;

  private socket: UdpSocket<Ipv6Addr> | undefined;
  private exchange: Exchange | undefined;
  private xid = 0;
  /** The best Advertise collected during the first Solicit RT (RFC 8415 18.2.1). */
  private best:
    | { preference: number; serverId: Uint8Array; ia: Extract<Dhcpv6Option, { kind: 'ia-na' }> }
    | undefined;
  private readonly retransmit: Timer;
  private readonly leaseTimer: Timer;
  private readonly duid: Uint8Array;
  private readonly iaid: number;
  private readonly drops;
  private readonly raListener = (iface: NetworkInterface, flags: { managed: boolean; other: boolean }) => {
    if (iface === this.iface) this.onRaFlags(flags);
  };

  constructor(
    readonly stack: Stack,
    readonly iface: NetworkInterface,
    private readonly options: Dhcpv6ClientOptions = {},
  ) {
    this.duid = options.duid ?? duidLl(iface.mac);
    this.iaid = options.iaid ?? iface.index;
    this.retransmit = stack.createTimer(() => this.onRetransmit());
    this.leaseTimer = stack.createTimer(() => this.onLeaseTimer());
    this.drops = stack.counters.drops<ClientDrop>('dhcp6.client.rx.drop');
  }

  /** Starts (EALREADY when running, EAFNOSUPPORT without IPv6). */
  start(): void {
    if (this.state !== 'stopped')
      throw Object.assign(new Error('DHCPv6 client already running'), { code: 'EALREADY' });
    const ip = this.stack.ipv6;
    if (ip === undefined) throw Object.assign(new Error('the stack has no IPv6'), { code: 'EAFNOSUPPORT' });
    this.stack.run(() => {
      this.socket = openDhcp6Socket(this.stack, this.iface, DHCPV6_CLIENT_PORT, (d) => this.receive(d));
      this.enter('waiting');
      const trigger = this.options.trigger ?? 'ra';
      if (trigger === 'ra') ip.onRaFlags.push(this.raListener);
      else this.onRaFlags({ managed: trigger === 'stateful', other: true });
    });
  }

  /** Stops: Release for a lease in use (unless told not to), addresses removed, socket closed. */
  stop(): void {
    if (this.state === 'stopped') return;
    this.stack.run(() => {
      const lease = this.lease;
      if (lease !== undefined && this.options.releaseOnStop !== false) {
        // RFC 8415 18.2.7: Release with the server's DUID and the IA; sent once here, since the
        // client is going away (REL_MAX_RC retransmissions need a running client).
        this.newTransaction(RELEASE);
        this.send(DHCPV6_MSG.release, [
          { kind: 'server-id', duid: lease.serverId },
          this.iaOption(lease.addresses),
        ]);
      }
      this.loseLease('stopped');
      const listeners = this.stack.ipv6?.onRaFlags;
      const i = listeners?.indexOf(this.raListener) ?? -1;
      if (i >= 0) listeners!.splice(i, 1);
      this.stack.cancel(this.retransmit);
      this.stack.cancel(this.leaseTimer);
      this.socket?.close();
      this.socket = undefined;
      this.enter('stopped');
    });
  }

  // ---- starting ----

  /** RFC 4861 4.2: M means addresses by DHCPv6 (and other configuration with them); O alone, other configuration. */
  private onRaFlags(flags: { managed: boolean; other: boolean }): void {
    if (flags.managed) {
      if (this.state === 'waiting' || this.state === 'informing' || this.state === 'informed') this.solicit();
    } else if (flags.other && this.state === 'waiting') {
      this.inform();
    }
  }

  /** RFC 8415 18.2.1: after a random delay of up to SOL_MAX_DELAY, Solicit. */
  private solicit(): void {
    this.best = undefined;
    this.newTransaction(SOLICIT);
    this.enter('soliciting');
    this.stack.schedule(this.retransmit, this.stack.now() + SOL_MAX_DELAY * randomFloat(this.stack.env.rng));
  }

  /** RFC 8415 18.2.6: after a random delay of up to INF_MAX_DELAY, Information-request. */
  private inform(): void {
    this.newTransaction(INFORMATION_REQUEST);
    this.enter('informing');
    this.stack.schedule(this.retransmit, this.stack.now() + INF_MAX_DELAY * randomFloat(this.stack.env.rng));
  }

  // ---- transmissions ----

  private newTransaction(params: RetransmitParams): void {
    this.xid = this.stack.env.rng.nextU32() & 0xffffff;
    this.exchange = new Exchange(params, this.stack.now());
  }

  private onRetransmit(): void {
    const ex = this.exchange;
    if (ex === undefined) return;
    // RFC 8415 18.2.1: when the first RT of Solicit ends with an Advertise in hand, Request.
    if (this.state === 'soliciting' && this.best !== undefined) {
      this.request();
      return;
    }
    this.transmit();
  }

  /** Sends the current state's message and schedules its retransmission, or gives up. */
  private transmit(): void {
    const ex = this.exchange!;
    const now = this.stack.now();
    switch (this.state) {
      case 'soliciting':
        this.send(DHCPV6_MSG.solicit, [
          this.iaOption([]),
          ...(this.options.rapidCommit !== false ? [{ kind: 'rapid-commit' } as const] : []),
        ]);
        break;
      case 'requesting':
        this.send(DHCPV6_MSG.request, [
          { kind: 'server-id', duid: this.best!.serverId },
          this.iaOption(this.iaAddresses(this.best!.ia)),
        ]);
        break;
      case 'renewing':
        this.send(DHCPV6_MSG.renew, [
          { kind: 'server-id', duid: this.lease!.serverId },
          this.iaOption(this.lease!.addresses),
        ]);
        break;
      case 'rebinding':
        this.send(DHCPV6_MSG.rebind, [this.iaOption(this.lease!.addresses)]);
        break;
      case 'informing':
        this.send(DHCPV6_MSG.informationRequest, []);
        break;
      default:
        return;
    }
    const delay = ex.sent(now, this.stack.env.rng);
    if (delay !== undefined) {
      this.stack.schedule(this.retransmit, now + delay);
      return;
    }
    // MRC or MRD reached. RFC 8415 18.2.2: a Request that fails sends the client back to Solicit;
    // Renew ends at T2 and Rebind when the lifetimes end, both handled by the lease timer.
    this.stack.counters.add(`dhcp6.client.${messageName(this.messageType())}-timeouts`);
    if (this.state === 'requesting') this.solicit();
  }

  private messageType(): number {
    switch (this.state) {
      case 'requesting':
        return DHCPV6_MSG.request;
      case 'renewing':
        return DHCPV6_MSG.renew;
      case 'rebinding':
        return DHCPV6_MSG.rebind;
      case 'informing':
        return DHCPV6_MSG.informationRequest;
      default:
        return DHCPV6_MSG.solicit;
    }
  }

  /** Sends one message to All_DHCP_Relay_Agents_and_Servers with the common options. */
  private send(type: number, options: Dhcpv6Option[]): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const repr: Dhcpv6Repr = {
      type,
      transactionId: this.xid,
      options: [
        { kind: 'client-id', duid: this.duid },
        { kind: 'elapsed-time', value: this.exchange?.elapsed(this.stack.now()) ?? 0 },
        ...(type !== DHCPV6_MSG.release ? [{ kind: 'oro', codes: REQUESTED } as const] : []),
        ...options,
      ],
    };
    try {
      socket.send(emitDhcpv6(repr).bytes(), ALL_DHCP_RELAY_AGENTS_AND_SERVERS, DHCPV6_SERVER_PORT);
      this.stack.counters.add(`dhcp6.client.tx.${messageName(type)}`);
    } catch {
      // No usable link-local address yet (DAD running): the retransmission will try again.
      this.stack.counters.add('dhcp6.client.tx.errors');
    }
  }

  private iaOption(addresses: readonly Dhcpv6Address[]): Dhcpv6Option {
    // RFC 8415 18.2: T1 and T2 0 in client messages: the server chooses.
    return {
      kind: 'ia-na',
      iaid: this.iaid,
      t1: 0,
      t2: 0,
      options: addresses.map((a) => ({
        kind: 'ia-addr' as const,
        address: a.address,
        preferredLifetime: 0,
        validLifetime: 0,
        options: [],
      })),
    };
  }

  private iaAddresses(ia: Extract<Dhcpv6Option, { kind: 'ia-na' }>): Dhcpv6Address[] {
    return ia.options.flatMap((o) =>
      o.kind === 'ia-addr'
        ? [{ address: o.address, preferredLifetime: o.preferredLifetime, validLifetime: o.validLifetime }]
        : [],
    );
  }

  private request(): void {
    this.newTransaction(REQUEST);
    this.enter('requesting');
    this.transmit();
  }

  // ---- receiving ----

  private receive(d: UdpDatagram<Ipv6Addr>): void {
    const m = parseReceived(this.stack, 'client', this.drops, d.data);
    if (m === undefined) return;
    if (m.type !== DHCPV6_MSG.advertise && m.type !== DHCPV6_MSG.reply) {
      this.drops.drop('wrong-type');
      return;
    }
    // RFC 8415 16.10, 16.11: the transaction ID must match, the Client Identifier must be ours,
    // and there must be a Server Identifier.
    if (m.transactionId !== this.xid || this.exchange === undefined) {
      this.drops.drop('wrong-xid');
      return;
    }
    const clientId = findOption(m.options, 'client-id');
    if (clientId === undefined || !bytesEqual(clientId.duid, this.duid)) {
      this.drops.drop('wrong-client-id');
      return;
    }
    const serverId = findOption(m.options, 'server-id');
    if (serverId === undefined) {
      this.drops.drop('no-server-id');
      return;
    }
    if (m.type === DHCPV6_MSG.advertise) this.advertise(m, serverId.duid);
    else this.reply(m, serverId.duid);
  }

  /** RFC 8415 18.2.9: an Advertise during Solicit; the best is kept until the first RT ends. */
  private advertise(m: Dhcpv6Repr, serverId: Uint8Array): void {
    if (this.state !== 'soliciting') {
      this.drops.drop('unexpected');
      return;
    }
    const ia = this.ourIa(m.options);
    if (ia === undefined || this.iaAddresses(ia).length === 0) {
      // RFC 8415 18.2.9: an Advertise without addresses (NoAddrsAvail) is ignored.
      this.drops.drop('no-addresses');
      return;
    }
    const preference = findOption(m.options, 'preference')?.value ?? 0;
    if (this.best === undefined || preference > this.best.preference)
      this.best = { preference, serverId, ia };
    // "If the client receives an Advertise message that includes a Preference option with a
    // preference value of 255, the client immediately begins a client-initiated message exchange".
    if (preference === MAX_PREFERENCE || this.exchange!.transmissions > 1) {
      this.stack.cancel(this.retransmit);
      this.request();
    }
  }

  private reply(m: Dhcpv6Repr, serverId: Uint8Array): void {
    const status = findOption(m.options, 'status-code');
    switch (this.state) {
      case 'informing':
        if (status !== undefined && status.code !== DHCPV6_STATUS.success) {
          this.drops.drop('bad-lease');
          return;
        }
        this.informed(m);
        return;
      case 'soliciting':
        // RFC 8415 18.2.10: a Reply to Solicit only with Rapid Commit.
        if (findOption(m.options, 'rapid-commit') === undefined) {
          this.drops.drop('unexpected');
          return;
        }
        this.bound(m, serverId);
        return;
      case 'requesting':
      case 'renewing':
      case 'rebinding':
        this.bound(m, serverId);
        return;
      default:
        this.drops.drop('unexpected');
    }
  }

  /** The IA_NA with our IAID. */
  private ourIa(options: Dhcpv6Option[]): Extract<Dhcpv6Option, { kind: 'ia-na' }> | undefined {
    return options.find(
      (o): o is Extract<Dhcpv6Option, { kind: 'ia-na' }> => o.kind === 'ia-na' && o.iaid === this.iaid,
    );
  }

  /** RFC 8415 18.2.10.1: a Reply with addresses for our IA binds (or extends) the lease. */
  private bound(m: Dhcpv6Repr, serverId: Uint8Array): void {
    const ia = this.ourIa(m.options);
    const iaStatus = ia !== undefined ? findOption(ia.options, 'status-code') : undefined;
    const addresses = ia !== undefined ? this.iaAddresses(ia).filter((a) => a.validLifetime > 0) : [];
    // RFC 8415 21.4: T1 > T2 (both non-zero) is invalid; preferred > valid addresses are ignored (21.6).
    const valid = addresses.filter((a) => a.preferredLifetime <= a.validLifetime);
    if (ia === undefined || valid.length === 0 || (ia.t1 > 0 && ia.t2 > 0 && ia.t1 > ia.t2)) {
      this.drops.drop(
        iaStatus !== undefined && iaStatus.code !== DHCPV6_STATUS.success ? 'no-addresses' : 'bad-lease',
      );
      // NotOnLink or NoAddrsAvail to a Request: start again (RFC 8415 18.2.10.1).
      if (this.state === 'requesting') this.solicit();
      return;
    }
    this.stack.cancel(this.retransmit);
    const shortest = Math.min(...valid.map((a) => a.preferredLifetime));
    // RFC 8415 21.4: when the server leaves T1 and T2 to the client, 0.5 and 0.8 of the
    // shortest preferred lifetime (as for DHCPv4).
    const t1 = ia.t1 > 0 ? ia.t1 : Math.floor(shortest * 0.5);
    const t2 = ia.t2 > 0 ? ia.t2 : Math.floor(shortest * 0.8);
    const previous = this.lease;
    const lease: Dhcpv6Lease = {
      serverId: serverId.slice(),
      iaid: this.iaid,
      t1,
      t2,
      addresses: valid,
      obtained: this.exchange!.started,
    };
    this.lease = lease;
    this.exchange = undefined;
    if (this.options.configure !== false) this.applyAddresses(lease, previous);
    this.enter('bound');
    this.scheduleLease();
    this.configured('stateful', m, lease);
  }

  private informed(m: Dhcpv6Repr): void {
    this.stack.cancel(this.retransmit);
    this.exchange = undefined;
    this.enter('informed');
    // RFC 8415 21.23: refresh after the server's time, IRT_DEFAULT without one, IRT_MINIMUM at least.
    const refresh = findOption(m.options, 'information-refresh-time')?.seconds ?? IRT_DEFAULT;
    if (refresh !== DHCPV6_INFINITY) {
      this.stack.schedule(this.leaseTimer, this.stack.now() + Math.max(IRT_MINIMUM, refresh) * SECOND);
    }
    this.configured('stateless', m, undefined);
  }

  private configured(mode: 'stateful' | 'stateless', m: Dhcpv6Repr, lease: Dhcpv6Lease | undefined): void {
    this.config = {
      mode,
      lease,
      dnsServers: findOption(m.options, 'dns-servers')?.servers ?? [],
      domains: findOption(m.options, 'domain-list')?.domains ?? [],
    };
    this.options.onConfig?.(this.config);
  }

  // ---- the lease ----

  /** Each leased address as a /128 with its lifetimes (RFC 8415 18.2.10.1), with DAD. */
  private applyAddresses(lease: Dhcpv6Lease, previous: Dhcpv6Lease | undefined): void {
    const ip = this.stack.ipv6!;
    for (const a of lease.addresses) {
      const valid = seconds(a.validLifetime);
      const preferred = seconds(a.preferredLifetime);
      const entry = ip.addresses.find(a.address, this.iface);
      if (entry !== undefined) ip.addresses.setLifetimes(entry, valid, preferred);
      else
        ip.addAddress(this.iface, a.address, 128, {
          validLifetime: valid,
          preferredLifetime: preferred,
          dad: true,
          origin: 'dhcp6',
        });
    }
    // Addresses the server no longer gives are removed.
    for (const old of previous?.addresses ?? []) {
      if (!lease.addresses.some((a) => bytesEqual(a.address, old.address)))
        ip.removeAddress(this.iface, old.address);
    }
  }

  private deadlines(lease: Dhcpv6Lease): { t1: Instant; t2: Instant; expires: Instant } {
    const at = (s: number) =>
      s === DHCPV6_INFINITY ? Number.POSITIVE_INFINITY : lease.obtained + s * SECOND;
    return {
      t1: at(lease.t1),
      t2: at(lease.t2),
      expires: Math.max(...lease.addresses.map((a) => at(a.validLifetime))),
    };
  }

  private scheduleLease(): void {
    const lease = this.lease!;
    const { t1, t2, expires } = this.deadlines(lease);
    const next = this.state === 'bound' ? t1 : this.state === 'renewing' ? t2 : expires;
    if (Number.isFinite(next)) this.stack.schedule(this.leaseTimer, next);
  }

  /** T1, T2, the end of the lease (RFC 8415 18.2.4, 18.2.5), or the information refresh. */
  private onLeaseTimer(): void {
    if (this.state === 'informed') {
      this.inform();
      return;
    }
    const lease = this.lease;
    if (lease === undefined) return;
    const { t2, expires } = this.deadlines(lease);
    const now = this.stack.now();
    if (now >= expires) {
      this.stack.counters.add('dhcp6.client.expired');
      this.loseLease('expired');
      this.solicit();
      return;
    }
    const next = this.state === 'bound' ? 'renewing' : 'rebinding';
    // Renew until T2 (its MRD); Rebind until the valid lifetimes end.
    this.newTransaction(
      next === 'renewing' ? { ...RENEW, mrd: t2 - now } : { ...REBIND, mrd: expires - now },
    );
    this.enter(next);
    this.scheduleLease();
    this.stack.cancel(this.retransmit);
    this.transmit();
  }

  private loseLease(reason: 'expired' | 'stopped'): void {
    const lease = this.lease;
    if (lease === undefined) return;
    this.lease = undefined;
    if (this.options.configure !== false) {
      for (const a of lease.addresses) this.stack.ipv6!.removeAddress(this.iface, a.address);
    }
    this.options.onLeaseLost?.(lease, reason);
  }

  private enter(state: Dhcpv6ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state);
  }
}

function seconds(s: number): Duration {
  return s === DHCPV6_INFINITY ? Number.POSITIVE_INFINITY : s * SECOND;
}
