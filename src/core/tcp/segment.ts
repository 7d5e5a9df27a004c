/**
 * A received segment as the engine sees it: the header fields it needs, the parsed options and
 * the data (a view into the received packet, valid during processing only).
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../wire/tcp.ts';
import type { TcpOptions } from '../../wire/tcp-options.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { IpAddr } from '../ip-address.ts';
import type { Seq } from './seq.ts';

export interface Segment {
  /** The addresses as on the wire: both IPv4 or both IPv6 (never IPv4-mapped). */
  src: IpAddr;
  dst: IpAddr;
  /** The interface it came in on (the scope of a link-local source). */
  iface: NetworkInterface;
  srcPort: number;
  dstPort: number;
  seq: Seq;
  ack: Seq;
  flags: number;
  /** The window field as sent (unscaled). */
  window: number;
  options: TcpOptions;
  payload: Uint8Array;
}

export const hasSyn = (s: Segment): boolean => (s.flags & TCP_SYN) !== 0;
export const hasAck = (s: Segment): boolean => (s.flags & TCP_ACK) !== 0;
export const hasRst = (s: Segment): boolean => (s.flags & TCP_RST) !== 0;
export const hasFin = (s: Segment): boolean => (s.flags & TCP_FIN) !== 0;
export const hasPsh = (s: Segment): boolean => (s.flags & TCP_PSH) !== 0;

/** SEG.LEN (RFC 9293 3.4): the data plus one for SYN and one for FIN. */
export function segLen(s: Segment): number {
  return s.payload.length + (hasSyn(s) ? 1 : 0) + (hasFin(s) ? 1 : 0);
}
