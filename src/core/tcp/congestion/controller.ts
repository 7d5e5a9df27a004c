/**
 * The congestion control interface of the TCP engine and the registry of algorithms by name
 * (`'cubic'` is the default, as on Linux; `'newreno'` is RFC 5681 + RFC 6582).
 *
 * Division of labour: the engine detects loss (dupacks, SACK scoreboard, RACK), keeps the recovery
 * point of RFC 6582, runs PRR (RFC 6937) while in recovery and writes `cwnd` as PRR says; a
 * controller decides how the window grows on ACKs and what `ssthresh` becomes on a congestion
 * event. All sizes are in bytes; `now` is the stack's clock in milliseconds.
 */
import { Cubic } from './cubic.ts';
import { NewReno } from './newreno.ts';

/** A congestion control algorithm: the window the sender may have in flight. */
export interface CongestionControl {
  readonly name: string;
  /** Congestion window and slow-start threshold, in bytes. */
  cwnd: number;
  ssthresh: number;
  /** New data acknowledged outside recovery (`acked` bytes; `rtt` when sampled). */
  onAck(acked: number, rtt: number | undefined, now: number, flightSize: number): void;
  /** Loss detected by fast retransmit / SACK / RACK: enter recovery (set ssthresh). */
  onLoss(now: number, flightSize: number): void;
  /** Recovery ended (the recovery point was acknowledged). */
  onRecoveryEnd(now: number): void;
  /** Retransmission timeout: loss window (RFC 5681 3.1, eq. 4). */
  onTimeout(now: number, flightSize: number): void;
  /** RFC 5681 4.1: restart after an idle period longer than an RTO. */
  onIdle(now: number, rto: number): void;
  /** The sender MSS changed (PMTU). */
  setMss(mss: number): void;
}

/** The names `createCongestionControl` knows, default first. */
export const CONGESTION_CONTROL_NAMES = ['cubic', 'newreno'] as const;

/** One of `CONGESTION_CONTROL_NAMES`. */
export type CongestionControlName = (typeof CONGESTION_CONTROL_NAMES)[number];

/** The algorithm a connection uses unless told otherwise (as Linux's `tcp_congestion_control`). */
export const DEFAULT_CONGESTION_CONTROL: CongestionControlName = 'cubic';

/** Whether `name` is a known algorithm. */
export function isCongestionControlName(name: string): name is CongestionControlName {
  return (CONGESTION_CONTROL_NAMES as readonly string[]).includes(name);
}

/**
 * A fresh controller `name` for a sender MSS of `mss` bytes, started at `now` (ms), with the
 * initial window of RFC 6928. Throws an Error with code `EINVAL` (as Linux's `TCP_CONGESTION`
 * setsockopt does with ENOENT; EINVAL is what our socket API reports) for an unknown name.
 */
export function createCongestionControl(name: string, mss: number, now: number): CongestionControl {
  if (!(mss > 0)) throw Object.assign(new Error(`bad MSS ${mss}`), { code: 'EINVAL' });
  switch (name) {
    case 'cubic':
      return new Cubic(mss, now);
    case 'newreno':
      return new NewReno(mss, now);
    default:
      throw Object.assign(new Error(`unknown congestion control '${name}'`), { code: 'EINVAL' });
  }
}
