/**
 * The local ports that stream sockets of this API took with bind (or listen's implicit bind): the
 * core has connections and listeners but no "bound, not yet listening" state, so the conflicts a
 * bind must refuse are found here, with Linux's rule (inet_csk_bind_conflict): two sockets on one
 * port clash when their addresses overlap (equal, or either is the wildcard), unless both set
 * SO_REUSEPORT, or both set SO_REUSEADDR and the one already there is not listening. Addresses
 * overlap across families as the core's port table says (a dual-stack `::` holds IPv4 too).
 */

import { type IpAddr, ipFamily } from '../../core/ip-address.ts';
import type { EphemeralPorts } from '../../core/udp/ephemeral-ports.ts';
import { addressesOverlap } from '../../core/udp/port-table.ts';

export interface TcpBinding {
  /** In the socket's family (IPv4 binds of an AF_INET6 socket as mapped addresses). */
  readonly localAddress: IpAddr;
  /** IPV6_V6ONLY. */
  readonly v6Only: boolean;
  readonly localPort: number;
  readonly reuseAddr: boolean;
  readonly reusePort: boolean;
  readonly listening: boolean;
}

export class TcpBindTable {
  private readonly byPort = new Map<number, Set<TcpBinding>>();

  /** Whether binding `port` on `addr` (`v6Only`) with these options clashes with a socket there. */
  conflicts(
    addr: IpAddr,
    v6Only: boolean,
    port: number,
    reuseAddr: boolean,
    reusePort: boolean,
    self?: TcpBinding,
  ): boolean {
    const mine = { family: ipFamily(addr), v6Only, localAddress: addr };
    for (const b of this.byPort.get(port) ?? []) {
      if (b === self) continue;
      const theirs = { family: ipFamily(b.localAddress), v6Only: b.v6Only, localAddress: b.localAddress };
      if (!addressesOverlap(mine, theirs)) continue;
      if (reusePort && b.reusePort) continue;
      if (reuseAddr && b.reuseAddr && !b.listening) continue;
      return true;
    }
    return false;
  }

  /** A free port for `addr` from the ephemeral range (RFC 6056 3.3.1), or undefined. */
  ephemeral(
    ports: EphemeralPorts,
    addr: IpAddr,
    v6Only: boolean,
    reuseAddr: boolean,
    reusePort: boolean,
  ): number | undefined {
    return ports.random((p) => !this.conflicts(addr, v6Only, p, reuseAddr, reusePort));
  }

  add(b: TcpBinding): void {
    let set = this.byPort.get(b.localPort);
    if (set === undefined) {
      set = new Set();
      this.byPort.set(b.localPort, set);
    }
    set.add(b);
  }

  remove(b: TcpBinding): void {
    const set = this.byPort.get(b.localPort);
    if (set === undefined) return;
    set.delete(b);
    if (set.size === 0) this.byPort.delete(b.localPort);
  }
}
