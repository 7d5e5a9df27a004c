/**
 * ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses: the only combination the stack
 * speaks. RFC 5227 probes and announcements are ordinary requests with particular field values
 * (a probe has sender IP 0; an announcement has sender IP = target IP).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |       Hardware type (1)       |     Protocol type (0x0800)    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | HW len (6)    | Proto len (4) |          Operation            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |        Sender hardware address (6)    | Sender protocol addr  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | (4)           |        Target hardware address (6)            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |               |  Target protocol address (4)  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { type Ipv4Addr, type MacAddr, readIpv4, readMac, writeIpv4, writeMac } from './address.ts';
import { readU16, writeU16 } from './bytes.ts';
import { ETHERTYPE_IPV4 } from './ethernet.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_PACKET_LEN = 28;
/** RFC 826 "ar$hrd": Ethernet (IANA ARP hardware type 1). */
export const ARP_HARDWARE_ETHERNET = 1;
/** RFC 826 "ar$op" values. */
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** Field offsets. */
const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;

export type ArpError = 'truncated' | 'unsupported-hardware' | 'unsupported-protocol' | 'bad-address-length';

/** A zero-copy view of an Ethernet/IPv4 ARP packet. Create after `ArpView.check` passes. */
export class ArpView {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks the length and that hardware/protocol types and address lengths are Ethernet/IPv4. */
  static check(bytes: Uint8Array): ArpError | undefined {
    if (bytes.length < ARP_PACKET_LEN) return 'truncated';
    if (readU16(bytes, HTYPE) !== ARP_HARDWARE_ETHERNET) return 'unsupported-hardware';
    if (readU16(bytes, PTYPE) !== ETHERTYPE_IPV4) return 'unsupported-protocol';
    if (bytes[HLEN] !== 6 || bytes[PLEN] !== 4) return 'bad-address-length';
    return undefined;
  }

  /** Operation: ARP_REQUEST, ARP_REPLY, or another value the caller ignores. */
  get operation(): number {
    return readU16(this.bytes, OPER);
  }
  /** Sender hardware address. */
  get senderMac(): MacAddr {
    return readMac(this.bytes, SHA);
  }
  /** Sender protocol address (0 in an RFC 5227 probe). */
  get senderIp(): Ipv4Addr {
    return readIpv4(this.bytes, SPA);
  }
  /** Target hardware address (ignored in requests, usually 0). */
  get targetMac(): MacAddr {
    return readMac(this.bytes, THA);
  }
  /** Target protocol address. */
  get targetIp(): Ipv4Addr {
    return readIpv4(this.bytes, TPA);
  }
}

export interface ArpRepr {
  operation: number;
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  targetMac: MacAddr;
  targetIp: Ipv4Addr;
}

export function parseArp(bytes: Uint8Array): Parsed<ArpRepr, ArpError> {
  const error = ArpView.check(bytes);
  if (error !== undefined) return err(error);
  const v = new ArpView(bytes);
  return ok({
    operation: v.operation,
    senderMac: v.senderMac,
    senderIp: v.senderIp,
    targetMac: v.targetMac,
    targetIp: v.targetIp,
  });
}

/** Prepends a whole ARP packet (28 bytes) to `pb` (normally empty, with headroom for Ethernet). */
export function emitArp(pb: PacketBuffer, repr: ArpRepr): void {
  const off = pb.prepend(ARP_PACKET_LEN);
  const b = pb.buf;
  writeU16(b, off + HTYPE, ARP_HARDWARE_ETHERNET);
  writeU16(b, off + PTYPE, ETHERTYPE_IPV4);
  b[off + HLEN] = 6;
  b[off + PLEN] = 4;
  writeU16(b, off + OPER, repr.operation);
  writeMac(b, off + SHA, repr.senderMac);
  writeIpv4(b, off + SPA, repr.senderIp);
  writeMac(b, off + THA, repr.targetMac);
  writeIpv4(b, off + TPA, repr.targetIp);
}
