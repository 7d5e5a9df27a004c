/**
 * One question asked of the configured name servers until one answers: the transport half of the
 * stub resolver (RFC 1035 4.2, RFC 1123 6.1.3.3, RFC 5452, RFC 7766).
 *
 * - Each attempt goes over UDP from a fresh socket bound to a random port (RFC 6056 Algorithm 1)
 *   with a random 16-bit ID (RFC 5452 9.2), connected to the server so that only its datagrams
 *   arrive and an ICMP port unreachable is reported (ECONNREFUSED).
 * - A response is accepted only if it comes from the server's address and port, carries the ID,
 *   is a response to a standard query and repeats the question (RFC 5452 4.1, 9.1); anything else
 *   is counted under `dns.rx.drop.<reason>` and the wait goes on (a forger must not cut it short).
 * - Rounds go over the server list `attempts` times; the wait for each attempt doubles every
 *   round. An attempt ends early on SERVFAIL, REFUSED, NOTIMP or a port unreachable; a response
 *   to an earlier attempt that is still good is taken (its socket stays open until the end).
 * - A truncated response (TC) is asked again of the same server over TCP (RFC 7766 5).
 * - FORMERR to a query with EDNS, from a server that did not answer with OPT, is asked again
 *   without EDNS (RFC 6891 7).
 */
import type { DropCounters } from '../../core/counters.ts';
import { type ErrnoError, errno } from '../../core/errno.ts';
import { type IpAddr, ipEqual } from '../../core/ip-address.ts';
import type { Stack } from '../../core/stack.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Timer } from '../../core/timers.ts';
import type { UdpSocket } from '../../core/udp/udp-socket.ts';
import {
  DNS_CLASS_IN,
  DNS_OPCODE_QUERY,
  DNS_RCODE,
  type DnsMessage,
  dnsFullRcode,
  dnsQuery,
  emitDns,
  parseDns,
} from '../../wire/dns.ts';
import { dnsNamesEqual } from '../../wire/dns-name.ts';
import type { NameServer, ResolverConfig } from './config.ts';
import { frameTcpMessage, TcpMessageReader } from './tcp-framing.ts';

export type DnsRxDropReason =
  | 'malformed'
  | 'wrong-source'
  | 'id-mismatch'
  | 'not-response'
  | 'question-mismatch';

export type ExchangeCallback = (err: ErrnoError | undefined, response?: DnsMessage) => void;

interface Attempt {
  server: NameServer;
  id: number;
  socket: UdpSocket<IpAddr>;
  /** Whether a malformed datagram came from the server during this attempt. */
  malformed: boolean;
}

/** One step of the schedule: a server and how long to wait for it. */
interface Step {
  server: NameServer;
  timeout: number;
}

export class Exchange {
  private readonly schedule: Step[] = [];
  private next = 0;
  private readonly attempts: Attempt[] = [];
  private tcp: TcpSocket<IpAddr> | undefined;
  private readonly timer: Timer;
  private edns: boolean;
  /** The error to report when the schedule runs out: what the last attempt got. */
  private lastError = 'ETIMEOUT';
  private done = false;

  constructor(
    private readonly stack: Stack,
    private readonly drops: DropCounters<DnsRxDropReason>,
    private readonly name: string,
    private readonly type: number,
    private readonly config: Readonly<ResolverConfig>,
    private readonly callback: ExchangeCallback,
  ) {
    this.edns = config.udpPayloadSize > 0;
    this.timer = stack.createTimer(() => this.onTimeout());
    for (let round = 0; round < config.attempts; round++) {
      for (const server of config.servers)
        this.schedule.push({ server, timeout: config.timeout * 2 ** round });
    }
  }

  start(): void {
    // c-ares reports ECONNREFUSED ("could not contact DNS servers") when there are none.
    this.lastError = 'ECONNREFUSED';
    this.stack.run(() => this.sendNext());
  }

  /** Ends the exchange with `code` (ECANCELLED when the resolver is cancelled). */
  cancel(code: string): void {
    if (!this.done) this.stack.run(() => this.finish(errno(code, `query ${this.name} cancelled`)));
  }

  private get current(): Attempt | undefined {
    return this.attempts[this.attempts.length - 1];
  }

  /** Moves to the next step of the schedule, or ends with the last error when none is left. */
  private sendNext(): void {
    this.closeTcp();
    while (this.next < this.schedule.length) {
      const step = this.schedule[this.next++]!;
      try {
        this.sendUdp(step.server);
      } catch {
        // No route, no free port, too many sockets: this server cannot be contacted (c-ares' ECONNREFUSED).
        this.lastError = 'ECONNREFUSED';
        continue;
      }
      this.stack.schedule(this.timer, this.stack.now() + step.timeout);
      return;
    }
    this.finish(errno(this.lastError, `query ${this.name}`));
  }

  private query(id: number): Uint8Array {
    const m = dnsQuery(
      id,
      this.name,
      this.type,
      this.edns ? { udpPayloadSize: this.config.udpPayloadSize } : {},
    );
    return emitDns(m, 0).bytes();
  }

  private randomId(): number {
    return this.stack.env.rng.nextU32() & 0xffff;
  }

  private sendUdp(server: NameServer): void {
    const socket = this.stack.udp.open({ family: server.family }) as UdpSocket<IpAddr>;
    const attempt: Attempt = { server, id: this.randomId(), socket, malformed: false };
    try {
      socket.bind(0);
      socket.connect(server.address, server.port);
      socket.onReadable = () => this.onDatagrams(attempt);
      socket.onError = (e) => this.onSocketError(attempt, e);
      socket.send(this.query(attempt.id));
    } catch (e) {
      socket.close();
      throw e;
    }
    this.attempts.push(attempt);
  }

  private onTimeout(): void {
    const a = this.current;
    this.lastError = a?.malformed ? 'EBADRESP' : 'ETIMEOUT';
    this.sendNext();
  }

  private onSocketError(attempt: Attempt, e: ErrnoError): void {
    if (attempt !== this.current || this.tcp !== undefined) return;
    this.lastError = e.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : 'ETIMEOUT';
    this.sendNext();
  }

  private onDatagrams(attempt: Attempt): void {
    while (!this.done) {
      const d = attempt.socket.recv();
      if (d === undefined) return;
      if (!ipEqual(d.address, attempt.server.address) || d.port !== attempt.server.port) {
        this.drops.drop('wrong-source');
        continue;
      }
      const m = this.validate(d.data, attempt.id);
      if (m === 'malformed') attempt.malformed = true;
      else if (m !== undefined) this.onResponse(attempt.server, m, attempt === this.current, true);
    }
  }

  /** The response in `bytes` if it answers our query `id`; a counted reason and undefined if not. */
  private validate(bytes: Uint8Array, id: number): DnsMessage | 'malformed' | undefined {
    const parsed = parseDns(bytes);
    if (!parsed.ok) {
      this.drops.drop('malformed');
      return 'malformed';
    }
    const m = parsed.value;
    if (m.id !== id) {
      this.drops.drop('id-mismatch');
      return undefined;
    }
    if (!m.qr || m.opcode !== DNS_OPCODE_QUERY) {
      this.drops.drop('not-response');
      return undefined;
    }
    const q = m.questions[0];
    if (
      m.questions.length !== 1 ||
      q === undefined ||
      q.type !== this.type ||
      q.class !== DNS_CLASS_IN ||
      !dnsNamesEqual(q.name, this.name)
    ) {
      this.drops.drop('question-mismatch');
      return undefined;
    }
    return m;
  }

  /** A valid response from `server`; `current` when it answers the attempt being waited for. */
  private onResponse(server: NameServer, m: DnsMessage, current: boolean, udp: boolean): void {
    if (m.tc && udp) {
      // RFC 7766 5: a truncated answer is asked again over TCP (taken from the current attempt only).
      if (current && this.tcp === undefined) this.startTcp(server);
      return;
    }
    const rcode = dnsFullRcode(m);
    if (rcode === DNS_RCODE.NOERROR || rcode === DNS_RCODE.NXDOMAIN) {
      this.finish(undefined, m);
      return;
    }
    if (rcode === DNS_RCODE.FORMERR && this.edns && m.edns === undefined && current) {
      // RFC 6891 7: the server may not know EDNS; ask it again without.
      this.edns = false;
      this.next--;
      this.sendNext();
      return;
    }
    const code = RCODE_ERRORS[rcode] ?? 'EBADRESP';
    if (current) {
      this.lastError = code;
      this.sendNext();
    }
  }

  private startTcp(server: NameServer): void {
    const id = this.randomId();
    let c: TcpSocket<IpAddr>;
    try {
      c = this.stack.tcp.connect({ address: server.address, port: server.port });
    } catch {
      this.lastError = 'ECONNREFUSED';
      this.sendNext();
      return;
    }
    this.tcp = c;
    this.stack.counters.add('dns.queries.tcp');
    const reader = new TcpMessageReader();
    c.onConnect = () => c.write(frameTcpMessage(this.query(id)));
    c.onReadable = () => {
      for (let chunk = c.read(); chunk !== undefined && this.tcp === c; chunk = c.read()) {
        for (const bytes of reader.push(chunk)) {
          const m = this.validate(bytes, id);
          if (m === 'malformed') this.lastError = 'EBADRESP';
          if (m !== undefined && m !== 'malformed' && this.tcp === c) this.onResponse(server, m, true, false);
        }
      }
    };
    c.onEnd = () => c.close();
    c.onClose = (e) => {
      if (this.tcp !== c) return;
      this.tcp = undefined;
      this.lastError = (e as ErrnoError | undefined)?.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : 'EBADRESP';
      this.sendNext();
    };
  }

  private closeTcp(): void {
    const c = this.tcp;
    if (c === undefined) return;
    this.tcp = undefined;
    c.abort();
  }

  private finish(err: ErrnoError | undefined, m?: DnsMessage): void {
    if (this.done) return;
    this.done = true;
    this.stack.cancel(this.timer);
    for (const a of this.attempts) a.socket.close();
    this.attempts.length = 0;
    const c = this.tcp;
    this.tcp = undefined;
    c?.close();
    this.callback(err, m);
  }
}

/** Node's error codes for the response codes that end an attempt (c-ares' mapping). */
const RCODE_ERRORS: Record<number, string> = {
  [DNS_RCODE.FORMERR]: 'EFORMERR',
  [DNS_RCODE.SERVFAIL]: 'ESERVFAIL',
  [DNS_RCODE.NOTIMP]: 'ENOTIMP',
  [DNS_RCODE.REFUSED]: 'EREFUSED',
};
