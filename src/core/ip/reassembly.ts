/**
 * Fragment reassembly shared by IPv4 (RFC 791 3.2, RFC 815) and IPv6 (RFC 8200 4.5).
 *
 * - Fragments of one datagram are kept sorted by offset; a fragment that overlaps another is a
 *   sign of an attack (RFC 5722 for IPv6; Linux applies the same rule to IPv4), so the whole
 *   datagram is dropped; an exact duplicate is ignored.
 * - Each datagram has a timer; when it fires the datagram is dropped and, if its first fragment
 *   was seen, the owner is told (ICMP time exceeded, "fragment reassembly time exceeded").
 * - Memory is bounded: bytes held across all datagrams, and the number of datagrams. When a new
 *   fragment would pass a bound, the oldest datagrams are evicted first. Each fragment is charged
 *   its payload plus a fixed overhead (like Linux's truesize), so a flood of tiny fragments cannot
 *   hold more memory than the byte bound says.
 */
import type { DropCounters } from '../counters.ts';
import type { Stack } from '../stack.ts';
import type { Duration } from '../time.ts';
import type { Timer } from '../timers.ts';

export interface ReassemblyLimits {
  /** How long a datagram may take to complete. */
  timeout: Duration;
  /** Bytes held across all datagrams: payload plus `FRAGMENT_OVERHEAD` per fragment. */
  maxBytes: number;
  /** Datagrams being reassembled at once. */
  maxDatagrams: number;
  /**
   * Largest reassembled packet, counting the header passed with the first fragment (65535 for
   * IPv4, whose total length counts the header; for IPv6, 65535 plus the 40-byte fixed header).
   */
  maxPacket: number;
}

/** What holding one fragment costs beyond its payload (object, array and list slot). */
export const FRAGMENT_OVERHEAD = 64;

export type ReassemblyDropReason =
  | 'overlap'
  | 'too-big'
  | 'inconsistent-end'
  | 'bad-length'
  | 'timeout'
  | 'evicted'
  | 'memory';

interface Fragment {
  offset: number;
  data: Uint8Array;
}

interface Datagram {
  key: string;
  fragments: Fragment[];
  /** Total payload length, known once the last fragment (no "more fragments") arrived. */
  total: number;
  /** Payload bytes held. */
  bytes: number;
  /** Bytes charged against `maxBytes`: payload plus overhead. */
  charged: number;
  /** The first fragment's header, kept for building the whole packet and for ICMP errors. */
  firstHeader: Uint8Array | undefined;
  timer: Timer;
}

export interface Reassembled {
  /** The header of the fragment at offset 0 (a copy). */
  firstHeader: Uint8Array;
  /** The whole payload. */
  payload: Uint8Array;
}

export class Reassembler {
  private readonly datagrams = new Map<string, Datagram>();
  private bytes = 0;

  constructor(
    private readonly stack: Stack,
    private readonly limits: ReassemblyLimits,
    private readonly drops: DropCounters<ReassemblyDropReason>,
    /** Called when a datagram whose first fragment was seen times out, with that fragment. */
    private readonly onTimeout: (firstHeader: Uint8Array, firstData: Uint8Array) => void,
  ) {}

  /** Datagrams in progress and bytes charged (for tests and `ss`-like reports). */
  get usage(): { datagrams: number; bytes: number } {
    return { datagrams: this.datagrams.size, bytes: this.bytes };
  }

  /**
   * Adds one fragment. `header` is the fragment's network header, kept when `offset` is 0.
   * Returns the whole datagram when this fragment completes it.
   */
  insert(
    key: string,
    offset: number,
    more: boolean,
    data: Uint8Array,
    header: Uint8Array,
  ): Reassembled | undefined {
    const end = offset + data.length;
    // RFC 791 3.2: every fragment but the last carries a multiple of 8 octets; an empty one
    // carries nothing and would only hold memory.
    if (more && (data.length === 0 || data.length % 8 !== 0)) {
      this.drop(key, 'bad-length');
      return undefined;
    }
    if (header.length + end > this.limits.maxPacket) {
      this.drop(key, 'too-big');
      return undefined;
    }
    const cost = data.length + FRAGMENT_OVERHEAD;
    let d = this.datagrams.get(key);
    if (d === undefined) {
      if (!this.makeRoom(cost)) return undefined;
      d = this.create(key);
    } else if (!this.makeRoom(cost, d)) {
      return undefined;
    }
    // RFC 8200 4.5: a fragment past a known end, a second, different end, or an end before data
    // already held is inconsistent.
    if (
      (!more && d.total >= 0 && d.total !== end) ||
      (d.total >= 0 && end > d.total) ||
      (!more && end < heldEnd(d))
    ) {
      this.discard(d, 'inconsistent-end');
      return undefined;
    }
    const placed = this.place(d, offset, data);
    if (placed === 'overlap') {
      this.discard(d, 'overlap');
      return undefined;
    }
    if (placed === 'duplicate') return undefined;
    if (!more) d.total = end;
    if (offset === 0) d.firstHeader = header.slice();
    // The first fragment's header (with its options) may be longer than the one checked above.
    if (
      d.firstHeader !== undefined &&
      d.total >= 0 &&
      d.firstHeader.length + d.total > this.limits.maxPacket
    ) {
      this.discard(d, 'too-big');
      return undefined;
    }
    if (d.total < 0 || d.bytes !== d.total || d.firstHeader === undefined) return undefined;
    return this.complete(d);
  }

  private create(key: string): Datagram {
    const d: Datagram = {
      key,
      fragments: [],
      total: -1,
      bytes: 0,
      charged: 0,
      firstHeader: undefined,
      timer: this.stack.createTimer(() => this.expire(key)),
    };
    this.datagrams.set(key, d);
    this.stack.schedule(d.timer, this.stack.now() + this.limits.timeout);
    return d;
  }

  /** Inserts in offset order; reports overlaps (exact duplicates are harmless). */
  private place(d: Datagram, offset: number, data: Uint8Array): 'placed' | 'duplicate' | 'overlap' {
    const end = offset + data.length;
    const list = d.fragments;
    let i = 0;
    while (i < list.length && list[i]!.offset < offset) i++;
    const prev = list[i - 1];
    const next = list[i];
    if (next !== undefined && next.offset === offset && next.data.length === data.length) return 'duplicate';
    if (prev !== undefined && prev.offset + prev.data.length > offset) return 'overlap';
    if (next !== undefined && next.offset < end) return 'overlap';
    list.splice(i, 0, { offset, data: data.slice() });
    d.bytes += data.length;
    d.charged += data.length + FRAGMENT_OVERHEAD;
    this.bytes += data.length + FRAGMENT_OVERHEAD;
    return 'placed';
  }

  private complete(d: Datagram): Reassembled {
    const payload = new Uint8Array(d.total);
    for (const f of d.fragments) payload.set(f.data, f.offset);
    const firstHeader = d.firstHeader!;
    this.remove(d);
    return { firstHeader, payload };
  }

  /** Evicts the oldest datagrams until `size` more bytes and (for a new one) a slot fit. */
  private makeRoom(size: number, current?: Datagram): boolean {
    if (size > this.limits.maxBytes) {
      this.drops.drop('memory');
      return false;
    }
    while (
      this.bytes + size > this.limits.maxBytes ||
      (current === undefined && this.datagrams.size >= this.limits.maxDatagrams)
    ) {
      const oldest = this.datagrams.values().next().value as Datagram | undefined;
      if (oldest === undefined) break;
      if (oldest === current) {
        this.discard(oldest, 'memory');
        return false;
      }
      this.discard(oldest, 'evicted');
    }
    return true;
  }

  private expire(key: string): void {
    const d = this.datagrams.get(key);
    if (d === undefined) return;
    this.discard(d, 'timeout');
    const first = d.fragments[0];
    if (d.firstHeader !== undefined && first?.offset === 0) this.onTimeout(d.firstHeader, first.data);
  }

  private drop(key: string, reason: ReassemblyDropReason): void {
    const d = this.datagrams.get(key);
    if (d !== undefined) this.discard(d, reason);
    else this.drops.drop(reason);
  }

  private discard(d: Datagram, reason: ReassemblyDropReason): void {
    this.drops.drop(reason);
    this.remove(d);
  }

  private remove(d: Datagram): void {
    this.stack.cancel(d.timer);
    this.bytes -= d.charged;
    this.datagrams.delete(d.key);
  }
}

/** Where the data held for `d` ends (0 when nothing is held). */
function heldEnd(d: Datagram): number {
  const last = d.fragments[d.fragments.length - 1];
  return last === undefined ? 0 : last.offset + last.data.length;
}
