/**
 * Multicast Listener Discovery: MLDv2 (RFC 3810 5) queries and reports, and MLDv1 (RFC 2710 3)
 * query, report and done for compatibility (RFC 3810 8). Messages are ICMPv6; the common header
 * and checksum come from `icmpv6.ts`. They are sent with hop limit 1 and a Hop-by-Hop Router Alert
 * (`routerAlertOption(ROUTER_ALERT_MLD)` in `ipv6-ext.ts`).
 *
 * MLDv1 message and the first 24 octets of an MLDv2 query:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Type = 130   |      Code     |           Checksum            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Maximum Response Delay/Code  |           Reserved            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Multicast Address (16 octets)              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | Resv  |S| QRV |     QQIC      |     Number of Sources (N)     |   (MLDv2 only)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  Source Address [1..N] (16 octets each)       |
 *
 * MLDv2 report: type 143, reserved, checksum, reserved (2), Nr of Mcast Address Records (2), then
 * records of: Record Type, Aux Data Len (32-bit words), Number of Sources, Multicast Address,
 * sources, auxiliary data.
 */
import { type Ipv6Addr, readIpv6, writeIpv6 } from './address.ts';
import { readU16, writeU16 } from './bytes.ts';
import {
  ICMPV6_MLD_QUERY,
  ICMPV6_MLDV1_DONE,
  ICMPV6_MLDV1_REPORT,
  ICMPV6_MLDV2_REPORT,
  prependIcmpv6,
  readIpv6List,
  writeIpv6List,
} from './icmpv6.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

/** RFC 3810 5.1.14 / RFC 2710 3: length of an MLDv1 message; an MLDv2 query is at least 28. */
export const MLDV1_LEN = 24;
export const MLDV2_QUERY_MIN_LEN = 28;
const MLDV2_REPORT_MIN_LEN = 8;
const RECORD_HEADER_LEN = 20;

/** RFC 3810 5.2.12: multicast address record types. */
export const MLD_MODE_IS_INCLUDE = 1;
export const MLD_MODE_IS_EXCLUDE = 2;
export const MLD_CHANGE_TO_INCLUDE = 3;
export const MLD_CHANGE_TO_EXCLUDE = 4;
export const MLD_ALLOW_NEW_SOURCES = 5;
export const MLD_BLOCK_OLD_SOURCES = 6;

/** Offsets from the start of the ICMPv6 message. */
const MAX_RESPONSE = 4;
const GROUP = 8;
const QUERY_FLAGS = 24;
const QQIC = 25;
const QUERY_NUM_SOURCES = 26;
const QUERY_SOURCES = 28;
const REPORT_NUM_RECORDS = 6;
const REPORT_RECORDS = 8;
/** Offsets inside a record. */
const REC_TYPE = 0;
const REC_AUX_LEN = 1;
const REC_NUM_SOURCES = 2;
const REC_GROUP = 4;
const REC_SOURCES = 20;
/** Query flags octet: S flag and QRV (RFC 3810 5.1.7, 5.1.8). */
const QUERY_S = 0x08;
const QUERY_QRV = 0x07;

/**
 * RFC 3810 5.1.3 and 5.1.9 share one encoding: below 2^(m+3) the code is the value; above, it is
 * 1 | exp (3 bits) | mant (m bits) and the value is (mant | 2^m) << (exp + 3).
 */
function decodeFloat(code: number, mantBits: number): number {
  if (code < 1 << (mantBits + 3)) return code;
  const exp = (code >>> mantBits) & 7;
  const mant = code & ((1 << mantBits) - 1);
  return (mant | (1 << mantBits)) * 2 ** (exp + 3);
}

/** The largest code not above `value` (values past the range clamp to the largest code). */
function encodeFloat(value: number, mantBits: number): number {
  const v = Math.max(0, Math.floor(value));
  if (v < 1 << (mantBits + 3)) return v;
  let exp = 0;
  while (exp < 7 && Math.floor(v / 2 ** (exp + 3)) >= 1 << (mantBits + 1)) exp++;
  const mant = Math.min(Math.floor(v / 2 ** (exp + 3)), (1 << (mantBits + 1)) - 1) - (1 << mantBits);
  return (1 << (mantBits + 3)) | (exp << mantBits) | mant;
}

/** RFC 3810 5.1.3: Maximum Response Delay in milliseconds from the 16-bit Maximum Response Code. */
export function mldMaxResponseDelay(code: number): number {
  return decodeFloat(code, 12);
}
/** The Maximum Response Code for a delay in milliseconds (rounded down to what the code can say). */
export function mldMaxResponseCode(delayMs: number): number {
  return encodeFloat(delayMs, 12);
}
/** RFC 3810 5.1.9: Querier's Query Interval in seconds from the 8-bit QQIC. */
export function mldQueryInterval(qqic: number): number {
  return decodeFloat(qqic, 4);
}
/** The QQIC for an interval in seconds (rounded down to what the code can say). */
export function mldQqic(intervalS: number): number {
  return encodeFloat(intervalS, 4);
}

/** RFC 3810 5.2.4: one multicast address record. */
export interface MldRecord {
  type: number;
  group: Ipv6Addr;
  sources: Ipv6Addr[];
  /** Auxiliary data (a view; RFC 3810 defines none, so it is normally empty). */
  auxData: Uint8Array;
}

export type MldRepr =
  /** RFC 2710 3.4: Maximum Response Delay in milliseconds; group :: for a general query. */
  | { kind: 'query-v1'; maxResponseDelay: number; group: Ipv6Addr }
  | { kind: 'report-v1' | 'done-v1'; group: Ipv6Addr }
  | {
      kind: 'query-v2';
      /** The raw code: see `mldMaxResponseDelay`. */
      maxResponseCode: number;
      /** :: for a general query. */
      group: Ipv6Addr;
      /** S: routers suppress their timer updates (RFC 3810 5.1.7). */
      suppressRouterSide: boolean;
      /** Querier's Robustness Variable, 0..7 (0: larger than 7). */
      qrv: number;
      /** The raw code: see `mldQueryInterval`. */
      qqic: number;
      sources: Ipv6Addr[];
    }
  | { kind: 'report-v2'; records: MldRecord[] };

export type MldError = 'truncated' | 'not-mld' | 'bad-length';

function parseRecords(bytes: Uint8Array): Parsed<MldRecord[], MldError> {
  const count = readU16(bytes, REPORT_NUM_RECORDS);
  const records: MldRecord[] = [];
  let i = REPORT_RECORDS;
  for (let r = 0; r < count; r++) {
    if (i + RECORD_HEADER_LEN > bytes.length) return err('truncated');
    const numSources = readU16(bytes, i + REC_NUM_SOURCES);
    const auxAt = i + REC_SOURCES + 16 * numSources;
    const end = auxAt + 4 * bytes[i + REC_AUX_LEN]!;
    if (end > bytes.length) return err('truncated');
    records.push({
      type: bytes[i + REC_TYPE]!,
      group: readIpv6(bytes, i + REC_GROUP),
      sources: readIpv6List(bytes, i + REC_SOURCES, numSources),
      auxData: bytes.subarray(auxAt, end),
    });
    i = end;
  }
  return ok(records);
}

/**
 * Parses an MLD message: `bytes` is the whole ICMPv6 message (type 130, 131, 132 or 143). A query
 * is MLDv1 when 24 octets long and MLDv2 from 28; other lengths are invalid (RFC 3810 8.1).
 */
export function parseMld(bytes: Uint8Array): Parsed<MldRepr, MldError> {
  if (bytes.length < 4) return err('truncated');
  const type = bytes[0]!;
  if (type === ICMPV6_MLDV2_REPORT) {
    if (bytes.length < MLDV2_REPORT_MIN_LEN) return err('truncated');
    const records = parseRecords(bytes);
    return records.ok ? ok({ kind: 'report-v2', records: records.value }) : records;
  }
  if (type !== ICMPV6_MLD_QUERY && type !== ICMPV6_MLDV1_REPORT && type !== ICMPV6_MLDV1_DONE)
    return err('not-mld');
  if (bytes.length < MLDV1_LEN) return err('truncated');
  const group = readIpv6(bytes, GROUP);
  if (type === ICMPV6_MLDV1_REPORT) return ok({ kind: 'report-v1', group });
  if (type === ICMPV6_MLDV1_DONE) return ok({ kind: 'done-v1', group });
  const maxResponse = readU16(bytes, MAX_RESPONSE);
  if (bytes.length === MLDV1_LEN) return ok({ kind: 'query-v1', maxResponseDelay: maxResponse, group });
  if (bytes.length < MLDV2_QUERY_MIN_LEN) return err('bad-length');
  const numSources = readU16(bytes, QUERY_NUM_SOURCES);
  if (QUERY_SOURCES + 16 * numSources > bytes.length) return err('truncated');
  const flags = bytes[QUERY_FLAGS]!;
  return ok({
    kind: 'query-v2',
    maxResponseCode: maxResponse,
    group,
    suppressRouterSide: (flags & QUERY_S) !== 0,
    qrv: flags & QUERY_QRV,
    qqic: bytes[QQIC]!,
    sources: readIpv6List(bytes, QUERY_SOURCES, numSources),
  });
}

/** Wire length of the whole ICMPv6 message. */
export function mldLength(repr: MldRepr): number {
  switch (repr.kind) {
    case 'query-v1':
    case 'report-v1':
    case 'done-v1':
      return MLDV1_LEN;
    case 'query-v2':
      return QUERY_SOURCES + 16 * repr.sources.length;
    case 'report-v2': {
      let len = REPORT_RECORDS;
      for (const r of repr.records) len += REC_SOURCES + 16 * r.sources.length + r.auxData.length;
      return len;
    }
  }
}

const TYPES: Record<MldRepr['kind'], number> = {
  'query-v1': ICMPV6_MLD_QUERY,
  'report-v1': ICMPV6_MLDV1_REPORT,
  'done-v1': ICMPV6_MLDV1_DONE,
  'query-v2': ICMPV6_MLD_QUERY,
  'report-v2': ICMPV6_MLDV2_REPORT,
};

/**
 * Prepends the MLD message `repr` to `pb` (normally empty) with its checksum for `src` -> `dst`.
 * Throws RangeError (caller misuse) for auxiliary data that is not a whole number of 32-bit words.
 */
export function emitMld(pb: PacketBuffer, repr: MldRepr, src: Ipv6Addr, dst: Ipv6Addr): void {
  const len = mldLength(repr);
  prependIcmpv6(pb, TYPES[repr.kind], 0, len, src, dst, (b, off) => {
    b.fill(0, off + 4, off + len);
    switch (repr.kind) {
      case 'query-v1':
        writeU16(b, off + MAX_RESPONSE, repr.maxResponseDelay);
        writeIpv6(b, off + GROUP, repr.group);
        break;
      case 'report-v1':
      case 'done-v1':
        writeIpv6(b, off + GROUP, repr.group);
        break;
      case 'query-v2':
        writeU16(b, off + MAX_RESPONSE, repr.maxResponseCode);
        writeIpv6(b, off + GROUP, repr.group);
        b[off + QUERY_FLAGS] = (repr.suppressRouterSide ? QUERY_S : 0) | (repr.qrv & QUERY_QRV);
        b[off + QQIC] = repr.qqic;
        writeU16(b, off + QUERY_NUM_SOURCES, repr.sources.length);
        writeIpv6List(b, off + QUERY_SOURCES, repr.sources);
        break;
      case 'report-v2': {
        writeU16(b, off + REPORT_NUM_RECORDS, repr.records.length);
        let i = off + REPORT_RECORDS;
        for (const r of repr.records) {
          if (r.auxData.length % 4 !== 0)
            throw new RangeError(`MLD auxiliary data of ${r.auxData.length} octets`);
          b[i + REC_TYPE] = r.type;
          b[i + REC_AUX_LEN] = r.auxData.length / 4;
          writeU16(b, i + REC_NUM_SOURCES, r.sources.length);
          writeIpv6(b, i + REC_GROUP, r.group);
          writeIpv6List(b, i + REC_SOURCES, r.sources);
          b.set(r.auxData, i + REC_SOURCES + 16 * r.sources.length);
          i += REC_SOURCES + 16 * r.sources.length + r.auxData.length;
        }
        break;
      }
    }
  });
}
