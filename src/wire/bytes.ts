/** Big-endian (network order) integer reads and writes shared by the wire formats. */

/** Reads an unsigned 16-bit value at `off`. */
export function readU16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

/** Writes the low 16 bits of `value` at `off`. */
export function writeU16(b: Uint8Array, off: number, value: number): void {
  b[off] = (value >>> 8) & 0xff;
  b[off + 1] = value & 0xff;
}

/** Reads an unsigned 32-bit value at `off`. */
export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Writes the low 32 bits of `value` at `off`. */
export function writeU32(b: Uint8Array, off: number, value: number): void {
  b[off] = (value >>> 24) & 0xff;
  b[off + 1] = (value >>> 16) & 0xff;
  b[off + 2] = (value >>> 8) & 0xff;
  b[off + 3] = value & 0xff;
}
