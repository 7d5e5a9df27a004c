/**
 * A DHCP server's leases in a JSON file, so that a restart loses nothing. The file holds each
 * lease's end as wall-clock time (`expiresAt`, ms since the epoch, null when infinite); the core's
 * snapshots hold the time left, converted on the way in and out. Writes go to a temporary file
 * renamed over the old one, so a crash leaves the old file or the new one, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { checkSnapshot, type DhcpLeaseSnapshot, type LeaseStore } from '../../apps/dhcp/lease-store.ts';

interface FileRecord {
  address: string;
  client: string;
  mac: string;
  hostName?: string;
  expiresAt: number | null;
}

export class DhcpLeaseFile implements LeaseStore {
  /** Records of the file that were not well-formed at the last load. */
  rejected = 0;

  constructor(
    readonly path: string,
    /** The wall clock, in ms since the epoch. */
    private readonly now: () => number = Date.now,
  ) {}

  /** The file's leases with the time left of each; undefined when there is no file. */
  load(): DhcpLeaseSnapshot | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const parsed = JSON.parse(text) as { version?: unknown; leases?: unknown };
    const now = this.now();
    const leases = Array.isArray(parsed.leases)
      ? (parsed.leases as Array<Partial<FileRecord>>).map(({ expiresAt, ...rest }) => ({
          ...rest,
          remaining: expiresAt === null ? null : typeof expiresAt === 'number' ? expiresAt - now : undefined,
        }))
      : parsed.leases;
    const checked = checkSnapshot({ version: parsed.version, leases });
    if (checked === undefined)
      throw Object.assign(new Error(`${this.path}: not a lease file`), { code: 'EINVAL' });
    this.rejected = checked.rejected;
    return checked.snapshot;
  }

  save(snapshot: DhcpLeaseSnapshot): void {
    const now = this.now();
    const leases: FileRecord[] = snapshot.leases.map(({ remaining, ...rest }) => ({
      ...rest,
      expiresAt: remaining === null ? null : Math.round(now + remaining),
    }));
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, leases }, null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}
