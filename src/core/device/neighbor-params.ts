/**
 * Neighbor unreachability detection timing (RFC 4861 10 "Protocol Constants", the values Linux
 * uses for ARP too). Shared by ARP and, later, NDP.
 */
import { SECOND } from '../time.ts';

export interface NeighborParams {
  /** Base reachable time; each entry draws a value in [0.5, 1.5] times this (RFC 4861 6.3.2). */
  baseReachableTime: number;
  /** Time between solicitations while resolving or probing (RETRANS_TIMER). */
  retransTimer: number;
  /** Solicitations sent while resolving before giving up (MAX_MULTICAST_SOLICIT). */
  multicastSolicit: number;
  /** Unicast probes before declaring the neighbor unreachable (MAX_UNICAST_SOLICIT). */
  unicastSolicit: number;
  /** Wait for an upper-layer confirmation before probing (DELAY_FIRST_PROBE_TIME). */
  delayFirstProbe: number;
  /** How long a FAILED entry stays, answering "unreachable" at once, before it is removed. */
  failedLifetime: number;
  /** How long an unused STALE entry stays before it is removed (Linux gc_stale_time). */
  staleLifetime: number;
  /** Entries in the table at most (Linux gc_thresh3). */
  maxEntries: number;
  /** Bytes of packets queued per entry while resolving (Linux unres_qlen_bytes). */
  maxQueuedBytesPerEntry: number;
  /** Bytes of packets queued across the table while resolving. */
  maxQueuedBytesTotal: number;
}

export const DEFAULT_NEIGHBOR_PARAMS: NeighborParams = {
  baseReachableTime: 30 * SECOND,
  retransTimer: 1 * SECOND,
  multicastSolicit: 3,
  unicastSolicit: 3,
  delayFirstProbe: 5 * SECOND,
  failedLifetime: 3 * SECOND,
  staleLifetime: 60 * SECOND,
  maxEntries: 1024,
  maxQueuedBytesPerEntry: 212_992,
  maxQueuedBytesTotal: 1 << 20,
};
