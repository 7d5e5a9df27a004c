/**
 * Builds bench/udp-blast.c (the kernel's UDP sender and sink of the over-TAP rows) with the
 * machine's gcc into a temporary directory, once per run; the binary is not kept.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'udp-blast.c');

export interface UdpBlast {
  /** The built binary. */
  readonly path: string;
  /** Removes the temporary directory. */
  remove(): void;
}

/** Compiles udp-blast.c; throws an Error saying what is missing when gcc is not there or fails. */
export function buildUdpBlast(): UdpBlast {
  const dir = mkdtempSync(join(tmpdir(), 'udp-blast-'));
  const path = join(dir, 'udp-blast');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', path, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'gcc not found: the UDP rows build bench/udp-blast.c with it (apt-get install gcc)'
        : `gcc could not build bench/udp-blast.c: ${String((e as { stderr?: Buffer }).stderr ?? e)}`,
    );
  }
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
