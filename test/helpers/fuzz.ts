/** Shared settings for property tests: the seed is printed on failure by fast-check itself. */
import fc from 'fast-check';

/** Runs per property; raise with NETSTACK_FUZZ_RUNS for a longer soak. */
export const RUNS = Number(process.env.NETSTACK_FUZZ_RUNS ?? 500);

/** Random byte strings, biased to short lengths where header edge cases live. */
export const randomBytes = (maxLength = 200) => fc.uint8Array({ minLength: 0, maxLength });

/**
 * Asserts a parser never throws on arbitrary bytes, and never on every prefix (truncation) of a
 * valid sample either.
 */
export function assertNeverThrows(parse: (bytes: Uint8Array) => unknown, samples: Uint8Array[] = []): void {
  fc.assert(
    fc.property(randomBytes(), (bytes) => {
      parse(bytes);
    }),
    { numRuns: RUNS },
  );
  for (const sample of samples) {
    for (let len = 0; len <= sample.length; len++) parse(sample.subarray(0, len));
    // Flip each byte in turn: corrupt fields must be reported, not thrown.
    for (let i = 0; i < sample.length; i++) {
      const copy = sample.slice();
      copy[i]! ^= 0xff;
      parse(copy);
    }
  }
}
