/**
 * The option layout shared by IPv4 (RFC 791 3.1) and TCP (RFC 9293 3.1): a list of options where
 * kind 0 (End of Option List) and kind 1 (No-Operation) are one octet, and every other option is
 * kind, length (counting the kind and length octets), then length - 2 octets of data.
 */

/** End of Option List: ends the list; what follows is padding. */
export const OPTION_END = 0;
/** No-Operation: one octet, used to align the next option. */
export const OPTION_NOP = 1;

export type OptionLayoutError = 'option-truncated' | 'bad-option-length';

/** A failure of a walk, with the offset of the option at fault (ICMP Parameter Problem points to it). */
export interface OptionWalkFailure<E extends string> {
  error: E;
  offset: number;
}

/**
 * Walks the options in `bytes`, calling `visit(kind, data, offset)` for each (End and NOP get empty
 * data), and stops after End of Option List. `visit` may return an error, which stops the walk.
 * Returns undefined when every option was well formed and accepted.
 */
export function walkKindLengthOptions<E extends string>(
  bytes: Uint8Array,
  visit: (kind: number, data: Uint8Array, offset: number) => E | undefined,
): OptionWalkFailure<E | OptionLayoutError> | undefined {
  let offset = 0;
  while (offset < bytes.length) {
    const kind = bytes[offset]!;
    let next = offset + 1;
    let data = bytes.subarray(next, next);
    if (kind !== OPTION_END && kind !== OPTION_NOP) {
      if (offset + 1 >= bytes.length) return { error: 'option-truncated', offset };
      const length = bytes[offset + 1]!;
      if (length < 2) return { error: 'bad-option-length', offset };
      next = offset + length;
      if (next > bytes.length) return { error: 'option-truncated', offset };
      data = bytes.subarray(offset + 2, next);
    }
    const error = visit(kind, data, offset);
    if (error !== undefined) return { error, offset };
    if (kind === OPTION_END) return undefined;
    offset = next;
  }
  return undefined;
}
