/**
 * The table of bound UDP sockets of both families: found in O(1) by local port (a Map), then by
 * the most specific match among the few sockets sharing that port, as Linux's `compute_score`
 * does: a connected socket (remote address and port) beats a socket bound to the destination
 * address, which beats a wildcard one; a socket bound to the receiving device beats one that is
 * not; for IPv4 datagrams an IPv4 socket beats a dual-stack IPv6 one.
 *
 * One port space serves both families, as in Linux: a dual-stack IPv6 socket (not IPV6_V6ONLY)
 * bound to `::` also receives IPv4 datagrams (as IPv4-mapped addresses) and so clashes with an
 * IPv4 socket on the same port; one bound to `::ffff:a.b.c.d` is an IPv4 binding of `a.b.c.d`.
 */
import { type Ipv4Addr, type Ipv6Addr, ipv6Equal, ipv6IsUnspecified } from '../../wire/address.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { type IpAddr, type IpFamily, ipAsV4, isV4Mapped } from '../ip-address.ts';

/** What the table needs to know about a socket. Addresses are the wildcard when unset. */
export interface PortBinding {
  readonly family: IpFamily;
  /** IPV6_V6ONLY: an IPv6 socket that takes no IPv4 datagrams. */
  readonly v6Only: boolean;
  readonly localAddress: IpAddr;
  readonly localPort: number;
  readonly remoteAddress: IpAddr;
  /** 0 when not connected. */
  readonly remotePort: number;
  readonly boundDevice: NetworkInterface | undefined;
  readonly reuseAddr: boolean;
  readonly reusePort: boolean;
}

/**
 * The addressing of a received datagram (or, reversed, of one we sent, for ICMP errors). `src`
 * and `dst` are of the packet's family: numbers for IPv4, 16 bytes for IPv6.
 */
export interface Endpoints {
  src: IpAddr;
  srcPort: number;
  dst: IpAddr;
  dstPort: number;
  /** The receiving interface; undefined matches any bound device. */
  iface: NetworkInterface | undefined;
}

type Candidate = Omit<PortBinding, 'localPort' | 'remoteAddress' | 'remotePort'>;
/** What decides whether two bindings' addresses overlap. */
export type Addressing = Pick<PortBinding, 'family' | 'v6Only' | 'localAddress'>;

export class PortTable<B extends PortBinding> {
  private readonly byPort = new Map<number, B[]>();

  /** @param hashTuple picks among SO_REUSEPORT sockets: a keyed hash of the 4-tuple. */
  constructor(private readonly hashTuple: (e: Endpoints) => number) {}

  add(b: B): void {
    const list = this.byPort.get(b.localPort);
    if (list === undefined) this.byPort.set(b.localPort, [b]);
    else list.push(b);
  }

  remove(b: B): void {
    const list = this.byPort.get(b.localPort);
    const i = list?.indexOf(b) ?? -1;
    if (list === undefined || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byPort.delete(b.localPort);
  }

  /**
   * True when binding `port` with `candidate`'s address, device and options would clash with a
   * socket already there: the addresses they receive on overlap in either family (equal, or
   * either is that family's wildcard) and so do their devices, unless both set SO_REUSEADDR or
   * both set SO_REUSEPORT.
   */
  conflicts(port: number, candidate: Candidate): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    for (const b of list) {
      if (b === candidate) continue;
      const devices =
        b.boundDevice === undefined ||
        candidate.boundDevice === undefined ||
        b.boundDevice === candidate.boundDevice;
      const shared = (b.reuseAddr && candidate.reuseAddr) || (b.reusePort && candidate.reusePort);
      if (devices && !shared && addressesOverlap(b, candidate)) return true;
    }
    return false;
  }

  /**
   * The one socket a unicast datagram goes to: the best score; among equals, the most recently
   * bound (as in Linux), or, when it set SO_REUSEPORT, one of the equals that set it too, chosen
   * by a hash of the 4-tuple so that a flow always reaches the same socket.
   */
  lookup(e: Endpoints): B | undefined {
    const list = this.byPort.get(e.dstPort);
    if (list === undefined) return undefined;
    let bestScore = -1;
    let best: B | undefined;
    let ties = 0;
    for (const b of list) {
      const s = score(b, e);
      if (s < 0 || s < bestScore) continue;
      ties = s === bestScore ? ties + 1 : 1;
      bestScore = s;
      best = b;
    }
    if (best === undefined || ties === 1 || !best.reusePort) return best;
    const group = list.filter((b) => b.reusePort && score(b, e) === bestScore);
    return group[this.hashTuple(e) % group.length];
  }

  /** Every socket a broadcast or multicast datagram goes to (RFC 1122 4.1.3.5 does not restrict). */
  matchAll(e: Endpoints): B[] {
    return this.byPort.get(e.dstPort)?.filter((b) => score(b, e) >= 0) ?? [];
  }
}

/** The IPv4 address a binding receives on (0: every one), undefined when it takes no IPv4. */
function v4Local(b: Addressing): Ipv4Addr | undefined {
  if (b.family === 4) return b.localAddress as Ipv4Addr;
  return b.v6Only ? undefined : ipAsV4(b.localAddress);
}

/** The IPv6 address a binding receives on (`::`: every one), undefined when it takes no IPv6. */
function v6Local(b: Addressing): Ipv6Addr | undefined {
  if (b.family === 4) return undefined;
  const a = b.localAddress as Ipv6Addr;
  return isV4Mapped(a) ? undefined : a;
}

/** Whether two bindings share an address of either family (a dual-stack `::` holds every IPv4 one). */
export function addressesOverlap(a: Addressing, b: Addressing): boolean {
  const a4 = v4Local(a);
  const b4 = v4Local(b);
  if (a4 !== undefined && b4 !== undefined && (a4 === 0 || b4 === 0 || a4 === b4)) return true;
  const a6 = v6Local(a);
  const b6 = v6Local(b);
  return (
    a6 !== undefined &&
    b6 !== undefined &&
    (ipv6IsUnspecified(a6) || ipv6IsUnspecified(b6) || ipv6Equal(a6, b6))
  );
}

/** How well `b` matches `e`: -1 when it does not; higher is more specific. */
function score(b: PortBinding, e: Endpoints): number {
  let s = 0;
  if (typeof e.dst === 'number') {
    const local = v4Local(b);
    if (local === undefined) return -1;
    if (local !== 0) {
      if (local !== e.dst) return -1;
      s += 4;
    }
    if (b.remotePort !== 0) {
      if (ipAsV4(b.remoteAddress) !== e.src || b.remotePort !== e.srcPort) return -1;
      s += 8;
    }
    if (b.family === 4) s += 1;
  } else {
    const local = v6Local(b);
    if (local === undefined) return -1;
    if (!ipv6IsUnspecified(local)) {
      if (!ipv6Equal(local, e.dst)) return -1;
      s += 4;
    }
    if (b.remotePort !== 0) {
      const remote = b.remoteAddress;
      if (typeof remote === 'number' || !ipv6Equal(remote, e.src as Ipv6Addr) || b.remotePort !== e.srcPort)
        return -1;
      s += 8;
    }
  }
  if (b.boundDevice !== undefined && e.iface !== undefined) {
    if (b.boundDevice !== e.iface) return -1;
    s += 2;
  }
  return s;
}
