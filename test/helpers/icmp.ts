/** ICMP helpers for simulation tests: an echo client on a stack, and a sniffer of ICMP messages. */
import assert from 'node:assert/strict';
import type { Stack } from '../../src/core/stack.ts';
import { type Ipv4Addr, ipv4ToString } from '../../src/wire/address.ts';
import { ETHERTYPE_IPV4, EthernetView } from '../../src/wire/ethernet.ts';
import { emitIcmpv4, Icmpv4View } from '../../src/wire/icmpv4.ts';
import { IP_PROTOCOL_ICMP, Ipv4View } from '../../src/wire/ipv4.ts';
import { PacketBuffer } from '../../src/wire/packet-buffer.ts';

/** The echo identifier `pinger` uses. */
export const PING_ID = 77;

export interface EchoOptions {
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
  /** Raw IPv4 options. */
  options?: Uint8Array;
}

/** An echo reply seen by `pinger`. */
export interface EchoReply {
  from: string;
  seq: number;
  size: number;
  ttl: number;
  /** The reply's data equals the request's pattern. */
  intact: boolean;
}

/** An ICMP error about one of the pinger's packets, as the IPv4 layer reported it. */
export interface EchoError {
  type: number;
  code: number;
  from: string;
  /** Next-hop MTU of "fragmentation needed" (RFC 1191), 0 otherwise. */
  mtu: number;
}

/** The data of echo request `seq` of `size` bytes: a pattern that moves with the sequence number. */
function echoData(size: number, seq: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i + seq) & 0xff);
}

/**
 * An echo client on `stack`: `send` sends one echo request with `size` bytes of data; replies and
 * the ICMP errors about its packets are recorded. Takes over the stack's echo-reply handler and
 * the ICMP protocol's error handler.
 */
export function pinger(stack: Stack) {
  const replies: EchoReply[] = [];
  const errors: EchoError[] = [];
  stack.icmpv4.echoReplyHandler = (p, icmp: Icmpv4View) => {
    const data = icmp.body;
    const expected = echoData(data.length, icmp.echoSeq);
    replies.push({
      from: ipv4ToString(p.src),
      seq: icmp.echoSeq,
      size: data.length,
      ttl: p.ip.ttl,
      intact: Buffer.from(data).equals(expected),
    });
    return true;
  };
  stack.ipv4.register(IP_PROTOCOL_ICMP, {
    receive: (p) => stack.icmpv4.receive(p),
    error: (r) => errors.push({ type: r.type, code: r.code, from: ipv4ToString(r.reporter), mtu: r.mtu }),
  });
  const send = (dst: Ipv4Addr, seq: number, size = 56, options: EchoOptions = {}) =>
    stack.run(() => {
      const pb = PacketBuffer.forMessage(8 + size);
      emitIcmpv4(pb, { type: 'echo-request', id: PING_ID, seq, data: echoData(size, seq) });
      const path = stack.ipv4.route(dst);
      assert.equal(typeof path, 'object', `route to ${ipv4ToString(dst)}: ${String(path)}`);
      return stack.ipv4.send(
        path as Exclude<typeof path, string>,
        { dst, protocol: IP_PROTOCOL_ICMP, ...options },
        pb,
      );
    });
  return { replies, errors, send };
}

/** An ICMP message seen on the wire by `icmpSniffer`. */
export interface SeenIcmp {
  type: number;
  code: number;
  from: string;
  to: string;
  /** Next-hop MTU (type 3 code 4) or pointer (type 12), else 0. */
  mtu: number;
  pointer: number;
  /** The quoted header of an error message. */
  quoted?: { src: string; dst: string; protocol: number; id: number; ttl: number; fragmentOffset: number };
}

/**
 * Records every ICMP message arriving in an Ethernet frame addressed to `stack` (through a packet
 * socket, so before the IPv4 layer sees it).
 */
export function icmpSniffer(stack: Stack): SeenIcmp[] {
  const seen: SeenIcmp[] = [];
  stack.packetSockets.open({
    ethertype: ETHERTYPE_IPV4,
    onFrame: (frame) => {
      const ip = new EthernetView(frame).payload;
      if (Ipv4View.check(ip) !== undefined) return;
      const v = new Ipv4View(ip);
      if (v.protocol !== IP_PROTOCOL_ICMP || v.isFragment || Icmpv4View.check(v.payload) !== undefined)
        return;
      const icmp = new Icmpv4View(v.payload);
      const q = icmp.original;
      seen.push({
        type: icmp.type,
        code: icmp.code,
        from: ipv4ToString(v.src),
        to: ipv4ToString(v.dst),
        mtu: icmp.type === 3 ? icmp.nextHopMtu : 0,
        pointer: icmp.type === 12 ? icmp.pointer : 0,
        ...(q !== undefined
          ? {
              quoted: {
                src: ipv4ToString(q.src),
                dst: ipv4ToString(q.dst),
                protocol: q.protocol,
                id: q.id,
                ttl: q.ttl,
                fragmentOffset: q.fragmentOffset,
              },
            }
          : {}),
      });
    },
  });
  return seen;
}
