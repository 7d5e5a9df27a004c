/**
 * 32-bit sequence number arithmetic (RFC 9293 3.4).
 *
 * Sequence numbers live in a space of 2^32 and wrap: "It is essential to remember that the actual
 * sequence number space is finite ... all arithmetic dealing with sequence numbers must be
 * performed modulo 2^32". Two numbers compare through their signed 32-bit distance
 * `(a - b) | 0`, which is right as long as they are less than 2^31 apart (the window limits of
 * RFC 7323 2.3 keep them so).
 *
 * Every value is an unsigned 32-bit integer (0 .. 2^32 - 1) as carried on the wire.
 */

/** A sequence (or acknowledgment) number: an unsigned 32-bit integer. */
export type Seq = number;

/** The signed distance `a - b` modulo 2^32, in [-2^31, 2^31). */
export function seqDiff(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

/** `a + n` modulo 2^32 (`n` may be negative). */
export function seqAdd(a: Seq, n: number): Seq {
  return (a + n) >>> 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) < 0;
}

/** `a <= b` in sequence space. */
export function seqLe(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) > 0;
}

/** `a >= b` in sequence space. */
export function seqGe(a: Seq, b: Seq): boolean {
  return seqDiff(a, b) >= 0;
}

/** The later of `a` and `b` in sequence space. */
export function seqMax(a: Seq, b: Seq): Seq {
  return seqGe(a, b) ? a : b;
}

/** The earlier of `a` and `b` in sequence space. */
export function seqMin(a: Seq, b: Seq): Seq {
  return seqLe(a, b) ? a : b;
}

/**
 * Whether `start <= x < start + length` in sequence space (the window tests of RFC 9293 3.10.7.4).
 * An empty window (`length` 0) holds nothing; `length` must be below 2^32.
 */
export function seqInWindow(x: Seq, start: Seq, length: number): boolean {
  return (x - start) >>> 0 < length;
}
