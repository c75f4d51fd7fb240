import type { MethodRecord, Metrics } from '../metrics/metrics.ts';

/**
 * A call this side made, awaiting its answer. With metrics on it holds its
 * method's record (and a slot for its start time) and counts itself when it
 * settles, so a metered call makes nothing more than an unmetered one.
 */
export class Pending {
  timer: NodeJS.Timeout | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  private readonly record: MethodRecord | undefined = undefined;
  /** What record.begin() gave (-1 with metrics off). */
  private readonly timing: number = -1;

  constructor(
    private readonly fulfil: (v: unknown) => void,
    private readonly refuse: (e: unknown) => void,
    readonly path: string[],
    readonly args: unknown[],
    metrics: Metrics | undefined,
    handle: number,
  ) {
    // Plain checks rather than optional chains: this runs on every call, and measured the cheaper.
    if (metrics !== undefined) {
      const record = (this.record = metrics.method('client', handle, path));
      this.timing = record.begin();
    }
  }

  resolve(v: unknown): void {
    if (this.record !== undefined) this.record.ok(this.timing);
    this.fulfil(v);
  }

  reject(e: unknown): void {
    if (this.record !== undefined) this.record.fail(this.timing, e);
    this.refuse(e);
  }
}
