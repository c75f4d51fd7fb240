import type { SideStats } from '../metrics/metrics.ts';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of one histogram, in milliseconds. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** What a pool has done; times are in milliseconds, as the names say. */
export interface PoolStats {
  completed: number;
  failed: number;
  queued: number;
  running: number;
  threads: number;
  /** Share of the pool's thread time (maxThreads × time since it started) that threads held a task, 0 to 1. */
  utilization: number;
  waitTimeMs: Percentiles;
  runTimeMs: Percentiles;
  /** Per-method figures, with the pool's `metrics` on. */
  methods?: SideStats;
}

/** Histograms record integers; microseconds keep sub-millisecond tasks visible. */
export class StatsRecorder {
  completed = 0;
  failed = 0;
  private readonly wait: RecordableHistogram = createHistogram();
  private readonly run: RecordableHistogram = createHistogram();
  private readonly started = performance.now();

  record(waitMs: number, runMs: number, ok: boolean): void {
    if (ok) this.completed++;
    else this.failed++;
    this.wait.record(Math.max(1, Math.round(waitMs * 1000)));
    this.run.record(Math.max(1, Math.round(runMs * 1000)));
  }

  snapshot(queued: number, running: number, threads: number, maxThreads: number, busyMs: number): PoolStats {
    const elapsed = performance.now() - this.started;
    return {
      completed: this.completed,
      failed: this.failed,
      queued,
      running,
      threads,
      utilization: Math.min(1, busyMs / (elapsed * maxThreads)),
      waitTimeMs: percentiles(this.wait),
      runTimeMs: percentiles(this.run),
    };
  }
}

function percentiles(h: RecordableHistogram): Percentiles {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
  return { p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, max: h.max / 1000 };
}
