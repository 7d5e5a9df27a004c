/**
 * An ICMP echo socket, like Linux's unprivileged ping sockets (`socket(AF_INET, SOCK_DGRAM,
 * IPPROTO_ICMP)` and `socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6)`): it sends echo requests
 * (RFC 792, RFC 4443 4.1) under an identifier of its own and receives the replies and the ICMP
 * errors quoting its requests, each with the round-trip time measured on the stack's clock from
 * the send of that sequence number. One socket speaks one family (`EchoFamily`).
 */
import type { NetworkInterface } from '../device/interface.ts';
import { errno } from '../errno.ts';
import type { Instant } from '../time.ts';
import type { EchoAddr, EchoFamily } from './echo-family.ts';
import type { EchoLayer } from './echo-layer.ts';

export interface EchoReply<A extends EchoAddr = EchoAddr> {
  /** Who answered. */
  src: A;
  seq: number;
  /** The echoed data, an owned copy. */
  data: Uint8Array;
  /** The TTL (IPv4) or hop limit (IPv6) the reply arrived with. */
  ttl: number;
  /** Milliseconds since this sequence number was sent. */
  rtt: number;
}

export interface EchoError<A extends EchoAddr = EchoAddr> {
  seq: number;
  /** The router or host that reported it. */
  reporter: A;
  /** The destination of the echo request. */
  dst: A;
  type: number;
  code: number;
  /** The errno the error stands for (EHOSTUNREACH, ENETUNREACH, EMSGSIZE...). */
  errno: string;
  /** The MTU of an IPv6 Packet Too Big (RFC 4443 3.2), else 0. */
  mtu: number;
}

export class EchoSocket<A extends EchoAddr = EchoAddr> {
  onReply: ((reply: EchoReply<A>) => void) | undefined;
  onError: ((error: EchoError<A>) => void) | undefined;
  /** When each sequence number was last sent (16-bit keys: at most 65536 entries). */
  private readonly sentAt = new Map<number, Instant>();
  private ttl: number | undefined;
  private iface: NetworkInterface | undefined;
  private closed = false;

  constructor(
    private readonly layer: EchoLayer,
    readonly family: EchoFamily<A>,
    /** The echo identifier of this socket, unique among the open ones of its family. */
    readonly id: number,
  ) {}

  /** Sends an echo request for `seq` (0..65535) carrying `data` to `dst`. */
  send(dst: A, seq: number, data: Uint8Array = new Uint8Array(56)): void {
    this.checkOpen();
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff)
      throw errno('EINVAL', `bad sequence number ${seq}`);
    const max = this.family.maxData;
    if (data.length > max) throw errno('EMSGSIZE', `${data.length} bytes > ${max}`);
    const stack = this.layer.stack;
    stack.run(() => {
      this.family.send(stack, dst, { id: this.id, seq, data }, { hopLimit: this.ttl, iface: this.iface });
      this.sentAt.set(seq, stack.now());
      this.layer.requestsSent.value++;
    });
  }

  /** IP_TTL or IPV6_UNICAST_HOPS of the requests (1..255). */
  setTtl(ttl: number): void {
    this.checkOpen();
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw errno('EINVAL', `bad TTL ${ttl}`);
    this.ttl = ttl;
  }

  /**
   * SO_BINDTODEVICE: requests leave by `iface` (undefined: any). For IPv6 it is also the zone of
   * link-local destinations (`fe80::1%eth0`), which need one when the stack has several links.
   */
  bindToDevice(iface: NetworkInterface | undefined): void {
    this.checkOpen();
    this.iface = iface;
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
