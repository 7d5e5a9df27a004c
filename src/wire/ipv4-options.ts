/**
 * IPv4 options (RFC 791 3.1): parse the option bytes of a header into typed options, and build
 * option bytes from them (`emitIpv4` pads the result to a multiple of 4).
 *
 * The option type octet holds the copied flag (1 bit), class (2 bits) and number (5 bits); the
 * values below are the whole octet.
 *
 *   route options (record route, loose and strict source route):
 *    +--------+--------+--------+---------//--------+
 *    |  type  | length | pointer|   route data      |     pointer >= 4, 1-based within the option
 *    +--------+--------+--------+---------//--------+
 *   timestamp:
 *    +--------+--------+--------+--------+
 *    |01000100| length | pointer|oflw|flg|   then timestamps, or address + timestamp pairs
 *    +--------+--------+--------+--------+
 *   router alert (RFC 2113 2.1):
 *    +--------+--------+--------+--------+
 *    |10010100|00000100|  2 octet value  |
 *    +--------+--------+--------+--------+
 */
import { type Ipv4Addr, readIpv4, writeIpv4 } from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import {
  OPTION_END,
  OPTION_NOP,
  type OptionLayoutError,
  type OptionWalkFailure,
  walkKindLengthOptions,
} from './kind-length-options.ts';

export const IPV4_OPT_END = OPTION_END;
export const IPV4_OPT_NOP = OPTION_NOP;
export const IPV4_OPT_RECORD_ROUTE = 7;
export const IPV4_OPT_TIMESTAMP = 68;
export const IPV4_OPT_LOOSE_SOURCE_ROUTE = 131;
export const IPV4_OPT_STRICT_SOURCE_ROUTE = 137;
export const IPV4_OPT_ROUTER_ALERT = 148;

/** RFC 791 3.1 "Internet Timestamp" flag values. */
export const TIMESTAMP_ONLY = 0;
export const TIMESTAMP_WITH_ADDRESS = 1;
export const TIMESTAMP_PRESPECIFIED = 3;

/** The smallest legal pointer of a route option (it points past type, length and pointer). */
const ROUTE_MIN_POINTER = 4;
/** The smallest legal pointer of a timestamp option (past type, length, pointer, overflow/flag). */
const TIMESTAMP_MIN_POINTER = 5;

const ROUTE_TYPES = {
  [IPV4_OPT_RECORD_ROUTE]: 'record-route',
  [IPV4_OPT_LOOSE_SOURCE_ROUTE]: 'loose-source-route',
  [IPV4_OPT_STRICT_SOURCE_ROUTE]: 'strict-source-route',
} as const;
const ROUTE_KINDS = {
  'record-route': IPV4_OPT_RECORD_ROUTE,
  'loose-source-route': IPV4_OPT_LOOSE_SOURCE_ROUTE,
  'strict-source-route': IPV4_OPT_STRICT_SOURCE_ROUTE,
} as const;

export interface Ipv4TimestampEntry {
  /** Present with the TIMESTAMP_WITH_ADDRESS and TIMESTAMP_PRESPECIFIED flags. */
  address?: Ipv4Addr;
  /** Milliseconds since midnight UT, or any value with the high bit set (RFC 791). */
  timestamp: number;
}

export type Ipv4Option =
  | { type: 'end' }
  | { type: 'nop' }
  | {
      type: 'record-route' | 'loose-source-route' | 'strict-source-route';
      /** 1-based offset within the option of the next slot; past the end when the route is full. */
      pointer: number;
      /** Every slot of the route data, filled or not. */
      addresses: Ipv4Addr[];
    }
  | {
      type: 'timestamp';
      pointer: number;
      /** Count of modules that could not register a timestamp for lack of space (4 bits). */
      overflow: number;
      flag: typeof TIMESTAMP_ONLY | typeof TIMESTAMP_WITH_ADDRESS | typeof TIMESTAMP_PRESPECIFIED;
      /** Every slot, filled or not. */
      entries: Ipv4TimestampEntry[];
    }
  /** RFC 2113: value 0 asks every router to examine the packet. */
  | { type: 'router-alert'; value: number }
  /** Any other option, kept as it was (its data is a view). */
  | { type: 'unknown'; optionType: number; data: Uint8Array };

export type Ipv4OptionError = OptionLayoutError | 'bad-option-pointer' | 'bad-timestamp-flag';

export type Ipv4OptionsParsed =
  | { ok: true; value: Ipv4Option[] }
  | ({ ok: false } & OptionWalkFailure<Ipv4OptionError>);

/**
 * Parses the options of a header (`Ipv4View.options`). On error, `offset` is where the faulty
 * option starts within the options (add 20 for an ICMP Parameter Problem pointer, RFC 792).
 */
export function parseIpv4Options(bytes: Uint8Array): Ipv4OptionsParsed {
  const options: Ipv4Option[] = [];
  const failure = walkKindLengthOptions<Ipv4OptionError>(bytes, (kind, data) => {
    const parsed = parseOne(kind, data);
    if (typeof parsed === 'string') return parsed;
    options.push(parsed);
    return undefined;
  });
  return failure === undefined ? { ok: true, value: options } : { ok: false, ...failure };
}

/** Data of one option (after type and length) to its typed form, or the reason it is malformed. */
function parseOne(kind: number, data: Uint8Array): Ipv4Option | Ipv4OptionError {
  switch (kind) {
    case IPV4_OPT_END:
      return { type: 'end' };
    case IPV4_OPT_NOP:
      return { type: 'nop' };
    case IPV4_OPT_RECORD_ROUTE:
    case IPV4_OPT_LOOSE_SOURCE_ROUTE:
    case IPV4_OPT_STRICT_SOURCE_ROUTE: {
      if (data.length < 1 || (data.length - 1) % 4 !== 0) return 'bad-option-length';
      const pointer = data[0]!;
      if (pointer < ROUTE_MIN_POINTER) return 'bad-option-pointer';
      return { type: ROUTE_TYPES[kind], pointer, addresses: readAddresses(data, 1, data.length) };
    }
    case IPV4_OPT_TIMESTAMP:
      return parseTimestamp(data);
    case IPV4_OPT_ROUTER_ALERT:
      if (data.length !== 2) return 'bad-option-length';
      return { type: 'router-alert', value: readU16(data, 0) };
    default:
      return { type: 'unknown', optionType: kind, data };
  }
}

function readAddresses(data: Uint8Array, start: number, end: number): Ipv4Addr[] {
  const out: Ipv4Addr[] = [];
  for (let i = start; i + 4 <= end; i += 4) out.push(readIpv4(data, i));
  return out;
}

function parseTimestamp(data: Uint8Array): Ipv4Option | Ipv4OptionError {
  if (data.length < 2) return 'bad-option-length';
  const pointer = data[0]!;
  const flag = data[1]! & 0x0f;
  if (flag !== TIMESTAMP_ONLY && flag !== TIMESTAMP_WITH_ADDRESS && flag !== TIMESTAMP_PRESPECIFIED) {
    return 'bad-timestamp-flag';
  }
  const slot = flag === TIMESTAMP_ONLY ? 4 : 8;
  if ((data.length - 2) % slot !== 0) return 'bad-option-length';
  if (pointer < TIMESTAMP_MIN_POINTER) return 'bad-option-pointer';
  const entries: Ipv4TimestampEntry[] = [];
  for (let i = 2; i < data.length; i += slot) {
    entries.push(
      flag === TIMESTAMP_ONLY
        ? { timestamp: readU32(data, i) }
        : { address: readIpv4(data, i), timestamp: readU32(data, i + 4) },
    );
  }
  return { type: 'timestamp', pointer, overflow: data[1]! >>> 4, flag, entries };
}

/** Length in bytes of one option as built by `buildIpv4Options`. */
function optionLength(o: Ipv4Option): number {
  switch (o.type) {
    case 'end':
    case 'nop':
      return 1;
    case 'router-alert':
      return 4;
    case 'unknown':
      return 2 + o.data.length;
    case 'timestamp':
      return 4 + o.entries.length * (o.flag === TIMESTAMP_ONLY ? 4 : 8);
    default:
      return 3 + 4 * o.addresses.length;
  }
}

/** Builds option bytes (unpadded; `emitIpv4` pads them) from typed options, in order. */
export function buildIpv4Options(options: Ipv4Option[]): Uint8Array {
  const out = new Uint8Array(options.reduce((n, o) => n + optionLength(o), 0));
  let off = 0;
  for (const o of options) {
    const len = optionLength(o);
    switch (o.type) {
      case 'end':
        out[off] = IPV4_OPT_END;
        break;
      case 'nop':
        out[off] = IPV4_OPT_NOP;
        break;
      case 'router-alert':
        out.set([IPV4_OPT_ROUTER_ALERT, len], off);
        writeU16(out, off + 2, o.value);
        break;
      case 'unknown':
        out.set([o.optionType, len], off);
        out.set(o.data, off + 2);
        break;
      case 'timestamp': {
        out.set([IPV4_OPT_TIMESTAMP, len, o.pointer, ((o.overflow & 0x0f) << 4) | o.flag], off);
        let i = off + 4;
        for (const e of o.entries) {
          if (o.flag !== TIMESTAMP_ONLY) {
            writeIpv4(out, i, e.address ?? 0);
            i += 4;
          }
          writeU32(out, i, e.timestamp);
          i += 4;
        }
        break;
      }
      default:
        out.set([ROUTE_KINDS[o.type], len, o.pointer], off);
        o.addresses.forEach((a, i) => {
          writeIpv4(out, off + 3 + 4 * i, a);
        });
    }
    off += len;
  }
  return out;
}
