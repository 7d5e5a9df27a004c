/**
 * The transmission control block (RFC 9293 3.3.1): one connection's send and receive sequence
 * variables, the options negotiated in the handshake, its buffers, congestion state and timers.
 * Segment arrival is in input.ts, what to send in output.ts, timer expiry in timers.ts; this file
 * holds the state and the transitions that several of them share (entering a state, closing).
 */
import type { SackBlock } from '../../wire/tcp-options.ts';
import type { NetworkInterface } from '../device/interface.ts';
import type { IpAddr, IpFamily } from '../ip-address.ts';
import type { Instant } from '../time.ts';
import type { Timer } from '../timers.ts';
import { type CongestionControl, createCongestionControl } from './congestion/controller.ts';
import type { Prr } from './congestion/prr.ts';
import type { Rack } from './rack.ts';
import { ReceiveQueue } from './receive-queue.ts';
import type { TcpPath } from './route.ts';
import { RttEstimator } from './rtt.ts';
import type { SackScoreboard } from './sack-scoreboard.ts';
import { SendBuffer } from './send-buffer.ts';
import type { Seq } from './seq.ts';
import { closed, type TcpState } from './state.ts';
import type { TcpLayer } from './tcp-layer.ts';

/** RFC 9293 3.7.1 (MUST-15): the send MSS when the peer sent no MSS option (IPv4). */
export const DEFAULT_MSS = 536;
/** RFC 9293 3.7.1 (MUST-15): the same over IPv6 (1280 less 60, RFC 8200 8.3). */
export const DEFAULT_MSS_V6 = 1220;
/** Linux's initial SO_SNDBUF / SO_RCVBUF (tcp_wmem[1], tcp_rmem[1]). */
export const DEFAULT_SEND_BUFFER = 16 * 1024 * 1024;
export const DEFAULT_RECEIVE_BUFFER = 128 * 1024;
/** Linux's tcp_rmem[2]: the most receive-buffer auto-tuning grows to. */
export const MAX_RECEIVE_BUFFER = 6 * 1024 * 1024;

/** What a connection tells its socket; called from within stack entries. */
export interface TcbEvents {
  /** The handshake completed (ESTABLISHED). */
  connected(): void;
  /** In-order data (or the end of it) became readable. */
  readable(): void;
  /** Send buffer space became free. */
  writable(): void;
  /** The peer's FIN arrived in sequence: no more data will come. */
  ended(): void;
  /** The connection is gone; `error` is a Node errno code when it did not end normally. */
  closed(error: string | undefined): void;
}

export interface KeepaliveOptions {
  readonly enabled: boolean;
  /** Idle time before the first probe (MUST-28: default 2 hours). */
  readonly idle: number;
  /** Time between unanswered probes. */
  readonly interval: number;
  /** Unanswered probes before the connection is declared dead. */
  readonly count: number;
}

/** Keepalive off, Linux's tcp_keepalive_time, tcp_keepalive_intvl and tcp_keepalive_probes. */
const DEFAULT_KEEPALIVE: KeepaliveOptions = Object.freeze({
  enabled: false,
  idle: 2 * 3600_000,
  interval: 75_000,
  count: 9,
});

/**
 * Loss recovery in progress until `point` is acknowledged: `fast` (NewReno, or SACK with RACK and
 * PRR) or `rto` (after a retransmission timeout with SACK: the segments RACK marked lost are sent
 * again as the window grows from one segment, RFC 8985 6.3).
 */
export interface Recovery {
  kind: 'fast' | 'rto';
  /** RFC 6582 "recover": the highest sequence number sent when recovery began (SND.MAX). */
  point: Seq;
}

/** A tail loss probe sent and not yet resolved (RFC 8985 7.3: one per episode). */
export interface TlpEpisode {
  /** TLP.end_seq: SND.NXT after the probe. */
  endSeq: Seq;
  /** Where the probe began. */
  start: Seq;
  /** TLP.is_retrans: the probe resent data rather than sending new data. */
  isRetrans: boolean;
}

export class Tcb {
  state: TcpState = closed();
  events: TcbEvents | undefined;
  /** The listener that created this connection (passive open), until it is accepted. */
  listener:
    | { embryonicDone(tcb: Tcb, established: boolean): void; readonly acceptQueueFull: boolean }
    | undefined;
  /** The user closed the socket: no one reads any more (orphan). */
  orphaned = false;
  /** Counted among the layer's connections in TIME-WAIT. */
  timeWaitCounted = false;

  // ---- endpoints ----
  /**
   * The addresses as on the wire: both IPv4 (numbers) or both IPv6 (16 bytes, never mapped). The
   * socket's `family` may be 6 over IPv4 (a dual-stack socket: it sees them IPv4-mapped).
   */
  localAddr: IpAddr = 0;
  localPort = 0;
  remoteAddr: IpAddr = 0;
  remotePort = 0;
  /** The socket's family (4 or 6), which may differ from the wire's (dual-stack). */
  family: IpFamily = 4;
  /** The bound device, or the scope of a link-local IPv6 peer: the route goes out of it. */
  device: NetworkInterface | undefined;
  path: TcpPath | undefined;

  // ---- send sequence variables (RFC 9293 3.3.1) ----
  // The 32-bit sequence numbers and timestamps are stored as int32 and read back as unsigned:
  // int32 values are V8 small integers, where uint32 ones above 2^31 would make each of these
  // fields a boxed double in every connection (16 bytes apiece).

  private _iss = 0;
  get iss(): number {
    return this._iss >>> 0;
  }
  set iss(value: number) {
    this._iss = value | 0;
  }
  private _sndUna = 0;
  get sndUna(): number {
    return this._sndUna >>> 0;
  }
  set sndUna(value: number) {
    this._sndUna = value | 0;
  }
  private _sndNxt = 0;
  get sndNxt(): number {
    return this._sndNxt >>> 0;
  }
  set sndNxt(value: number) {
    this._sndNxt = value | 0;
  }
  /** The highest sequence number sent (SND.NXT before a go-back-N rewind after a timeout). */
  private _sndMax = 0;
  get sndMax(): number {
    return this._sndMax >>> 0;
  }
  set sndMax(value: number) {
    this._sndMax = value | 0;
  }
  /** SND.WND, in bytes (scaled). */
  sndWnd = 0;
  /** The largest window the peer has offered (RFC 9293 3.8.6.2.1 Max(SND.WND); RFC 5961 5.2). */
  maxSndWnd = 0;
  private _sndWl1 = 0;
  get sndWl1(): number {
    return this._sndWl1 >>> 0;
  }
  set sndWl1(value: number) {
    this._sndWl1 = value | 0;
  }
  private _sndWl2 = 0;
  get sndWl2(): number {
    return this._sndWl2 >>> 0;
  }
  set sndWl2(value: number) {
    this._sndWl2 = value | 0;
  }
  /** Sequence number of the first byte of the send buffer. */
  private _sndBufSeq = 0;
  get sndBufSeq(): number {
    return this._sndBufSeq >>> 0;
  }
  set sndBufSeq(value: number) {
    this._sndBufSeq = value | 0;
  }
  /** The user asked for a FIN after the queued data (CLOSE / shutdown). */
  finQueued = false;

  // ---- receive sequence variables ----
  private _irs = 0;
  get irs(): number {
    return this._irs >>> 0;
  }
  set irs(value: number) {
    this._irs = value | 0;
  }
  /** The right edge of the window last advertised (RCV.NXT + RCV.WND when it was sent). */
  private _rcvAdv = 0;
  get rcvAdv(): number {
    return this._rcvAdv >>> 0;
  }
  set rcvAdv(value: number) {
    this._rcvAdv = value | 0;
  }
  /** Last.ACK.sent of RFC 7323 4.3: the acknowledgment number of the last ACK sent. */
  private _lastAckSent = 0;
  get lastAckSent(): number {
    return this._lastAckSent >>> 0;
  }
  set lastAckSent(value: number) {
    this._lastAckSent = value | 0;
  }

  // ---- options (RFC 9293 3.7.1, RFC 7323, RFC 2018) ----
  /** Effective send MSS (data bytes per segment). */
  mss = DEFAULT_MSS;
  /** The MSS the peer announced (or the default), before the path MTU clamp. */
  peerMss = DEFAULT_MSS;
  /** The MSS we announce (our receive MSS). */
  rcvMss = DEFAULT_MSS;
  /** Window scale shifts: what we apply to the peer's windows and to ours (RFC 7323 2). */
  sndWscale = 0;
  rcvWscale = 0;
  tsOk = false;
  /** TS.Recent and when it was recorded (RFC 7323 4.3, 5.5). */
  private _tsRecent = 0;
  get tsRecent(): number {
    return this._tsRecent >>> 0;
  }
  set tsRecent(value: number) {
    this._tsRecent = value | 0;
  }
  tsRecentAge: Instant = 0;
  /** Added to our clock in TSval, random per connection (RFC 7323 5.4). */
  private _tsOffset = 0;
  get tsOffset(): number {
    return this._tsOffset >>> 0;
  }
  set tsOffset(value: number) {
    this._tsOffset = value | 0;
  }
  sackOk = false;

  // ---- buffers ----
  readonly sendBuffer = new SendBuffer(DEFAULT_SEND_BUFFER);
  readonly receiveQueue = new ReceiveQueue(0, DEFAULT_RECEIVE_BUFFER);
  /** SO_RCVBUF: the window we offer is what is left of it. */
  rcvBuf = DEFAULT_RECEIVE_BUFFER;
  /** The user set SO_RCVBUF: no auto-tuning (as Linux). */
  rcvBufLocked = false;
  /** Receive auto-tuning: bytes read by the application since `rcvSpaceTime`. */
  rcvSpaceCopied = 0;
  rcvSpaceTime: Instant = 0;

  // ---- retransmission and congestion ----
  readonly rtt = new RttEstimator();
  cc: CongestionControl;
  recovery: Recovery | undefined;
  /** RFC 6675 scoreboard, when SACK was negotiated (made on first send: `sackRecovery`). */
  scoreboard: SackScoreboard | undefined;
  /**
   * RFC 8985 RACK-TLP, when SACK was negotiated (it needs SACK to see what was delivered); made on
   * first send (`sackRecovery`).
   */
  rack: Rack | undefined;
  /** The outstanding tail loss probe, if any. */
  tlp: TlpEpisode | undefined;
  /** When RACK wants to look again (ms from the last ACK): the reordering timer (RFC 8985 6.2). */
  reorderTimeout: number | undefined;
  /** RFC 6937 state of the current recovery (made when a first SACK fast recovery starts). */
  prr: Prr | undefined;
  /** SACK was negotiated and the connection synchronized: `scoreboard` and `rack` are made on first send. */
  sackRecovery = false;
  /** The recovery point of the last recovery or timeout (RFC 6582 3.2 step 2, 4.1). */
  lastRecoveryPoint: Seq | undefined;
  /** The path MTU learned from ICMP (RFC 1191), when below the interface MTU. */
  pmtu: number | undefined;
  dupAcks = 0;
  /** Consecutive timeouts without progress (the retransmission count of tcp_info). */
  backoffs = 0;
  /** Karn's algorithm without timestamps: one segment timed at a time. */
  rttSeq: Seq | undefined;
  rttTime: Instant = 0;
  /** When the oldest unacknowledged data was first sent, for the user timeout (RFC 5482). */
  unackedSince: Instant | undefined;
  /** When data was last sent (RFC 5681 4.1 idle restart; tcp_info's last_data_sent). */
  lastDataSend: Instant = 0;
  lastReceive: Instant = 0;
  /** A soft ICMP error (RFC 1122 4.2.3.9) reported only if the connection then times out. */
  softError: string | undefined;

  /** Data received twice, to report once as a D-SACK block (RFC 2883). */
  dsack: SackBlock | undefined;

  // ---- delayed ACK (RFC 9293 3.8.6.3) ----
  ackNow = false;
  /** The ACK due must not wait for the end of the batch (out-of-order data: RFC 5681 4.2). */
  ackAtOnce = false;
  /** An ACK is to go out at the end of this stack entry (MUST-58: one ACK for a received batch). */
  ackScheduled = false;
  /** Bytes received since the last ACK sent. */
  unackedBytes = 0;
  /** ACKs still to be sent without delay (quick-ack at the start, as Linux). */
  quickAcks = 8;

  // ---- zero-window probing ----
  persistBackoff = 0;

  // ---- keepalive, user timeout, linger ----
  /** Replaced, never changed in place: connections share the defaults. */
  keepalive: KeepaliveOptions = DEFAULT_KEEPALIVE;
  keepaliveProbes = 0;
  /** RFC 5482 user timeout in ms; 0 uses the retry counts. */
  userTimeout = 0;
  noDelay = false;
  /** SO_LINGER with 0 seconds: close sends a RST. */
  lingerZero = false;

  // ---- statistics (tcp_info) ----
  stats = {
    segsOut: 0,
    segsIn: 0,
    dataSegsOut: 0,
    dataSegsIn: 0,
    bytesSent: 0,
    bytesRetrans: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    totalRetrans: 0,
    lost: 0,
    dsackDups: 0,
    /** Retransmission timeouts (Linux TcpExtTCPTimeouts, per connection). */
    timeouts: 0,
    /** Tail loss probes sent (TcpExtTCPLossProbes). */
    tlpProbes: 0,
  };

  // ---- timers (made once, moved; the rarely used ones on first use) ----
  readonly rtxTimer: Timer;
  readonly delackTimer: Timer;
  /** Made when first armed (`keepaliveTimerMade`): most connections never use it. */
  keepaliveTimer: Timer | undefined = undefined;
  /** TIME-WAIT and orphaned FIN-WAIT-2: made when first armed (`waitTimerMade`). */
  waitTimer: Timer | undefined = undefined;
  /**
   * What `rtxTimer` is armed for: the RTO, zero-window probing, a tail loss probe (PTO) or the
   * RACK reordering timeout (one timer for all, as Linux's icsk_retransmit_timer).
   */
  rtxMode: 'rto' | 'persist' | 'tlp' | 'reorder' = 'rto';

  constructor(
    readonly layer: TcpLayer,
    ccName: string,
  ) {
    const now = layer.stack.now();
    this.cc = createCongestionControl(ccName, DEFAULT_MSS, now);
    const stack = layer.stack;
    this.rtxTimer = stack.createOwnedTimer(onRetransmit, this);
    this.delackTimer = stack.createOwnedTimer(onDelayedAck, this);
    this.lastReceive = now;
    this.rcvSpaceTime = now;
  }

  keepaliveTimerMade(): Timer {
    this.keepaliveTimer ??= this.layer.stack.createOwnedTimer(onKeepalive, this);
    return this.keepaliveTimer;
  }

  waitTimerMade(): Timer {
    this.waitTimer ??= this.layer.stack.createOwnedTimer(onWait, this);
    return this.waitTimer;
  }

  get now(): Instant {
    return this.layer.stack.now();
  }

  /** Bytes sent and not yet acknowledged (SYN and FIN count one). */
  get flightSize(): number {
    return (this.sndMax - this.sndUna) >>> 0;
  }

  /** Whether our SYN has been acknowledged. */
  get synAcked(): boolean {
    return this.sndUna !== this.iss;
  }

  /** RCV.NXT. */
  get rcvNxt(): Seq {
    return this.receiveQueue.rcvNxt;
  }

  /** TSval for a segment sent now (RFC 7323 5.4: a clock of about 1 ms plus a random offset). */
  tsNow(): number {
    return (Math.floor(this.now) + this.tsOffset) >>> 0;
  }

  setState(s: TcpState): void {
    this.state = s;
  }

  /**
   * Ends the connection: timers stop, the block leaves the connection table, the socket hears
   * `closed(error)`. RFC 9293 MUST-12: `error` tells an abort from a normal close.
   */
  destroy(error?: string): void {
    if (this.state.name === 'CLOSED' && !this.layer.owns(this)) return;
    const wasEmbryonic = this.listener !== undefined;
    this.setState(closed(error));
    const stack = this.layer.stack;
    stack.cancel(this.rtxTimer);
    stack.cancel(this.delackTimer);
    if (this.keepaliveTimer !== undefined) stack.cancel(this.keepaliveTimer);
    if (this.waitTimer !== undefined) stack.cancel(this.waitTimer);
    this.layer.remove(this);
    if (wasEmbryonic) {
      const l = this.listener!;
      this.listener = undefined;
      l.embryonicDone(this, false);
    }
    this.events?.closed(error);
  }
}

// The timers' callbacks, made once for every connection (no closure per connection).
const onRetransmit = (tcb: Tcb) => tcb.layer.timers.onRetransmit(tcb);
const onDelayedAck = (tcb: Tcb) => tcb.layer.timers.onDelayedAck(tcb);
const onKeepalive = (tcb: Tcb) => tcb.layer.timers.onKeepalive(tcb);
const onWait = (tcb: Tcb) => tcb.layer.timers.onWait(tcb);
