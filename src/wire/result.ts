/**
 * Parse results. Parsers never throw on network input: they return either the parsed value or a
 * typed reason naming what was wrong, which the caller counts as a drop reason.
 */
export type Parsed<T, E extends string> = { ok: true; value: T } | { ok: false; error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<E extends string>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
