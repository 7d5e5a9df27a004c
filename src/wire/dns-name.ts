/**
 * Domain names on the wire (RFC 1035 3.1, 4.1.4) and in text (RFC 1035 5.1).
 *
 * On the wire a name is a sequence of labels, each a length octet (0..63) then that many octets,
 * ended by the zero-length root label, or by a compression pointer: two octets whose top bits are
 * 11 and whose other 14 bits are an offset from the start of the message.
 *
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     | 1  1|                OFFSET                   |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * In this module a name is its text form: labels joined by dots, without the trailing dot, the root
 * being the empty string. Octets that would be ambiguous or unprintable are escaped as in master
 * files (RFC 1035 5.1): `\.` and `\\` for a dot or backslash inside a label, `\DDD` (decimal) for
 * any octet outside 0x21..0x7e. So every wire name has exactly one text form and back.
 */
import type { Parsed } from './result.ts';
import { err, ok } from './result.ts';

/** RFC 1035 2.3.4: at most 63 octets in a label. */
export const DNS_MAX_LABEL_LEN = 63;
/** RFC 1035 2.3.4: at most 255 octets in a name, counting every length octet and the root. */
export const DNS_MAX_NAME_LEN = 255;
/** Compression pointers carry 14 bits of offset (RFC 1035 4.1.4). */
const MAX_POINTER_TARGET = 0x3fff;
const POINTER_TAG = 0xc0;

export type DnsNameError =
  /** The name runs past the end of the message. */
  | 'truncated'
  /** A length octet 0x40..0xbf: longer than 63, or the extended label types RFC 6891 retired. */
  | 'label-too-long'
  /** More than 255 octets once decompressed. */
  | 'name-too-long'
  /** A pointer to a later offset. */
  | 'forward-pointer'
  /** A pointer to itself or into the part of the name already being read, which would loop. */
  | 'pointer-loop';

/** A name read from a message, and the offset just after it where it was found. */
export interface ReadName {
  name: string;
  /** Offset after the name's first appearance (after the first pointer if compressed). */
  end: number;
}

/**
 * Reads the name at `offset` of `msg` (the whole DNS message, as pointers count from its start).
 *
 * Loops are impossible by construction: every pointer must point strictly before the start of the
 * stretch of labels it ends (the name's own start, then each earlier pointer's target), so the
 * targets strictly decrease. This accepts every name a compressor can produce, since a compressor
 * only points at names it wrote earlier (RFC 1035 4.1.4).
 */
export function readName(msg: Uint8Array, offset: number): Parsed<ReadName, DnsNameError> {
  const labels: Uint8Array[] = [];
  let pos = offset;
  let segmentStart = offset;
  let end = -1;
  let wireLen = 1; // the root label
  for (;;) {
    if (pos >= msg.length) return err('truncated');
    const len = msg[pos]!;
    if ((len & POINTER_TAG) === POINTER_TAG) {
      if (pos + 1 >= msg.length) return err('truncated');
      const target = ((len & ~POINTER_TAG) << 8) | msg[pos + 1]!;
      if (target > pos) return err('forward-pointer');
      if (target >= segmentStart) return err('pointer-loop');
      if (end < 0) end = pos + 2;
      segmentStart = target;
      pos = target;
      continue;
    }
    if (len > DNS_MAX_LABEL_LEN) return err('label-too-long');
    if (len === 0) break;
    wireLen += len + 1;
    if (wireLen > DNS_MAX_NAME_LEN) return err('name-too-long');
    if (pos + 1 + len > msg.length) return err('truncated');
    labels.push(msg.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return ok({ name: labelsToName(labels), end: end < 0 ? pos + 1 : end });
}

function labelToText(label: Uint8Array): string {
  let s = '';
  for (const c of label) {
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x21 && c <= 0x7e) s += String.fromCharCode(c);
    else s += `\\${c.toString().padStart(3, '0')}`;
  }
  return s;
}

/**
 * The labels of a name in text form (escapes as in RFC 1035 5.1; a trailing dot is allowed; '' and
 * '.' are the root), or undefined when it is not a valid name: an empty label, a label over 63
 * octets, over 255 octets in all, a character beyond U+00FF, or a bad escape.
 */
export function nameToLabels(text: string): Uint8Array[] | undefined {
  if (text === '' || text === '.') return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let wireLen = 1;
  const finish = (): boolean => {
    if (cur.length === 0 || cur.length > DNS_MAX_LABEL_LEN) return false;
    wireLen += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
    return true;
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (!finish()) return undefined;
      continue;
    }
    if (c === 0x5c) {
      const digits = text.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(digits)) {
        c = Number(digits);
        i += 3;
      } else if (i + 1 < text.length && !/[0-9]/.test(text[i + 1]!)) {
        c = text.charCodeAt(++i);
      } else {
        return undefined;
      }
    }
    if (c > 0xff) return undefined;
    cur.push(c);
  }
  if (cur.length > 0 && !finish()) return undefined;
  return wireLen <= DNS_MAX_NAME_LEN ? labels : undefined;
}

/** ASCII case folding of one octet (RFC 4343 3: only A-Z fold; other octets compare exactly). */
function fold(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** The text form of a list of labels (the inverse of `nameToLabels`). */
export function labelsToName(labels: Uint8Array[]): string {
  return labels.map(labelToText).join('.');
}

/** A map key for a list of labels: its text form, case-folded when `folded`. */
function labelsKey(labels: Uint8Array[], folded: boolean): string {
  return labelsToName(folded ? labels.map((l) => l.map(fold)) : labels);
}

/**
 * Compares two names as DNS does (RFC 4343): ASCII letters without regard to case, escapes
 * resolved, a trailing dot ignored. Invalid names equal nothing.
 */
export function dnsNamesEqual(a: string, b: string): boolean {
  const la = nameToLabels(a);
  const lb = nameToLabels(b);
  return la !== undefined && lb !== undefined && labelsKey(la, true) === labelsKey(lb, true);
}

/**
 * Writes names into a message, reusing any suffix written before through a compression pointer
 * (RFC 1035 4.1.4). Offsets are relative to the start of the message; suffixes that start at or
 * after 0x4000 are not remembered, since a pointer cannot reach them.
 */
export class NameCompressor {
  private readonly suffixes = new Map<string, number>();

  /**
   * Writes `labels` at `pos` of `out` (where the message starts at `base`); with `compress` false
   * the name is written in full (RFC 2782 forbids compressing an SRV target) but its suffixes are
   * still remembered. With `out` undefined only the length is computed. Returns the offset after.
   */
  write(
    out: Uint8Array | undefined,
    base: number,
    pos: number,
    labels: Uint8Array[],
    compress: boolean,
  ): number {
    for (let i = 0; i < labels.length; i++) {
      // Case-sensitive, so a decompressed name keeps the case it was written with.
      const key = labelsKey(labels.slice(i), false);
      const target = this.suffixes.get(key);
      if (compress && target !== undefined) {
        if (out) {
          out[pos] = POINTER_TAG | (target >>> 8);
          out[pos + 1] = target & 0xff;
        }
        return pos + 2;
      }
      const rel = pos - base;
      if (target === undefined && rel <= MAX_POINTER_TARGET) this.suffixes.set(key, rel);
      const label = labels[i]!;
      if (out) {
        out[pos] = label.length;
        out.set(label, pos + 1);
      }
      pos += 1 + label.length;
    }
    if (out) out[pos] = 0;
    return pos + 1;
  }
}
