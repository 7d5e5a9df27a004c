/**
 * IGMP: version 2 (RFC 2236) messages, which include version 1's, and version 3 (RFC 3376)
 * queries and reports. Every message is checksummed over its whole length (no pseudo-header).
 *
 *   v1/v2 messages (RFC 2236 2), and the first 8 octets of a v3 query:
 *    +--------+--------+--------+--------+
 *    |  type  |maxresp |    checksum     |
 *    +--------+--------+--------+--------+
 *    |          group address            |
 *    +--------+--------+--------+--------+
 *   v3 query (RFC 3376 4.1) continues with:
 *    |Resv|S|QRV| QQIC |  number of sources (N)  |  N source addresses ...
 *   v3 report (RFC 3376 4.2):
 *    |  0x22  |reserved|    checksum     |    reserved     | number of records (M) |  M group records
 *   group record (RFC 3376 4.2.4):
 *    |  type  |aux len |  number of sources (N) |  group address  |  N sources  |  aux len * 4 octets
 */
import { type Ipv4Addr, readIpv4, writeIpv4 } from './address.ts';
import { readU16, writeU16 } from './bytes.ts';
import { internetChecksum } from './checksum.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

/** Message types (RFC 3376 4; RFC 2236 2.1). */
export const IGMP_MEMBERSHIP_QUERY = 0x11;
export const IGMP_V1_REPORT = 0x12;
export const IGMP_V2_REPORT = 0x16;
export const IGMP_LEAVE_GROUP = 0x17;
export const IGMP_V3_REPORT = 0x22;

/** Group record types (RFC 3376 4.2.12). */
export const MODE_IS_INCLUDE = 1;
export const MODE_IS_EXCLUDE = 2;
export const CHANGE_TO_INCLUDE_MODE = 3;
export const CHANGE_TO_EXCLUDE_MODE = 4;
export const ALLOW_NEW_SOURCES = 5;
export const BLOCK_OLD_SOURCES = 6;

/** Length of v1/v2 messages. */
export const IGMP_V2_LEN = 8;
/** Length of a v3 query without sources, and of a v3 report header. */
export const IGMP_V3_QUERY_MIN_LEN = 12;
export const IGMP_V3_REPORT_HEADER_LEN = 8;
const GROUP_RECORD_HEADER_LEN = 8;

/** Field offsets. */
const TYPE = 0;
const MAX_RESP = 1;
const CHECKSUM = 2;
const GROUP = 4;
const FLAGS = 8;
const QQIC = 9;
const NUM_SOURCES = 10;
const SOURCES = 12;
const NUM_RECORDS = 6;
/** Offsets within a group record. */
const REC_TYPE = 0;
const REC_AUX_LEN = 1;
const REC_NUM_SOURCES = 2;
const REC_GROUP = 4;

export type IgmpError = 'truncated' | 'bad-checksum' | 'bad-length' | 'unknown-type';

/** A zero-copy view of an IGMP message. Create after `IgmpView.check` passes. */
export class IgmpView {
  constructor(readonly bytes: Uint8Array) {}

  /**
   * Checks the checksum, that the type is one we know, and that the message holds what its
   * counts say. RFC 3376 7.1: a query of 8 octets is v1/v2, of 12 or more is v3, others are ignored.
   */
  static check(bytes: Uint8Array): IgmpError | undefined {
    if (bytes.length < IGMP_V2_LEN) return 'truncated';
    if (internetChecksum(bytes) !== 0) return 'bad-checksum';
    switch (bytes[TYPE]) {
      case IGMP_MEMBERSHIP_QUERY:
        if (bytes.length === IGMP_V2_LEN) return undefined;
        if (bytes.length < IGMP_V3_QUERY_MIN_LEN) return 'bad-length';
        return SOURCES + 4 * readU16(bytes, NUM_SOURCES) > bytes.length ? 'truncated' : undefined;
      case IGMP_V1_REPORT:
      case IGMP_V2_REPORT:
      case IGMP_LEAVE_GROUP:
        return undefined;
      case IGMP_V3_REPORT:
        return walkGroupRecords(bytes, readU16(bytes, NUM_RECORDS));
      default:
        return 'unknown-type';
    }
  }

  /** Message type. */
  get type(): number {
    return this.bytes[TYPE]!;
  }
  /** True for a v3 query (RFC 3376 7.1: longer than 8 octets). */
  get isV3Query(): boolean {
    return this.type === IGMP_MEMBERSHIP_QUERY && this.bytes.length > IGMP_V2_LEN;
  }
  /** Max Resp Time (v2, tenths of a second) or Max Resp Code (v3 query; see `igmpv3DecodeCode`). */
  get maxResp(): number {
    return this.bytes[MAX_RESP]!;
  }
  /** Checksum field. */
  get checksum(): number {
    return readU16(this.bytes, CHECKSUM);
  }
  /** Group address (queries, v1/v2 reports and leaves; 0 in a general query). */
  get group(): Ipv4Addr {
    return readIpv4(this.bytes, GROUP);
  }
  /** v3 query: Suppress Router-side Processing flag. */
  get suppressRouterProcessing(): boolean {
    return (this.bytes[FLAGS]! & 0x08) !== 0;
  }
  /** v3 query: Querier's Robustness Variable (3 bits). */
  get qrv(): number {
    return this.bytes[FLAGS]! & 0x07;
  }
  /** v3 query: Querier's Query Interval Code. */
  get qqic(): number {
    return this.bytes[QQIC]!;
  }
  /** v3 query: the source addresses. */
  get sources(): Ipv4Addr[] {
    return readAddresses(this.bytes, SOURCES, readU16(this.bytes, NUM_SOURCES));
  }
  /** v3 report: the group records. */
  get records(): IgmpGroupRecord[] {
    const records: IgmpGroupRecord[] = [];
    walkGroupRecords(this.bytes, readU16(this.bytes, NUM_RECORDS), (r) => {
      records.push(r);
    });
    return records;
  }
}

/** One group record of a v3 report (RFC 3376 4.2.4). */
export interface IgmpGroupRecord {
  /** MODE_IS_INCLUDE ... BLOCK_OLD_SOURCES. */
  recordType: number;
  group: Ipv4Addr;
  sources: Ipv4Addr[];
  /** Auxiliary data (a view; a multiple of 4 octets, empty in practice). */
  auxData: Uint8Array;
}

/**
 * Walks `count` group records of a v3 report, calling `visit` on each when given; returns
 * 'truncated' when one does not fit.
 */
function walkGroupRecords(
  bytes: Uint8Array,
  count: number,
  visit?: (record: IgmpGroupRecord) => void,
): IgmpError | undefined {
  let off = IGMP_V3_REPORT_HEADER_LEN;
  for (let i = 0; i < count; i++) {
    if (off + GROUP_RECORD_HEADER_LEN > bytes.length) return 'truncated';
    const numSources = readU16(bytes, off + REC_NUM_SOURCES);
    const sourcesEnd = off + GROUP_RECORD_HEADER_LEN + 4 * numSources;
    const end = sourcesEnd + 4 * bytes[off + REC_AUX_LEN]!;
    if (end > bytes.length) return 'truncated';
    visit?.({
      recordType: bytes[off + REC_TYPE]!,
      group: readIpv4(bytes, off + REC_GROUP),
      sources: readAddresses(bytes, off + GROUP_RECORD_HEADER_LEN, numSources),
      auxData: bytes.subarray(sourcesEnd, end),
    });
    off = end;
  }
  return undefined;
}

function readAddresses(bytes: Uint8Array, start: number, count: number): Ipv4Addr[] {
  const out: Ipv4Addr[] = [];
  for (let i = 0; i < count; i++) out.push(readIpv4(bytes, start + 4 * i));
  return out;
}

export type IgmpRepr =
  /** RFC 2236 2.2: max resp time in tenths of a second; 0 means the querier is IGMPv1 (RFC 2236 4). */
  | { type: 'v2-query'; maxRespTime: number; group: Ipv4Addr }
  | {
      type: 'v3-query';
      /** The encoded Max Resp Code (RFC 3376 4.1.1); `igmpv3DecodeCode` gives tenths of a second. */
      maxRespCode: number;
      group: Ipv4Addr;
      suppressRouterProcessing: boolean;
      qrv: number;
      /** The encoded Querier's Query Interval Code (RFC 3376 4.1.7), in seconds once decoded. */
      qqic: number;
      sources: Ipv4Addr[];
    }
  | { type: 'v1-report' | 'v2-report' | 'leave'; group: Ipv4Addr }
  | { type: 'v3-report'; records: IgmpGroupRecord[] };

export function parseIgmp(bytes: Uint8Array): Parsed<IgmpRepr, IgmpError> {
  const error = IgmpView.check(bytes);
  if (error !== undefined) return err(error);
  const v = new IgmpView(bytes);
  switch (v.type) {
    case IGMP_MEMBERSHIP_QUERY:
      if (!v.isV3Query) return ok({ type: 'v2-query', maxRespTime: v.maxResp, group: v.group });
      return ok({
        type: 'v3-query',
        maxRespCode: v.maxResp,
        group: v.group,
        suppressRouterProcessing: v.suppressRouterProcessing,
        qrv: v.qrv,
        qqic: v.qqic,
        sources: v.sources,
      });
    case IGMP_V1_REPORT:
      return ok({ type: 'v1-report', group: v.group });
    case IGMP_V2_REPORT:
      return ok({ type: 'v2-report', group: v.group });
    case IGMP_LEAVE_GROUP:
      return ok({ type: 'leave', group: v.group });
    default:
      // check() admitted no other type than a v3 report.
      return ok({ type: 'v3-report', records: v.records });
  }
}

/** Length of the message `emitIgmp` writes for `repr`. */
export function igmpLength(repr: IgmpRepr): number {
  switch (repr.type) {
    case 'v3-query':
      return IGMP_V3_QUERY_MIN_LEN + 4 * repr.sources.length;
    case 'v3-report':
      return repr.records.reduce(
        (n, r) => n + GROUP_RECORD_HEADER_LEN + 4 * r.sources.length + r.auxData.length,
        IGMP_V3_REPORT_HEADER_LEN,
      );
    default:
      return IGMP_V2_LEN;
  }
}

const V2_TYPES = {
  'v1-report': IGMP_V1_REPORT,
  'v2-report': IGMP_V2_REPORT,
  leave: IGMP_LEAVE_GROUP,
} as const;

/**
 * Prepends the whole message to `pb` (normally empty, with headroom for IPv4 with the Router Alert
 * option and Ethernet) and computes the checksum. Auxiliary data must be a multiple of 4 octets.
 */
export function emitIgmp(pb: PacketBuffer, repr: IgmpRepr): void {
  const len = igmpLength(repr);
  const off = pb.prepend(len);
  const b = pb.buf;
  b.fill(0, off, off + len);
  switch (repr.type) {
    case 'v2-query':
      b[off + TYPE] = IGMP_MEMBERSHIP_QUERY;
      b[off + MAX_RESP] = repr.maxRespTime;
      writeIpv4(b, off + GROUP, repr.group);
      break;
    case 'v3-query':
      b[off + TYPE] = IGMP_MEMBERSHIP_QUERY;
      b[off + MAX_RESP] = repr.maxRespCode;
      writeIpv4(b, off + GROUP, repr.group);
      b[off + FLAGS] = (repr.suppressRouterProcessing ? 0x08 : 0) | (repr.qrv & 0x07);
      b[off + QQIC] = repr.qqic;
      writeU16(b, off + NUM_SOURCES, repr.sources.length);
      writeAddresses(b, off + SOURCES, repr.sources);
      break;
    case 'v3-report': {
      b[off + TYPE] = IGMP_V3_REPORT;
      writeU16(b, off + NUM_RECORDS, repr.records.length);
      let r = off + IGMP_V3_REPORT_HEADER_LEN;
      for (const rec of repr.records) {
        b[r + REC_TYPE] = rec.recordType;
        b[r + REC_AUX_LEN] = rec.auxData.length >>> 2;
        writeU16(b, r + REC_NUM_SOURCES, rec.sources.length);
        writeIpv4(b, r + REC_GROUP, rec.group);
        writeAddresses(b, r + GROUP_RECORD_HEADER_LEN, rec.sources);
        r += GROUP_RECORD_HEADER_LEN + 4 * rec.sources.length;
        b.set(rec.auxData, r);
        r += rec.auxData.length;
      }
      break;
    }
    default:
      b[off + TYPE] = V2_TYPES[repr.type];
      writeIpv4(b, off + GROUP, repr.group);
  }
  writeU16(b, off + CHECKSUM, internetChecksum(b, off, off + len));
}

function writeAddresses(b: Uint8Array, start: number, addresses: Ipv4Addr[]): void {
  addresses.forEach((a, i) => {
    writeIpv4(b, start + 4 * i, a);
  });
}

/**
 * RFC 3376 4.1.1 and 4.1.7: a Max Resp Code or QQIC below 128 is the value itself; from 128 it is
 * a floating-point form 1|exp(3)|mant(4) meaning (mant | 0x10) << (exp + 3).
 */
export function igmpv3DecodeCode(code: number): number {
  if (code < 128) return code;
  return ((code & 0x0f) | 0x10) << (((code >>> 4) & 0x07) + 3);
}

/** The code for `value` (tenths of a second or seconds): exact below 128, else rounded down; at most 31744. */
export function igmpv3EncodeCode(value: number): number {
  if (value < 128) return value;
  if (value >= 31744) return 0xff;
  const exp = 31 - Math.clz32(value) - 7;
  return 0x80 | (exp << 4) | ((value >>> (exp + 3)) - 0x10);
}
