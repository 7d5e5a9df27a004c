/**
 * The end of an iperf3 report: each stream's sender and receiver totals (ours from the meter, the
 * peer's from its results), their sums, and the CPU use of both sides, in the shape of iperf3's JSON
 * `end` object; and the text lines iperf3 prints for intervals and totals.
 */
import { type Interval, rate, type StreamTotals } from './meter.ts';
import type { CpuUtil, StreamResult, TestResults } from './protocol.ts';

/** A stream's sender or receiver totals (iperf3's `end.streams[].sender/receiver`, `end.sum_*`). */
export interface Summary {
  socket?: number;
  start: number;
  end: number;
  seconds: number;
  bytes: number;
  bits_per_second: number;
  retransmits?: number;
  max_snd_cwnd?: number;
  max_snd_wnd?: number;
  max_rtt?: number;
  min_rtt?: number;
  mean_rtt?: number;
  sender: boolean;
}

export interface EndReport {
  streams: Array<{ sender: Summary; receiver: Summary }>;
  sum_sent: Summary;
  sum_received: Summary;
  cpu_utilization_percent: {
    host_total: number;
    host_user: number;
    host_system: number;
    remote_total: number;
    remote_user: number;
    remote_system: number;
  };
  sender_tcp_congestion: string;
  receiver_tcp_congestion: string;
}

/** Our results for the exchange: each stream's bytes and, when we sent, its retransmissions. */
export function localResults(
  totals: readonly StreamTotals[],
  sender: boolean,
  cpu: CpuUtil,
  congestion: string,
): TestResults {
  return {
    cpu_util_total: cpu.total,
    cpu_util_user: cpu.user,
    cpu_util_system: cpu.system,
    sender_has_retransmits: sender ? 1 : -1,
    congestion_used: congestion,
    streams: totals.map((t) => ({
      id: t.id,
      bytes: t.bytes,
      retransmits: sender ? (t.retransmits ?? 0) : -1,
      jitter: 0,
      errors: 0,
      omitted_errors: 0,
      packets: 0,
      start_time: 0,
      end_time: t.seconds,
    })),
  };
}

/**
 * The `end` object from our totals and the peer's results (streams matched by id; a stream the
 * peer did not report counts zero bytes on its side).
 */
export function endReport(
  totals: readonly StreamTotals[],
  remote: TestResults,
  localSender: boolean,
  cpu: CpuUtil,
  congestion: string,
): EndReport {
  const byId = new Map<number, StreamResult>(remote.streams.map((s) => [s.id, s]));
  const streams = totals.map((t) => {
    const r = byId.get(t.id);
    const local: Summary = {
      socket: t.id,
      start: 0,
      end: t.seconds,
      seconds: t.seconds,
      bytes: t.bytes,
      bits_per_second: rate(t.bytes, t.seconds),
      sender: localSender,
    };
    const remoteSeconds = r?.end_time ?? t.seconds;
    const peer: Summary = {
      socket: t.id,
      start: 0,
      end: remoteSeconds,
      seconds: remoteSeconds,
      bytes: r?.bytes ?? 0,
      bits_per_second: rate(r?.bytes ?? 0, remoteSeconds),
      sender: localSender,
    };
    if (localSender) {
      Object.assign(local, {
        retransmits: t.retransmits ?? 0,
        max_snd_cwnd: t.maxCwnd,
        max_snd_wnd: 0,
        max_rtt: t.maxRtt,
        min_rtt: t.minRtt,
        mean_rtt: t.meanRtt,
      });
      return { sender: local, receiver: peer };
    }
    const retransmits = remote.sender_has_retransmits === 1 ? Math.max(0, r?.retransmits ?? 0) : undefined;
    if (retransmits !== undefined) peer.retransmits = retransmits;
    return { sender: peer, receiver: local };
  });
  const sum = (side: 'sender' | 'receiver'): Summary => {
    const list = streams.map((s) => s[side]);
    const seconds = Math.max(0, ...list.map((s) => s.seconds));
    const bytes = list.reduce((a, s) => a + s.bytes, 0);
    const out: Summary = {
      start: 0,
      end: seconds,
      seconds,
      bytes,
      bits_per_second: rate(bytes, seconds),
      sender: localSender,
    };
    if (side === 'sender' && list.some((s) => s.retransmits !== undefined))
      out.retransmits = list.reduce((a, s) => a + (s.retransmits ?? 0), 0);
    return out;
  };
  const remoteCongestion = remote.congestion_used ?? 'unknown';
  return {
    streams,
    sum_sent: sum('sender'),
    sum_received: sum('receiver'),
    cpu_utilization_percent: {
      host_total: cpu.total,
      host_user: cpu.user,
      host_system: cpu.system,
      remote_total: remote.cpu_util_total,
      remote_user: remote.cpu_util_user,
      remote_system: remote.cpu_util_system,
    },
    sender_tcp_congestion: localSender ? congestion : remoteCongestion,
    receiver_tcp_congestion: localSender ? remoteCongestion : congestion,
  };
}

/** iperf3's number style: 3 significant digits at most, in the largest unit that keeps it >= 1. */
function scaled(value: number, base: number, units: readonly string[]): string {
  let v = value;
  let u = 0;
  while (v >= base && u < units.length - 1) {
    v /= base;
    u++;
  }
  const digits = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
  return `${v.toFixed(digits)} ${units[u]}`;
}

/** Bytes in iperf3's transfer column (powers of 1024): `165 MBytes`. */
export function formatBytes(bytes: number): string {
  return scaled(bytes, 1024, ['Bytes', 'KBytes', 'MBytes', 'GBytes', 'TBytes']);
}

/** A rate in iperf3's bitrate column (powers of 1000): `1.38 Gbits/sec`. */
export function formatRate(bitsPerSecond: number): string {
  return scaled(bitsPerSecond, 1000, ['bits/sec', 'Kbits/sec', 'Mbits/sec', 'Gbits/sec', 'Tbits/sec']);
}

const SEPARATOR = '- - - - - - - - - - - - - - - - - - - - - - - - -';

function label(id: number | undefined): string {
  return id === undefined ? '[SUM]' : `[${String(id).padStart(3)}]`;
}

function line(
  id: number | undefined,
  s: { start: number; end: number; bytes: number; bits_per_second: number },
  tail: string,
): string {
  const span = `${s.start.toFixed(2)}-${s.end.toFixed(2)}`;
  return `${label(id)} ${span.padStart(11)}   sec ${formatBytes(s.bytes).padStart(12)}  ${formatRate(s.bits_per_second).padStart(15)}${tail}`;
}

/** The column heads of the interval lines. */
export function intervalHeader(sender: boolean): string {
  return `[ ID] Interval           Transfer     Bitrate${sender ? '         Retr  Cwnd' : ''}`;
}

/** One interval's lines: a line per stream, and a [SUM] line when there are several streams. */
export function formatInterval(interval: Interval): string[] {
  const lines = interval.streams.map((s) =>
    line(
      s.socket,
      s,
      s.sender
        ? `  ${String(s.retransmits ?? 0).padStart(4)}   ${formatBytes(s.snd_cwnd ?? 0).padStart(10)}`
        : '',
    ),
  );
  if (interval.streams.length > 1) {
    const s = interval.sum;
    lines.push(line(undefined, s, s.sender ? `  ${String(s.retransmits ?? 0).padStart(4)}` : ''));
    lines.push(SEPARATOR);
  }
  return lines;
}

/** The totals: each stream's sender and receiver lines, then their sums with several streams. */
export function formatEnd(end: EndReport): string[] {
  const retr = end.sum_sent.retransmits !== undefined;
  const sentTail = (s: Summary) =>
    `${retr ? `  ${String(s.retransmits ?? 0).padStart(4)}` : ''}             sender`;
  const receivedTail = `${retr ? '      ' : ''}             receiver`;
  const lines = [SEPARATOR, `[ ID] Interval           Transfer     Bitrate${retr ? '         Retr' : ''}`];
  for (const s of end.streams) {
    lines.push(line(s.sender.socket, s.sender, sentTail(s.sender)));
    lines.push(line(s.receiver.socket, s.receiver, receivedTail));
  }
  if (end.streams.length > 1) {
    lines.push(line(undefined, end.sum_sent, sentTail(end.sum_sent)));
    lines.push(line(undefined, end.sum_received, receivedTail));
  }
  return lines;
}
