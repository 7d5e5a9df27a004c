/**
 * An ICMP echo socket, like Linux's unprivileged ping sockets (`socket(AF_INET, SOCK_DGRAM,
 * IPPROTO_ICMP)`): it sends echo requests (RFC 792) under an identifier of its own and receives the
 * replies and the ICMP errors quoting its requests, each with the round-trip time measured on the
 * stack's clock from the send of that sequence number.
 */
import { IPV4_BROADCAST, type Ipv4Addr, ipv4ToString } from '../../wire/address.ts';
import { emitIcmpv4 } from '../../wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP } from '../../wire/ipv4.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import { errno } from '../errno.ts';
import type { Instant } from '../time.ts';
import type { EchoLayer } from './echo-layer.ts';

/** The largest echo data over IPv4: 65535 minus the IPv4 (20) and ICMP (8) headers. */
export const MAX_ECHO_DATA = 65507;

export interface EchoReply {
  /** Who answered. */
  src: Ipv4Addr;
  seq: number;
  /** The echoed data, an owned copy. */
  data: Uint8Array;
  /** The TTL the reply arrived with. */
  ttl: number;
  /** Milliseconds since this sequence number was sent. */
  rtt: number;
}

export interface EchoError {
  seq: number;
  /** The router or host that reported it. */
  reporter: Ipv4Addr;
  /** The destination of the echo request. */
  dst: Ipv4Addr;
  type: number;
  code: number;
  /** The errno the error stands for (EHOSTUNREACH, ENETUNREACH, ...). */
  errno: string;
}

export class EchoSocket {
  onReply: ((reply: EchoReply) => void) | undefined;
  onError: ((error: EchoError) => void) | undefined;
  /** When each sequence number was last sent (16-bit keys: at most 65536 entries). */
  private readonly sentAt = new Map<number, Instant>();
  private ttl: number | undefined;
  private closed = false;

  constructor(
    private readonly layer: EchoLayer,
    /** The echo identifier of this socket, unique among the open ones. */
    readonly id: number,
  ) {}

  /** Sends an echo request for `seq` (0..65535) carrying `data` to `dst`. */
  send(dst: Ipv4Addr, seq: number, data: Uint8Array = new Uint8Array(56)): void {
    this.checkOpen();
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff)
      throw errno('EINVAL', `bad sequence number ${seq}`);
    if (data.length > MAX_ECHO_DATA) throw errno('EMSGSIZE', `${data.length} bytes > ${MAX_ECHO_DATA}`);
    const stack = this.layer.stack;
    stack.run(() => {
      const path = stack.ipv4.route(dst);
      if (typeof path === 'string') throw errno(path, `no route to ${ipv4ToString(dst)}`);
      // Linux's ping sockets refuse broadcast destinations unless SO_BROADCAST is set.
      if (path.broadcast || dst === IPV4_BROADCAST)
        throw errno('EACCES', `${ipv4ToString(dst)} is broadcast`);
      const pb = PacketBuffer.forMessage(8 + data.length);
      emitIcmpv4(pb, { type: 'echo-request', id: this.id, seq, data });
      const error = stack.ipv4.send(
        path,
        { dst, protocol: IP_PROTOCOL_ICMP, ...(this.ttl !== undefined ? { ttl: this.ttl } : {}) },
        pb,
      );
      if (error !== undefined) throw errno(error, `send to ${ipv4ToString(dst)}`);
      this.sentAt.set(seq, stack.now());
      this.layer.requestsSent.value++;
    });
  }

  /** IP_TTL of the requests (1..255). */
  setTtl(ttl: number): void {
    this.checkOpen();
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw errno('EINVAL', `bad TTL ${ttl}`);
    this.ttl = ttl;
  }

  /** Frees the identifier. EBADF when already closed. */
  close(): void {
    this.checkOpen();
    this.closed = true;
    this.layer.forget(this);
  }

  /** When `seq` was sent, if it was. */
  sentTime(seq: number): Instant | undefined {
    return this.sentAt.get(seq);
  }

  private checkOpen(): void {
    if (this.closed) throw errno('EBADF', 'socket is closed');
  }
}
