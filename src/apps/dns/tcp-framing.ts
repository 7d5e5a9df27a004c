/**
 * DNS over TCP frames each message with a two-octet length (RFC 1035 4.2.2, RFC 7766 8). The
 * reader reassembles messages from stream chunks of any size; it holds at most one partial message
 * (65535 octets plus the prefix), so a peer cannot make it grow without bound.
 */

/** `message` with its length prefix. */
export function frameTcpMessage(message: Uint8Array): Uint8Array {
  if (message.length > 0xffff) throw new RangeError('DNS: message longer than 65535 octets');
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

export class TcpMessageReader {
  private buf = new Uint8Array(0);

  /** Takes a chunk of the stream; returns the messages it completed (copies, in order). */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let p = 0;
    while (joined.length - p >= 2) {
      const len = (joined[p]! << 8) | joined[p + 1]!;
      if (joined.length - p - 2 < len) break;
      out.push(joined.slice(p + 2, p + 2 + len));
      p += 2 + len;
    }
    this.buf = joined.slice(p);
    return out;
  }
}
