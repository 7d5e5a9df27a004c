/**
 * A small DHCPv6 server (RFC 8415 18.3) for one link, enough for simulations and small networks:
 * stateless answers (DNS servers and domain list, RFC 3646) to Information-request, and, with a
 * pool, one address per client DUID for IA_NA (Solicit/Advertise, Rapid Commit, Request, Renew,
 * Rebind, Release). A binding lasts the valid lifetime it was last given for (RFC 8415 18.3.4:
 * Renew and Rebind extend it); past that its address goes to the next client that needs one.
 * Bounded by the pool: a client past it gets NoAddrsAvail.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { Stack } from '../../core/stack.ts';
import { type Instant, SECOND } from '../../core/time.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import type { Ipv6Addr } from '../../wire/address.ts';
import {
  DHCPV6_CLIENT_PORT,
  DHCPV6_INFINITY,
  DHCPV6_MSG,
  DHCPV6_SERVER_PORT,
  DHCPV6_STATUS,
  type Dhcpv6Option,
  type Dhcpv6Repr,
  emitDhcpv6,
  findOption,
} from '../../wire/dhcpv6.ts';
import { toHex } from '../dhcp/dhcp-common.ts';
import {
  ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
  bytesEqual,
  duidLl,
  messageName,
  openDhcp6Socket,
  parseReceived,
} from './common.ts';

export interface Dhcpv6ServerOptions {
  /** Addresses to lease: `size` addresses from `first` upwards (no pool: stateless only). */
  pool?: { first: Ipv6Addr; size: number };
  dnsServers?: Ipv6Addr[];
  domains?: string[];
  /** Seconds (defaults 3600 and 7200). */
  preferredLifetime?: number;
  validLifetime?: number;
  /** Seconds; 0 leaves them to the client (RFC 8415 21.4). Defaults 0.5 and 0.8 of preferred. */
  t1?: number;
  t2?: number;
  /** Answer a Solicit with Rapid Commit by a Reply (RFC 8415 18.3.1; default true). */
  rapidCommit?: boolean;
  /** Preference option in Advertise (RFC 8415 21.8). */
  preference?: number;
  /** Information refresh time for stateless clients (RFC 8415 21.23), seconds. */
  informationRefreshTime?: number;
}

type ServerDrop = 'parse' | 'not-for-us' | 'no-client-id' | 'wrong-server-id';

export class Dhcpv6Server {
  /** False to ignore every message (for tests of a server that went away). */
  answering = true;
  readonly duid: Uint8Array;
  /** Bindings: client DUID (hex) -> pool index, and when the valid lifetime given ends. */
  private readonly leases = new Map<string, { index: number; expires: Instant }>();
  private readonly socket: UdpSocket<Ipv6Addr>;
  private readonly drops;

  constructor(
    readonly stack: Stack,
    readonly iface: NetworkInterface,
    private readonly options: Dhcpv6ServerOptions = {},
  ) {
    this.duid = duidLl(iface.mac);
    this.drops = stack.counters.drops<ServerDrop>('dhcp6.server.rx.drop');
    this.socket = openDhcp6Socket(stack, iface, DHCPV6_SERVER_PORT, (d) => this.receive(d));
    this.socket.addMembership(ALL_DHCP_RELAY_AGENTS_AND_SERVERS, iface);
  }

  close(): void {
    this.socket.close();
  }

  /** The address leased to a client DUID, while its valid lifetime lasts. */
  leaseOf(duid: Uint8Array): Ipv6Addr | undefined {
    const lease = this.leases.get(toHex(duid));
    return lease === undefined || lease.expires <= this.stack.now() ? undefined : this.address(lease.index);
  }

  private receive(d: UdpDatagram<Ipv6Addr>): void {
    if (!this.answering) return;
    const m = parseReceived(this.stack, 'server', this.drops, d.data);
    if (m === undefined) return;
    const clientId = findOption(m.options, 'client-id');
    if (clientId === undefined) {
      this.drops.drop('no-client-id');
      return;
    }
    const serverId = findOption(m.options, 'server-id');
    // RFC 8415 16.6, 16.7, 16.12: Request, Renew, Release name their server; Solicit, Rebind and
    // Information-request either name us or no one.
    if (serverId !== undefined && !bytesEqual(serverId.duid, this.duid)) {
      this.drops.drop('wrong-server-id');
      return;
    }
    const ia = m.options.find((o): o is Extract<Dhcpv6Option, { kind: 'ia-na' }> => o.kind === 'ia-na');
    const common: Dhcpv6Option[] = [
      { kind: 'server-id', duid: this.duid },
      { kind: 'client-id', duid: clientId.duid },
    ];
    const answer = (type: number, options: Dhcpv6Option[]) =>
      this.send(d, { type, transactionId: m.transactionId, options: [...common, ...options] });
    switch (m.type) {
      case DHCPV6_MSG.solicit: {
        const rapid =
          this.options.rapidCommit !== false && findOption(m.options, 'rapid-commit') !== undefined;
        const pref =
          this.options.preference !== undefined
            ? [{ kind: 'preference', value: this.options.preference } as const]
            : [];
        answer(rapid ? DHCPV6_MSG.reply : DHCPV6_MSG.advertise, [
          ...(rapid ? [{ kind: 'rapid-commit' } as const] : pref),
          ...this.iaAnswer(clientId.duid, ia),
          ...this.config(),
        ]);
        return;
      }
      case DHCPV6_MSG.request:
      case DHCPV6_MSG.renew:
      case DHCPV6_MSG.rebind:
        if (serverId === undefined && m.type !== DHCPV6_MSG.rebind) {
          this.drops.drop('wrong-server-id');
          return;
        }
        answer(DHCPV6_MSG.reply, [...this.iaAnswer(clientId.duid, ia), ...this.config()]);
        return;
      case DHCPV6_MSG.release:
        this.leases.delete(toHex(clientId.duid));
        answer(DHCPV6_MSG.reply, [{ kind: 'status-code', code: DHCPV6_STATUS.success, message: 'released' }]);
        return;
      case DHCPV6_MSG.informationRequest: {
        const refresh = this.options.informationRefreshTime;
        answer(DHCPV6_MSG.reply, [
          ...this.config(),
          ...(refresh !== undefined ? [{ kind: 'information-refresh-time', seconds: refresh } as const] : []),
        ]);
        return;
      }
      default:
        this.drops.drop('not-for-us');
    }
  }

  private config(): Dhcpv6Option[] {
    const { dnsServers, domains } = this.options;
    return [
      ...(dnsServers !== undefined ? [{ kind: 'dns-servers', servers: dnsServers } as const] : []),
      ...(domains !== undefined ? [{ kind: 'domain-list', domains } as const] : []),
    ];
  }

  /** The IA_NA of the answer: the client's address, or NoAddrsAvail (RFC 8415 18.3.1). */
  private iaAnswer(
    client: Uint8Array,
    ia: Extract<Dhcpv6Option, { kind: 'ia-na' }> | undefined,
  ): Dhcpv6Option[] {
    if (ia === undefined) return [];
    const valid = this.options.validLifetime ?? 7200;
    const index = this.allocate(client, valid);
    if (index === undefined) {
      const status = {
        kind: 'status-code',
        code: DHCPV6_STATUS.noAddrsAvail,
        message: 'no addresses',
      } as const;
      return [{ kind: 'ia-na', iaid: ia.iaid, t1: 0, t2: 0, options: [status] }];
    }
    const preferred = this.options.preferredLifetime ?? 3600;
    return [
      {
        kind: 'ia-na',
        iaid: ia.iaid,
        t1: this.options.t1 ?? Math.floor(preferred * 0.5),
        t2: this.options.t2 ?? Math.floor(preferred * 0.8),
        options: [
          {
            kind: 'ia-addr',
            address: this.address(index),
            preferredLifetime: preferred,
            validLifetime: valid,
            options: [],
          },
        ],
      },
    ];
  }

  /**
   * The client's pool index, its binding (re)made to last `valid` seconds from now; bindings whose
   * valid lifetime is over are let go first, so their addresses can serve again.
   */
  private allocate(client: Uint8Array, valid: number): number | undefined {
    const pool = this.options.pool;
    if (pool === undefined) return undefined;
    const now = this.stack.now();
    for (const [k, lease] of this.leases) if (lease.expires <= now) this.leases.delete(k);
    const expires = valid === DHCPV6_INFINITY ? Number.POSITIVE_INFINITY : now + valid * SECOND;
    const key = toHex(client);
    const known = this.leases.get(key);
    if (known !== undefined) {
      known.expires = expires;
      return known.index;
    }
    const taken = new Set(Array.from(this.leases.values(), (l) => l.index));
    for (let index = 0; index < pool.size; index++) {
      if (!taken.has(index)) {
        this.leases.set(key, { index, expires });
        return index;
      }
    }
    return undefined;
  }

  private address(index: number): Ipv6Addr {
    const a = this.options.pool!.first.slice();
    let carry = index;
    for (let i = 15; i >= 0 && carry > 0; i--) {
      const sum = a[i]! + carry;
      a[i] = sum & 0xff;
      carry = sum >>> 8;
    }
    return a;
  }

  private send(to: UdpDatagram<Ipv6Addr>, repr: Dhcpv6Repr): void {
    try {
      this.socket.send(emitDhcpv6(repr).bytes(), to.address, to.port || DHCPV6_CLIENT_PORT, to.iface);
      this.stack.counters.add(`dhcp6.server.tx.${messageName(repr.type)}`);
    } catch {
      this.stack.counters.add('dhcp6.server.tx.errors');
    }
  }
}
