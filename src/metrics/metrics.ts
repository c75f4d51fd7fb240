import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { renderPrometheus } from './prometheus.ts';
import type { LatencyMs, MetricsSnapshot, SideStats } from './snapshot.ts';

export type { LatencyMs, MethodStats, MetricsSnapshot, SideStats } from './snapshot.ts';

/**
 * One method on one side, recording while the process runs. A call holds
 * its record and a small integer (see StartTimes) until it settles: nothing
 * is made per call, a call that is not timed reads no clock, and each side
 * of a call changes two counters.
 */
export class MethodRecord {
  /** Calls settled, failed ones included. */
  calls = 0;
  errors = 0;
  readonly errorsByCode = new Map<string, number>();
  /** Microseconds: histograms record integers, and sub-millisecond calls must stay visible. */
  readonly latency: RecordableHistogram = createHistogram();
  /** Calls begun: those not settled yet are in flight. */
  private begun = 0;
  /** A call is timed when `begun & mask` is 0: one in mask + 1, a power of two rising with the calls made to timeEvery. */
  private mask = 0;

  constructor(
    private readonly side: SideTable,
    private readonly timeEvery: number,
  ) {}

  /** Calls begun and not yet settled. */
  get inFlight(): number {
    return this.begun - this.calls;
  }

  /** A call starts: what to give ok() or fail(), its start time's slot, or -1 when it is not one of those timed. */
  begin(): number {
    return (++this.begun & this.mask) === 0 ? this.timed() : -1;
  }

  /** Kept out of begin(), which runs on every call and so stays small enough to be inlined. */
  private timed(): number {
    // A method called a few times has every call timed; a busy one, one in timeEvery.
    if (this.mask + 1 < this.timeEvery) this.mask = Math.min(this.timeEvery, powerOfTwo(1 + (this.calls >> 6))) - 1;
    return this.side.starts.take();
  }

  /** The call that begin() gave `slot` succeeded. */
  ok(slot: number): void {
    this.calls++;
    if (slot >= 0) this.time(slot);
  }

  /** The call that begin() gave `slot` failed with `error`. */
  fail(slot: number, error: unknown): void {
    // Settled here first (the table reads this record's in flight to tell a made-up name), then counted where it belongs.
    this.begun--;
    const into = this.side.failed(this, error);
    into.begun++;
    into.calls++;
    if (slot >= 0) into.time(slot);
  }

  private time(slot: number): void {
    this.latency.record(Math.max(1, Math.round(this.side.starts.elapsedMs(slot) * 1000)));
  }
}

/** The least power of two at least `n` (n ≥ 1). */
const powerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/**
 * The start times of one side's timed calls in flight, by slot. A call
 * holds its slot number, a small integer: a float of its own would be
 * boxed, an object per call again.
 */
class StartTimes {
  private times = new Float64Array(16);
  private free = Int32Array.from({ length: 16 }, (_, i) => 15 - i);
  private freeCount = 16;

  take(): number {
    if (this.freeCount === 0) this.grow();
    const slot = this.free[--this.freeCount]!;
    this.times[slot] = performance.now();
    return slot;
  }

  /** Milliseconds since `slot` was taken; the slot is free again. */
  elapsedMs(slot: number): number {
    this.free[this.freeCount++] = slot;
    return performance.now() - this.times[slot]!;
  }

  private grow(): void {
    const n = this.times.length;
    const times = new Float64Array(n * 2);
    times.set(this.times);
    this.times = times;
    this.free = Int32Array.from({ length: n * 2 }, (_, i) => n * 2 - 1 - i);
    this.freeCount = n;
  }
}

/**
 * Most methods one side records. A hostile peer may call names that do not
 * exist, each a new key: past the bound they count as `(other)`, and calls
 * to no such method count as `(no such method)` whatever their name.
 */
export const MAX_METHODS = 1000;
const OTHER = '(other)';
const NO_SUCH_METHOD = '(no such method)';

/** The methods of one side. The last one called is kept at hand, as calls mostly repeat one. */
class SideTable {
  readonly methods = new Map<string, MethodRecord>();
  readonly starts = new StartTimes();
  /** A top-level method's name and record, or undefined; and the path it was last found for (a proxy's path is one array). */
  private lastMethod: string | undefined;
  private lastRecord: MethodRecord | undefined;
  private lastPath: readonly string[] | undefined;

  constructor(private readonly timeEvery: number) {}

  record(handle: number, path: readonly string[]): MethodRecord {
    if (handle === 0 && (path === this.lastPath || (path.length === 1 && path[0] === this.lastMethod))) return this.lastRecord!;
    return this.find(handle, path);
  }

  private find(handle: number, path: readonly string[]): MethodRecord {
    const method = handle !== 0 ? `(ref).${path.join('.')}` : path.length === 1 ? path[0]! : path.length === 0 ? '(the exposed value)' : path.join('.');
    let r = this.methods.get(method);
    if (r === undefined) {
      r = this.methods.size < MAX_METHODS ? new MethodRecord(this, this.timeEvery) : (this.methods.get(OTHER) ?? new MethodRecord(this, this.timeEvery));
      this.methods.set(this.methods.size < MAX_METHODS ? method : OTHER, r);
    }
    if (handle === 0 && path.length === 1) {
      this.lastMethod = method;
      this.lastRecord = r;
      this.lastPath = path;
    }
    return r;
  }

  /** Counts a failure of `r`'s call; the record it counts under. */
  failed(r: MethodRecord, error: unknown): MethodRecord {
    let into = r;
    const code = codeOf(error);
    if (code === 'ERR_FARCALL_NO_SUCH_METHOD') {
      // Counted under one name, and the made-up name dropped, so probing for methods cannot grow the table.
      for (const [name, rec] of this.methods) if (rec === r && r.calls === 0 && r.inFlight === 0 && name !== OTHER) this.methods.delete(name);
      if (this.lastRecord === r) this.lastMethod = this.lastRecord = this.lastPath = undefined;
      into = this.methods.get(NO_SUCH_METHOD) ?? new MethodRecord(this, this.timeEvery);
      this.methods.set(NO_SUCH_METHOD, into);
    }
    into.errors++;
    into.errorsByCode.set(code, (into.errorsByCode.get(code) ?? 0) + 1);
    return into;
  }
}

export interface MetricsOptions {
  /**
   * Time one call in this many, per method, for the latency histogram
   * (1: every call; rounded up to a power of two). A method's first 64
   * calls are all timed, and the share falls from there, reaching one in
   * `timeEvery` after about 32 × timeEvery calls, so a method called now
   * and then still has its latency. Counts, errors and in flight are exact
   * whatever it is. Default 256: reading the clock costs about 60 ns, twice
   * a side, and recording a time about 30 ns more, which timing every call
   * of a ~1 µs round trip would show in throughput (one in 64 still cost
   * 0.7 % of an in-process add(1, 2)).
   */
  timeEvery?: number;
}

/**
 * Per-method call metrics, for one server, connection or pool, or shared by
 * several (pass the same instance as their `metrics` option).
 */
export class Metrics {
  private readonly client: SideTable;
  private readonly server: SideTable;

  constructor(options: MetricsOptions = {}) {
    const { timeEvery = 256 } = options;
    if (!Number.isInteger(timeEvery) || timeEvery < 1) throw new TypeError(`new Metrics() option timeEvery must be a whole number of at least 1, got ${String(timeEvery)}`);
    this.client = new SideTable(powerOfTwo(timeEvery));
    this.server = new SideTable(powerOfTwo(timeEvery));
  }

  /** Byte counters of socket connections, read when a snapshot is taken. */
  private readonly byteSources = new Set<() => { bytesIn: number; bytesOut: number }>();
  private retiredIn = 0;
  private retiredOut = 0;
  private countsBytes = false;

  /** The record of a call to `path` starting on `side`: `begin()` it, then `ok()` or `fail()` it when it settles. */
  method(side: 'client' | 'server', handle: number, path: readonly string[]): MethodRecord {
    return (side === 'client' ? this.client : this.server).record(handle, path);
  }

  /** Counts a socket's bytes in snapshots: `read` while it is open, its last figures after `retire`. */
  countBytes(read: () => { bytesIn: number; bytesOut: number }): { retire(): void } {
    this.countsBytes = true;
    this.byteSources.add(read);
    return {
      retire: () => {
        if (!this.byteSources.delete(read)) return;
        const { bytesIn, bytesOut } = read();
        this.retiredIn += bytesIn;
        this.retiredOut += bytesOut;
      },
    };
  }

  /** What every method did so far, per side. */
  stats(): MetricsSnapshot {
    const snap: MetricsSnapshot = { client: sideStats(this.client.methods), server: sideStats(this.server.methods) };
    if (this.countsBytes) {
      let bytesIn = this.retiredIn;
      let bytesOut = this.retiredOut;
      for (const read of this.byteSources) {
        const b = read();
        bytesIn += b.bytesIn;
        bytesOut += b.bytesOut;
      }
      snap.bytesIn = bytesIn;
      snap.bytesOut = bytesOut;
    }
    return snap;
  }

  /** The same figures in the Prometheus text exposition format (version 0.0.4), for a scraper to take as is. */
  metrics(labels: Readonly<Record<string, string>> = {}): string {
    return renderPrometheus(this.stats(), labels);
  }
}

function sideStats(methods: Map<string, MethodRecord>): SideStats {
  const out: SideStats = {};
  for (const [name, r] of methods) {
    out[name] = {
      calls: r.calls,
      errors: r.errors,
      errorsByCode: Object.fromEntries(r.errorsByCode),
      inFlight: r.inFlight,
      latencyMs: percentiles(r.latency),
    };
  }
  return out;
}

function percentiles(h: RecordableHistogram): LatencyMs {
  if (h.count === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  return { p50: h.percentile(50) / 1000, p90: h.percentile(90) / 1000, p99: h.percentile(99) / 1000, max: h.max / 1000, mean: h.mean / 1000 };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.length > 0 && code.length <= 64 ? code : 'ERR_UNKNOWN';
}

/** The `metrics` option of an entry point: true for metrics of its own, or a Metrics shared with others. */
export function metricsFrom(fn: string, option: unknown): Metrics | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return new Metrics();
  if (option instanceof Metrics) return option;
  throw new TypeError(`${fn}() option metrics must be true, false or a Metrics, got ${typeof option}`);
}
