/**
 * `ping` on the stack's timers, IPv4 or IPv6 by the destination's family: sends `count` echo
 * requests `interval` apart through an `EchoSocket`, reports each reply, each request unanswered
 * after `timeout`, and each ICMP error about its requests, then a summary in the manner of iputils
 * ping (loss and min/avg/max/mdev).
 */
import type { NetworkInterface } from '../device/interface.ts';
import { type ErrnoError, errno } from '../errno.ts';
import type { Stack } from '../stack.ts';
import type { Duration, Instant } from '../time.ts';
import type { Timer } from '../timers.ts';
import { type EchoAddr, type EchoFamily, echoFamilyOf } from './echo-family.ts';
import type { EchoError, EchoReply, EchoSocket } from './echo-socket.ts';

/** Bytes of an echo message's header (type, code, checksum, identifier, sequence). */
const ECHO_HEADER_LEN = 8;

export interface PingOptions {
  /** Requests to send (default 4; Infinity until `stop`). */
  count?: number;
  /** Milliseconds between requests (default 1000). */
  interval?: Duration;
  /** Bytes of data per request (default 56, so 64-byte ICMP messages). */
  size?: number;
  /** Milliseconds to wait for each reply (default 2000). */
  timeout?: Duration;
  /** IP TTL / IPv6 hop limit of the requests (default: the stack's). */
  ttl?: number;
  /** The interface to send by (SO_BINDTODEVICE); the zone of a link-local IPv6 destination. */
  iface?: NetworkInterface;
}

export interface PingReply<A extends EchoAddr = EchoAddr> {
  seq: number;
  rtt: number;
  /** The TTL or hop limit of the reply. */
  ttl: number;
  /** Bytes of the ICMP message (header and data), as ping prints them. */
  bytes: number;
  from: A;
  /** A second reply to the same request (DUP!). */
  duplicate: boolean;
}

export interface PingSummary<A extends EchoAddr = EchoAddr> {
  dst: A;
  transmitted: number;
  received: number;
  duplicates: number;
  errors: number;
  /** Percent of requests without a reply. */
  loss: number;
  /** Round-trip times in milliseconds; undefined when nothing was received. */
  rtt: { min: number; avg: number; max: number; mdev: number } | undefined;
  /** Milliseconds from the first request to the end. */
  time: Duration;
}

export class Pinger<A extends EchoAddr = EchoAddr> {
  onReply: ((reply: PingReply<A>) => void) | undefined;
  onTimeout: ((seq: number) => void) | undefined;
  onError: ((error: EchoError<A>) => void) | undefined;
  /** A request that could not be sent (the route went away): counted as an error. */
  onSendError: ((seq: number, err: ErrnoError) => void) | undefined;
  onDone: ((summary: PingSummary<A>) => void) | undefined;
  readonly family: EchoFamily<A>;

  private readonly count: number;
  private readonly interval: Duration;
  private readonly timeout: Duration;
  private readonly data: Uint8Array;
  private readonly ttl: number | undefined;
  private readonly iface: NetworkInterface | undefined;
  private socket: EchoSocket<A> | undefined;
  private readonly sendTimer: Timer;
  private readonly timeoutTimer: Timer;
  /** Requests awaiting a reply, oldest first (their deadlines are in the same order). */
  private readonly outstanding: Array<{ seq: number; deadline: Instant }> = [];
  private readonly answered = new Set<number>();
  private transmitted = 0;
  private received = 0;
  private duplicates = 0;
  private errors = 0;
  private rttSum = 0;
  private rttSquares = 0;
  private rttMin = Number.POSITIVE_INFINITY;
  private rttMax = 0;
  private started: Instant = 0;
  private finished = false;

  constructor(
    private readonly stack: Stack,
    readonly dst: A,
    options: PingOptions = {},
  ) {
    this.family = echoFamilyOf(dst);
    this.count = options.count ?? 4;
    this.interval = options.interval ?? 1000;
    this.timeout = options.timeout ?? 2000;
    const size = options.size ?? 56;
    if (!(this.count >= 1) || !(this.interval > 0) || !(this.timeout > 0)) {
      throw errno('EINVAL', 'count, interval and timeout must be positive');
    }
    if (!Number.isInteger(size) || size < 0) throw errno('EINVAL', `bad size ${size}`);
    this.data = new Uint8Array(size).map((_, i) => i & 0xff);
    this.ttl = options.ttl;
    this.iface = options.iface;
    this.sendTimer = stack.createTimer(() => this.sendNext(false));
    this.timeoutTimer = stack.createTimer((now) => this.expire(now));
  }

  /** Sends the first request now; throws what the first send throws (ENETUNREACH, ...). */
  start(): void {
    if (this.socket !== undefined) throw errno('EINVAL', 'already started');
    const socket = this.stack.icmpEcho.open(this.family);
    this.socket = socket;
    try {
      if (this.ttl !== undefined) socket.setTtl(this.ttl);
      socket.bindToDevice(this.iface);
      socket.onReply = (r) => this.reply(r);
      socket.onError = (e) => this.error(e);
      this.started = this.stack.now();
      this.stack.run(() => this.sendNext(true));
    } catch (e) {
      socket.close();
      this.finished = true;
      throw e;
    }
  }

  /** Stops sending and waiting, and reports the summary. */
  stop(): void {
    if (this.socket !== undefined && !this.finished) this.stack.run(() => this.finish());
  }

  get done(): boolean {
    return this.finished;
  }

  /** The figures so far. */
  summary(): PingSummary<A> {
    const n = this.received;
    const avg = n > 0 ? this.rttSum / n : 0;
    return {
      dst: this.dst,
      transmitted: this.transmitted,
      received: n,
      duplicates: this.duplicates,
      errors: this.errors,
      loss: this.transmitted > 0 ? ((this.transmitted - n) / this.transmitted) * 100 : 0,
      rtt:
        n > 0
          ? {
              min: this.rttMin,
              avg,
              max: this.rttMax,
              mdev: Math.sqrt(Math.max(0, this.rttSquares / n - avg * avg)),
            }
          : undefined,
      time: this.stack.now() - this.started,
    };
  }

  /** Sends the next request; the first one's failure is thrown, later ones are reported. */
  private sendNext(first: boolean): void {
    const seq = (this.transmitted + 1) & 0xffff;
    const now = this.stack.now();
    try {
      this.socket!.send(this.dst, seq, this.data);
      this.answered.delete(seq);
      this.outstanding.push({ seq, deadline: now + this.timeout });
      if (!this.timeoutTimer.scheduled) this.stack.schedule(this.timeoutTimer, now + this.timeout);
    } catch (e) {
      if (first || typeof (e as ErrnoError).code !== 'string') throw e;
      this.errors++;
      this.onSendError?.(seq, e as ErrnoError);
    }
    this.transmitted++;
    if (this.transmitted < this.count) this.stack.schedule(this.sendTimer, now + this.interval);
    else this.finishIfDone();
  }

  private reply(r: EchoReply<A>): void {
    if (this.finished) return;
    const duplicate = this.answered.has(r.seq);
    if (duplicate) {
      this.duplicates++;
    } else {
      if (!this.settle(r.seq)) return; // a reply after its timeout: too late to count
      this.answered.add(r.seq);
      this.received++;
      this.rttSum += r.rtt;
      this.rttSquares += r.rtt * r.rtt;
      this.rttMin = Math.min(this.rttMin, r.rtt);
      this.rttMax = Math.max(this.rttMax, r.rtt);
    }
    this.onReply?.({
      seq: r.seq,
      rtt: r.rtt,
      ttl: r.ttl,
      bytes: ECHO_HEADER_LEN + r.data.length,
      from: r.src,
      duplicate,
    });
    this.finishIfDone();
  }

  private error(e: EchoError<A>): void {
    if (this.finished) return;
    this.errors++;
    this.settle(e.seq);
    this.onError?.(e);
    this.finishIfDone();
  }

  /** Timeouts of the requests whose deadline has come. */
  private expire(now: Instant): void {
    while (this.outstanding.length > 0 && this.outstanding[0]!.deadline <= now) {
      const { seq } = this.outstanding.shift()!;
      this.onTimeout?.(seq);
    }
    if (this.outstanding.length > 0) this.stack.schedule(this.timeoutTimer, this.outstanding[0]!.deadline);
    this.finishIfDone();
  }

  /** Removes `seq` from the requests awaiting an answer; false when it was not awaited. */
  private settle(seq: number): boolean {
    const i = this.outstanding.findIndex((o) => o.seq === seq);
    if (i < 0) return false;
    this.outstanding.splice(i, 1);
    return true;
  }

  private finishIfDone(): void {
    if (!this.finished && this.transmitted >= this.count && this.outstanding.length === 0) this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.stack.cancel(this.sendTimer);
    this.stack.cancel(this.timeoutTimer);
    this.socket!.close();
    this.onDone?.(this.summary());
  }
}
