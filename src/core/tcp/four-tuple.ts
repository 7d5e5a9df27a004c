/** The addresses and ports that name a TCP connection, and their encoding as keyed-hash input. */
import { type IpAddr, ipWords } from '../ip-address.ts';

/**
 * A connection's local and remote address and port, as on the wire: both IPv4 (numbers) or both
 * IPv6 (16 bytes; never IPv4-mapped, RFC 4291 2.5.5.2: mapped addresses do not appear in packets).
 */
export interface FourTuple {
  localAddress: IpAddr;
  localPort: number;
  remoteAddress: IpAddr;
  remotePort: number;
}

/**
 * The tuple as bytes (local address, remote address, local port, remote port, big-endian: 12
 * bytes for IPv4, 36 for IPv6), followed by `extra` 32-bit words: the message the ISN and SYN
 * cookie hashes take (RFC 6528 3 hashes the whole 128-bit addresses of IPv6).
 */
export function fourTupleBytes(t: FourTuple, ...extra: number[]): Uint8Array {
  const words = [...ipWords(t.localAddress), ...ipWords(t.remoteAddress)];
  const out = new Uint8Array(4 * words.length + 4 + 4 * extra.length);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const w of words) {
    view.setUint32(at, w >>> 0);
    at += 4;
  }
  view.setUint16(at, t.localPort);
  view.setUint16(at + 2, t.remotePort);
  at += 4;
  for (const w of extra) {
    view.setUint32(at, w >>> 0);
    at += 4;
  }
  return out;
}
