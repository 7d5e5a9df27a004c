/**
 * DNS messages (RFC 1035 4), with EDNS0 (RFC 6891), AD/CD (RFC 4035 3.2) and SRV (RFC 2782).
 *
 *     header (RFC 1035 4.1.1), 12 octets:
 *                                     1  1  1  1  1  1
 *       0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |                      ID                       |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     |          QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT   |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     then QDCOUNT questions:   QNAME, QTYPE (16), QCLASS (16)
 *     then the answer, authority and additional records:
 *                               NAME, TYPE (16), CLASS (16), TTL (32), RDLENGTH (16), RDATA
 *
 * Names are in text form (see dns-name.ts). The EDNS OPT pseudo-record (RFC 6891 6.1) is taken out
 * of the additional section into `edns`, and put back last when emitting.
 */
import { type Ipv4Addr, type Ipv6Addr, readIpv4, readIpv6, writeIpv4, writeIpv6 } from './address.ts';
import { readU16, readU32 } from './bytes.ts';
import { type DnsNameError, NameCompressor, nameToLabels, readName } from './dns-name.ts';
import { MAX_HEADROOM, PacketBuffer } from './packet-buffer.ts';
import { err, ok, type Parsed } from './result.ts';

export const DNS_PORT = 53;
export const DNS_HEADER_LEN = 12;
/** The largest message: TCP frames it with a 16-bit length (RFC 1035 4.2.2). */
export const DNS_MAX_MESSAGE_LEN = 0xffff;

/** Header field offsets. */
const ID = 0;
const FLAGS = 2;
const QDCOUNT = 4;
const ANCOUNT = 6;
const NSCOUNT = 8;
const ARCOUNT = 10;

/** Flag bits within the 16-bit FLAGS field. */
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const AD = 0x0020;
const CD = 0x0010;
/** RFC 6891 6.1.4: the DO bit, in the OPT record's TTL. */
const DO = 0x8000;

/** Fixed part of a resource record after its name: TYPE, CLASS, TTL, RDLENGTH. */
const RR_FIXED_LEN = 10;
/** Fixed part of a question after its name: QTYPE, QCLASS. */
const QUESTION_FIXED_LEN = 4;

/** Resource record types (RFC 1035 3.2.2, RFC 3596, RFC 2782, RFC 6891). */
export const DNS_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
} as const;
export const DNS_CLASS_IN = 1;

/** Opcodes (RFC 1035 4.1.1) and response codes (RFC 1035 4.1.1, RFC 6895 2.3). */
export const DNS_OPCODE_QUERY = 0;
export const DNS_RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export type DnsError =
  | DnsNameError
  /** RDATA that does not match its type's layout, or a name running past RDLENGTH. */
  | 'bad-rdata'
  /** An OPT record that is not at the root, outside the additional section, or has bad options. */
  | 'bad-opt'
  /** RFC 6891 6.1.1: more than one OPT record. */
  | 'multiple-opt';

/** A zero-copy view of the header. */
export class DnsView {
  constructor(readonly bytes: Uint8Array) {}

  /** Checks that the header fits. */
  static check(bytes: Uint8Array): DnsError | undefined {
    return bytes.length < DNS_HEADER_LEN ? 'truncated' : undefined;
  }

  /** Query identifier, copied into the response. */
  get id(): number {
    return readU16(this.bytes, ID);
  }
  /** The 16 flag bits. */
  get flags(): number {
    return readU16(this.bytes, FLAGS);
  }
  /** QR: a response rather than a query. */
  get qr(): boolean {
    return (this.flags & QR) !== 0;
  }
  /** Kind of query (0 standard). */
  get opcode(): number {
    return (this.flags >>> 11) & 0xf;
  }
  /** AA: authoritative answer. */
  get aa(): boolean {
    return (this.flags & AA) !== 0;
  }
  /** TC: truncated. */
  get tc(): boolean {
    return (this.flags & TC) !== 0;
  }
  /** RD: recursion desired. */
  get rd(): boolean {
    return (this.flags & RD) !== 0;
  }
  /** RA: recursion available. */
  get ra(): boolean {
    return (this.flags & RA) !== 0;
  }
  /** AD: authentic data (RFC 4035 3.2.3). */
  get ad(): boolean {
    return (this.flags & AD) !== 0;
  }
  /** CD: checking disabled (RFC 4035 3.2.2). */
  get cd(): boolean {
    return (this.flags & CD) !== 0;
  }
  /** Low 4 bits of the response code (EDNS adds 8 more bits, RFC 6891 6.1.3). */
  get rcode(): number {
    return this.flags & 0xf;
  }
  /** Number of questions. */
  get qdcount(): number {
    return readU16(this.bytes, QDCOUNT);
  }
  /** Number of answer records. */
  get ancount(): number {
    return readU16(this.bytes, ANCOUNT);
  }
  /** Number of authority records. */
  get nscount(): number {
    return readU16(this.bytes, NSCOUNT);
  }
  /** Number of additional records (the OPT record included). */
  get arcount(): number {
    return readU16(this.bytes, ARCOUNT);
  }
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** Typed RDATA; `unknown` keeps the octets of any other type as they were (RFC 3597). */
export type DnsRdata =
  | { type: 'A'; address: Ipv4Addr }
  | { type: 'AAAA'; address: Ipv6Addr }
  | { type: 'CNAME' | 'NS' | 'PTR'; name: string }
  | { type: 'MX'; preference: number; exchange: string }
  /** One or more character-strings (RFC 1035 3.3.14), each at most 255 octets. */
  | { type: 'TXT'; strings: Uint8Array[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | {
      type: 'SOA';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { type: 'unknown'; code: number; data: Uint8Array };

export interface DnsRecord {
  name: string;
  class: number;
  ttl: number;
  data: DnsRdata;
}

export interface DnsEdnsOption {
  code: number;
  data: Uint8Array;
}

/** The OPT pseudo-record's fields (RFC 6891 6.1.2, 6.1.3). */
export interface DnsEdns {
  /** Requestor's UDP payload size (the CLASS field). */
  udpPayloadSize: number;
  /** Upper 8 bits of the 12-bit response code. */
  extendedRcode: number;
  version: number;
  /** DO: DNSSEC answer OK (RFC 3225). */
  dnssecOk: boolean;
  options: DnsEdnsOption[];
}

/** The parsed, owned form of a message. */
export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** The header's 4-bit RCODE. */
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  /** Additional records, without the OPT record. */
  additionals: DnsRecord[];
  edns?: DnsEdns;
}

/** The full response code: EDNS's upper 8 bits over the header's 4 (RFC 6891 6.1.3). */
export function dnsFullRcode(msg: DnsMessage): number {
  return ((msg.edns?.extendedRcode ?? 0) << 4) | msg.rcode;
}

type KnownRdataType = Exclude<DnsRdata['type'], 'unknown'>;
const KNOWN_TYPES: readonly KnownRdataType[] = ['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'MX', 'TXT', 'SRV', 'SOA'];
const TYPE_NAMES = new Map<number, KnownRdataType>(KNOWN_TYPES.map((t) => [DNS_TYPE[t], t]));

/** The TYPE number of some RDATA. */
export function rdataType(data: DnsRdata): number {
  return data.type === 'unknown' ? data.code : DNS_TYPE[data.type];
}

// ---- parsing ----

type ParsedRr = { kind: 'record'; record: DnsRecord } | { kind: 'opt'; edns: DnsEdns };

export function parseDns(msg: Uint8Array): Parsed<DnsMessage, DnsError> {
  const error = DnsView.check(msg);
  if (error !== undefined) return err(error);
  const v = new DnsView(msg);
  let pos = DNS_HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < v.qdcount; i++) {
    const name = readName(msg, pos);
    if (!name.ok) return name;
    pos = name.value.end;
    if (pos + QUESTION_FIXED_LEN > msg.length) return err('truncated');
    questions.push({ name: name.value.name, type: readU16(msg, pos), class: readU16(msg, pos + 2) });
    pos += QUESTION_FIXED_LEN;
  }
  const sections: DnsRecord[][] = [[], [], []];
  const counts = [v.ancount, v.nscount, v.arcount];
  let edns: DnsEdns | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const rr = parseRecord(msg, pos);
      if (!rr.ok) return rr;
      pos = rr.value.end;
      const r = rr.value.rr;
      if (r.kind === 'record') {
        sections[s]!.push(r.record);
      } else if (s !== 2) {
        // RFC 6891 6.1.1: OPT appears only in the additional data section.
        return err('bad-opt');
      } else if (edns !== undefined) {
        return err('multiple-opt');
      } else {
        edns = r.edns;
      }
    }
  }
  const m: DnsMessage = {
    id: v.id,
    qr: v.qr,
    opcode: v.opcode,
    aa: v.aa,
    tc: v.tc,
    rd: v.rd,
    ra: v.ra,
    ad: v.ad,
    cd: v.cd,
    rcode: v.rcode,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
  if (edns !== undefined) m.edns = edns;
  return ok(m);
}

function parseRecord(msg: Uint8Array, offset: number): Parsed<{ rr: ParsedRr; end: number }, DnsError> {
  const name = readName(msg, offset);
  if (!name.ok) return name;
  const pos = name.value.end;
  if (pos + RR_FIXED_LEN > msg.length) return err('truncated');
  const type = readU16(msg, pos);
  const cls = readU16(msg, pos + 2);
  const ttl = readU32(msg, pos + 4);
  const start = pos + RR_FIXED_LEN;
  const end = start + readU16(msg, pos + 8);
  if (end > msg.length) return err('truncated');
  if (type === DNS_TYPE.OPT) {
    if (name.value.name !== '') return err('bad-opt');
    const options = parseEdnsOptions(msg.subarray(start, end));
    if (options === undefined) return err('bad-opt');
    const edns: DnsEdns = {
      udpPayloadSize: cls,
      extendedRcode: ttl >>> 24,
      version: (ttl >>> 16) & 0xff,
      dnssecOk: (ttl & DO) !== 0,
      options,
    };
    return ok({ rr: { kind: 'opt', edns }, end });
  }
  // Names inside RDATA may point back into the message but must not run past RDLENGTH.
  const data = parseRdata(msg.subarray(0, end), type, start);
  if (!data.ok) return data;
  return ok({
    rr: { kind: 'record', record: { name: name.value.name, class: cls, ttl, data: data.value } },
    end,
  });
}

/** RFC 6891 6.1.2: {OPTION-CODE (16), OPTION-LENGTH (16), OPTION-DATA} repeated. */
function parseEdnsOptions(rdata: Uint8Array): DnsEdnsOption[] | undefined {
  const options: DnsEdnsOption[] = [];
  let p = 0;
  while (p < rdata.length) {
    if (p + 4 > rdata.length) return undefined;
    const len = readU16(rdata, p + 2);
    if (p + 4 + len > rdata.length) return undefined;
    options.push({ code: readU16(rdata, p), data: rdata.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return options;
}

/** Decodes RDATA in msg[start, msg.length): `msg` is cut at the end of the RDATA. */
function parseRdata(msg: Uint8Array, type: number, start: number): Parsed<DnsRdata, DnsError> {
  const end = msg.length;
  const len = end - start;
  const kind = TYPE_NAMES.get(type);
  let p = start;
  /** Reads a name at p, advancing p. */
  const name = (): Parsed<string, DnsError> => {
    const n = readName(msg, p);
    if (!n.ok) return n.error === 'truncated' ? err('bad-rdata') : n;
    p = n.value.end;
    return ok(n.value.name);
  };
  /** Checks that `fixed` more octets are there, and returns where they start, advancing p. */
  const take = (fixed: number): number | undefined => {
    if (p + fixed > end) return undefined;
    p += fixed;
    return p - fixed;
  };
  let data: DnsRdata;
  switch (kind) {
    case 'A':
      if (len !== 4) return err('bad-rdata');
      return ok({ type: kind, address: readIpv4(msg, start) });
    case 'AAAA':
      if (len !== 16) return err('bad-rdata');
      return ok({ type: kind, address: readIpv6(msg, start) });
    case 'CNAME':
    case 'NS':
    case 'PTR': {
      const n = name();
      if (!n.ok) return n;
      data = { type: kind, name: n.value };
      break;
    }
    case 'MX': {
      const at = take(2);
      if (at === undefined) return err('bad-rdata');
      const n = name();
      if (!n.ok) return n;
      data = { type: kind, preference: readU16(msg, at), exchange: n.value };
      break;
    }
    case 'TXT': {
      const strings: Uint8Array[] = [];
      while (p < end) {
        const at = take(1 + msg[p]!);
        if (at === undefined) return err('bad-rdata');
        strings.push(msg.subarray(at + 1, p));
      }
      data = { type: kind, strings };
      break;
    }
    case 'SRV': {
      const at = take(6);
      if (at === undefined) return err('bad-rdata');
      const n = name();
      if (!n.ok) return n;
      data = {
        type: kind,
        priority: readU16(msg, at),
        weight: readU16(msg, at + 2),
        port: readU16(msg, at + 4),
        target: n.value,
      };
      break;
    }
    case 'SOA': {
      const mname = name();
      if (!mname.ok) return mname;
      const rname = name();
      if (!rname.ok) return rname;
      const at = take(20);
      if (at === undefined) return err('bad-rdata');
      data = {
        type: kind,
        mname: mname.value,
        rname: rname.value,
        serial: readU32(msg, at),
        refresh: readU32(msg, at + 4),
        retry: readU32(msg, at + 8),
        expire: readU32(msg, at + 12),
        minimum: readU32(msg, at + 16),
      };
      break;
    }
    default:
      return ok({ type: 'unknown', code: type, data: msg.subarray(start, end) });
  }
  return p === end ? ok(data) : err('bad-rdata');
}

// ---- emitting ----

/**
 * Writes octets at a moving position, or only counts them when `out` is undefined, so that the
 * same code both measures a message (whose size depends on compression) and writes it.
 */
class Writer {
  readonly names = new NameCompressor();
  constructor(
    readonly out: Uint8Array | undefined,
    readonly base: number,
    public pos: number,
  ) {}
  u8(v: number): void {
    if (this.out) this.out[this.pos] = v;
    this.pos += 1;
  }
  u16(v: number): void {
    this.u8(v >>> 8);
    this.u8(v & 0xff);
  }
  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  bytes(b: Uint8Array): void {
    if (this.out) this.out.set(b, this.pos);
    this.pos += b.length;
  }
  name(text: string, compress: boolean): void {
    const labels = nameToLabels(text);
    if (labels === undefined) throw new RangeError(`DNS: invalid name ${JSON.stringify(text)}`);
    this.pos = this.names.write(this.out, this.base, this.pos, labels, compress);
  }
  /** Writes RDLENGTH then the RDATA `body` writes. */
  withLength(body: () => void): void {
    const at = this.pos;
    this.u16(0);
    body();
    const len = this.pos - at - 2;
    if (len > 0xffff) throw new RangeError('DNS: RDATA longer than 65535 octets');
    if (this.out) {
      this.out[at] = len >>> 8;
      this.out[at + 1] = len & 0xff;
    }
  }
}

function writeRdata(w: Writer, d: DnsRdata): void {
  switch (d.type) {
    case 'A':
      if (w.out) writeIpv4(w.out, w.pos, d.address);
      w.pos += 4;
      return;
    case 'AAAA':
      if (w.out) writeIpv6(w.out, w.pos, d.address);
      w.pos += 16;
      return;
    // RFC 3597 4: compression only in the RDATA of the types RFC 1035 defines.
    case 'CNAME':
    case 'NS':
    case 'PTR':
      w.name(d.name, true);
      return;
    case 'MX':
      w.u16(d.preference);
      w.name(d.exchange, true);
      return;
    case 'TXT':
      for (const s of d.strings) {
        if (s.length > 255) throw new RangeError('DNS: TXT string longer than 255 octets');
        w.u8(s.length);
        w.bytes(s);
      }
      return;
    case 'SRV':
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      // RFC 2782: "name compression is not to be used for this field".
      w.name(d.target, false);
      return;
    case 'SOA':
      w.name(d.mname, true);
      w.name(d.rname, true);
      for (const n of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(n);
      return;
    case 'unknown':
      w.bytes(d.data);
      return;
  }
}

function writeMessage(m: DnsMessage, w: Writer): void {
  const additional = m.additionals.length + (m.edns ? 1 : 0);
  for (const n of [m.questions.length, m.answers.length, m.authorities.length, additional]) {
    if (n > 0xffff) throw new RangeError('DNS: more than 65535 entries in a section');
  }
  w.u16(m.id);
  w.u16(
    (m.qr ? QR : 0) |
      ((m.opcode & 0xf) << 11) |
      (m.aa ? AA : 0) |
      (m.tc ? TC : 0) |
      (m.rd ? RD : 0) |
      (m.ra ? RA : 0) |
      (m.ad ? AD : 0) |
      (m.cd ? CD : 0) |
      (m.rcode & 0xf),
  );
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authorities.length);
  w.u16(additional);
  for (const q of m.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const r of [...m.answers, ...m.authorities, ...m.additionals]) {
    w.name(r.name, true);
    w.u16(rdataType(r.data));
    w.u16(r.class);
    w.u32(r.ttl);
    w.withLength(() => writeRdata(w, r.data));
  }
  if (m.edns) {
    const e = m.edns;
    w.u8(0); // root name
    w.u16(DNS_TYPE.OPT);
    w.u16(e.udpPayloadSize);
    w.u8(e.extendedRcode);
    w.u8(e.version);
    w.u16(e.dnssecOk ? DO : 0);
    w.withLength(() => {
      for (const o of e.options) {
        w.u16(o.code);
        w.u16(o.data.length);
        w.bytes(o.data);
      }
    });
  }
  if (w.pos - w.base > DNS_MAX_MESSAGE_LEN) throw new RangeError('DNS: message longer than 65535 octets');
}

/** The length `writeDns` will write. Throws RangeError on an invalid name or oversized part. */
export function dnsLength(m: DnsMessage): number {
  const w = new Writer(undefined, 0, 0);
  writeMessage(m, w);
  return w.pos;
}

/** Writes the message at `offset` of `out` (which must have `dnsLength(m)` octets there); returns the end. */
export function writeDns(m: DnsMessage, out: Uint8Array, offset: number): number {
  const w = new Writer(out, offset, offset);
  writeMessage(m, w);
  return w.pos;
}

/** A PacketBuffer holding the whole message as its payload, with `headroom` for UDP/IP/link headers. */
export function emitDns(m: DnsMessage, headroom = MAX_HEADROOM): PacketBuffer {
  const pb = PacketBuffer.alloc(headroom, dnsLength(m));
  writeDns(m, pb.buf, pb.start);
  return pb;
}

/** Fields of a query or response left to their usual values by `dnsQuery` and `dnsResponse`. */
const NO_FLAGS = { aa: false, tc: false, ra: false, ad: false, cd: false } as const;

/** A standard query (RD set) for one name and type, with EDNS when `udpPayloadSize` is given. */
export function dnsQuery(
  id: number,
  name: string,
  type: number,
  opts: { udpPayloadSize?: number } = {},
): DnsMessage {
  const m: DnsMessage = {
    id,
    qr: false,
    opcode: DNS_OPCODE_QUERY,
    rd: true,
    ...NO_FLAGS,
    rcode: DNS_RCODE.NOERROR,
    questions: [{ name, type, class: DNS_CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (opts.udpPayloadSize !== undefined) {
    m.edns = {
      udpPayloadSize: opts.udpPayloadSize,
      extendedRcode: 0,
      version: 0,
      dnssecOk: false,
      options: [],
    };
  }
  return m;
}

/** A response to `query`: same id, opcode, RD and questions, with the given records. */
export function dnsResponse(
  query: DnsMessage,
  r: {
    rcode?: number;
    aa?: boolean;
    ra?: boolean;
    answers?: DnsRecord[];
    authorities?: DnsRecord[];
    additionals?: DnsRecord[];
    edns?: DnsEdns;
  },
): DnsMessage {
  const m: DnsMessage = {
    ...NO_FLAGS,
    id: query.id,
    qr: true,
    opcode: query.opcode,
    rd: query.rd,
    aa: r.aa ?? false,
    ra: r.ra ?? false,
    rcode: r.rcode ?? DNS_RCODE.NOERROR,
    questions: query.questions,
    answers: r.answers ?? [],
    authorities: r.authorities ?? [],
    additionals: r.additionals ?? [],
  };
  if (r.edns) m.edns = r.edns;
  return m;
}
