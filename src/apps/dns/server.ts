/**
 * A tiny authoritative name server for tests and demos: a zone given as a list of records,
 * answered over UDP and TCP (RFC 1034 4.3.2, the parts an authoritative-only server needs).
 *
 * - Records of the name and type asked; a CNAME at the name is answered and followed within the
 *   zone (RFC 1034 4.3.2 step 3a), bounded.
 * - NXDOMAIN for a name with no records, NODATA (NOERROR, empty answer) for a name without the
 *   type; both carry the zone's SOA in the authority section (RFC 2308 3).
 * - EDNS (RFC 6891 6.2.5): a response fits in the client's UDP size (at least 512), capped by
 *   `udpLimit`; one that does not is sent empty with TC set (RFC 2181 9), and the client asks again
 *   over TCP (RFC 7766).
 * - `handler` lets a test drop a query or answer it its own way.
 */
import type { Stack } from '../../core/stack.ts';
import type { TcpListener } from '../../core/tcp/listener.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { UdpDatagram, UdpSocket } from '../../core/udp/udp-socket.ts';
import { type Ipv4Addr, parseIpv4, parseIpv6 } from '../../wire/address.ts';
import {
  DNS_CLASS_IN,
  DNS_OPCODE_QUERY,
  DNS_PORT,
  DNS_RCODE,
  DNS_TYPE,
  type DnsMessage,
  type DnsRdata,
  type DnsRecord,
  dnsLength,
  dnsResponse,
  emitDns,
  parseDns,
  rdataType,
} from '../../wire/dns.ts';
import { dnsNamesEqual } from '../../wire/dns-name.ts';
import { frameTcpMessage, TcpMessageReader } from './tcp-framing.ts';

/** RFC 1035 4.2.1: UDP messages are at most 512 octets without EDNS. */
const CLASSIC_UDP_LIMIT = 512;
/** CNAMEs followed within the zone for one answer. */
const MAX_CHAIN = 8;
/** TCP connections served at once; more are closed at once (the bound of the server). */
const MAX_TCP_CONNECTIONS = 64;

export interface DnsServerOptions {
  /** The zone: every record the server answers from; an SOA record marks the apex. */
  records: DnsRecord[];
  port?: number;
  /** Local address to listen on (0 or absent: every address). */
  address?: Ipv4Addr;
  /** Largest UDP response, whatever the client offers (default 1232). */
  udpLimit?: number;
  /** Whether to serve TCP too (default true). */
  tcp?: boolean;
  /**
   * Sees every well-formed query first: 'drop' ignores it, a message is sent as the response,
   * undefined answers from the zone.
   */
  handler?: (query: DnsMessage, client: DnsClient) => 'drop' | DnsMessage | undefined;
}

/** Where a query came from. */
export interface DnsClient {
  via: 'udp' | 'tcp';
  address: Ipv4Addr;
  port: number;
}

/** A record of the zone: `record('www.example', 300, { type: 'A', address: ... })`. */
export function record(name: string, ttl: number, data: DnsRdata): DnsRecord {
  return { name, class: DNS_CLASS_IN, ttl, data };
}

/** Shorthands for zone records from text addresses. */
export const rr = {
  a: (name: string, address: string, ttl = 300) =>
    record(name, ttl, { type: 'A', address: parseIpv4(address)! }),
  aaaa: (name: string, address: string, ttl = 300) =>
    record(name, ttl, { type: 'AAAA', address: parseIpv6(address)! }),
  cname: (name: string, target: string, ttl = 300) => record(name, ttl, { type: 'CNAME', name: target }),
  ptr: (name: string, target: string, ttl = 300) => record(name, ttl, { type: 'PTR', name: target }),
  txt: (name: string, strings: string[], ttl = 300) =>
    record(name, ttl, { type: 'TXT', strings: strings.map((s) => new TextEncoder().encode(s)) }),
  srv: (name: string, priority: number, weight: number, port: number, target: string, ttl = 300) =>
    record(name, ttl, { type: 'SRV', priority, weight, port, target }),
  mx: (name: string, preference: number, exchange: string, ttl = 300) =>
    record(name, ttl, { type: 'MX', preference, exchange }),
  soa: (zone: string, minimum = 60, ttl = 300) =>
    record(zone, ttl, {
      type: 'SOA',
      mname: `ns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum,
    }),
};

export class DnsServer {
  readonly records: DnsRecord[];
  /** Queries answered, by transport, and queries dropped as malformed or not standard. */
  udpQueries = 0;
  tcpQueries = 0;
  truncated = 0;
  malformed = 0;
  private readonly udp: UdpSocket;
  private readonly listener: TcpListener | undefined;
  private readonly connections = new Set<TcpSocket<Ipv4Addr>>();
  private readonly udpLimit: number;
  private readonly handler: DnsServerOptions['handler'];

  constructor(
    readonly stack: Stack,
    options: DnsServerOptions,
  ) {
    this.records = options.records;
    this.udpLimit = options.udpLimit ?? 1232;
    this.handler = options.handler;
    const port = options.port ?? DNS_PORT;
    this.udp = stack.udp.open();
    this.udp.bind(port, options.address ?? 0);
    this.udp.onReadable = () => {
      for (let d = this.udp.recv(); d !== undefined; d = this.udp.recv()) this.onDatagram(d);
    };
    if (options.tcp ?? true) {
      const l = stack.tcp.listen({ port, ...(options.address ? { address: options.address } : {}) });
      l.onConnection = () => {
        for (let c = l.accept(); c !== undefined; c = l.accept()) this.serveTcp(c);
      };
      this.listener = l;
    }
  }

  close(): void {
    this.udp.close();
    this.listener?.close();
    for (const c of this.connections) c.close();
    this.connections.clear();
  }

  /** The response to `query` from the zone. */
  answer(query: DnsMessage): DnsMessage {
    const q = query.questions[0];
    if (query.opcode !== DNS_OPCODE_QUERY || query.questions.length !== 1 || q === undefined) {
      return dnsResponse(query, { rcode: DNS_RCODE.NOTIMP });
    }
    // Authoritative only: names outside the zone are not ours to answer.
    if (!this.inZone(q.name)) return dnsResponse(query, { rcode: DNS_RCODE.REFUSED });
    const answers: DnsRecord[] = [];
    let name = q.name;
    for (let hop = 0; hop <= MAX_CHAIN; hop++) {
      const here = this.records.filter((r) => dnsNamesEqual(r.name, name));
      const match = here.filter((r) => rdataType(r.data) === q.type);
      if (match.length > 0) {
        answers.push(...match);
        return this.respond(query, answers);
      }
      const cname = here.find((r) => r.data.type === 'CNAME');
      if (cname?.data.type === 'CNAME' && q.type !== DNS_TYPE.CNAME) {
        answers.push(cname);
        name = cname.data.name;
        continue;
      }
      // A chain that leaves the zone ends here; the client asks for the rest.
      if (!this.inZone(name)) return this.respond(query, answers);
      // RFC 2308 3: the SOA goes in the authority section of a negative answer.
      const soa = this.soaFor(name);
      return this.respond(query, answers, here.length === 0 ? DNS_RCODE.NXDOMAIN : DNS_RCODE.NOERROR, soa);
    }
    return dnsResponse(query, { rcode: DNS_RCODE.SERVFAIL });
  }

  private respond(
    query: DnsMessage,
    answers: DnsRecord[],
    rcode: number = DNS_RCODE.NOERROR,
    soa?: DnsRecord,
  ): DnsMessage {
    const m = dnsResponse(query, { aa: true, rcode, answers, ...(soa ? { authorities: [soa] } : {}) });
    if (query.edns)
      m.edns = { udpPayloadSize: this.udpLimit, extendedRcode: 0, version: 0, dnssecOk: false, options: [] };
    return m;
  }

  /** Whether `name` is at or below the apex of an SOA of the zone (else the server refuses). */
  private inZone(name: string): boolean {
    return this.soaFor(name) !== undefined;
  }

  private soaFor(name: string): DnsRecord | undefined {
    return this.records.find((r) => r.data.type === 'SOA' && isSubdomain(name, r.name));
  }

  /** The query in `bytes` and the response to send, or undefined to send none. */
  private respondTo(
    bytes: Uint8Array,
    client: DnsClient,
  ): { query: DnsMessage; response: DnsMessage } | undefined {
    const parsed = parseDns(bytes);
    if (!parsed.ok || parsed.value.qr) {
      this.malformed++;
      return undefined;
    }
    const query = parsed.value;
    const custom = this.handler?.(query, client);
    if (custom === 'drop') return undefined;
    return { query, response: custom ?? this.answer(query) };
  }

  private onDatagram(d: UdpDatagram): void {
    const r = this.respondTo(d.data, { via: 'udp', address: d.address, port: d.port });
    if (r === undefined) return;
    this.udpQueries++;
    const offered = r.query.edns?.udpPayloadSize ?? CLASSIC_UDP_LIMIT;
    const limit = Math.min(Math.max(offered, CLASSIC_UDP_LIMIT), this.udpLimit);
    let out = r.response;
    if (dnsLength(out) > limit) {
      // RFC 2181 9: rather than a partial RRset, nothing, with TC set.
      this.truncated++;
      out = { ...out, tc: true, answers: [], authorities: [], additionals: [] };
    }
    try {
      this.udp.send(encode(out), d.address, d.port);
    } catch {
      // No route back: the client times out, as it would on a lossy path.
    }
  }

  private serveTcp(c: TcpSocket<Ipv4Addr>): void {
    if (this.connections.size >= MAX_TCP_CONNECTIONS) {
      c.close();
      return;
    }
    this.connections.add(c);
    const client: DnsClient = { via: 'tcp', address: c.remoteAddress, port: c.remotePort };
    const reader = new TcpMessageReader();
    c.onReadable = () => {
      for (let chunk = c.read(); chunk !== undefined; chunk = c.read()) {
        for (const bytes of reader.push(chunk)) {
          const r = this.respondTo(bytes, client);
          if (r === undefined) continue;
          this.tcpQueries++;
          c.write(frameTcpMessage(encode(r.response)));
        }
      }
    };
    c.onEnd = () => c.close();
    c.onClose = () => this.connections.delete(c);
  }
}

/** The message's octets, with no headroom (it is copied into a datagram or a stream). */
function encode(m: DnsMessage): Uint8Array {
  return emitDns(m, 0).bytes();
}

/** Whether `name` is `zone` or below it. */
function isSubdomain(name: string, zone: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const z = zone.toLowerCase().replace(/\.$/, '');
  return z === '' || n === z || n.endsWith(`.${z}`);
}
