/**
 * The DHCPv4 server (RFC 2131 4.3, options of RFC 2132, RFC 3442, RFC 4039, RFC 6842) for the
 * clients on one interface: a pool in the interface's subnet (address-pool.ts), reservations by
 * MAC address or client identifier, leases kept in a `LeaseStore`, DISCOVER, REQUEST, DECLINE,
 * RELEASE and INFORM. Sans-IO: it runs on the stack's UDP sockets and timers.
 *
 * Replies go where RFC 2131 4.1 says: to ciaddr when the client has one, to 255.255.255.255 when
 * it sets the BROADCAST flag (and always for NAK), else to yiaddr at chaddr: the server puts the
 * client's MAC in the ARP table for yiaddr, as a kernel server does with SIOCSARP, since the client
 * cannot answer ARP yet. Relay agents are not supported: messages with giaddr set are dropped
 * and counted (`dhcp.server.rx.drop.relayed`).
 *
 * Exhaustion: a client is one key (client identifier, else chaddr) and holds one address. Made-up
 * hardware addresses are held off by a token bucket on DISCOVERs from clients the server does not
 * know, a bound on offers outstanding at once, and a bound on leases per MAC address. (One TAP is
 * one port; a bound per switch port would need relay information, option 82.)
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Ipv4InterfaceAddress } from '../../core/ip/ipv4.ts';
import type { Stack } from '../../core/stack.ts';
import { type Duration, type Instant, SECOND } from '../../core/time.ts';
import type { Timer } from '../../core/timers.ts';
import { TokenBucket } from '../../core/token-bucket.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  ipv4Mask,
  ipv4ToString,
  type MacAddr,
  macToString,
} from '../../wire/address.ts';
import {
  BOOTREPLY,
  BOOTREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  type DhcpRepr,
  emitDhcp,
} from '../../wire/dhcp.ts';
import {
  DHCP_MESSAGE_TYPE,
  DHCP_OPTION,
  type DhcpClasslessRoute,
  type DhcpOptions,
} from '../../wire/dhcp-options.ts';
import { nameToLabels } from '../../wire/dns-name.ts';
import { AddressPool, type PoolReservation } from './address-pool.ts';
import {
  chaddrToMac,
  clientKey,
  type DhcpRxDrop,
  ethernetClientId,
  INFINITE_LEASE,
  messageName,
  openDhcpSocket,
  parseDhcpDatagram,
  toHex,
} from './dhcp-common.ts';
import type { LeaseStore } from './lease-store.ts';

export interface DhcpReservation {
  /** The client, by MAC address (matched as a client identifier of type 1 too) or identifier. */
  mac?: MacAddr;
  clientId?: Uint8Array;
  address: Ipv4Addr;
  hostName?: string;
}

export interface DhcpServerOptions {
  /** The pool: first and last address, inside the subnet of an address of the interface. */
  start: Ipv4Addr;
  end: Ipv4Addr;
  /** Lease time in seconds (default 3600; INFINITE_LEASE for none). */
  leaseTime?: number;
  routers?: Ipv4Addr[];
  dnsServers?: Ipv4Addr[];
  domainName?: string;
  /** Option 119, the domain search list (RFC 3397). */
  domainSearch?: string[];
  /** Option 26. */
  mtu?: number;
  /** Option 121, sent to clients that ask for it (RFC 3442). */
  classlessRoutes?: DhcpClasslessRoute[];
  reservations?: DhcpReservation[];
  /** How long an offered address is held for the client (default 30 s). */
  offerHold?: Duration;
  /** How long a declined address is kept out of use (default 10 min). */
  declineHold?: Duration;
  /** DISCOVERs per second from unknown clients (default 10), and the burst allowed (default 20). */
  discoverRate?: number;
  discoverBurst?: number;
  /** Offers outstanding at once (default 32). */
  maxPendingOffers?: number;
  /** Leases held by one MAC address under different client identifiers (default 2). */
  maxLeasesPerMac?: number;
  /** Answer DISCOVER with rapid commit by ACK when the client asks (RFC 4039; default false). */
  rapidCommit?: boolean;
  store?: LeaseStore;
}

/** Drops counted under `dhcp.server.rx.drop.<reason>`. */
type ServerDrop =
  | DhcpRxDrop
  | 'relayed'
  | 'rate-limited'
  | 'too-many-offers'
  | 'too-many-leases'
  | 'pool-exhausted'
  | 'not-our-lease'
  | 'unexpected';

export const DEFAULT_LEASE_TIME = 3600;
const DEFAULT_OFFER_HOLD = 30 * SECOND;
const DEFAULT_DECLINE_HOLD = 10 * 60 * SECOND;

export class DhcpServer {
  readonly address: Ipv4InterfaceAddress;
  readonly pool: AddressPool;
  private socket: UdpSocket | undefined;
  private readonly sweepTimer: Timer;
  private readonly discovers: TokenBucket;
  private readonly drops;
  private readonly leaseTime: number;

  constructor(
    readonly stack: Stack,
    readonly iface: NetworkInterface,
    private readonly options: DhcpServerOptions,
  ) {
    const { start, end } = options;
    const mine = stack.ipv4
      .listAddresses(iface)
      .find((a) => sameSubnet(a, start) && sameSubnet(a, end) && a.prefixLen < 31);
    if (mine === undefined) {
      throw Object.assign(
        new Error(`${ipv4ToString(start)}-${ipv4ToString(end)} is not inside a subnet of ${iface.name}`),
        { code: 'EINVAL' },
      );
    }
    const mask = ipv4Mask(mine.prefixLen);
    if ((start & ~mask) === 0 || end === mine.broadcast) {
      throw Object.assign(new Error('the pool holds the network or broadcast address'), { code: 'EINVAL' });
    }
    this.address = mine;
    this.leaseTime = options.leaseTime ?? DEFAULT_LEASE_TIME;
    // Misuse shows now rather than when a reply is encoded (RFC 3397: names in DNS encoding).
    const badSearch = options.domainSearch?.find((d) => (nameToLabels(d)?.length ?? 0) === 0);
    if (badSearch !== undefined) {
      throw Object.assign(new Error(`bad search domain ${badSearch}`), { code: 'EINVAL' });
    }
    const reservations: PoolReservation[] = (options.reservations ?? []).map((r) => {
      if (!sameSubnet(mine, r.address) || r.address === mine.addr) {
        throw Object.assign(new Error(`reserved ${ipv4ToString(r.address)} is not a client address`), {
          code: 'EINVAL',
        });
      }
      const clients: string[] = [];
      if (r.clientId !== undefined) clients.push(`id:${toHex(r.clientId)}`);
      if (r.mac !== undefined) {
        // The key of a client without an identifier, and of one sending the usual type-1 identifier.
        const id = ethernetClientId(r.mac);
        clients.push(`hw:${toHex(id.subarray(1))}`, `id:${toHex(id)}`);
      }
      return { clients, address: r.address, ...(r.hostName !== undefined ? { hostName: r.hostName } : {}) };
    });
    this.pool = new AddressPool(start, end, reservations, new Set([mine.addr]));
    this.sweepTimer = stack.createTimer(() => this.sweep());
    this.discovers = new TokenBucket(options.discoverRate ?? 10, options.discoverBurst ?? 20, stack.now());
    this.drops = stack.counters.drops<ServerDrop>('dhcp.server.rx.drop');
  }

  /** Loads the store's leases and starts serving. */
  start(): void {
    this.stack.run(() => {
      const snapshot = this.options.store?.load();
      if (snapshot !== undefined) {
        const skipped = this.pool.restore(snapshot, this.stack.now());
        this.stack.counters.add('dhcp.server.restored', snapshot.leases.length - skipped);
        this.stack.counters.add('dhcp.server.restore-skipped', skipped);
      }
      this.socket = openDhcpSocket(this.stack, this.iface, DHCP_SERVER_PORT, (d) => this.receive(d));
      this.sweep();
    });
  }

  stop(): void {
    this.stack.cancel(this.sweepTimer);
    this.socket?.close();
    this.socket = undefined;
  }

  /** The leases and offers, for reports. */
  leases(): Array<{
    address: string;
    state: string;
    mac: string;
    client?: string;
    hostName?: string;
    expiresIn: number | null;
  }> {
    const now = this.stack.now();
    return this.pool.list().map((e) => ({
      address: ipv4ToString(e.address),
      state: e.state,
      mac: macToString(e.mac),
      ...(e.client !== undefined ? { client: e.client } : {}),
      ...(e.hostName !== undefined ? { hostName: e.hostName } : {}),
      expiresIn: Number.isFinite(e.expires) ? Math.max(0, e.expires - now) : null,
    }));
  }

  // ---- receiving ----

  private receive(d: UdpDatagram): void {
    const parsed = parseDhcpDatagram(d, BOOTREQUEST);
    if (!parsed.ok) {
      this.drops.drop(parsed.error);
      return;
    }
    const m = parsed.value;
    if (m.giaddr !== 0) {
      this.drops.drop('relayed');
      return;
    }
    const type = m.options.messageType!;
    this.stack.counters.add(`dhcp.server.rx.${messageName(type)}`);
    switch (type) {
      case DHCP_MESSAGE_TYPE.discover:
        this.discover(m);
        return;
      case DHCP_MESSAGE_TYPE.request:
        this.request(m);
        return;
      case DHCP_MESSAGE_TYPE.decline:
        this.decline(m);
        return;
      case DHCP_MESSAGE_TYPE.release:
        this.release(m);
        return;
      case DHCP_MESSAGE_TYPE.inform:
        // RFC 2131 4.3.5: the configuration, no lease, unicast to ciaddr.
        this.reply(m, DHCP_MESSAGE_TYPE.ack, 0, {});
        return;
      default:
        this.drops.drop('unexpected');
    }
  }

  /** RFC 2131 4.3.1. */
  private discover(m: DhcpRepr): void {
    const now = this.stack.now();
    const client = clientKey(m);
    const mac = chaddrToMac(m.chaddr);
    const known = this.pool.entryOf(client)?.client === client || this.pool.reservation(client) !== undefined;
    if (!known) {
      if (!this.discovers.take(now)) {
        this.drops.drop('rate-limited');
        return;
      }
      if (this.pool.pendingOffers(now) >= (this.options.maxPendingOffers ?? 32)) {
        this.drops.drop('too-many-offers');
        return;
      }
    }
    if (!this.macMayLease(client, mac, now)) return;
    const address = this.pool.choose(client, m.options.requestedAddress, now);
    if (address === undefined) {
      this.drops.drop('pool-exhausted');
      return;
    }
    // RFC 4039 4: a client asking for rapid commit gets the lease at once, if this server allows it.
    if (m.options.rapidCommit === true && this.options.rapidCommit === true) {
      this.bindAndAck(m, client, mac, address, { rapidCommit: true });
      return;
    }
    this.pool.offer(client, mac, address, now + (this.options.offerHold ?? DEFAULT_OFFER_HOLD));
    this.sweep();
    this.reply(m, DHCP_MESSAGE_TYPE.offer, address, this.leaseOptions());
  }

  /** RFC 2131 4.3.2: REQUEST in SELECTING, INIT-REBOOT, RENEWING or REBINDING. */
  private request(m: DhcpRepr): void {
    const now = this.stack.now();
    const client = clientKey(m);
    const mac = chaddrToMac(m.chaddr);
    const o = m.options;
    const entry = this.pool.entryOf(client);
    if (o.serverId !== undefined) {
      // SELECTING: the client took the offer of `serverId`.
      if (o.serverId !== this.address.addr) {
        if (entry !== undefined) this.pool.withdraw(entry, now);
        this.stack.counters.add('dhcp.server.other-server-chosen');
        return;
      }
      const requested = o.requestedAddress ?? m.ciaddr;
      const held = entry !== undefined && entry.address === requested && entry.state !== 'free';
      if (held && this.pool.canGive(client, requested, now)) this.bindAndAck(m, client, mac, requested);
      else this.nak(m, 'address not offered to this client');
      return;
    }
    const requested = m.ciaddr !== 0 ? m.ciaddr : o.requestedAddress;
    if (requested === undefined) {
      this.drops.drop('unexpected');
      return;
    }
    if (!sameSubnet(this.address, requested)) {
      // The client moved to another network (RFC 2131 4.3.2, INIT-REBOOT).
      this.nak(m, 'wrong network');
      return;
    }
    const mine = entry !== undefined && entry.address === requested;
    if (m.ciaddr === 0 && !mine) {
      // INIT-REBOOT: a client of another record gets NAK; one the server has no record of, silence.
      if (entry !== undefined) this.nak(m, 'not your address');
      else this.drops.drop('not-our-lease');
      return;
    }
    if (!this.pool.canGive(client, requested, now)) {
      this.nak(m, 'address in use');
      return;
    }
    // RENEWING or REBINDING (or INIT-REBOOT of our own lease): extend it. A server that lost its
    // leases (no store) accepts a renewal of a free address of its pool rather than cut the client off.
    if (!mine && !this.macMayLease(client, mac, now)) return;
    this.bindAndAck(m, client, mac, requested);
  }

  /** RFC 2131 4.3.3: the client found the address in use. */
  private decline(m: DhcpRepr): void {
    const entry = this.pool.entryOf(clientKey(m));
    if (
      m.options.serverId !== this.address.addr ||
      entry === undefined ||
      entry.address !== m.options.requestedAddress
    ) {
      this.drops.drop('not-our-lease');
      return;
    }
    this.stack.counters.add('dhcp.server.declined');
    this.pool.decline(entry, this.stack.now() + (this.options.declineHold ?? DEFAULT_DECLINE_HOLD));
    this.changed();
  }

  /** RFC 2131 4.3.4. */
  private release(m: DhcpRepr): void {
    const entry = this.pool.entryOf(clientKey(m));
    if (entry === undefined || entry.address !== m.ciaddr || entry.state !== 'bound') {
      this.drops.drop('not-our-lease');
      return;
    }
    this.stack.counters.add('dhcp.server.released');
    this.pool.release(entry, this.stack.now());
    this.changed();
  }

  // ---- replying ----

  private bindAndAck(
    m: DhcpRepr,
    client: string,
    mac: MacAddr,
    address: Ipv4Addr,
    extra: DhcpOptions = {},
  ): void {
    const now = this.stack.now();
    const until =
      this.leaseTime === INFINITE_LEASE ? Number.POSITIVE_INFINITY : now + this.leaseTime * SECOND;
    const hostName = this.pool.reservation(client)?.hostName ?? m.options.hostName;
    this.pool.bind(client, mac, address, until, hostName);
    this.stack.counters.add('dhcp.server.leases');
    this.changed();
    this.reply(m, DHCP_MESSAGE_TYPE.ack, address, { ...this.leaseOptions(), ...extra });
  }

  private nak(m: DhcpRepr, message: string): void {
    this.reply(m, DHCP_MESSAGE_TYPE.nak, 0, { message });
  }

  /** Lease times (RFC 2131 4.4.5's T1 and T2 defaults, stated) for OFFER and ACK. */
  private leaseOptions(): DhcpOptions {
    const t = this.leaseTime;
    if (t === INFINITE_LEASE) return { leaseTime: t };
    return { leaseTime: t, renewalTime: Math.floor(t * 0.5), rebindingTime: Math.floor(t * 0.875) };
  }

  /**
   * Sends a BOOTREPLY (RFC 2131 table 3). OFFER and ACK carry the configuration; NAK only the
   * server identifier and a message. The client identifier is echoed (RFC 6842).
   */
  private reply(m: DhcpRepr, type: number, yiaddr: Ipv4Addr, specific: DhcpOptions): void {
    const o = this.options;
    const options: DhcpOptions = { messageType: type, serverId: this.address.addr, ...specific };
    if (type !== DHCP_MESSAGE_TYPE.nak) {
      options.subnetMask = ipv4Mask(this.address.prefixLen);
      if (this.address.broadcast !== undefined) options.broadcastAddress = this.address.broadcast;
      if (o.routers !== undefined && o.routers.length > 0) options.routers = o.routers;
      if (o.dnsServers !== undefined && o.dnsServers.length > 0) options.dnsServers = o.dnsServers;
      if (o.domainName !== undefined) options.domainName = o.domainName;
      if (o.domainSearch !== undefined && o.domainSearch.length > 0) options.domainSearch = o.domainSearch;
      if (o.mtu !== undefined) options.interfaceMtu = o.mtu;
      // RFC 3442: only to clients that ask for it.
      if (
        o.classlessRoutes !== undefined &&
        m.options.parameterRequestList?.includes(DHCP_OPTION.classlessRoutes)
      )
        options.classlessRoutes = o.classlessRoutes;
      const client = clientKey(m);
      const hostName = this.pool.reservation(client)?.hostName;
      if (hostName !== undefined) options.hostName = hostName;
    }
    if (m.options.clientId !== undefined) options.clientId = m.options.clientId;
    const repr: DhcpRepr = {
      op: BOOTREPLY,
      htype: m.htype,
      hops: 0,
      xid: m.xid,
      secs: 0,
      broadcast: m.broadcast,
      ciaddr: type === DHCP_MESSAGE_TYPE.nak ? 0 : m.ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: 0,
      chaddr: m.chaddr,
      sname: '',
      file: '',
      options,
    };
    const dst = this.destination(m, type, yiaddr);
    this.stack.counters.add(`dhcp.server.tx.${messageName(type)}`);
    try {
      this.socket!.send(emitDhcp(repr).bytes(), dst, DHCP_CLIENT_PORT);
    } catch {
      this.stack.counters.add('dhcp.server.tx.errors');
    }
  }

  /** RFC 2131 4.1 (giaddr is always 0 here: relayed messages were dropped). */
  private destination(m: DhcpRepr, type: number, yiaddr: Ipv4Addr): Ipv4Addr {
    if (type === DHCP_MESSAGE_TYPE.nak) return IPV4_BROADCAST;
    if (m.ciaddr !== 0) return m.ciaddr;
    if (m.broadcast || yiaddr === 0) return IPV4_BROADCAST;
    // The client cannot answer ARP for yiaddr yet: tell the ARP table where it is.
    this.stack.arp.table.update(this.iface, yiaddr, chaddrToMac(m.chaddr), {
      solicited: false,
      create: true,
    });
    return yiaddr;
  }

  // ---- leases over time ----

  /** A client may take one more lease under this MAC address; counts the refusal. */
  private macMayLease(client: string, mac: MacAddr, now: Instant): boolean {
    const entry = this.pool.entryOf(client);
    if (entry?.state === 'bound' && entry.expires > now) return true;
    if (this.pool.leasesOfMac(mac, now) < (this.options.maxLeasesPerMac ?? 2)) return true;
    this.drops.drop('too-many-leases');
    return false;
  }

  /** A lease changed: save, and move the expiry timer. */
  private changed(): void {
    this.options.store?.save(this.pool.snapshot(this.stack.now()));
    this.sweep();
  }

  /** Expires what is due (RFC 2131 4.2: the address returns to the pool), then waits for the next. */
  private sweep(): void {
    const { expired, next } = this.pool.sweep(this.stack.now());
    if (expired.length > 0) {
      this.stack.counters.add('dhcp.server.expired', expired.length);
      this.options.store?.save(this.pool.snapshot(this.stack.now()));
    }
    if (Number.isFinite(next)) this.stack.schedule(this.sweepTimer, next);
    else this.stack.cancel(this.sweepTimer);
  }
}

function sameSubnet(a: Ipv4InterfaceAddress, addr: Ipv4Addr): boolean {
  return ((a.addr ^ addr) & ipv4Mask(a.prefixLen)) === 0;
}
