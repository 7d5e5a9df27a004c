/** IPv4 option rules the IP layer applies (RFC 791 3.1), over the shared option walker. */

import { IPV4_OPT_LOOSE_SOURCE_ROUTE, IPV4_OPT_STRICT_SOURCE_ROUTE } from '../../wire/ipv4-options.ts';
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

/** True when the options hold a loose or strict source route. */
export function hasSourceRoute(options: Uint8Array): boolean {
  let found = false;
  walkKindLengthOptions(options, (kind) => {
    if (kind === IPV4_OPT_LOOSE_SOURCE_ROUTE || kind === IPV4_OPT_STRICT_SOURCE_ROUTE) found = true;
    return undefined;
  });
  return found;
}
