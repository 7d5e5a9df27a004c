/**
 * TCP options (RFC 9293 3.1 and 3.2; RFC 7323 window scale and timestamps; RFC 2018 SACK).
 *
 * Options fill the TCP header from byte 20 up to the data offset (at most 40 bytes). Each option is
 * either a single kind byte (0: End of Option List, 1: No-Operation) or kind, length (counting the
 * kind and length bytes) and value:
 *
 *    +--------+--------+----------...
 *    |  Kind  | Length | value
 *    +--------+--------+----------...
 *
 *    kind 2  MSS              length 4       16-bit maximum segment size (RFC 9293 3.7.1)
 *    kind 3  window scale     length 3       8-bit shift count (RFC 7323 2.2)
 *    kind 4  SACK permitted   length 2       (RFC 2018 2)
 *    kind 5  SACK             length 2 + 8n  n = 1..4 blocks of 32-bit left and right edges (RFC 2018 3)
 *    kind 8  timestamps       length 10      32-bit TSval and TSecr (RFC 7323 3.2)
 */
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import {
  OPTION_END,
  OPTION_NOP,
  type OptionLayoutError,
  walkKindLengthOptions,
} from './kind-length-options.ts';
import { err, ok, type Parsed } from './result.ts';

export const TCP_OPT_EOL = OPTION_END;
export const TCP_OPT_NOP = OPTION_NOP;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WINDOW_SCALE = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMP = 8;

/** RFC 9293 3.1: the data offset is at most 15 words, 5 of which are the fixed header. */
export const TCP_MAX_OPTIONS_LEN = 40;

/** Option lengths, counting the kind and length bytes. */
const LEN_MSS = 4;
const LEN_WINDOW_SCALE = 3;
const LEN_SACK_PERMITTED = 2;
const LEN_TIMESTAMP = 10;
const LEN_SACK_BASE = 2;
const LEN_SACK_BLOCK = 8;

/** One SACK block: the data [left, right) the receiver holds beyond the cumulative ACK (RFC 2018 3). */
export interface SackBlock {
  left: number;
  right: number;
}

/** An option this module does not interpret, kept so it can be shown or forwarded (RFC 9293 MUST-6). */
export interface TcpUnknownOption {
  kind: number;
  /** The value bytes after kind and length (a view into the parsed bytes). */
  data: Uint8Array;
}

/** The parsed form of a TCP option list. An absent field means the option is absent. */
export interface TcpOptions {
  mss?: number;
  /** The shift count as sent; RFC 7323 2.3 has the receiver use 14 when it is larger. */
  windowScale?: number;
  sackPermitted?: boolean;
  /** 1 to 4 blocks (3 when timestamps are also present, so that everything fits in 40 bytes). */
  sackBlocks?: SackBlock[];
  timestamp?: { value: number; echo: number };
  unknown?: TcpUnknownOption[];
}

/**
 * Parses an option list (the bytes between the fixed header and the data offset). Options of known
 * kinds must have their defined length; unknown kinds are kept. A repeated option keeps the last.
 */
export function parseTcpOptions(bytes: Uint8Array): Parsed<TcpOptions, OptionLayoutError> {
  const opts: TcpOptions = {};
  // RFC 9293 3.1 (MUST-7): an illegal length (zero, or past the end) is reported by the walk.
  const failure = walkKindLengthOptions<OptionLayoutError>(bytes, (kind, data) => {
    switch (kind) {
      case TCP_OPT_EOL:
      case TCP_OPT_NOP:
        return undefined;
      case TCP_OPT_MSS:
        if (data.length !== LEN_MSS - 2) return 'bad-option-length';
        opts.mss = readU16(data, 0);
        return undefined;
      case TCP_OPT_WINDOW_SCALE:
        if (data.length !== LEN_WINDOW_SCALE - 2) return 'bad-option-length';
        opts.windowScale = data[0]!;
        return undefined;
      case TCP_OPT_SACK_PERMITTED:
        if (data.length !== LEN_SACK_PERMITTED - 2) return 'bad-option-length';
        opts.sackPermitted = true;
        return undefined;
      case TCP_OPT_SACK: {
        // RFC 2018 3: 8 bytes per block, at least one; at most 4 fit in the 40-byte options area.
        if (data.length === 0 || data.length % LEN_SACK_BLOCK !== 0) return 'bad-option-length';
        const blocks: SackBlock[] = [];
        for (let i = 0; i < data.length; i += LEN_SACK_BLOCK) {
          blocks.push({ left: readU32(data, i), right: readU32(data, i + 4) });
        }
        opts.sackBlocks = blocks;
        return undefined;
      }
      case TCP_OPT_TIMESTAMP:
        if (data.length !== LEN_TIMESTAMP - 2) return 'bad-option-length';
        opts.timestamp = { value: readU32(data, 0), echo: readU32(data, 4) };
        return undefined;
      default:
        // RFC 9293 3.1 (MUST-6): an option we do not implement is skipped by its length.
        opts.unknown ??= [];
        opts.unknown.push({ kind, data });
        return undefined;
    }
  });
  return failure === undefined ? ok(opts) : err(failure.error);
}

/**
 * The number of bytes `writeTcpOptions` writes: a multiple of 4 (RFC 9293 3.1 padding). More than
 * `TCP_MAX_OPTIONS_LEN` means the options do not fit in a TCP header.
 */
export function tcpOptionsLength(opts: TcpOptions): number {
  let n = 0;
  if (opts.mss !== undefined) n += LEN_MSS;
  // Timestamps take 12 bytes: NOP NOP TS, or SACK-permitted TS.
  if (opts.timestamp !== undefined) n += LEN_TIMESTAMP + 2;
  else if (opts.sackPermitted) n += 4;
  if (opts.windowScale !== undefined) n += 4;
  const blocks = opts.sackBlocks?.length ?? 0;
  if (blocks > 0) n += 2 + LEN_SACK_BASE + LEN_SACK_BLOCK * blocks;
  if (opts.unknown !== undefined) for (const u of opts.unknown) n += 2 + u.data.length;
  return (n + 3) & ~3;
}

/**
 * Writes the options at `buf[offset]` the way Linux lays them out, every option aligned so that its
 * 32-bit fields fall on word boundaries:
 *
 *    MSS                      02 04 mss
 *    timestamps               01 01 08 0a TSval TSecr  (04 02 08 0a ... when SACK is also permitted)
 *    SACK permitted, no TS    01 01 04 02
 *    window scale             01 03 03 shift
 *    SACK blocks              01 01 05 len left right ...
 *    unknown options          kind len data, in order
 *
 * then pads with zeros (End of Option List) to a 32-bit boundary. Returns the bytes written, which is
 * `tcpOptionsLength(opts)`; the caller checks that it fits (at most 40) before calling.
 */
export function writeTcpOptions(opts: TcpOptions, buf: Uint8Array, offset: number): number {
  let i = offset;
  if (opts.mss !== undefined) {
    buf[i] = TCP_OPT_MSS;
    buf[i + 1] = LEN_MSS;
    writeU16(buf, i + 2, opts.mss);
    i += 4;
  }
  if (opts.timestamp !== undefined) {
    if (opts.sackPermitted) {
      buf[i] = TCP_OPT_SACK_PERMITTED;
      buf[i + 1] = LEN_SACK_PERMITTED;
    } else {
      buf[i] = TCP_OPT_NOP;
      buf[i + 1] = TCP_OPT_NOP;
    }
    buf[i + 2] = TCP_OPT_TIMESTAMP;
    buf[i + 3] = LEN_TIMESTAMP;
    writeU32(buf, i + 4, opts.timestamp.value);
    writeU32(buf, i + 8, opts.timestamp.echo);
    i += 12;
  } else if (opts.sackPermitted) {
    buf[i] = TCP_OPT_NOP;
    buf[i + 1] = TCP_OPT_NOP;
    buf[i + 2] = TCP_OPT_SACK_PERMITTED;
    buf[i + 3] = LEN_SACK_PERMITTED;
    i += 4;
  }
  if (opts.windowScale !== undefined) {
    buf[i] = TCP_OPT_NOP;
    buf[i + 1] = TCP_OPT_WINDOW_SCALE;
    buf[i + 2] = LEN_WINDOW_SCALE;
    buf[i + 3] = opts.windowScale;
    i += 4;
  }
  const blocks = opts.sackBlocks;
  if (blocks !== undefined && blocks.length > 0) {
    buf[i] = TCP_OPT_NOP;
    buf[i + 1] = TCP_OPT_NOP;
    buf[i + 2] = TCP_OPT_SACK;
    buf[i + 3] = LEN_SACK_BASE + LEN_SACK_BLOCK * blocks.length;
    i += 4;
    for (const block of blocks) {
      writeU32(buf, i, block.left);
      writeU32(buf, i + 4, block.right);
      i += LEN_SACK_BLOCK;
    }
  }
  if (opts.unknown !== undefined) {
    for (const u of opts.unknown) {
      buf[i] = u.kind;
      buf[i + 1] = 2 + u.data.length;
      buf.set(u.data, i + 2);
      i += 2 + u.data.length;
    }
  }
  // RFC 9293 3.1: "The padding is composed of zeros."
  while ((i - offset) & 3) buf[i++] = TCP_OPT_EOL;
  return i - offset;
}
