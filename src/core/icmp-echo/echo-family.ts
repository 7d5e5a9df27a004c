/**
 * What differs between ICMP echo over IPv4 (RFC 792) and ICMPv6 echo (RFC 4443 4.1, 4.2): how a
 * request is routed, built and sent, the request's type (to recognize it quoted in errors), the
 * largest data, and the errno an error stands for. Echo sockets and the `Pinger` are written once
 * over this interface.
 */
import {
  IPV4_BROADCAST,
  type Ipv4Addr,
  type Ipv6Addr,
  ipv4ToString,
  ipv6ToString,
} from '../../wire/address.ts';
import { emitIcmpv4, ICMPV4_ECHO_REQUEST } from '../../wire/icmpv4.ts';
import { emitIcmpv6, ICMPV6_ECHO_REQUEST, IP_PROTOCOL_ICMPV6 } from '../../wire/icmpv6.ts';
import { IP_PROTOCOL_ICMP } from '../../wire/ipv4.ts';
import { IPV6_HEADER_LEN, IPV6_MAX_PAYLOAD } from '../../wire/ipv6.ts';
import { PacketBuffer } from '../../wire/packet-buffer.ts';
import type { NetworkInterface } from '../device/interface.ts';
import { errno, icmpv4Errno } from '../errno.ts';
import { icmpv6Errno } from '../ip6/icmpv6.ts';
import type { Stack } from '../stack.ts';

/** An address of either family: IPv4 as a number, IPv6 as 16 bytes. */
export type EchoAddr = Ipv4Addr | Ipv6Addr;

/** Echo request fields. */
export interface EchoRequest {
  id: number;
  seq: number;
  data: Uint8Array;
}

/** Per-socket settings that apply to the requests. */
export interface EchoSendOptions {
  /** IP_TTL / IPV6_UNICAST_HOPS. */
  hopLimit: number | undefined;
  /** SO_BINDTODEVICE, or the scope (zone) of a link-local destination. */
  iface: NetworkInterface | undefined;
}

export interface EchoFamily<A extends EchoAddr> {
  readonly name: 'ipv4' | 'ipv6';
  /** The echo request type, as quoted in errors. */
  readonly requestType: number;
  /** Bytes of the IP header in front of an echo message (for ping's `56(84)`). */
  readonly ipHeaderLen: number;
  /** The largest echo data: 65535 minus the headers inside the IP payload length. */
  readonly maxData: number;
  format(addr: A): string;
  /** Routes and sends one echo request; throws the errno error of a local failure. */
  send(stack: Stack, dst: A, request: EchoRequest, options: EchoSendOptions): void;
  /** The errno an ICMP error of this family stands for. */
  errno(type: number, code: number): string;
}

export const ECHO_IPV4: EchoFamily<Ipv4Addr> = {
  name: 'ipv4',
  requestType: ICMPV4_ECHO_REQUEST,
  ipHeaderLen: 20,
  maxData: 65535 - 20 - 8,
  format: ipv4ToString,
  send(stack, dst, { id, seq, data }, options) {
    const path = stack.ipv4.route(dst, options.iface !== undefined ? { iface: options.iface } : {});
    if (typeof path === 'string') throw errno(path, `no route to ${ipv4ToString(dst)}`);
    // Linux's ping sockets refuse broadcast destinations unless SO_BROADCAST is set.
    if (path.broadcast || dst === IPV4_BROADCAST) throw errno('EACCES', `${ipv4ToString(dst)} is broadcast`);
    const pb = PacketBuffer.forMessage(8 + data.length);
    emitIcmpv4(pb, { type: 'echo-request', id, seq, data });
    const error = stack.ipv4.send(
      path,
      {
        dst,
        protocol: IP_PROTOCOL_ICMP,
        ...(options.hopLimit !== undefined ? { ttl: options.hopLimit } : {}),
      },
      pb,
    );
    if (error !== undefined) throw errno(error, `send to ${ipv4ToString(dst)}`);
  },
  errno: icmpv4Errno,
};

export const ECHO_IPV6: EchoFamily<Ipv6Addr> = {
  name: 'ipv6',
  requestType: ICMPV6_ECHO_REQUEST,
  ipHeaderLen: IPV6_HEADER_LEN,
  maxData: IPV6_MAX_PAYLOAD - 8,
  format: ipv6ToString,
  send(stack, dst, { id, seq, data }, options) {
    const ip = stack.ipv6;
    if (ip === undefined) throw errno('EAFNOSUPPORT', 'the stack has no IPv6');
    const path = ip.route(dst, options.iface !== undefined ? { iface: options.iface } : {});
    if (typeof path === 'string') {
      const why = path === 'EINVAL' ? ': a link-local destination needs an interface (%IFACE)' : '';
      throw errno(path, `no route to ${ipv6ToString(dst)}${why}`);
    }
    const pb = PacketBuffer.forMessage(8 + data.length);
    emitIcmpv6(pb, { kind: 'echo-request', identifier: id, sequence: seq, data }, path.src, dst);
    const error = ip.send(
      path,
      {
        dst,
        nextHeader: IP_PROTOCOL_ICMPV6,
        ...(options.hopLimit !== undefined ? { hopLimit: options.hopLimit } : {}),
      },
      pb,
    );
    if (error !== undefined) throw errno(error, `send to ${ipv6ToString(dst)}`);
  },
  errno: icmpv6Errno,
};

/** The family of an address. */
export function echoFamilyOf<A extends EchoAddr>(addr: A): EchoFamily<A> {
  return (typeof addr === 'number' ? ECHO_IPV4 : ECHO_IPV6) as unknown as EchoFamily<A>;
}
