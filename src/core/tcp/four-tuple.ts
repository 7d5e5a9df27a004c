/** The addresses and ports that name a TCP connection, and their encoding as keyed-hash input. */
import type { Ipv4Addr } from '../../wire/address.ts';

/** A connection's local and remote IPv4 address and port. */
export interface FourTuple {
  localAddress: Ipv4Addr;
  localPort: number;
  remoteAddress: Ipv4Addr;
  remotePort: number;
}

/**
 * The tuple as 12 bytes (local address, remote address, local port, remote port, big-endian),
 * followed by `extra` 32-bit words: the message the ISN and SYN cookie hashes take.
 */
export function fourTupleBytes(t: FourTuple, ...extra: number[]): Uint8Array {
  const out = new Uint8Array(12 + 4 * extra.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, t.localAddress >>> 0);
  view.setUint32(4, t.remoteAddress >>> 0);
  view.setUint16(8, t.localPort);
  view.setUint16(10, t.remotePort);
  for (let i = 0; i < extra.length; i++) view.setUint32(12 + 4 * i, (extra[i] as number) >>> 0);
  return out;
}
