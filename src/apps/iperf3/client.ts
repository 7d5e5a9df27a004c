/**
 * An iperf3 client over the stack's TCP sockets: measures TCP throughput to an iperf3 server (the
 * real one or ours), sending (normal) or receiving (reverse, `-R`) on `parallel` streams for `time`
 * seconds, and builds a report shaped like iperf3's JSON output (`start`, `intervals`, `end`).
 *
 * Timing is the stack's: the duration and the interval reports run on stack timers, so a test runs
 * in simulation on virtual time as well as on a real network. The server has `setupTimeout` to
 * answer each setup step; the test fails with ETIMEDOUT otherwise.
 */
import type { Stack } from '../../core/stack.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Timer } from '../../core/timers.ts';
import { ipv4ToString } from '../../wire/address.ts';
import { SocketWriter } from '../socket-writer.ts';
import { type Interval, Meter } from './meter.ts';
import {
  COOKIE_SIZE,
  ControlReader,
  type CpuUtil,
  checkResults,
  cookieText,
  DEFAULT_BLOCK,
  DEFAULT_PORT,
  frameJson,
  MAX_BLOCK,
  MAX_STREAMS,
  MAX_TIME,
  makeCookie,
  NO_CPU,
  PROTOCOL_VERSION,
  State,
  stateByte,
  stateName,
  streamId,
  type TestParams,
  type TestResults,
} from './protocol.ts';
import { type EndReport, endReport, localResults } from './report.ts';
import { TestStream } from './test-stream.ts';

export interface Iperf3ClientOptions {
  address: number;
  port?: number;
  /** Parallel streams (default 1). */
  parallel?: number;
  /** The server sends, we receive (iperf3 -R). */
  reverse?: boolean;
  /** Seconds of test (default 10). */
  time?: number;
  /** Bytes of one write (default 128 KiB). */
  length?: number;
  /** Milliseconds between interval reports (default 1000). */
  interval?: number;
  /** Milliseconds the server has for each setup step (default 10 s). */
  setupTimeout?: number;
  /** Longest JSON object accepted from the server, in bytes (default 1 MiB). */
  maxJson?: number;
  /** Starts measuring CPU use; the function returned gives the use since (default: zeros). */
  startCpu?: () => () => CpuUtil;
}

export interface ConnectedStream {
  socket: number;
  local_host: string;
  local_port: number;
  remote_host: string;
  remote_port: number;
}

/** The report, in the shape of iperf3's `--json` output (without what only the CLI knows). */
export interface Iperf3Report {
  start: {
    connected: ConnectedStream[];
    version: string;
    connecting_to: { host: string; port: number };
    cookie: string;
    tcp_mss_default: number;
    test_start: {
      protocol: 'TCP';
      num_streams: number;
      blksize: number;
      omit: number;
      duration: number;
      bytes: number;
      blocks: number;
      reverse: number;
      tos: number;
    };
  };
  intervals: Interval[];
  end: EndReport;
}

export type Iperf3Error = Error & { code: string };

function codeOf(e: Error | undefined): string {
  return (e as { code?: string } | undefined)?.code ?? 'ECONNRESET';
}

function failure(code: string, message: string): Iperf3Error {
  return Object.assign(new Error(message), { code });
}

export class Iperf3Client {
  onStreamConnected: ((stream: ConnectedStream) => void) | undefined;
  onInterval: ((interval: Interval) => void) | undefined;
  onDone: ((report: Iperf3Report) => void) | undefined;
  onError: ((e: Iperf3Error) => void) | undefined;
  readonly cookie: Uint8Array;
  readonly port: number;
  readonly parallel: number;
  readonly reverse: boolean;
  readonly time: number;
  readonly length: number;
  private readonly interval: number;
  private readonly setupTimeout: number;
  private readonly maxJson: number;
  private readonly startCpu: () => () => CpuUtil;
  private control: TcpSocket | undefined;
  private reader: ControlReader | undefined;
  private writer: SocketWriter | undefined;
  private readonly streams: TestStream[] = [];
  /** The stream connection under way, not yet a stream. */
  private connecting: TcpSocket | undefined;
  /** The block every sending stream writes, made once. */
  private block: Uint8Array | undefined;
  private readonly connected: ConnectedStream[] = [];
  private meter: Meter | undefined;
  private cpu: (() => CpuUtil) | undefined;
  private readonly timer: Timer;
  private readonly durationTimer: Timer;
  /** What the control connection is expected to bring next. */
  private expecting: 'state' | 'results' | 'error-numbers' | 'nothing' = 'nothing';
  private remote: TestResults | undefined;
  private finished = false;

  constructor(
    private readonly stack: Stack,
    private readonly options: Iperf3ClientOptions,
  ) {
    const check = (name: string, v: number, min: number, max: number, integer = true) => {
      if (!(v >= min && v <= max) || (integer && !Number.isInteger(v)))
        throw failure('EINVAL', `iperf3: ${name} must be between ${min} and ${max}`);
      return v;
    };
    this.port = check('port', options.port ?? DEFAULT_PORT, 1, 65535);
    this.parallel = check('parallel', options.parallel ?? 1, 1, MAX_STREAMS);
    this.reverse = options.reverse === true;
    this.time = check('time', options.time ?? 10, 0.1, MAX_TIME, false);
    this.length = check('length', options.length ?? DEFAULT_BLOCK, 1, MAX_BLOCK);
    this.interval = check('interval', options.interval ?? 1000, 100, 60_000, false);
    this.setupTimeout = options.setupTimeout ?? 10_000;
    this.maxJson = options.maxJson ?? 1024 * 1024;
    this.startCpu = options.startCpu ?? (() => () => NO_CPU);
    this.cookie = makeCookie(stack.env.rng);
    this.timer = stack.createTimer(() =>
      this.fail('ETIMEDOUT', `the server did not answer (${this.expecting})`),
    );
    this.durationTimer = stack.createTimer(() => this.endTest());
  }

  /** Connects the control connection; the rest follows from the server's states. */
  start(): void {
    this.stack.run(() => {
      const c = this.stack.tcp.connect({ address: this.options.address, port: this.port, noDelay: true });
      this.control = c;
      this.reader = new ControlReader(c);
      this.writer = new SocketWriter(c);
      this.writer.onError = (e) => this.fail('ECONNRESET', `control connection: ${e.message}`);
      this.wait();
      c.onConnect = () => {
        this.writer!.write(this.cookie);
        this.expecting = 'state';
      };
      c.onReadable = () => this.step();
      c.onEnd = () => this.step();
      c.onClose = (err) => {
        if (!this.finished)
          this.fail(codeOf(err), err ? err.message : 'the server closed the control connection');
      };
    });
  }

  /** Stops the test early: tells the server (CLIENT_TERMINATE) and closes everything. */
  abort(): void {
    this.stack.run(() => {
      if (this.finished) return;
      this.writer?.write(stateByte(State.CLIENT_TERMINATE));
      this.close(false);
    });
  }

  /** The server has `setupTimeout` to send what we wait for. */
  private wait(): void {
    this.stack.schedule(this.timer, this.stack.now() + this.setupTimeout);
  }

  private step(): void {
    const reader = this.reader!;
    while (!this.finished) {
      if (this.expecting === 'results') {
        const r = reader.json(this.maxJson);
        if (r === undefined) break;
        if ('error' in r) {
          this.fail('EPROTO', `results from the server: ${r.error}`);
          return;
        }
        const problem = checkResults(r.value);
        if (problem !== undefined) {
          this.fail('EPROTO', `results from the server: ${problem}`);
          return;
        }
        this.remote = r.value as TestResults;
        this.expecting = 'state';
        continue;
      }
      if (this.expecting === 'error-numbers') {
        const b = reader.bytes(8);
        if (b === undefined) break;
        const view = new DataView(b.buffer, b.byteOffset, 8);
        this.fail(
          'EPROTO',
          `the server failed (iperf3 error ${view.getInt32(0)}, errno ${view.getInt32(4)})`,
        );
        return;
      }
      if (this.expecting !== 'state') break;
      const s = reader.state();
      if (s === undefined) break;
      this.onState(s);
    }
    if (!this.finished && this.control!.readableEnded)
      this.fail('ECONNRESET', 'the server closed the control connection');
  }

  private onState(state: number): void {
    if (state !== State.TEST_RUNNING) this.wait();
    switch (state) {
      case State.PARAM_EXCHANGE:
        this.writer!.write(frameJson(this.params()));
        return;
      case State.CREATE_STREAMS:
        this.openStream();
        return;
      case State.TEST_START:
        return;
      case State.TEST_RUNNING: {
        this.run();
        return;
      }
      case State.EXCHANGE_RESULTS: {
        const meter = this.meter!;
        const mine = localResults(meter.totals(), !this.reverse, this.cpuUse(), this.congestion());
        this.writer!.write(frameJson(mine));
        this.expecting = 'results';
        return;
      }
      case State.DISPLAY_RESULTS: {
        this.done();
        return;
      }
      case State.ACCESS_DENIED:
        this.fail('EBUSY', 'the server is busy running a test; try again later');
        return;
      case State.SERVER_ERROR:
        this.expecting = 'error-numbers';
        return;
      case State.SERVER_TERMINATE: {
        this.fail('ECONNABORTED', 'the server has terminated');
        return;
      }
      default: {
        this.fail('EPROTO', `unexpected ${stateName(state)} from the server`);
        return;
      }
    }
  }

  private params(): TestParams {
    return {
      tcp: true,
      omit: 0,
      time: this.time,
      num: 0,
      blockcount: 0,
      parallel: this.parallel,
      ...(this.reverse ? { reverse: true } : {}),
      len: this.length,
      pacing_timer: 1000,
      client_version: PROTOCOL_VERSION,
    };
  }

  /** Opens the streams one after another, so both ends number them in the same order. */
  private openStream(): void {
    const index = this.streams.length;
    const s = this.stack.tcp.connect({ address: this.options.address, port: this.port });
    this.connecting = s;
    s.onConnect = () => {
      this.connecting = undefined;
      if (this.finished) return;
      const block = this.reverse ? undefined : this.makeBlock();
      if (s.write(this.cookie) < COOKIE_SIZE) {
        this.fail('EPROTO', 'stream cookie not sent');
        return;
      }
      const stream = new TestStream(streamId(index), s, block);
      stream.onError = (e) => this.fail(codeOf(e), `stream ${stream.id}: ${e.message}`);
      this.streams.push(stream);
      const info: ConnectedStream = {
        socket: stream.id,
        local_host: ipv4ToString(s.localAddress),
        local_port: s.localPort,
        remote_host: ipv4ToString(s.remoteAddress),
        remote_port: s.remotePort,
      };
      this.connected.push(info);
      this.onStreamConnected?.(info);
      if (this.streams.length < this.parallel) this.openStream();
    };
    s.onClose = (err) => {
      if (!this.finished) this.fail(codeOf(err), `stream ${index + 1}: ${err?.message ?? 'closed'}`);
    };
  }

  /** One random block, shared by every sending stream (as iperf3's default payload). */
  private makeBlock(): Uint8Array {
    if (this.block === undefined) {
      this.block = new Uint8Array(this.length);
      this.stack.env.rng.fill(this.block);
    }
    return this.block;
  }

  /** TEST_RUNNING: the streams go, the clock runs. */
  private run(): void {
    if (this.streams.length !== this.parallel) {
      this.fail('EPROTO', 'the test started before every stream');
      return;
    }
    this.stack.cancel(this.timer);
    this.cpu = this.startCpu();
    this.meter = new Meter(this.stack, this.streams, !this.reverse, this.interval, true);
    this.meter.onInterval = (i) => this.onInterval?.(i);
    this.meter.start();
    this.stack.schedule(this.durationTimer, this.stack.now() + this.time * 1000);
  }

  /** The time is up: counting stops and the server hears TEST_END. */
  private endTest(): void {
    if (this.finished) return;
    this.meter!.stop();
    this.writer!.write(stateByte(State.TEST_END));
    this.wait();
  }

  /** DISPLAY_RESULTS: IPERF_DONE to the server, the report to the user. */
  private done(): void {
    if (this.remote === undefined) {
      this.fail('EPROTO', 'DISPLAY_RESULTS before the results');
      return;
    }
    const meter = this.meter!;
    const report: Iperf3Report = {
      start: {
        connected: this.connected,
        version: `netstack-ts iperf3 (protocol ${PROTOCOL_VERSION})`,
        connecting_to: { host: ipv4ToString(this.options.address), port: this.port },
        cookie: cookieText(this.cookie),
        tcp_mss_default: this.streams[0]?.socket.info().sndMss ?? 0,
        test_start: {
          protocol: 'TCP',
          num_streams: this.parallel,
          blksize: this.length,
          omit: 0,
          duration: this.time,
          bytes: 0,
          blocks: 0,
          reverse: this.reverse ? 1 : 0,
          tos: 0,
        },
      },
      intervals: meter.intervals,
      end: endReport(meter.totals(), this.remote, !this.reverse, this.cpuUse(), this.congestion()),
    };
    this.writer!.write(stateByte(State.IPERF_DONE));
    this.close(true);
    this.onDone?.(report);
  }

  private cpuUse(): CpuUtil {
    return this.cpu?.() ?? NO_CPU;
  }

  private congestion(): string {
    return this.streams[0]?.socket.info().congestionControl ?? 'cubic';
  }

  private fail(code: string, message: string): void {
    if (this.finished) return;
    this.close(false);
    this.onError?.(failure(code, `iperf3: ${message}`));
  }

  /** Closes the streams (a reset where data is left unread) and the control connection. */
  private close(graceful: boolean): void {
    this.finished = true;
    this.meter?.stop();
    this.stack.cancel(this.timer);
    this.stack.cancel(this.durationTimer);
    for (const s of this.streams) s.close();
    this.connecting?.abort();
    const c = this.control;
    if (c === undefined) return;
    c.onReadable = c.onEnd = c.onClose = undefined;
    if (graceful || c.state === 'ESTABLISHED') c.close();
    else c.abort();
  }
}
