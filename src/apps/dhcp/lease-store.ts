/**
 * Where a DHCP server keeps its leases between runs. The server hands the store a JSON-able
 * snapshot after every change and reads it back when it starts. Times in a snapshot are what is
 * left of each lease in milliseconds: the core has no wall clock, so a store that outlives the
 * process (src/bindings/node/dhcp-lease-file.ts) turns them into wall-clock instants and back.
 */

/** One bound lease. */
export interface DhcpLeaseRecord {
  /** Dotted quad. */
  address: string;
  /** The client key (`id:<hex>` for a client identifier, `hw:<hex>` for chaddr). */
  client: string;
  /** The client's MAC address, `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  hostName?: string;
  /** Milliseconds left; null for an infinite lease. */
  remaining: number | null;
}

export interface DhcpLeaseSnapshot {
  version: 1;
  leases: DhcpLeaseRecord[];
}

export interface LeaseStore {
  /** The last snapshot saved, or undefined when there is none. */
  load(): DhcpLeaseSnapshot | undefined;
  save(snapshot: DhcpLeaseSnapshot): void;
}

/** A store in memory (tests, or a server that need not survive a restart). */
export class MemoryLeaseStore implements LeaseStore {
  snapshot: DhcpLeaseSnapshot | undefined;
  saves = 0;

  load(): DhcpLeaseSnapshot | undefined {
    return this.snapshot === undefined ? undefined : structuredClone(this.snapshot);
  }

  save(snapshot: DhcpLeaseSnapshot): void {
    this.snapshot = structuredClone(snapshot);
    this.saves++;
  }
}

/**
 * Checks that `value` (e.g. parsed from a file) is a snapshot; returns the records that are
 * well-formed and how many were not.
 */
export function checkSnapshot(value: unknown): { snapshot: DhcpLeaseSnapshot; rejected: number } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { version?: unknown; leases?: unknown };
  if (v.version !== 1 || !Array.isArray(v.leases)) return undefined;
  const leases: DhcpLeaseRecord[] = [];
  for (const r of v.leases as unknown[]) {
    if (isRecord(r)) leases.push(r);
  }
  return { snapshot: { version: 1, leases }, rejected: v.leases.length - leases.length };
}

function isRecord(r: unknown): r is DhcpLeaseRecord {
  if (typeof r !== 'object' || r === null) return false;
  const x = r as Record<string, unknown>;
  return (
    typeof x.address === 'string' &&
    typeof x.client === 'string' &&
    typeof x.mac === 'string' &&
    (x.hostName === undefined || typeof x.hostName === 'string') &&
    (x.remaining === null || (typeof x.remaining === 'number' && Number.isFinite(x.remaining)))
  );
}
