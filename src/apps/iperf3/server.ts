/**
 * An iperf3 server over the stack's TCP sockets: one test at a time (normal, reverse `-R`, parallel
 * `-P N`); another client's cookie gets ACCESS_DENIED, as iperf3 answers while busy. Every accepted
 * connection first sends its cookie: the first cookie while idle opens a test (that connection is
 * the control connection), and while the test creates its streams the connections bearing its
 * cookie become its streams.
 *
 * Bounds: a connection must send its cookie, and the control connection each setup step, within
 * `setupTimeout`; a running test may last its duration plus `setupTimeout`; JSON objects are at most
 * `maxJson` bytes; at most `maxPending` connections may be waiting for their cookie. What a bound
 * stops is counted under `<prefix>.drop`.
 */
import type { Counter, DropCounters } from '../../core/counters.ts';
import type { IpAddr } from '../../core/ip-address.ts';
import type { Stack } from '../../core/stack.ts';
import type { TcpSocket } from '../../core/tcp/tcp-socket.ts';
import type { Timer } from '../../core/timers.ts';
import { SocketWriter } from '../socket-writer.ts';
import { type Interval, Meter } from './meter.ts';
import {
  COOKIE_SIZE,
  ControlReader,
  type CpuUtil,
  checkResults,
  DEFAULT_BLOCK,
  frameJson,
  MAX_BLOCK,
  MAX_STREAMS,
  MAX_TIME,
  NO_CPU,
  ServerErrorCode,
  State,
  sameCookie,
  serverError,
  stateByte,
  stateName,
  streamId,
  type TestResults,
} from './protocol.ts';
import { type EndReport, endReport, localResults } from './report.ts';
import { TestStream } from './test-stream.ts';

export interface Iperf3ServerOptions {
  /** Counter names start with this (default `iperf3.server`). */
  counterPrefix?: string;
  /** Milliseconds for a cookie and for each setup step of a test (default 10 s). */
  setupTimeout?: number;
  /** Milliseconds between interval reports (default 1000). */
  interval?: number;
  /** Longest JSON object accepted, in bytes (default 64 KiB). */
  maxJson?: number;
  /** Connections waiting for their cookie at once (default 64). */
  maxPending?: number;
  /** Starts measuring CPU use; the function returned gives the use since (default: zeros). */
  startCpu?: () => () => CpuUtil;
}

/** What the server tells about a test as it begins. */
export interface ServerTestInfo {
  /** The client's address (IPv4-mapped when it came over IPv4 to a dual-stack listener). */
  remoteAddress: IpAddr;
  remotePort: number;
  parallel: number;
  reverse: boolean;
  /** Seconds the client asked for (0: the client ends the test on bytes). */
  time: number;
  length: number;
}

/** What `ControlReader.json` may return. */
type JsonResult = { value: unknown } | { error: string } | undefined;

type Phase = 'params' | 'streams' | 'running' | 'results' | 'display' | 'over';

type DropReason =
  | 'cookie-timeout'
  | 'pending-full'
  | 'setup-timeout'
  | 'test-timeout'
  | 'json-too-long'
  | 'bad-json'
  | 'bad-params'
  | 'unexpected-state'
  | 'control-lost'
  | 'stream-lost';

export class Iperf3Server {
  onTestStart: ((info: ServerTestInfo) => void) | undefined;
  onInterval: ((interval: Interval) => void) | undefined;
  onTestEnd: ((end: EndReport) => void) | undefined;
  onTestError: ((message: string) => void) | undefined;
  readonly setupTimeout: number;
  readonly interval: number;
  readonly maxJson: number;
  readonly maxPending: number;
  readonly startCpu: () => () => CpuUtil;
  readonly counters: {
    connections: Counter;
    tests: Counter;
    completed: Counter;
    failed: Counter;
    denied: Counter;
    drops: DropCounters<DropReason>;
  };
  private test: ServerTest | undefined;
  private pending = 0;

  constructor(
    readonly stack: Stack,
    options: Iperf3ServerOptions = {},
  ) {
    this.setupTimeout = options.setupTimeout ?? 10_000;
    this.interval = options.interval ?? 1000;
    this.maxJson = options.maxJson ?? 64 * 1024;
    this.maxPending = options.maxPending ?? 64;
    this.startCpu = options.startCpu ?? (() => () => NO_CPU);
    const prefix = options.counterPrefix ?? 'iperf3.server';
    const c = stack.counters;
    this.counters = {
      connections: c.get(`${prefix}.connections`),
      tests: c.get(`${prefix}.tests`),
      completed: c.get(`${prefix}.tests.completed`),
      failed: c.get(`${prefix}.tests.failed`),
      denied: c.get(`${prefix}.denied`),
      drops: c.drops(`${prefix}.drop`),
    };
  }

  /** Whether a test is under way. */
  get busy(): boolean {
    return this.test !== undefined;
  }

  /** Listens on `port` of every address; returns a function that stops listening and ends the test. */
  listen(port: number): () => void {
    const listener = this.stack.run(() => this.stack.tcp.listen({ port }));
    const open = new Set<TcpSocket>();
    listener.onConnection = () => {
      for (let s = listener.accept(); s; s = listener.accept()) {
        const socket = s;
        open.add(socket);
        this.serve(socket, () => open.delete(socket));
      }
    };
    return () =>
      this.stack.run(() => {
        listener.close();
        this.test?.fail('server stopping', undefined, State.SERVER_TERMINATE);
        for (const s of open) s.abort();
        open.clear();
      });
  }

  /** Takes one accepted connection; `done` is called once the server has let go of it. */
  serve(socket: TcpSocket, done: () => void): void {
    this.counters.connections.value++;
    if (this.pending >= this.maxPending) {
      this.counters.drops.drop('pending-full');
      socket.abort();
      done();
      return;
    }
    this.pending++;
    const reader = new ControlReader(socket);
    const stack = this.stack;
    let settled = false;
    const settle = () => {
      settled = true;
      this.pending--;
      stack.cancel(timer);
      socket.onReadable = socket.onEnd = socket.onClose = undefined;
    };
    const timer: Timer = stack.createTimer(() => {
      if (settled) return;
      settle();
      this.counters.drops.drop('cookie-timeout');
      socket.abort();
      done();
    });
    stack.schedule(timer, stack.now() + this.setupTimeout);
    const onData = () => {
      if (settled) return;
      const cookie = reader.bytes(COOKIE_SIZE);
      if (cookie === undefined) {
        if (socket.readableEnded) {
          settle();
          socket.close();
          done();
        }
        return;
      }
      settle();
      this.route(socket, reader, cookie, done);
    };
    socket.onReadable = onData;
    socket.onEnd = onData;
    socket.onClose = () => {
      if (settled) return;
      settle();
      done();
    };
  }

  /** A connection whose cookie has arrived: a new test, a stream of the test, or denied. */
  private route(socket: TcpSocket, reader: ControlReader, cookie: Uint8Array, done: () => void): void {
    const test = this.test;
    if (test === undefined) {
      this.counters.tests.value++;
      this.test = new ServerTest(this, socket, reader, cookie, done);
      return;
    }
    if (test.wantsStream(cookie)) {
      test.addStream(socket, done);
      return;
    }
    // iperf3 answers a second client while busy with ACCESS_DENIED and closes.
    this.counters.denied.value++;
    try {
      socket.write(stateByte(State.ACCESS_DENIED));
    } catch {
      // Gone already.
    }
    socket.close();
    done();
  }

  /** Called by a test when it is over. */
  ended(test: ServerTest, outcome: { end: EndReport } | { error: string }): void {
    if (this.test !== test) return;
    this.test = undefined;
    if ('end' in outcome) {
      this.counters.completed.value++;
      this.onTestEnd?.(outcome.end);
    } else {
      this.counters.failed.value++;
      this.onTestError?.(outcome.error);
    }
  }
}

/** One test, from the control connection's cookie to IPERF_DONE. */
class ServerTest {
  private phase: Phase = 'params';
  private readonly writer: SocketWriter;
  private readonly timer: Timer;
  private readonly streams: TestStream[] = [];
  private readonly dones: Array<() => void> = [];
  private parallel = 1;
  private reverse = false;
  /** The duration the client asked for, in seconds (0: it ends the test on bytes). */
  private timeSeconds = 0;
  private block: Uint8Array | undefined;
  private meter: Meter | undefined;
  private cpu: (() => CpuUtil) | undefined;
  private remote: TestResults | undefined;

  constructor(
    private readonly server: Iperf3Server,
    private readonly control: TcpSocket,
    private readonly reader: ControlReader,
    private readonly cookie: Uint8Array,
    done: () => void,
  ) {
    const stack = server.stack;
    this.dones.push(done);
    this.timer = stack.createTimer(() =>
      this.fail(`no progress in ${this.phase}`, this.phase === 'running' ? 'test-timeout' : 'setup-timeout'),
    );
    this.writer = new SocketWriter(control);
    this.writer.onError = () => this.fail('control connection lost', 'control-lost');
    control.onReadable = () => this.step();
    control.onEnd = () => this.step();
    control.onClose = (err) => {
      if (this.phase !== 'over')
        this.fail(`control connection ${err ? err.message : 'closed'}`, 'control-lost');
    };
    this.enter('params', State.PARAM_EXCHANGE);
    this.step();
  }

  wantsStream(cookie: Uint8Array): boolean {
    return this.phase === 'streams' && sameCookie(cookie, this.cookie);
  }

  addStream(socket: TcpSocket, done: () => void): void {
    this.dones.push(done);
    const stream = new TestStream(
      streamId(this.streams.length),
      socket,
      this.reverse ? this.block : undefined,
    );
    stream.onError = (e) => this.fail(`stream ${stream.id}: ${e.message}`, 'stream-lost');
    this.streams.push(stream);
    if (this.streams.length < this.parallel) return;
    this.cpu = this.server.startCpu();
    this.meter = new Meter(this.server.stack, this.streams, this.reverse, this.server.interval, false);
    this.meter.onInterval = (i) => this.server.onInterval?.(i);
    this.send(stateByte(State.TEST_START));
    this.enter('running', State.TEST_RUNNING);
    this.meter.start();
  }

  /** Moves to `phase`, tells the client `state`, and gives the phase its deadline. */
  private enter(phase: Phase, state: number, extra?: Uint8Array): void {
    this.phase = phase;
    if (extra !== undefined) this.send(extra);
    this.send(stateByte(state));
    const stack = this.server.stack;
    const time = phase === 'running' ? this.runningLimit() : 0;
    stack.schedule(this.timer, stack.now() + time + this.server.setupTimeout);
  }

  private runningLimit(): number {
    return this.timeSeconds > 0 ? this.timeSeconds * 1000 : MAX_TIME * 1000;
  }

  private send(bytes: Uint8Array): void {
    this.writer.write(bytes);
  }

  /** Reads what the control connection brought, for the phase we are in. */
  private step(): void {
    while (this.phase !== 'over') {
      switch (this.phase) {
        case 'params': {
          const r = this.reader.json(this.server.maxJson);
          if (!this.handleJson(r, (v) => this.params(v))) return;
          break;
        }
        case 'results': {
          const r = this.reader.json(this.server.maxJson);
          if (!this.handleJson(r, (v) => this.results(v))) return;
          break;
        }
        default: {
          const s = this.reader.state();
          if (s === undefined) {
            if (this.control.readableEnded) this.fail('control connection closed', 'control-lost');
            return;
          }
          this.onState(s);
        }
      }
    }
  }

  /** Runs `use` on a complete JSON object; false when more bytes are needed or the test failed. */
  private handleJson(r: JsonResult, use: (value: unknown) => void): boolean {
    if (r === undefined) {
      if (this.control.readableEnded) this.fail('control connection closed', 'control-lost');
      return false;
    }
    if ('error' in r) {
      this.fail(r.error, r.error.startsWith('JSON of') ? 'json-too-long' : 'bad-json');
      return false;
    }
    use(r.value);
    return true;
  }

  private params(value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail('parameters are not an object', 'bad-params');
      return;
    }
    const p = value as Record<string, unknown>;
    const refuse = (message: string, code: number) => this.fail(message, 'bad-params', undefined, code);
    if (p.udp === true || p.sctp === true || p.tcp !== true) {
      refuse('only TCP tests are supported', ServerErrorCode.UNIMPLEMENTED);
      return;
    }
    if (p.bidirectional === true) {
      refuse('bidirectional tests are not supported', ServerErrorCode.UNIMPLEMENTED);
      return;
    }
    const parallel = p.parallel ?? 1;
    if (!Number.isInteger(parallel) || (parallel as number) < 1 || (parallel as number) > MAX_STREAMS) {
      refuse(`bad number of streams ${String(parallel)}`, ServerErrorCode.NUM_STREAMS);
      return;
    }
    const len = p.len ?? DEFAULT_BLOCK;
    if (!Number.isInteger(len) || (len as number) < 1 || (len as number) > MAX_BLOCK) {
      refuse(`bad block size ${String(len)}`, ServerErrorCode.BLOCK_SIZE);
      return;
    }
    const time = p.time ?? 10;
    if (typeof time !== 'number' || !(time >= 0 && time <= MAX_TIME)) {
      refuse(`bad duration ${String(time)}`, ServerErrorCode.DURATION);
      return;
    }
    this.reverse = p.reverse === true;
    // Ending a reverse test on bytes or blocks would be the server's to do: not supported here.
    if (this.reverse && ((Number(p.num) || 0) > 0 || (Number(p.blockcount) || 0) > 0)) {
      refuse('a reverse test must end on time', ServerErrorCode.UNIMPLEMENTED);
      return;
    }
    this.parallel = parallel as number;
    this.timeSeconds = time;
    if (this.reverse) {
      this.block = new Uint8Array(len as number);
      this.server.stack.env.rng.fill(this.block);
    }
    this.server.onTestStart?.({
      remoteAddress: this.control.remoteAddress,
      remotePort: this.control.remotePort,
      parallel: this.parallel,
      reverse: this.reverse,
      time,
      length: len as number,
    });
    this.enter('streams', State.CREATE_STREAMS);
  }

  private onState(state: number): void {
    if (state === State.TEST_END && this.phase === 'running') {
      this.meter!.stop();
      for (const s of this.streams) s.close();
      this.enter('results', State.EXCHANGE_RESULTS);
      return;
    }
    if (state === State.IPERF_DONE && this.phase === 'display') {
      this.finish();
      return;
    }
    if (state === State.CLIENT_TERMINATE) {
      this.fail('the client ended the test', undefined);
      return;
    }
    this.fail(`unexpected ${stateName(state)} in ${this.phase}`, 'unexpected-state');
  }

  private results(value: unknown): void {
    const problem = checkResults(value);
    if (problem !== undefined) {
      this.fail(problem, 'bad-json');
      return;
    }
    this.remote = value as TestResults;
    const meter = this.meter!;
    const mine = localResults(meter.totals(), this.reverse, this.cpuUse(), this.congestion());
    this.enter('display', State.DISPLAY_RESULTS, frameJson(mine));
  }

  private cpuUse(): CpuUtil {
    return this.cpu?.() ?? NO_CPU;
  }

  private congestion(): string {
    return this.streams[0]?.socket.info().congestionControl ?? 'cubic';
  }

  /** IPERF_DONE: the test is over; the report is ours (the sender is whoever sent the data). */
  private finish(): void {
    const end = endReport(this.meter!.totals(), this.remote!, this.reverse, this.cpuUse(), this.congestion());
    this.over();
    this.control.onClose = undefined;
    this.control.close();
    this.release();
    this.server.ended(this, { end });
  }

  /**
   * Ends the test on an error: tells the client (SERVER_ERROR with `code`, or `state`) when there
   * is something to tell, closes every connection, counts the reason.
   */
  fail(message: string, reason: DropReason | undefined, state?: number, code?: number): void {
    if (this.phase === 'over') return;
    this.over();
    if (reason !== undefined) this.server.counters.drops.drop(reason);
    const notice =
      code !== undefined ? serverError(code) : state !== undefined ? stateByte(state) : undefined;
    for (const s of this.streams) s.abort();
    this.control.onClose = undefined;
    if (notice !== undefined) {
      this.writer.onError = undefined;
      this.send(notice);
      this.control.close();
    } else {
      this.control.abort();
    }
    this.release();
    this.server.ended(this, { error: message });
  }

  private over(): void {
    this.phase = 'over';
    this.meter?.stop();
    this.server.stack.cancel(this.timer);
    this.control.onReadable = this.control.onEnd = undefined;
  }

  private release(): void {
    for (const d of this.dones.splice(0)) d();
  }
}
