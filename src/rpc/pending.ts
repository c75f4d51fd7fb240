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
  private readonly record: MethodRecord | undefined;
  /** What record.begin() gave (-1 with metrics off). */
  private readonly timing: number;

  constructor(
    private readonly fulfil: (v: unknown) => void,
    private readonly refuse: (e: unknown) => void,
    readonly path: string[],
    readonly args: unknown[],
    metrics: Metrics | undefined,
    handle: number,
  ) {
    this.record = metrics?.method('client', handle, path);
    this.timing = this.record ? this.record.begin() : -1;
  }

  resolve(v: unknown): void {
    this.record?.ok(this.timing);
    this.fulfil(v);
  }

  reject(e: unknown): void {
    this.record?.fail(this.timing, e);
    this.refuse(e);
  }
}
