/**
 * Measures a running test the way iperf3 reports it: every `interval` ms a snapshot of each
 * stream's bytes (and, for a sender, retransmissions, congestion window and RTT from TCP_INFO), and
 * at the end each stream's totals. The shapes are those of iperf3's JSON output (`intervals[]`,
 * `end.streams[]`), so the client's report can be read by scripts written for iperf3.
 */
import type { Stack } from '../../core/stack.ts';
import type { Instant } from '../../core/time.ts';
import type { Timer } from '../../core/timers.ts';
import type { TestStream } from './test-stream.ts';

/** One stream over one interval (iperf3's `intervals[].streams[]`). */
export interface StreamInterval {
  socket: number;
  start: number;
  end: number;
  seconds: number;
  bytes: number;
  bits_per_second: number;
  retransmits?: number;
  snd_cwnd?: number;
  rtt?: number;
  rttvar?: number;
  omitted: boolean;
  sender: boolean;
}

/** All streams over one interval (iperf3's `intervals[].sum`). */
export interface IntervalSum {
  start: number;
  end: number;
  seconds: number;
  bytes: number;
  bits_per_second: number;
  retransmits?: number;
  omitted: boolean;
  sender: boolean;
}

export interface Interval {
  streams: StreamInterval[];
  sum: IntervalSum;
}

/** A stream's totals, as the results exchange and the report need them. */
export interface StreamTotals {
  id: number;
  bytes: number;
  /** Seconds from the start of the test to the end of counting. */
  seconds: number;
  /** Retransmitted segments (a sender only). */
  retransmits: number | undefined;
  maxCwnd: number;
  maxRtt: number;
  minRtt: number;
  meanRtt: number;
}

/** Intervals a meter keeps for the report (a day of one-second intervals); later ones are only printed. */
export const MAX_KEPT_INTERVALS = 86_400;

interface StreamMarks {
  bytes: number;
  retransmits: number;
  maxCwnd: number;
  maxRtt: number;
  minRtt: number;
  rttSum: number;
  rttCount: number;
}

export class Meter {
  readonly intervals: Interval[] = [];
  /** Called with each interval as it closes. */
  onInterval: ((interval: Interval) => void) | undefined;
  private startTime: Instant = 0;
  private last: Instant = 0;
  private readonly marks: StreamMarks[];
  private readonly timer: Timer;
  private running = false;

  constructor(
    private readonly stack: Stack,
    readonly streams: readonly TestStream[],
    readonly sender: boolean,
    private readonly interval: number,
    private readonly keep: boolean,
  ) {
    this.marks = streams.map(() => ({
      bytes: 0,
      retransmits: 0,
      maxCwnd: 0,
      maxRtt: 0,
      minRtt: Number.POSITIVE_INFINITY,
      rttSum: 0,
      rttCount: 0,
    }));
    this.timer = stack.createTimer(() => this.tick());
  }

  /** Starts the streams and the interval clock. */
  start(): void {
    this.startTime = this.last = this.stack.now();
    this.running = true;
    for (const s of this.streams) s.start();
    this.stack.schedule(this.timer, this.last + this.interval);
  }

  /** Stops the streams; a last partial interval is reported when it is at least a tenth of one. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.stack.cancel(this.timer);
    const now = this.stack.now();
    if (now - this.last >= this.interval / 10) this.record(now);
    for (const s of this.streams) s.stop(now);
  }

  /** Seconds since the start. */
  elapsed(now: Instant = this.stack.now()): number {
    return (now - this.startTime) / 1000;
  }

  totals(): StreamTotals[] {
    return this.streams.map((s, i) => {
      const m = this.marks[i]!;
      const info = this.sender ? s.socket.info() : undefined;
      return {
        id: s.id,
        bytes: s.bytes,
        seconds: this.elapsed(s.stoppedAt ?? this.stack.now()),
        retransmits: info?.totalRetrans,
        maxCwnd: m.maxCwnd,
        maxRtt: m.rttCount > 0 ? m.maxRtt : 0,
        minRtt: m.rttCount > 0 ? m.minRtt : 0,
        meanRtt: m.rttCount > 0 ? Math.round(m.rttSum / m.rttCount) : 0,
      };
    });
  }

  private tick(): void {
    if (!this.running) return;
    this.record(this.stack.now());
    this.stack.schedule(this.timer, this.last + this.interval);
  }

  private record(now: Instant): void {
    const start = this.elapsed(this.last);
    const end = this.elapsed(now);
    const seconds = end - start;
    const streams = this.streams.map((s, i) => {
      const m = this.marks[i]!;
      const bytes = s.bytes - m.bytes;
      m.bytes = s.bytes;
      const line: StreamInterval = {
        socket: s.id,
        start,
        end,
        seconds,
        bytes,
        bits_per_second: rate(bytes, seconds),
        omitted: false,
        sender: this.sender,
      };
      if (this.sender) {
        const info = s.socket.info();
        line.retransmits = info.totalRetrans - m.retransmits;
        m.retransmits = info.totalRetrans;
        line.snd_cwnd = info.cwnd;
        m.maxCwnd = Math.max(m.maxCwnd, info.cwnd);
        if (info.rtt !== undefined) {
          // iperf3 reports RTTs in microseconds.
          line.rtt = Math.round(info.rtt * 1000);
          line.rttvar = Math.round((info.rttvar ?? 0) * 1000);
          m.maxRtt = Math.max(m.maxRtt, line.rtt);
          m.minRtt = Math.min(m.minRtt, line.rtt);
          m.rttSum += line.rtt;
          m.rttCount++;
        }
      }
      return line;
    });
    const bytes = streams.reduce((a, s) => a + s.bytes, 0);
    const sum: IntervalSum = {
      start,
      end,
      seconds,
      bytes,
      bits_per_second: rate(bytes, seconds),
      ...(this.sender ? { retransmits: streams.reduce((a, s) => a + (s.retransmits ?? 0), 0) } : {}),
      omitted: false,
      sender: this.sender,
    };
    this.last = now;
    const interval = { streams, sum };
    if (this.keep && this.intervals.length < MAX_KEPT_INTERVALS) this.intervals.push(interval);
    this.onInterval?.(interval);
  }
}

/** Bits per second of `bytes` over `seconds` (0 over no time). */
export function rate(bytes: number, seconds: number): number {
  return seconds > 0 ? (bytes * 8) / seconds : 0;
}
