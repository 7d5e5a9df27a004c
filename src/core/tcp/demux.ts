/**
 * Finding the connection a segment belongs to, for both IP families: O(1) by the 4-tuple (a
 * two-level Map keyed by the local and the remote address and port), and listeners by local port
 * with Linux's rules (the port table UDP uses): an address-specific listener beats a wildcard one,
 * a listener bound to the receiving device beats one that is not, for IPv4 an IPv4 listener beats a
 * dual-stack IPv6 one; a dual-stack `::` listener also takes IPv4 (RFC 3493 3.7), an IPV6_V6ONLY
 * one does not and so shares its port with an IPv4 listener.
 */
import type { NetworkInterface } from '../device/interface.ts';
import { type IpAddr, type IpFamily, ipAny } from '../ip-address.ts';
import { type PortBinding, PortTable } from '../udp/port-table.ts';

/**
 * A key for an address and a port: a 48-bit number for IPv4 (exact in a double, no allocation),
 * a 9-character string for IPv6 (the eight 16-bit groups and the port as UTF-16 code units).
 */
function key(addr: IpAddr, port: number): number | string {
  if (typeof addr === 'number') return (addr >>> 0) * 0x10000 + port;
  return String.fromCharCode(
    (addr[0]! << 8) | addr[1]!,
    (addr[2]! << 8) | addr[3]!,
    (addr[4]! << 8) | addr[5]!,
    (addr[6]! << 8) | addr[7]!,
    (addr[8]! << 8) | addr[9]!,
    (addr[10]! << 8) | addr[11]!,
    (addr[12]! << 8) | addr[13]!,
    (addr[14]! << 8) | addr[15]!,
    port,
  );
}

/** Connections by their 4-tuple as on the wire (both addresses of one family, never mapped). */
export class ConnectionTable<C> {
  private readonly byLocal = new Map<number | string, Map<number | string, C>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number): C | undefined {
    return this.byLocal.get(key(localAddr, localPort))?.get(key(remoteAddr, remotePort));
  }

  has(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number): boolean {
    return this.get(localAddr, localPort, remoteAddr, remotePort) !== undefined;
  }

  set(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number, c: C): void {
    const k = key(localAddr, localPort);
    let inner = this.byLocal.get(k);
    if (inner === undefined) {
      inner = new Map();
      this.byLocal.set(k, inner);
    }
    const rk = key(remoteAddr, remotePort);
    if (!inner.has(rk)) this.count++;
    inner.set(rk, c);
  }

  delete(localAddr: IpAddr, localPort: number, remoteAddr: IpAddr, remotePort: number, c: C): void {
    const k = key(localAddr, localPort);
    const inner = this.byLocal.get(k);
    const rk = key(remoteAddr, remotePort);
    if (inner === undefined || inner.get(rk) !== c) return;
    inner.delete(rk);
    this.count--;
    if (inner.size === 0) this.byLocal.delete(k);
  }

  /** Every connection, for socket tables and tests. */
  *values(): IterableIterator<C> {
    for (const inner of this.byLocal.values()) yield* inner.values();
  }
}

/** What the listener table needs to know of a listener. */
export interface BoundListener {
  readonly family: IpFamily;
  /** IPV6_V6ONLY: an IPv6 listener that takes no IPv4 connections. */
  readonly v6Only: boolean;
  /** The bound address in the listener's family (the wildcard: every one; mapped: an IPv4 one). */
  readonly address: IpAddr;
  readonly port: number;
  /** SO_BINDTODEVICE. */
  readonly device: NetworkInterface | undefined;
}

type Entry<L> = PortBinding & { readonly listener: L };

function binding(l: BoundListener): PortBinding {
  return {
    family: l.family,
    v6Only: l.v6Only,
    localAddress: l.address,
    localPort: l.port,
    remoteAddress: ipAny(l.family),
    remotePort: 0,
    boundDevice: l.device,
    // Listeners never share an address and port (as Linux without SO_REUSEPORT).
    reuseAddr: false,
    reusePort: false,
  };
}

/** Listeners by local port (one port space for both families). */
export class ListenerTable<L extends BoundListener> {
  private readonly table = new PortTable<Entry<L>>(() => 0);
  private readonly entries = new Map<L, Entry<L>>();
  private readonly ports = new Map<number, number>();

  /** The listener for a segment from `src` to `dst`:`port` (wire addresses) that came in on `iface`. */
  lookup(src: IpAddr, dst: IpAddr, port: number, iface: NetworkInterface | undefined): L | undefined {
    return this.table.lookup({ src, srcPort: 0, dst, dstPort: port, iface })?.listener;
  }

  /** Whether `l` would clash with a listener already there (the addresses overlap in a family). */
  conflicts(l: BoundListener): boolean {
    return this.table.conflicts(l.port, binding(l));
  }

  hasPort(port: number): boolean {
    return this.ports.has(port);
  }

  add(l: L): void {
    const e: Entry<L> = { ...binding(l), listener: l };
    this.entries.set(l, e);
    this.table.add(e);
    this.ports.set(l.port, (this.ports.get(l.port) ?? 0) + 1);
  }

  remove(l: L): void {
    const e = this.entries.get(l);
    if (e === undefined) return;
    this.entries.delete(l);
    this.table.remove(e);
    const n = (this.ports.get(l.port) ?? 1) - 1;
    if (n === 0) this.ports.delete(l.port);
    else this.ports.set(l.port, n);
  }
}
