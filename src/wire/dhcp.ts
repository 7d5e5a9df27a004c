/**
 * DHCPv4 messages (RFC 2131 2, on the BOOTP layout of RFC 951), with options (dhcp-options.ts).
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +---------------+---------------+---------------+---------------+
 *     |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 *     +---------------+---------------+---------------+---------------+
 *     |                            xid (4)                            |
 *     +-------------------------------+-------------------------------+
 *     |           secs (2)            |           flags (2)           |
 *     +-------------------------------+-------------------------------+
 *     |                ciaddr, yiaddr, siaddr, giaddr (4 each)        |
 *     +---------------------------------------------------------------+
 *     |                          chaddr (16)                          |
 *     |                          sname  (64)                          |
 *     |                          file   (128)                         |
 *     +---------------------------------------------------------------+
 *     |               magic cookie 99.130.83.99 (RFC 2131 3)          |
 *     |                          options (variable)                   |
 *     +---------------------------------------------------------------+
 */
import { type Ipv4Addr, readIpv4, writeIpv4 } from './address.ts';
import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import {
  DHCP_OPTION,
  DhcpOptionCollector,
  type DhcpOptionError,
  type DhcpOptions,
  type DhcpRawOption,
  decodeDhcpOptions,
  dhcpOptionWireLength,
  encodeDhcpOptions,
  walkDhcpOptions,
  writeDhcpOption,
} from './dhcp-options.ts';
import { MAX_HEADROOM, PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const DHCP_HTYPE_ETHERNET = 1;
/** RFC 2131 3: the first four octets of the options field. */
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** RFC 1542 2.1: a BOOTP message is at least 300 octets (236 fixed + a 64-octet vendor area). */
export const BOOTP_MIN_LEN = 300;

/** Field offsets. */
const OP = 0;
const HTYPE = 1;
const HLEN = 2;
const HOPS = 3;
const XID = 4;
const SECS = 8;
const FLAGS = 10;
const CIADDR = 12;
const YIADDR = 16;
const SIADDR = 20;
const GIADDR = 24;
const CHADDR = 28;
const CHADDR_LEN = 16;
const SNAME = 44;
const SNAME_LEN = 64;
const FILE = 108;
const FILE_LEN = 128;
const COOKIE = 236;
const OPTIONS = 240;

/** RFC 2131 2: the leftmost bit of flags asks the server to broadcast its reply. */
const FLAG_BROADCAST = 0x8000;

/** RFC 2132 9.3: option 52 says which of the fixed fields also carry options. */
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;

export type DhcpError =
  | DhcpOptionError
  /** Shorter than the fixed part and the cookie. */
  | 'truncated'
  | 'bad-magic-cookie'
  /** A hardware address longer than chaddr's 16 octets. */
  | 'bad-hlen'
  /** The options field has no End option (RFC 2131 4.1: options end with it). */
  | 'missing-end'
  /** Option 52 with a value other than 1..3, or met inside an overloaded field. */
  | 'bad-overload';

/** A zero-copy view of the fixed part. Create with `DhcpView.check` first, or trust the caller. */
export class DhcpView {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks the fixed part, the magic cookie and hlen; options are checked by `parseDhcp`. */
  static check(bytes: Uint8Array): DhcpError | undefined {
    if (bytes.length < OPTIONS) return 'truncated';
    if (readU32(bytes, COOKIE) !== DHCP_MAGIC_COOKIE) return 'bad-magic-cookie';
    if (bytes[HLEN]! > CHADDR_LEN) return 'bad-hlen';
    return undefined;
  }

  /** 1 BOOTREQUEST (client to server), 2 BOOTREPLY. */
  get op(): number {
    return this.bytes[OP]!;
  }
  /** Hardware address type (1 Ethernet). */
  get htype(): number {
    return this.bytes[HTYPE]!;
  }
  /** Hardware address length. */
  get hlen(): number {
    return this.bytes[HLEN]!;
  }
  /** Relay agent hops. */
  get hops(): number {
    return this.bytes[HOPS]!;
  }
  /** Transaction id chosen by the client. */
  get xid(): number {
    return readU32(this.bytes, XID);
  }
  /** Seconds since the client began acquiring or renewing. */
  get secs(): number {
    return readU16(this.bytes, SECS);
  }
  /** The flags field (only the broadcast bit is defined). */
  get flags(): number {
    return readU16(this.bytes, FLAGS);
  }
  /** The client asks for a broadcast reply. */
  get broadcast(): boolean {
    return (this.flags & FLAG_BROADCAST) !== 0;
  }
  /** Client address, when it already has one. */
  get ciaddr(): Ipv4Addr {
    return readIpv4(this.bytes, CIADDR);
  }
  /** "Your" address: the one the server assigns. */
  get yiaddr(): Ipv4Addr {
    return readIpv4(this.bytes, YIADDR);
  }
  /** Next server to use in bootstrap. */
  get siaddr(): Ipv4Addr {
    return readIpv4(this.bytes, SIADDR);
  }
  /** Relay agent address. */
  get giaddr(): Ipv4Addr {
    return readIpv4(this.bytes, GIADDR);
  }
  /** Client hardware address: the first hlen octets of chaddr (a view). */
  get chaddr(): Uint8Array {
    return this.bytes.subarray(CHADDR, CHADDR + this.hlen);
  }
  /** The 64-octet server host name field (a view). */
  get snameField(): Uint8Array {
    return this.bytes.subarray(SNAME, SNAME + SNAME_LEN);
  }
  /** The 128-octet boot file name field (a view). */
  get fileField(): Uint8Array {
    return this.bytes.subarray(FILE, FILE + FILE_LEN);
  }
  /** The options field after the cookie (a view). */
  get optionsField(): Uint8Array {
    return this.bytes.subarray(OPTIONS);
  }
}

/** The parsed, owned form. */
export interface DhcpRepr {
  op: number;
  htype: number;
  hops: number;
  xid: number;
  secs: number;
  broadcast: boolean;
  ciaddr: Ipv4Addr;
  yiaddr: Ipv4Addr;
  siaddr: Ipv4Addr;
  giaddr: Ipv4Addr;
  /** Client hardware address; its length is hlen (at most 16). */
  chaddr: Uint8Array;
  /** Server host name, up to the first NUL ('' when the field carries options). */
  sname: string;
  /** Boot file name, up to the first NUL ('' when the field carries options). */
  file: string;
  options: DhcpOptions;
}

/**
 * Reads every option of the message, concatenating repeated codes (RFC 3396), in the order RFC
 * 2132 9.3 gives for an overloaded message: options field, then file, then sname. Returns the
 * options without option 52 itself, and the overload value (0 when absent).
 */
export function readDhcpRawOptions(
  v: DhcpView,
): Parsed<{ options: DhcpRawOption[]; overload: number }, DhcpError> {
  const collector = new DhcpOptionCollector();
  const main = walkDhcpOptions(v.bytes, OPTIONS, v.bytes.length, collector.add);
  if (!main.ok) return main;
  if (!main.value) return err('missing-end');
  const raw = collector.result();
  const overloadOpt = raw.find((o) => o.code === DHCP_OPTION.overload);
  let overload = 0;
  if (overloadOpt !== undefined) {
    if (overloadOpt.data.length !== 1) return err('bad-overload');
    overload = overloadOpt.data[0]!;
    if (overload < 1 || overload > 3) return err('bad-overload');
    const areas: [number, number][] = [];
    if (overload & OVERLOAD_FILE) areas.push([FILE, FILE + FILE_LEN]);
    if (overload & OVERLOAD_SNAME) areas.push([SNAME, SNAME + SNAME_LEN]);
    let overloadSeen = false;
    for (const [start, end] of areas) {
      // An area need not be full: End (or its own end) finishes it.
      const r = walkDhcpOptions(v.bytes, start, end, (code, data) => {
        if (code === DHCP_OPTION.overload) overloadSeen = true;
        collector.add(code, data);
      });
      if (!r.ok) return r;
    }
    if (overloadSeen) return err('bad-overload');
  }
  return ok({ options: collector.result().filter((o) => o.code !== DHCP_OPTION.overload), overload });
}

/** The text of a NUL-padded field, up to the first NUL, one char per octet. */
function fieldText(field: Uint8Array): string {
  const nul = field.indexOf(0);
  return String.fromCharCode(...(nul < 0 ? field : field.subarray(0, nul)));
}

export function parseDhcp(bytes: Uint8Array): Parsed<DhcpRepr, DhcpError> {
  const error = DhcpView.check(bytes);
  if (error !== undefined) return err(error);
  const v = new DhcpView(bytes);
  const raw = readDhcpRawOptions(v);
  if (!raw.ok) return raw;
  const options = decodeDhcpOptions(raw.value.options);
  if (!options.ok) return options;
  const overload = raw.value.overload;
  return ok({
    op: v.op,
    htype: v.htype,
    hops: v.hops,
    xid: v.xid,
    secs: v.secs,
    broadcast: v.broadcast,
    ciaddr: v.ciaddr,
    yiaddr: v.yiaddr,
    siaddr: v.siaddr,
    giaddr: v.giaddr,
    chaddr: v.chaddr.slice(),
    sname: overload & OVERLOAD_SNAME ? '' : fieldText(v.snameField),
    file: overload & OVERLOAD_FILE ? '' : fieldText(v.fileField),
    options: options.value,
  });
}

function writeText(out: Uint8Array, offset: number, max: number, s: string, what: string): void {
  if (s.length > max) throw new RangeError(`DHCP: ${what} longer than ${max} octets`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`DHCP: ${what} is not 8-bit text`);
    out[offset + i] = c;
  }
}

/**
 * A PacketBuffer holding the whole message as its payload (with `headroom` for UDP/IP/link
 * headers): the fixed part, the cookie, every option in the options field (never overloading
 * sname or file; options over 255 octets split per RFC 3396), End, then zero padding up to the
 * 300-octet BOOTP minimum. Throws RangeError on a repr that cannot be encoded.
 */
export function emitDhcp(repr: DhcpRepr, headroom = MAX_HEADROOM): PacketBuffer {
  if (repr.chaddr.length > CHADDR_LEN) throw new RangeError('DHCP: chaddr longer than 16 octets');
  const options = encodeDhcpOptions(repr.options);
  const optionsLen = options.reduce((n, o) => n + dhcpOptionWireLength(o), 0) + 1;
  const pb = PacketBuffer.alloc(headroom, Math.max(BOOTP_MIN_LEN, OPTIONS + optionsLen));
  const b = pb.buf.subarray(pb.start, pb.end);
  b[OP] = repr.op;
  b[HTYPE] = repr.htype;
  b[HLEN] = repr.chaddr.length;
  b[HOPS] = repr.hops;
  writeU32(b, XID, repr.xid);
  writeU16(b, SECS, repr.secs);
  // RFC 2131 2: the other flag bits MUST be zero.
  writeU16(b, FLAGS, repr.broadcast ? FLAG_BROADCAST : 0);
  writeIpv4(b, CIADDR, repr.ciaddr);
  writeIpv4(b, YIADDR, repr.yiaddr);
  writeIpv4(b, SIADDR, repr.siaddr);
  writeIpv4(b, GIADDR, repr.giaddr);
  b.set(repr.chaddr, CHADDR);
  writeText(b, SNAME, SNAME_LEN, repr.sname, 'sname');
  writeText(b, FILE, FILE_LEN, repr.file, 'file');
  writeU32(b, COOKIE, DHCP_MAGIC_COOKIE);
  let p = OPTIONS;
  for (const o of options) p = writeDhcpOption(b, p, o);
  b[p] = DHCP_OPTION.end;
  return pb;
}
