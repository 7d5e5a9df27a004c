/**
 * Encoding and decoding of capture files: classic pcap and pcapng (the formats Wireshark, tshark
 * and tcpdump read). Pure functions over bytes; `pcap-file.ts` puts them on disk.
 *
 * Timestamps are milliseconds (possibly fractional) since the Unix epoch.
 */

/** Link-layer header types (tcpdump.org linktypes). */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

export interface CapturedPacket {
  /** Milliseconds since the epoch. */
  timestamp: number;
  data: Uint8Array;
  /** Length on the wire when `data` was truncated by the snap length. */
  originalLength?: number;
  /** Interface index (pcapng); 0 for classic pcap. */
  interfaceId?: number;
}

const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_US = 0xa1b2c3d4;

/** The 24-byte classic pcap global header, nanosecond resolution. */
export function pcapHeader(linkType: number, snapLength = 262144): Uint8Array {
  const out = new Uint8Array(24);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAP_MAGIC_NS, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, snapLength, true);
  v.setUint32(20, linkType, true);
  return out;
}

/** One classic pcap record (16-byte header + data), nanosecond timestamps. */
export function pcapRecord(packet: CapturedPacket): Uint8Array {
  const out = new Uint8Array(16 + packet.data.length);
  const v = new DataView(out.buffer);
  const { seconds, nanos } = splitTimestamp(packet.timestamp);
  v.setUint32(0, seconds, true);
  v.setUint32(4, nanos, true);
  v.setUint32(8, packet.data.length, true);
  v.setUint32(12, packet.originalLength ?? packet.data.length, true);
  out.set(packet.data, 16);
  return out;
}

/** Whole seconds and nanoseconds of a millisecond timestamp (nanoseconds since 1970 exceed 2^53). */
function splitTimestamp(ms: number): { seconds: number; nanos: number } {
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds++;
    nanos -= 1e9;
  }
  return { seconds, nanos };
}

// ---- pcapng (draft-ietf-opsawg-pcapng) ----

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const IF_NAME = 2;
const IF_TSRESOL = 9;

function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  out.set(body, 8);
  v.setUint32(total - 4, total, true);
  return out;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function options(list: Array<[code: number, value: Uint8Array]>): Uint8Array {
  let size = 4;
  for (const [, value] of list) size += 4 + pad4(value.length);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let off = 0;
  for (const [code, value] of list) {
    v.setUint16(off, code, true);
    v.setUint16(off + 2, value.length, true);
    out.set(value, off + 4);
    off += 4 + pad4(value.length);
  }
  v.setUint16(off, OPT_END, true);
  return out;
}

/** Section header block. */
export function pcapngSectionHeader(): Uint8Array {
  const body = new Uint8Array(16);
  const v = new DataView(body.buffer);
  v.setUint32(0, BYTE_ORDER_MAGIC, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  v.setInt32(8, -1, true); // section length unknown
  v.setInt32(12, -1, true);
  return block(BT_SHB, body);
}

/** Interface description block, with nanosecond timestamp resolution and an optional name. */
export function pcapngInterface(linkType: number, name?: string, snapLength = 262144): Uint8Array {
  const opts: Array<[number, Uint8Array]> = [[IF_TSRESOL, Uint8Array.of(9)]];
  if (name !== undefined) opts.unshift([IF_NAME, new TextEncoder().encode(name)]);
  const o = options(opts);
  const body = new Uint8Array(8 + o.length);
  const v = new DataView(body.buffer);
  v.setUint16(0, linkType, true);
  v.setUint32(4, snapLength, true);
  body.set(o, 8);
  return block(BT_IDB, body);
}

/** Enhanced packet block (timestamps in nanoseconds, per the interface's if_tsresol). */
export function pcapngPacket(packet: CapturedPacket): Uint8Array {
  const len = packet.data.length;
  const body = new Uint8Array(20 + pad4(len) + 4);
  const v = new DataView(body.buffer);
  const { seconds, nanos } = splitTimestamp(packet.timestamp);
  const ns = BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
  v.setUint32(0, packet.interfaceId ?? 0, true);
  v.setUint32(4, Number(ns >> 32n), true);
  v.setUint32(8, Number(ns & 0xffffffffn), true);
  v.setUint32(12, len, true);
  v.setUint32(16, packet.originalLength ?? len, true);
  body.set(packet.data, 20);
  // opt_endofopt
  return block(BT_EPB, body);
}

// ---- reading ----

export type CaptureReadError = 'truncated' | 'bad-magic' | 'bad-block';

export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  /** Link type per interface (one entry for classic pcap). */
  linkTypes: number[];
  packets: CapturedPacket[];
}

/**
 * Reads a pcap or pcapng file (either byte order; micro- or nanosecond pcap). Returns an error
 * reason instead of throwing on malformed input.
 */
export function readCapture(
  bytes: Uint8Array,
): { ok: true; value: CaptureFile } | { ok: false; error: CaptureReadError } {
  if (bytes.length < 4) return { ok: false, error: 'truncated' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) === BT_SHB) return readPcapng(bytes, v);
  return readPcap(bytes, v);
}

function readPcap(bytes: Uint8Array, v: DataView) {
  if (bytes.length < 24) return { ok: false as const, error: 'truncated' as const };
  const magicLe = v.getUint32(0, true);
  const magicBe = v.getUint32(0, false);
  let le: boolean;
  let nanos: boolean;
  if (magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS) {
    le = true;
    nanos = magicLe === PCAP_MAGIC_NS;
  } else if (magicBe === PCAP_MAGIC_US || magicBe === PCAP_MAGIC_NS) {
    le = false;
    nanos = magicBe === PCAP_MAGIC_NS;
  } else {
    return { ok: false as const, error: 'bad-magic' as const };
  }
  const linkType = v.getUint32(20, le) & 0xffff;
  const packets: CapturedPacket[] = [];
  let off = 24;
  while (off < bytes.length) {
    if (off + 16 > bytes.length) return { ok: false as const, error: 'truncated' as const };
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const incl = v.getUint32(off + 8, le);
    const orig = v.getUint32(off + 12, le);
    if (off + 16 + incl > bytes.length) return { ok: false as const, error: 'truncated' as const };
    packets.push({
      timestamp: sec * 1000 + (nanos ? frac / 1e6 : frac / 1e3),
      data: bytes.subarray(off + 16, off + 16 + incl),
      originalLength: orig,
      interfaceId: 0,
    });
    off += 16 + incl;
  }
  return { ok: true as const, value: { format: 'pcap' as const, linkTypes: [linkType], packets } };
}

function readPcapng(bytes: Uint8Array, v: DataView) {
  const linkTypes: number[] = [];
  const resolutions: number[] = [];
  const packets: CapturedPacket[] = [];
  let le = true;
  let off = 0;
  while (off < bytes.length) {
    if (off + 12 > bytes.length) return { ok: false as const, error: 'truncated' as const };
    const type = v.getUint32(off, le);
    if (type === BT_SHB) {
      const magic = v.getUint32(off + 8, true);
      if (magic === BYTE_ORDER_MAGIC) le = true;
      else if (v.getUint32(off + 8, false) === BYTE_ORDER_MAGIC) le = false;
      else return { ok: false as const, error: 'bad-magic' as const };
      linkTypes.length = 0;
      resolutions.length = 0;
    }
    const total = v.getUint32(off + 4, le);
    if (total < 12 || total % 4 !== 0) return { ok: false as const, error: 'bad-block' as const };
    if (off + total > bytes.length) return { ok: false as const, error: 'truncated' as const };
    if (type === BT_IDB) {
      linkTypes.push(v.getUint16(off + 8, le));
      resolutions.push(readTsResolution(bytes, v, off + 16, off + total - 4, le));
    } else if (type === BT_EPB) {
      if (total < 32) return { ok: false as const, error: 'bad-block' as const };
      const ifId = v.getUint32(off + 8, le);
      const ts = v.getUint32(off + 12, le) * 2 ** 32 + v.getUint32(off + 16, le);
      const caplen = v.getUint32(off + 20, le);
      const orig = v.getUint32(off + 24, le);
      if (28 + caplen > total - 4) return { ok: false as const, error: 'bad-block' as const };
      const unitsPerSecond = resolutions[ifId] ?? 1e6;
      packets.push({
        timestamp: (ts / unitsPerSecond) * 1000,
        data: bytes.subarray(off + 28, off + 28 + caplen),
        originalLength: orig,
        interfaceId: ifId,
      });
    }
    off += total;
  }
  return { ok: true as const, value: { format: 'pcapng' as const, linkTypes, packets } };
}

/** if_tsresol: 10^-n (or 2^-n when the high bit is set) seconds per unit; default microseconds. */
function readTsResolution(bytes: Uint8Array, v: DataView, start: number, end: number, le: boolean): number {
  let off = start;
  while (off + 4 <= end) {
    const code = v.getUint16(off, le);
    const len = v.getUint16(off + 2, le);
    if (code === OPT_END) break;
    if (code === IF_TSRESOL && len >= 1 && off + 4 < end) {
      const r = bytes[off + 4]!;
      return r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
    }
    off += 4 + pad4(len);
  }
  return 1e6;
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** The blocks that open a capture file: the pcap global header, or a pcapng SHB and one IDB per interface. */
export function captureFileHeader(
  format: CaptureFormat,
  interfaces: ReadonlyArray<{ linkType: number; name?: string }>,
): Uint8Array[] {
  if (format === 'pcap') return [pcapHeader(interfaces[0]?.linkType ?? LINKTYPE_ETHERNET)];
  return [pcapngSectionHeader(), ...interfaces.map((i) => pcapngInterface(i.linkType, i.name))];
}

/** One packet record in the given format. */
export function captureRecord(format: CaptureFormat, packet: CapturedPacket): Uint8Array {
  return format === 'pcapng' ? pcapngPacket(packet) : pcapRecord(packet);
}
