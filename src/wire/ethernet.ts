/**
 * Ethernet II frames (IEEE 802.3 clause 3.2.6 "Length/Type" used as a type, RFC 894), with an
 * optional IEEE 802.1Q VLAN tag. The frame check sequence is not part of what we see or emit.
 *
 *     0                   6                   12      14
 *    +-------------------+-------------------+-------+---------
 *    |  destination MAC  |    source MAC     | type  | payload
 *    +-------------------+-------------------+-------+---------
 *
 *   with an 802.1Q tag, the type is 0x8100 (TPID) and 4 bytes follow it before the inner type:
 *
 *    12      14                  16      18
 *    +-------+---+-+-------------+-------+---------
 *    | 8100  |PCP|D|   VLAN ID   | type  | payload
 *    +-------+---+-+-------------+-------+---------
 */
import { type MacAddr, readMac, writeMac } from './address.ts';
import { readU16, writeU16 } from './bytes.ts';
import type { PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;

export const ETHERNET_HEADER_LEN = 14;
/** Length of an 802.1Q tag (TPID + TCI). */
export const VLAN_TAG_LEN = 4;

/** Field offsets. */
const DST = 0;
const SRC = 6;
const ETHERTYPE = 12;
/** Tag Control Information, right after the 0x8100 TPID. */
const TCI = 14;
const INNER_ETHERTYPE = 16;

/** IEEE 802.1Q Tag Control Information. */
export interface VlanTag {
  /** Priority Code Point, 0..7. */
  pcp: number;
  /** Drop Eligible Indicator. */
  dei: boolean;
  /** VLAN identifier, 0..4095 (0: priority tag only; 4095 reserved). */
  id: number;
}

export interface EthernetRepr {
  dst: MacAddr;
  src: MacAddr;
  /** The type of the payload (the inner one when the frame is tagged). */
  ethertype: number;
  vlan?: VlanTag;
}

export type EthernetError = 'truncated';

/** A zero-copy view of an Ethernet II frame. Create after `EthernetView.check` passes. */
export class EthernetView {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks that the header (and the 802.1Q tag, when the outer type says there is one) fits. */
  static check(bytes: Uint8Array): EthernetError | undefined {
    if (bytes.length < ETHERNET_HEADER_LEN) return 'truncated';
    if (readU16(bytes, ETHERTYPE) === ETHERTYPE_VLAN && bytes.length < ETHERNET_HEADER_LEN + VLAN_TAG_LEN) {
      return 'truncated';
    }
    return undefined;
  }

  /** Destination MAC address. */
  get dst(): MacAddr {
    return readMac(this.bytes, DST);
  }
  /** Source MAC address. */
  get src(): MacAddr {
    return readMac(this.bytes, SRC);
  }
  /** True when the frame carries an 802.1Q tag. */
  get tagged(): boolean {
    return readU16(this.bytes, ETHERTYPE) === ETHERTYPE_VLAN;
  }
  /** The payload's type: the one after the tag when tagged. */
  get ethertype(): number {
    return readU16(this.bytes, this.tagged ? INNER_ETHERTYPE : ETHERTYPE);
  }
  /** The 802.1Q tag, if any. */
  get vlan(): VlanTag | undefined {
    if (!this.tagged) return undefined;
    const tci = readU16(this.bytes, TCI);
    return { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, id: tci & 0x0fff };
  }
  /** Header length: 14, or 18 with a tag. */
  get headerLength(): number {
    return this.tagged ? ETHERNET_HEADER_LEN + VLAN_TAG_LEN : ETHERNET_HEADER_LEN;
  }
  /** The payload (a view; it may include the padding of short frames, which upper layers trim). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

export function parseEthernet(
  bytes: Uint8Array,
): Parsed<EthernetRepr & { payload: Uint8Array }, EthernetError> {
  const error = EthernetView.check(bytes);
  if (error !== undefined) return err(error);
  const v = new EthernetView(bytes);
  const repr: EthernetRepr & { payload: Uint8Array } = {
    dst: v.dst,
    src: v.src,
    ethertype: v.ethertype,
    payload: v.payload,
  };
  const vlan = v.vlan;
  if (vlan !== undefined) repr.vlan = vlan;
  return ok(repr);
}

/** Prepends an Ethernet header (14 bytes, or 18 with a VLAN tag) to the payload already in `pb`. */
export function emitEthernet(pb: PacketBuffer, repr: EthernetRepr): void {
  const tagLen = repr.vlan === undefined ? 0 : VLAN_TAG_LEN;
  const off = pb.prepend(ETHERNET_HEADER_LEN + tagLen);
  const b = pb.buf;
  writeMac(b, off + DST, repr.dst);
  writeMac(b, off + SRC, repr.src);
  if (repr.vlan !== undefined) {
    const { pcp, dei, id } = repr.vlan;
    writeU16(b, off + ETHERTYPE, ETHERTYPE_VLAN);
    writeU16(b, off + TCI, ((pcp & 7) << 13) | (dei ? 0x1000 : 0) | (id & 0x0fff));
  }
  writeU16(b, off + ETHERTYPE + tagLen, repr.ethertype);
}
