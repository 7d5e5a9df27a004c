/**
 * Named counters, per layer and per drop reason, readable as a snapshot like `nstat`.
 *
 * Names are dotted paths: `<layer>.<direction>.<what>`, drops as `<layer>.rx.drop.<reason>`
 * where the reason is the typed error of the parser or check that refused the packet. A layer
 * looks its hot counters up once and keeps the `Counter` objects; rare events (drops) may go
 * through `drop(reason)`, which looks the reason up by name.
 */
export class Counter {
  value = 0;
  constructor(readonly name: string) {}
}

export class Counters {
  private readonly byName = new Map<string, Counter>();

  /** The counter with this name, created at zero on first use. */
  get(name: string): Counter {
    let c = this.byName.get(name);
    if (c === undefined) {
      c = new Counter(name);
      this.byName.set(name, c);
    }
    return c;
  }

  /** Adds `n` to the named counter. */
  add(name: string, n = 1): void {
    this.get(name).value += n;
  }

  /** The value of the named counter (0 if never touched). */
  value(name: string): number {
    return this.byName.get(name)?.value ?? 0;
  }

  /** A drop-counter group for one layer: `drop(reason)` counts under `<prefix>.<reason>`. */
  drops<R extends string>(prefix: string): DropCounters<R> {
    return new DropCounters<R>(this, prefix);
  }

  /** All counters, sorted by name; zeros omitted unless asked for. */
  snapshot(includeZero = false): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of [...this.byName.keys()].sort()) {
      const v = this.byName.get(name)!.value;
      if (v !== 0 || includeZero) out[name] = v;
    }
    return out;
  }

  /** The snapshot as aligned `name value` lines, like `nstat -a`. */
  format(includeZero = false): string {
    const snap = this.snapshot(includeZero);
    const names = Object.keys(snap);
    const width = Math.max(0, ...names.map((n) => n.length));
    return names.map((n) => `${n.padEnd(width)}  ${snap[n]}`).join('\n');
  }
}

export class DropCounters<R extends string> {
  private readonly cache = new Map<R, Counter>();
  constructor(
    private readonly counters: Counters,
    private readonly prefix: string,
  ) {}

  /** Counts one drop for `reason`. */
  drop(reason: R): void {
    let c = this.cache.get(reason);
    if (c === undefined) {
      c = this.counters.get(`${this.prefix}.${reason}`);
      this.cache.set(reason, c);
    }
    c.value++;
  }
}
