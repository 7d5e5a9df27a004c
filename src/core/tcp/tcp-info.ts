/** A connection's state and counters, shaped like Linux's `struct tcp_info` (TCP_INFO). */
import type { TcpStateName } from './state.ts';
import type { Tcb } from './tcb.ts';

export interface TcpInfo {
  state: TcpStateName;
  /** Consecutive timeouts without progress (tcpi_retransmits / tcpi_backoff). */
  retransmits: number;
  /** Timers in ms, as Linux reports them in µs. */
  rto: number;
  rtt: number | undefined;
  rttvar: number | undefined;
  sndMss: number;
  rcvMss: number;
  sndWscale: number;
  rcvWscale: number;
  timestamps: boolean;
  sack: boolean;
  cwnd: number;
  ssthresh: number;
  congestionControl: string;
  /** Bytes in flight. */
  unacked: number;
  sndWnd: number;
  rcvWnd: number;
  rcvSpace: number;
  inRecovery: boolean;
  segsOut: number;
  segsIn: number;
  dataSegsOut: number;
  dataSegsIn: number;
  bytesSent: number;
  bytesRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  totalRetrans: number;
  /** Loss events (fast recoveries and timeouts). */
  lost: number;
  /** D-SACKs received: data the peer got twice (RFC 2883). */
  dsackDups: number;
  /** Retransmission timeouts. */
  timeouts: number;
  /** Tail loss probes sent (RFC 8985 7). */
  tlpProbes: number;
  /** Bytes queued and not yet sent, and received and not yet read. */
  notSent: number;
  unread: number;
  lastDataSent: number;
  lastDataRecv: number;
}

export function tcpInfo(tcb: Tcb): TcpInfo {
  const now = tcb.now;
  return {
    state: tcb.state.name,
    retransmits: tcb.backoffs,
    rto: tcb.rtt.rto,
    rtt: tcb.rtt.srtt,
    rttvar: tcb.rtt.rttvar,
    sndMss: tcb.mss,
    rcvMss: tcb.rcvMss,
    sndWscale: tcb.sndWscale,
    rcvWscale: tcb.rcvWscale,
    timestamps: tcb.tsOk,
    sack: tcb.sackOk,
    cwnd: tcb.cc.cwnd,
    ssthresh: tcb.cc.ssthresh,
    congestionControl: tcb.cc.name,
    unacked: tcb.flightSize,
    sndWnd: tcb.sndWnd,
    rcvWnd: Math.max(0, (tcb.rcvAdv - tcb.rcvNxt) | 0),
    rcvSpace: tcb.rcvBuf,
    inRecovery: tcb.recovery !== undefined,
    ...tcb.stats,
    notSent: Math.max(0, tcb.sendBuffer.length - ((tcb.sndNxt - tcb.sndBufSeq) | 0)),
    unread: tcb.receiveQueue.readable,
    lastDataSent: now - tcb.lastDataSend,
    lastDataRecv: now - tcb.lastReceive,
  };
}
