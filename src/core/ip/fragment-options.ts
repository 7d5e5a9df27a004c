/** IPv4 option rules the IP layer applies (RFC 791 3.1), over the shared option walker. */

import { IPV4_HEADER_LEN } from '../../wire/ipv4.ts';
import { parseIpv4Options } from '../../wire/ipv4-options.ts';
import { walkKindLengthOptions } from '../../wire/kind-length-options.ts';

/** RFC 791 3.1: the "copied" flag (top bit of the type) marks options repeated in every fragment. */
const COPIED = 0x80;

/** The options to put in the second and later fragments, padded to a multiple of 4 bytes. */
export function fragmentOptions(options: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [];
  walkKindLengthOptions(options, (kind, data, offset) => {
    if (kind & COPIED) kept.push(options.subarray(offset, offset + 2 + data.length));
    return undefined;
  });
  const length = kept.reduce((n, o) => n + o.length, 0);
  const out = new Uint8Array((length + 3) & ~3);
  let off = 0;
  for (const o of kept) {
    out.set(o, off);
    off += o.length;
  }
  return out;
}

/** Why the options of a received packet refuse it. */
export type ReceivedOptionsVerdict =
  /** RFC 1122 3.2.2.5: malformed; `pointer` is the octet of the header in error. */
  | { reason: 'bad-options'; pointer: number }
  /** RFC 7126 4.3: loose and strict source routes are refused by default. */
  | { reason: 'source-route' };

/**
 * Checks the options of a received header (`Ipv4View.options`): undefined when they are well
 * formed and acceptable. Unknown options are accepted (RFC 1122 3.2.1.8: they MUST be ignored).
 */
export function checkReceivedOptions(options: Uint8Array): ReceivedOptionsVerdict | undefined {
  const parsed = parseIpv4Options(options);
  if (!parsed.ok) return { reason: 'bad-options', pointer: IPV4_HEADER_LEN + parsed.offset };
  for (const o of parsed.value) {
    if (o.type === 'loose-source-route' || o.type === 'strict-source-route')
      return { reason: 'source-route' };
  }
  return undefined;
}
