/**
 * SYN cookies (RFC 4987 3.6): when the SYN queue is full, the listener answers a SYN without
 * keeping state and encodes what it needs in its ISN:
 *
 *     bits 31..27  t mod 32, a counter that ticks every 64 s
 *     bits 26..24  an index into a table of MSS values (as Linux's `msstab`)
 *     bits 23..0   a keyed hash (SipHash-2-4) of the 4-tuple, the full counter, the client ISN and
 *                  the MSS index
 *
 * The final ACK of the handshake carries cookie + 1, from which `decode` recovers the MSS after
 * checking the hash against the current and the previous counter (a cookie lives 64 to 128 s).
 *
 * When the SYN carried timestamps, the window scale and SACK-permitted options are kept in the low
 * 6 bits of our TSval as Linux does (`cookie_init_timestamp`): the peer echoes them in TSecr.
 */
import type { Rng } from '../rng.ts';
import { type FourTuple, fourTupleBytes } from './four-tuple.ts';
import type { Seq } from './seq.ts';
import { randomSipKey, type SipKey, sipHash24 } from './siphash.ts';

/**
 * The MSS values a cookie can carry per family, smallest first (as Linux's `msstab` for IPv4 and
 * IPv6): IPv6's start at 1220, its minimum MTU of 1280 (RFC 8200 5) less 60 bytes of headers, and
 * reach 8940 for 9000-byte jumbo frames.
 */
export const SYN_COOKIE_MSS_TABLES: Readonly<Record<4 | 6, readonly number[]>> = {
  4: [536, 1300, 1440, 1460],
  6: [1220, 1420, 1440, 8940],
};
/** Entries of each table (the index takes 3 bits; both tables have 4). */
const TABLE_SIZE = 4;

function tableOf(tuple: FourTuple): readonly number[] {
  return SYN_COOKIE_MSS_TABLES[typeof tuple.localAddress === 'number' ? 4 : 6];
}
/** The counter period: 64 s (RFC 4987 3.6: "t ... a slowly incrementing timestamp"). */
export const SYN_COOKIE_PERIOD_MS = 64_000;
const COUNTER_BITS = 5;
const HASH_MASK = 0xff_ffff;

/** The index of the largest table MSS not above `mss` (the smallest entry when all are above). */
export function synCookieMssIndex(mss: number, family: 4 | 6): number {
  let index = 0;
  SYN_COOKIE_MSS_TABLES[family].forEach((m, i) => {
    if (m <= mss) index = i;
  });
  return index;
}

/** The SYN cookie codec of one listener or stack (one secret key). */
export class SynCookies {
  private readonly key: SipKey;

  /** A codec whose secret key comes from `rng`. */
  constructor(rng: Rng) {
    this.key = randomSipKey(rng);
  }

  /** Our ISN for a SYN from `tuple` with ISN `clientIsn`, carrying MSS table entry `mssIndex`. */
  encode(tuple: FourTuple, clientIsn: Seq, mssIndex: number, now: number): Seq {
    if (!(mssIndex >= 0 && mssIndex < TABLE_SIZE && Number.isInteger(mssIndex))) {
      throw Object.assign(new Error(`bad MSS index ${mssIndex}`), { code: 'EINVAL' });
    }
    const counter = counterAt(now);
    return (
      (((counter % (1 << COUNTER_BITS)) << 27) |
        (mssIndex << 24) |
        this.hash(tuple, counter, clientIsn, mssIndex)) >>>
      0
    );
  }

  /**
   * The MSS a cookie (the ACK's acknowledgment number - 1) encodes when it is valid for `tuple`
   * and `clientIsn` (the ACK's sequence number - 1) at `now`; undefined for a forged, stale or
   * foreign cookie.
   */
  decode(tuple: FourTuple, cookie: Seq, clientIsn: Seq, now: number): number | undefined {
    const c = cookie >>> 0;
    const mssIndex = (c >>> 24) & 7;
    if (mssIndex >= TABLE_SIZE) return undefined;
    const current = counterAt(now);
    for (const counter of [current, current - 1]) {
      if (counter < 0 || c >>> 27 !== counter % (1 << COUNTER_BITS)) continue;
      if ((c & HASH_MASK) === this.hash(tuple, counter, clientIsn, mssIndex)) return tableOf(tuple)[mssIndex];
    }
    return undefined;
  }

  private hash(tuple: FourTuple, counter: number, clientIsn: Seq, mssIndex: number): number {
    return sipHash24(this.key, fourTupleBytes(tuple, counter, clientIsn, mssIndex))[1] & HASH_MASK;
  }
}

function counterAt(now: number): number {
  return Math.floor(now / SYN_COOKIE_PERIOD_MS);
}

/** The options a SYN offered that a timestamp cookie keeps. */
export interface CookieTsOptions {
  /** The peer's window scale shift (RFC 7323 2.2), undefined when the SYN had no WS option. */
  windowScale: number | undefined;
  /** Whether the SYN carried SACK-permitted (RFC 2018 2). */
  sackPermitted: boolean;
}

const TS_OPT_MASK = 0x3f;
const TS_WSCALE_NONE = 0xf;
const TS_SACK = 0x10;
/** RFC 7323 2.3: the largest window scale shift. */
const MAX_WSCALE = 14;

/**
 * Our TSval for a cookie SYN-ACK: `tsNow` with its low 6 bits replaced by the options (bits 0-3
 * window scale or 15 for none, bit 4 SACK-permitted), moved back by 64 when that would put it
 * ahead of `tsNow` (timestamps must not run ahead of the clock).
 */
export function encodeCookieTsval(tsNow: number, options: CookieTsOptions): number {
  const ws = options.windowScale === undefined ? TS_WSCALE_NONE : Math.min(options.windowScale, MAX_WSCALE);
  const bits = ws | (options.sackPermitted ? TS_SACK : 0);
  let ts = ((tsNow & ~TS_OPT_MASK) | bits) >>> 0;
  if (((ts - tsNow) | 0) > 0) ts = (ts - (TS_OPT_MASK + 1)) >>> 0;
  return ts;
}

/** The options a cookie TSval carried, from the TSecr of the handshake's ACK. */
export function decodeCookieTsecr(tsecr: number): CookieTsOptions {
  const ws = tsecr & 0xf;
  return { windowScale: ws === TS_WSCALE_NONE ? undefined : ws, sackPermitted: (tsecr & TS_SACK) !== 0 };
}
