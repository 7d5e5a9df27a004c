/**
 * The stream socket on a connection (docs/tcp-design.md "Socket surface"): write with
 * backpressure, read as slices, half-close, close, abort, options and `info()`.
 *
 * Callbacks never run inside the API call that caused them: the connection's events set flags,
 * and a zero-delay stack timer delivers them in a stack entry of their own, in a fixed order
 * (connect, readable, end, writable, close).
 */
import { errno } from '../errno.ts';
import { type IpAddr, type IpFamily, ipForFamily } from '../ip-address.ts';
import type { Timer } from '../timers.ts';
import { isCongestionControlName } from './congestion/controller.ts';
import { output, windowField } from './output.ts';
import { canSend, type TcpStateName } from './state.ts';
import { MAX_RECEIVE_BUFFER, type Tcb, type TcbEvents } from './tcb.ts';
import { type TcpInfo, tcpInfo } from './tcp-info.ts';
import type { TcpLayer } from './tcp-layer.ts';

const CONNECT = 1;
const READABLE = 2;
const END = 4;
const WRITABLE = 8;
const CLOSE = 16;

/**
 * A connection of family `A`: its addresses are IPv4 numbers or 16-byte IPv6 addresses; an IPv6
 * socket over IPv4 (dual-stack) sees both ends as IPv4-mapped (`::ffff:a.b.c.d`).
 */
export class TcpSocket<A extends IpAddr = IpAddr> implements TcbEvents {
  onConnect: (() => void) | undefined;
  onReadable: (() => void) | undefined;
  onWritable: (() => void) | undefined;
  /** The peer sent FIN: `read` returns what is left, then undefined for ever. */
  onEnd: (() => void) | undefined;
  /** The connection is gone; `err` carries a Node errno `code` when it did not end normally. */
  onClose: ((err?: Error) => void) | undefined;
  private pending = 0;
  private closeError: string | undefined;
  private wantWritable = false;
  private userClosed = false;
  private readonly notifyTimer: Timer;

  constructor(
    private readonly layer: TcpLayer,
    private readonly tcb: Tcb,
  ) {
    tcb.events = this;
    this.notifyTimer = layer.stack.createOwnedTimer(TcpSocket.onNotify, this);
  }

  get state(): TcpStateName {
    return this.tcb.state.name;
  }
  /** 4 or 6: the family of the socket (an IPv6 socket may carry an IPv4 connection). */
  get family(): IpFamily {
    return this.tcb.family;
  }
  get localAddress(): A {
    return ipForFamily(this.tcb.localAddr, this.tcb.family) as A;
  }
  get localPort(): number {
    return this.tcb.localPort;
  }
  get remoteAddress(): A {
    return ipForFamily(this.tcb.remoteAddr, this.tcb.family) as A;
  }
  get remotePort(): number {
    return this.tcb.remotePort;
  }
  /** Bytes that `write` would accept now. */
  get writableLength(): number {
    return this.tcb.sendBuffer.space;
  }
  /** Bytes `read` can return now. */
  get readableLength(): number {
    return this.tcb.receiveQueue.readable;
  }
  /** The peer's FIN has arrived and every byte before it was read. */
  get readableEnded(): boolean {
    return this.tcb.receiveQueue.finReceived && this.tcb.receiveQueue.readable === 0;
  }

  /**
   * Queues `chunk` (not copied: it must not change until sent and acknowledged); returns the bytes
   * accepted, fewer than `chunk.length` when the send buffer is full (then wait for `onWritable`).
   */
  write(chunk: Uint8Array): number {
    const tcb = this.tcb;
    if (this.userClosed) throw errno('EBADF', 'socket is closed');
    if (tcb.state.name === 'CLOSED') throw errno(tcb.state.error ?? 'EPIPE', 'connection is closed');
    if (tcb.finQueued || !canSend(tcb.state)) throw errno('EPIPE', 'write after end');
    const n = tcb.sendBuffer.append(chunk);
    if (n < chunk.length) this.wantWritable = true;
    if (n > 0) this.layer.stack.run(() => output(tcb));
    return n;
  }

  /** Up to `max` bytes of received data (a slice, not copied where possible), or undefined. */
  read(max?: number): Uint8Array | undefined {
    const tcb = this.tcb;
    const data = tcb.receiveQueue.read(max);
    if (data === undefined) return undefined;
    this.layer.stack.run(() => this.afterRead(data.length));
    return data;
  }

  private afterRead(n: number): void {
    const tcb = this.tcb;
    if (tcb.state.name === 'CLOSED') return;
    autotune(tcb, n);
    // A window update when reading opened the window a lot (as Linux's tcp_cleanup_rbuf): the
    // window at least doubled, or it was below one segment and now is not.
    const current = Math.max(0, (tcb.rcvAdv - tcb.rcvNxt) | 0);
    const field = windowField(tcb, false) << tcb.rcvWscale;
    if (field - current >= tcb.rcvMss && (field >= 2 * current || current < tcb.rcvMss)) {
      tcb.ackNow = true;
      output(tcb);
    }
  }

  /** Half-close: a FIN after the queued data (RFC 9293 3.10.4 CLOSE; MAY-1). Reading goes on. */
  shutdown(): void {
    const tcb = this.tcb;
    if (tcb.finQueued || tcb.state.name === 'CLOSED') return;
    this.layer.stack.run(() => {
      if (tcb.state.name === 'SYN-SENT') {
        tcb.destroy();
        return;
      }
      tcb.finQueued = true;
      output(tcb);
    });
  }

  /**
   * Closes the socket. With unread data, or SO_LINGER 0, the connection is reset (RFC 9293 3.6,
   * RFC 2525 2.17); otherwise the FIN follows the queued data and the connection finishes alone.
   */
  close(): void {
    if (this.userClosed) return;
    this.userClosed = true;
    const tcb = this.tcb;
    this.layer.stack.run(() => {
      if (tcb.state.name === 'CLOSED') return;
      if (tcb.lingerZero || tcb.receiveQueue.readable > 0) {
        this.layer.abortTcb(tcb);
        return;
      }
      tcb.orphaned = true;
      if (tcb.state.name === 'SYN-SENT') {
        tcb.destroy();
        return;
      }
      if (!tcb.finQueued) {
        tcb.finQueued = true;
        output(tcb);
      }
      if (tcb.state.name === 'FIN-WAIT-2') this.layer.timers.startFinWait2(tcb);
      // The connection finishes on its own; the socket is done now.
      tcb.events = undefined;
      this.closed(undefined);
    });
  }

  /** ABORT: a RST now, the connection is gone (RFC 9293 3.10.5). */
  abort(): void {
    this.userClosed = true;
    this.layer.stack.run(() => this.layer.abortTcb(this.tcb));
  }

  // ---- options ----

  /** TCP_NODELAY: no Nagle (MUST-17). */
  setNoDelay(noDelay = true): void {
    this.tcb.noDelay = noDelay;
    if (noDelay) this.layer.stack.run(() => output(this.tcb));
  }

  /** SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT in ms and probes (MUST-24, MUST-27). */
  setKeepAlive(enable: boolean, idle?: number, interval?: number, count?: number): void {
    const k = this.tcb.keepalive;
    for (const v of [idle, interval, count]) {
      if (v !== undefined && !(v > 0)) throw errno('EINVAL', 'keepalive values must be positive');
    }
    this.tcb.keepalive = {
      enabled: enable,
      idle: idle ?? k.idle,
      interval: interval ?? k.interval,
      count: count ?? k.count,
    };
    this.layer.stack.run(() => this.layer.timers.armKeepalive(this.tcb));
  }

  /** TCP_USER_TIMEOUT (RFC 5482): ms data may stay unacknowledged before ETIMEDOUT; 0 for the default. */
  setUserTimeout(ms: number): void {
    if (!(ms >= 0)) throw errno('EINVAL', 'bad user timeout');
    this.tcb.userTimeout = ms;
  }

  /** SO_LINGER: `0` makes `close` send a RST; undefined restores the normal close. */
  setLinger(seconds: number | undefined): void {
    this.tcb.lingerZero = seconds === 0;
  }

  /** TCP_CONGESTION: 'cubic' or 'newreno' (EINVAL otherwise). */
  setCongestionControl(name: string): void {
    if (!isCongestionControlName(name)) throw errno('EINVAL', `unknown congestion control ${name}`);
    const tcb = this.tcb;
    if (tcb.cc.name === name) return;
    const old = tcb.cc;
    tcb.cc = this.layer.createCc(name, tcb);
    tcb.cc.cwnd = old.cwnd;
    tcb.cc.ssthresh = old.ssthresh;
  }

  /** SO_SNDBUF in bytes. */
  setSendBufferSize(bytes: number): void {
    if (!(bytes > 0)) throw errno('EINVAL', 'bad buffer size');
    this.tcb.sendBuffer.limit = bytes;
  }

  /** SO_RCVBUF in bytes (turns auto-tuning off, as on Linux). */
  setReceiveBufferSize(bytes: number): void {
    if (!(bytes > 0)) throw errno('EINVAL', 'bad buffer size');
    const tcb = this.tcb;
    tcb.rcvBuf = Math.min(bytes, MAX_RECEIVE_BUFFER);
    tcb.rcvBufLocked = true;
    tcb.receiveQueue.outOfOrderLimit = tcb.rcvBuf;
  }

  info(): TcpInfo {
    return tcpInfo(this.tcb);
  }

  // ---- events from the connection (TcbEvents) ----

  connected(): void {
    this.raise(CONNECT);
  }
  readable(): void {
    this.raise(READABLE);
  }
  writable(): void {
    if (this.wantWritable) this.raise(WRITABLE);
  }
  ended(): void {
    this.raise(END);
  }
  closed(error: string | undefined): void {
    this.closeError = error;
    this.raise(CLOSE);
  }

  private raise(flag: number): void {
    this.pending |= flag;
    if (!this.notifyTimer.scheduled) this.layer.stack.schedule(this.notifyTimer, this.layer.stack.now());
  }

  /** The notify timer's callback, one for every socket (no closure per socket). */
  private static onNotify(socket: TcpSocket): void {
    socket.deliver();
  }

  private deliver(): void {
    const p = this.pending;
    this.pending = 0;
    if (p & CONNECT) this.onConnect?.();
    if (p & READABLE && !this.userClosed) this.onReadable?.();
    if (p & END && !this.userClosed) this.onEnd?.();
    if (p & WRITABLE && this.tcb.sendBuffer.space > 0 && !this.userClosed) {
      this.wantWritable = false;
      this.onWritable?.();
    }
    if (p & CLOSE) {
      const e = this.closeError;
      this.onClose?.(e === undefined ? undefined : errno(e, closeMessage(e)));
    }
  }
}

function closeMessage(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by peer';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return 'connection failed';
  }
}

/**
 * Receive buffer auto-tuning (as Linux's tcp_rcv_space_adjust): once per RTT, if the application
 * read more than half the buffer in that RTT, the buffer grows to twice what it read, up to
 * `MAX_RECEIVE_BUFFER`; the advertised window follows.
 */
function autotune(tcb: Tcb, n: number): void {
  if (tcb.rcvBufLocked) return;
  tcb.rcvSpaceCopied += n;
  const now = tcb.now;
  const rtt = tcb.rtt.srtt ?? 100;
  if (now - tcb.rcvSpaceTime < rtt) return;
  const copied = tcb.rcvSpaceCopied;
  tcb.rcvSpaceCopied = 0;
  tcb.rcvSpaceTime = now;
  if (2 * copied > tcb.rcvBuf) {
    tcb.rcvBuf = Math.min(MAX_RECEIVE_BUFFER, Math.max(tcb.rcvBuf, 4 * copied));
    tcb.receiveQueue.outOfOrderLimit = tcb.rcvBuf;
  }
}
