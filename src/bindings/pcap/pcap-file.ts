/**
 * Writes captures to disk (Node only). Packets are buffered and written synchronously in batches so
 * a capture is complete when `close()` returns.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { type CapturedPacket, type CaptureFormat, captureFileHeader, captureRecord } from './pcap-format.ts';

export interface CaptureWriter {
  write(packet: CapturedPacket): void;
  close(): void;
}

export interface PcapFileOptions {
  /** 'pcap' (default) or 'pcapng'; a path ending in .pcapng selects pcapng. */
  format?: CaptureFormat;
  /** pcapng interface names; their index is `CapturedPacket.interfaceId`. Classic pcap has one. */
  interfaces?: Array<{ linkType: number; name?: string }>;
  linkType?: number;
}

const FLUSH_BYTES = 1 << 20;

export function openCaptureFile(path: string, options: PcapFileOptions = {}): CaptureWriter {
  const format = options.format ?? (path.endsWith('.pcapng') ? 'pcapng' : 'pcap');
  const fd = openSync(path, 'w');
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const push = (chunk: Uint8Array) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= FLUSH_BYTES) flush();
  };
  const flush = () => {
    for (const chunk of pending) writeSync(fd, chunk);
    pending = [];
    pendingBytes = 0;
  };
  const interfaces = options.interfaces ?? [{ linkType: options.linkType ?? 1 }];
  for (const block of captureFileHeader(format, interfaces)) push(block);
  let closed = false;
  return {
    write(packet) {
      if (closed) return;
      push(captureRecord(format, packet));
    },
    close() {
      if (closed) return;
      closed = true;
      flush();
      closeSync(fd);
    },
  };
}
