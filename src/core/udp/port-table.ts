/**
 * The table of bound UDP sockets: found in O(1) by local port (a Map), then by the most specific
 * match among the few sockets sharing that port, as Linux's `compute_score` does: a connected
 * socket (remote address and port) beats a socket bound to the destination address, which beats
 * a wildcard one; a socket bound to the receiving device beats one that is not.
 */
import type { Ipv4Addr } from '../../wire/address.ts';
import type { NetworkInterface } from '../device/interface.ts';

/** What the table needs to know about a socket. Addresses and ports are 0 when unset. */
export interface PortBinding {
  readonly localAddress: Ipv4Addr;
  readonly localPort: number;
  readonly remoteAddress: Ipv4Addr;
  readonly remotePort: number;
  readonly boundDevice: NetworkInterface | undefined;
  readonly reuseAddr: boolean;
  readonly reusePort: boolean;
}

/** The addressing of a received datagram (or, reversed, of one we sent, for ICMP errors). */
export interface Endpoints {
  src: Ipv4Addr;
  srcPort: number;
  dst: Ipv4Addr;
  dstPort: number;
  /** The receiving interface; undefined matches any bound device. */
  iface: NetworkInterface | undefined;
}

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
   * socket already there: their addresses overlap (equal, or either is the wildcard) and so do
   * their devices, unless both set SO_REUSEADDR or both set SO_REUSEPORT.
   */
  conflicts(
    port: number,
    candidate: Omit<PortBinding, 'localPort' | 'remoteAddress' | 'remotePort'>,
  ): boolean {
    const list = this.byPort.get(port);
    if (list === undefined) return false;
    for (const b of list) {
      if (b === candidate) continue;
      const addrs =
        b.localAddress === 0 || candidate.localAddress === 0 || b.localAddress === candidate.localAddress;
      const devices =
        b.boundDevice === undefined ||
        candidate.boundDevice === undefined ||
        b.boundDevice === candidate.boundDevice;
      const shared = (b.reuseAddr && candidate.reuseAddr) || (b.reusePort && candidate.reusePort);
      if (addrs && devices && !shared) return true;
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

/** How well `b` matches `e`: -1 when it does not; higher is more specific. */
function score(b: PortBinding, e: Endpoints): number {
  let s = 0;
  if (b.remoteAddress !== 0) {
    if (b.remoteAddress !== e.src || b.remotePort !== e.srcPort) return -1;
    s += 4;
  }
  if (b.localAddress !== 0) {
    if (b.localAddress !== e.dst) return -1;
    s += 2;
  }
  if (b.boundDevice !== undefined && e.iface !== undefined) {
    if (b.boundDevice !== e.iface) return -1;
    s += 1;
  }
  return s;
}
