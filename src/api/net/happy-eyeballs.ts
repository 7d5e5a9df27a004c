/**
 * Happy Eyeballs version 2 (RFC 8305) for `stack.net`'s connect by name, on the stack's clock:
 *
 * - `resolveBoth`: AAAA and A asked at once (RFC 8305 3); a positive AAAA answer is used at once,
 *   an A answer that comes first waits up to the Resolution Delay (50 ms) for the AAAA one, and an
 *   answer that comes after connecting began joins the list;
 * - `interleave`: the addresses alternate by family, starting with the family of the first one,
 *   `firstAddressFamilyCount` of it first (RFC 8305 4);
 * - `ConnectionRace`: one attempt at a time, the next one once the Connection Attempt Delay
 *   (Node's `autoSelectFamilyAttemptTimeout`, 250 ms by default, 10 ms at least: RFC 8305 5) passed
 *   or an attempt failed, earlier attempts still running; the first to connect wins and the others
 *   are cancelled (RFC 8305 6); when every one failed, their errors in the order they started.
 *
 * Node's own net (20) differs in one point: it closes an attempt when the delay passes (an
 * ETIMEDOUT in the errors) instead of letting it run beside the next one.
 */
import type { Stack } from '../../core/stack.ts';
import type { Timer } from '../../core/timers.ts';
import type { LookupAddress, LookupFunction } from './args.ts';

/** RFC 8305 3: how long an A answer waits for the AAAA one. */
export const RESOLUTION_DELAY = 50;
/** RFC 8305 5's recommended Connection Attempt Delay, Node's default. */
export const DEFAULT_ATTEMPT_DELAY = 250;
/** RFC 8305 5: at least 10 ms (Node raises smaller values to it). */
export const MIN_ATTEMPT_DELAY = 10;

/**
 * The addresses without duplicates, alternating by family: `firstCount` of the first address's
 * family, then one of the other, one of the first, and so on (RFC 8305 4).
 */
export function interleave(list: readonly LookupAddress[], firstCount = 1): LookupAddress[] {
  const seen = new Set<string>();
  const first: LookupAddress[] = [];
  const other: LookupAddress[] = [];
  const family = list[0]?.family;
  for (const a of list) {
    if (seen.has(a.address)) continue;
    seen.add(a.address);
    (a.family === family ? first : other).push(a);
  }
  const out = first.splice(0, Math.max(1, firstCount));
  while (first.length > 0 || other.length > 0) {
    const o = other.shift();
    if (o) out.push(o);
    const f = first.shift();
    if (f) out.push(f);
  }
  return out;
}

export interface ResolveEvents {
  /** Addresses usable now (IPv6 first when both families came together). */
  addresses(list: LookupAddress[]): void;
  /** No more answers will come; `error` when no family had an address. */
  done(error?: Error): void;
}

type Answer = LookupAddress[] | Error | undefined;

/**
 * Asks `lookup` for AAAA and A at once (RFC 8305 3). Returns a function that cancels: nothing is
 * reported after it ran.
 */
export function resolveBoth(
  stack: Stack,
  lookup: LookupFunction,
  host: string,
  hints: number,
  events: ResolveEvents,
): () => void {
  let v6: Answer;
  let v4: Answer;
  let sent6 = false;
  let sent4 = false;
  let waited = false;
  let over = false;
  const timer: Timer = stack.createTimer(() => {
    waited = true;
    flush();
  });
  const flush = () => {
    if (over) return;
    const batch: LookupAddress[] = [];
    if (Array.isArray(v6) && !sent6) {
      sent6 = true;
      batch.push(...v6);
    }
    if (Array.isArray(v4) && !sent4) {
      if (v6 === undefined && !waited) {
        if (!timer.scheduled) stack.schedule(timer, stack.now() + RESOLUTION_DELAY);
      } else {
        sent4 = true;
        batch.push(...v4);
      }
    }
    if (batch.length > 0) events.addresses(batch);
    if (over || v6 === undefined || v4 === undefined) return;
    over = true;
    stack.cancel(timer);
    events.done(sent4 || sent6 ? undefined : pickError(v6 as Error, v4 as Error));
  };
  const ask = (family: 4 | 6, set: (a: Answer) => void) =>
    lookup(host, { family, hints, all: true }, (err, result, resultFamily) => {
      if (err) set(err);
      else if (typeof result === 'string') set([{ address: result, family: resultFamily ?? family }]);
      else
        set(
          result.length > 0
            ? result
            : Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' }),
        );
      if (v6 !== undefined) stack.cancel(timer);
      flush();
    });
  ask(6, (a) => {
    v6 = a;
  });
  ask(4, (a) => {
    v4 = a;
  });
  return () => {
    over = true;
    stack.cancel(timer);
  };
}

/** The error of a name neither family had: a transient failure outweighs a negative answer. */
function pickError(e6: Error, e4: Error): Error {
  const code = (e: Error) => (e as { code?: string }).code;
  return code(e4) === 'ENOTFOUND' && code(e6) !== 'ENOTFOUND' && code(e6) !== undefined ? e6 : e4;
}

/** What a race does with its attempts (the socket's side). */
export interface RaceHooks<H> {
  /** Starts an attempt: its handle, or the error it failed with at once. */
  start(a: LookupAddress): H | Error;
  /** Gives up an attempt that lost. */
  cancel(handle: H): void;
  /** The Connection Attempt Delay of the attempt to `a` passed; the next one starts. */
  delayPassed(a: LookupAddress): void;
  failedOne(a: LookupAddress, error: Error): void;
  won(handle: H, a: LookupAddress): void;
  /** Every attempt failed: their errors in the order the attempts started. */
  lost(errors: Error[]): void;
}

/** RFC 8305 5-6: staggered, overlapping connection attempts; the first connection wins. */
export class ConnectionRace<H> {
  private queue: LookupAddress[] = [];
  private readonly seen = new Set<string>();
  private readonly running = new Map<H, { a: LookupAddress; index: number }>();
  private readonly errors: Array<{ index: number; error: Error }> = [];
  private started = 0;
  private last: LookupAddress | undefined;
  private resolving = true;
  private over = false;
  private readonly timer: Timer;

  constructor(
    private readonly stack: Stack,
    private readonly delay: number,
    private readonly firstCount: number,
    private readonly hooks: RaceHooks<H>,
  ) {
    this.timer = stack.createTimer(() => {
      if (this.over || this.queue.length === 0) return;
      this.hooks.delayPassed(this.last!);
      this.next();
    });
  }

  /** Attempts running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** More addresses: the first ones are interleaved; later ones join, the other family next. */
  add(list: readonly LookupAddress[]): void {
    if (this.over) return;
    const fresh = list.filter((a) => !this.seen.has(a.address));
    for (const a of fresh) this.seen.add(a.address);
    if (this.last === undefined) {
      this.queue = interleave([...this.queue, ...fresh], this.firstCount);
    } else {
      // RFC 8305 3: answers that come late are added to the list, alternating with what is left.
      const nextFamily = this.last.family === 6 ? 4 : 6;
      const all = [...this.queue, ...fresh];
      this.queue = interleave([
        ...all.filter((a) => a.family === nextFamily),
        ...all.filter((a) => a.family !== nextFamily),
      ]);
    }
    if (!this.timer.scheduled) this.next();
  }

  /** The resolution is over: no address will be added. */
  resolved(): void {
    this.resolving = false;
    this.checkLost();
  }

  /** The attempt `handle` connected: the others are cancelled. */
  succeeded(handle: H): void {
    const entry = this.running.get(handle);
    if (this.over || entry === undefined) return;
    this.running.delete(handle);
    this.finish();
    this.hooks.won(handle, entry.a);
  }

  /** The attempt `handle` failed: the next one starts now. */
  failed(handle: H, error: Error): void {
    const entry = this.running.get(handle);
    if (this.over || entry === undefined) return;
    this.running.delete(handle);
    this.errors.push({ index: entry.index, error });
    this.hooks.failedOne(entry.a, error);
    this.stack.cancel(this.timer);
    this.next();
  }

  /** Stops everything (the socket was destroyed). */
  abort(): void {
    if (!this.over) this.finish();
  }

  private finish(): void {
    this.over = true;
    this.stack.cancel(this.timer);
    for (const h of this.running.keys()) this.hooks.cancel(h);
    this.running.clear();
  }

  private next(): void {
    while (!this.over) {
      const a = this.queue.shift();
      if (a === undefined) break;
      const index = this.started++;
      this.last = a;
      const h = this.hooks.start(a);
      if (h instanceof Error) {
        this.errors.push({ index, error: h });
        this.hooks.failedOne(a, h);
        continue;
      }
      this.running.set(h, { a, index });
      this.stack.schedule(this.timer, this.stack.now() + this.delay);
      return;
    }
    this.checkLost();
  }

  private checkLost(): void {
    if (this.over || this.resolving || this.queue.length > 0 || this.running.size > 0) return;
    this.over = true;
    this.stack.cancel(this.timer);
    this.hooks.lost(this.errors.sort((x, y) => x.index - y.index).map((e) => e.error));
  }
}
