/**
 * Captures the frames of stack interfaces: attach any `CaptureWriter` (a pcap or pcapng file, or
 * an in-memory capture in a browser) to one or more interfaces.
 */
import type { NetworkInterface } from '../../core/device/interface.ts';
import type { FrameDirection } from '../../core/device/link.ts';
import {
  type CapturedPacket,
  type CaptureFormat,
  captureFileHeader,
  captureRecord,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
} from './pcap-format.ts';

export interface CaptureSink {
  write(packet: CapturedPacket): void;
}

export interface CaptureOptions {
  /** Which directions to record (both by default). */
  directions?: readonly FrameDirection[];
  /** Converts the stack's clock to wall-clock milliseconds (default: the stack's own value). */
  toWallClock?: (now: number) => number;
}

/** The link type of an interface's frames. */
export function linkTypeOf(iface: NetworkInterface): number {
  return iface.link.kind === 'ethernet' ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
}

/**
 * Records every frame of `interfaces` into `sink`; packet `interfaceId` is the index in the list
 * (pcapng interface numbering). Returns a function that stops the capture.
 */
export function captureInterfaces(
  interfaces: readonly NetworkInterface[],
  sink: CaptureSink,
  options: CaptureOptions = {},
): () => void {
  const directions = options.directions ?? ['rx', 'tx'];
  const toWall = options.toWallClock ?? ((now: number) => now);
  const removers = interfaces.map((iface, interfaceId) =>
    iface.addObserver((direction, frame, now) => {
      if (!directions.includes(direction)) return;
      sink.write({ timestamp: toWall(now), data: frame.slice(), interfaceId });
    }),
  );
  return () => {
    for (const remove of removers) remove();
  };
}

/** A capture kept in memory (for browsers and tests); `bytes()` gives the whole file. */
export class MemoryCapture implements CaptureSink {
  private readonly chunks: Uint8Array[] = [];
  packets = 0;

  constructor(
    readonly format: CaptureFormat,
    interfaces: ReadonlyArray<{ linkType: number; name?: string }>,
  ) {
    this.chunks.push(...captureFileHeader(format, interfaces));
  }

  write(packet: CapturedPacket): void {
    this.chunks.push(captureRecord(this.format, packet));
    this.packets++;
  }

  bytes(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
