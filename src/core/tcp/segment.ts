/**
 * A received segment as the engine sees it: the header fields it needs, the parsed options and
 * the data (a view into the received packet, valid during processing only).
 */
import type { Ipv4Addr } from '../../wire/address.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../wire/tcp.ts';
import type { TcpOptions } from '../../wire/tcp-options.ts';
import type { Seq } from './seq.ts';

export interface Segment {
  src: Ipv4Addr;
  dst: Ipv4Addr;
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
