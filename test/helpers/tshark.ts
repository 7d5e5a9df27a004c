/**
 * Has tshark dissect frames and reports what Wireshark's dissectors complain about: malformed
 * packets, bad checksums (with checksum validation switched on), and other expert items.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCaptureFile } from '../../src/bindings/pcap/pcap-file.ts';
import { LINKTYPE_ETHERNET } from '../../src/bindings/pcap/pcap-format.ts';

let available: boolean | undefined;

/** True when tshark runs here. Tests that need it skip loudly otherwise (CI installs it). */
export function tsharkAvailable(): boolean {
  if (available === undefined) {
    available = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!available) console.warn('!!! tshark is not installed: tshark dissection tests are SKIPPED');
  }
  return available;
}

export const CHECKSUM_PREFS = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
] as const;

export interface ExpertItem {
  frame: number;
  severity: 'error' | 'warning' | 'note' | 'chat' | 'comment';
  message: string;
  protocols: string;
}

const SEVERITIES: Record<string, ExpertItem['severity']> = {
  '8388608': 'error',
  '6291456': 'warning',
  '4194304': 'note',
  '2097152': 'chat',
  '1048576': 'comment',
};

/** Runs tshark over a capture file and returns every expert item it raised. */
export function tsharkExpert(path: string, extraArgs: string[] = []): ExpertItem[] {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      path,
      ...CHECKSUM_PREFS,
      ...extraArgs,
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=\u0001',
      '-e',
      'frame.number',
      '-e',
      'frame.protocols',
      '-e',
      '_ws.expert.severity',
      '-e',
      '_ws.expert.message',
    ],
    { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const items: ExpertItem[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [frame, protocols = '', severities = '', messages = ''] = line.split('\t');
    if (severities === '') continue;
    const sev = severities.split('\u0001');
    const msg = messages.split('\u0001');
    sev.forEach((s, i) => {
      items.push({
        frame: Number(frame),
        severity: SEVERITIES[s] ?? 'error',
        message: msg[i] ?? '',
        protocols,
      });
    });
  }
  return items;
}

/** Returns the one-line summaries (`-T fields` of the given fields) of every frame. */
export function tsharkFields(path: string, fields: string[], extraArgs: string[] = []): string[][] {
  const args = ['-r', path, ...CHECKSUM_PREFS, ...extraArgs, '-T', 'fields', '-E', 'separator=\t'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/**
 * Writes frames to a temporary pcap and returns the expert items of severity warning or error,
 * and the protocol stack of each frame (so a test can also check the frame was dissected as meant).
 */
export function dissect(
  frames: Uint8Array[],
  linkType = LINKTYPE_ETHERNET,
  extraArgs: string[] = [],
): { problems: ExpertItem[]; protocols: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'netstack-tshark-'));
  try {
    const path = join(dir, 'frames.pcap');
    const writer = openCaptureFile(path, { linkType });
    frames.forEach((data, i) => {
      writer.write({ timestamp: 1_700_000_000_000 + i, data });
    });
    writer.close();
    const problems = tsharkExpert(path, extraArgs).filter(
      (e) => e.severity === 'error' || e.severity === 'warning',
    );
    const protocols = tsharkFields(path, ['frame.protocols'], extraArgs).map((r) => r[0] ?? '');
    return { problems, protocols };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
