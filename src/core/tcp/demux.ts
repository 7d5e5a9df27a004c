/**
 * Finding the connection a segment belongs to: O(1) by the 4-tuple (two-level map keyed by
 * numbers, no allocation per lookup), and listeners by local port (an address-specific listener
 * wins over a wildcard one, as in Linux).
 */
import type { Ipv4Addr } from '../../wire/address.ts';

/** A 48-bit key made of an address and a port (exact in a double). */
function key(addr: Ipv4Addr, port: number): number {
  return (addr >>> 0) * 0x10000 + port;
}

export class ConnectionTable<C> {
  private readonly byLocal = new Map<number, Map<number, C>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(localAddr: Ipv4Addr, localPort: number, remoteAddr: Ipv4Addr, remotePort: number): C | undefined {
    return this.byLocal.get(key(localAddr, localPort))?.get(key(remoteAddr, remotePort));
  }

  has(localAddr: Ipv4Addr, localPort: number, remoteAddr: Ipv4Addr, remotePort: number): boolean {
    return this.get(localAddr, localPort, remoteAddr, remotePort) !== undefined;
  }

  set(localAddr: Ipv4Addr, localPort: number, remoteAddr: Ipv4Addr, remotePort: number, c: C): void {
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

  delete(localAddr: Ipv4Addr, localPort: number, remoteAddr: Ipv4Addr, remotePort: number, c: C): void {
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

export interface BoundListener {
  readonly address: Ipv4Addr;
  readonly port: number;
}

/** Listeners by local port; address 0 is the wildcard. */
export class ListenerTable<L extends BoundListener> {
  private readonly byPort = new Map<number, L[]>();

  /** The listener for a segment to `addr`:`port`: the one bound to `addr`, else the wildcard. */
  lookup(addr: Ipv4Addr, port: number): L | undefined {
    const list = this.byPort.get(port);
    if (list === undefined) return undefined;
    let wildcard: L | undefined;
    for (const l of list) {
      if (l.address === addr) return l;
      if (l.address === 0) wildcard = l;
    }
    return wildcard;
  }

  /** Whether a listener already uses `addr`:`port` (the wildcard conflicts with everything). */
  conflicts(addr: Ipv4Addr, port: number): boolean {
    const list = this.byPort.get(port);
    return list?.some((l) => l.address === addr || l.address === 0 || addr === 0) ?? false;
  }

  hasPort(port: number): boolean {
    return this.byPort.has(port);
  }

  add(l: L): void {
    const list = this.byPort.get(l.port);
    if (list === undefined) this.byPort.set(l.port, [l]);
    else list.push(l);
  }

  remove(l: L): void {
    const list = this.byPort.get(l.port);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== l);
    if (rest.length === 0) this.byPort.delete(l.port);
    else this.byPort.set(l.port, rest);
  }
}
