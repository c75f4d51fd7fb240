import { EventEmitter } from 'node:events';
import { CallAbortedError, ChannelClosedError } from '../errors.ts';
import { moduleHref, resolveModule } from '../module-href.ts';
import { CallKind } from '../protocol.ts';
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import { governedCall, governedStats } from '../rpc/govern.ts';
import { inheritedMetadata } from '../rpc/metadata.ts';
import type { CallOptions } from '../rpc/peer.ts';
import { formatPath } from '../rpc/path.ts';
import { createRemote, type Remote, type RemoteTarget } from '../rpc/remote.ts';
import type { Member, WorkerExit } from './member.ts';
import { checkTaskOptions, poolSettings, type PoolOptions, type PoolSettings, type TaskOptions } from './options.ts';
import { RingQueue, type TaskQueue } from './queue.ts';
import { StatsRecorder, type PoolStats } from './stats.ts';
import { gaveUp, lostWith, neverRan, queueFull, settle, type Task } from './task.ts';
import { Workers } from './workers.ts';

export interface PoolEvents {
  /** The queue, which had tasks waiting, is empty: every one of them has started (or given up). */
  drain: [];
  /** A worker left the pool; a replacement starts when one is needed. */
  workerExit: [WorkerExit];
}

export interface Pool<T> extends EventEmitter<PoolEvents> {
  /** The module's exports, run on the pool's workers. */
  readonly api: Remote<T>;
  /** The same API with per-call options, still typed: `pool.with({ signal }).api.fn(...)`. */
  with(options: TaskOptions): { readonly api: Remote<T> };
  readonly stats: PoolStats;
  /** Per-method figures of the pool's calls (needs `metrics`); also in `stats.methods`. */
  callStats(): MetricsSnapshot;
  /** The same in the Prometheus text exposition format, `labels` on every sample (needs `metrics`). */
  metrics(labels?: Readonly<Record<string, string>>): string;
  /** New calls reject; queued and running tasks finish; then every worker stops. */
  close(): Promise<void>;
  /** Queued and running tasks reject; every worker stops now. */
  destroy(): Promise<void>;
}

/** How often a busy worker's heap is measured against `maxMemory`, at most. */
const SAMPLE_INTERVAL_MS = 20;

/**
 * A pool of workers (threads, or processes with `isolation: 'process'`)
 * serving `module`'s exports, or what it passes to `expose()`. A task goes
 * to the least busy worker; a crashed worker is replaced.
 */
export function createPool<T>(module: string | URL, options?: PoolOptions): Pool<T> {
  moduleHref('createPool', module);
  const settings = poolSettings(options);
  const href = resolveModule('createPool', module);
  return new WorkerPool<T>(href, settings);
}

class WorkerPool<T> extends EventEmitter<PoolEvents> implements Pool<T>, RemoteTarget {
  readonly api: Remote<T>;
  private readonly workers: Workers;
  private readonly queue: TaskQueue<Task> = new RingQueue<Task>();
  private readonly recorder = new StatsRecorder();
  /** Tasks whose caller waits for a worker's answer. */
  private running = 0;
  /** Busy time of workers that have exited, for utilization. */
  private retiredBusyMs = 0;
  private queueUsed = false;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readonly idleWaiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;
  private destroying: Promise<void> | undefined;

  constructor(
    href: string,
    private readonly settings: PoolSettings,
  ) {
    super();
    this.api = createRemote<T>(this, 0);
    this.workers = new Workers(
      href,
      settings,
      (m, cause) => this.lost(m, cause),
      (m) => this.settled(m),
    );
    // A bad execArgv or resourceLimits throws here, from createPool(), rather than on a call.
    try {
      for (let i = 0; i < settings.minThreads; i++) this.grow();
    } catch (err) {
      void this.destroy();
      throw err;
    }
  }

  with(options: TaskOptions): { readonly api: Remote<T> } {
    const opts = checkTaskOptions(options);
    return { api: createRemote<T>({ call: (h, k, p, a) => this.call(h, k, p, a, opts), release: () => {} }, 0) };
  }

  get stats(): PoolStats {
    const busyMs = this.retiredBusyMs + this.workers.busyMs();
    const stats = this.recorder.snapshot(this.queue.size, this.running, this.workers.all.length, this.settings.maxThreads, busyMs);
    if (this.settings.governor?.metrics) stats.methods = this.settings.governor.metrics.stats().client;
    return stats;
  }

  callStats(): MetricsSnapshot {
    return governedStats('createPool', this.settings.governor).stats();
  }

  metrics(labels?: Readonly<Record<string, string>>): string {
    return governedStats('createPool', this.settings.governor).metrics(labels);
  }

  /** Names the pool in middleware contexts, as a peer's label names its other side. */
  readonly label = 'pool';

  // ---- RemoteTarget: what the api proxy calls --------------------------------

  call(handle: number, kind: CallKind, path: string[], args: unknown[] = [], opts?: CallOptions): Promise<unknown> {
    const g = this.settings.governor;
    // Metrics are recorded by the workers' peers; here only middleware runs, before the queue.
    return g && g.use.length > 0 ? governedCall(this, g, handle, kind, path, args, opts, undefined, false) : this.callDirect(handle, kind, path, args, opts);
  }

  /** A call past the pool's governor: queued for a worker. */
  callDirect(_handle: number, kind: CallKind, path: string[], args: unknown[] = [], opts?: CallOptions): Promise<unknown> {
    if (this.state !== 'open') return Promise.reject(new ChannelClosedError(`${formatPath(path)}() was called after the pool was closed`));
    if (kind !== CallKind.Apply) return this.callAny(kind, path, args, opts);
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(new CallAbortedError(`${formatPath(path)}() was aborted before it was called`, { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const timeout = (opts?.timeout ?? this.settings.timeout) || undefined;
      const metadata = opts?.metadata ?? inheritedMetadata();
      const task: Task = { path, args, resolve, reject, calledAt: performance.now(), timeout, signal, metadata };
      let m: Member | undefined;
      try {
        m = this.pick();
      } catch (err) {
        return reject(err);
      }
      if (!m && this.queue.size >= this.settings.maxQueue) return reject(queueFull(path, this.settings.maxQueue));
      this.watch(task);
      if (m) return this.run(m, task);
      this.queue.push(task);
      this.queueUsed = true;
    });
  }

  release(): void {
    // The pool's lifetime is close()/destroy(); releasing its api changes nothing.
  }

  /** Reading a property or constructing: any worker will do, outside the queue. */
  private callAny(kind: CallKind, path: string[], args: unknown[], opts: CallOptions | undefined): Promise<unknown> {
    let m: Member | undefined;
    try {
      m = this.pick() ?? this.workers.leastBusy();
    } catch (err) {
      return Promise.reject(err);
    }
    const member = m;
    member.acquire();
    return member.host.peer.call(0, kind, path, args, opts).finally(() => this.free(member));
  }

  // ---- placement ---------------------------------------------------------------

  /** Where the next task goes; a worker started for it is given it at once, so it needs no idle timer yet. */
  private pick(): Member | undefined {
    return this.workers.pick();
  }

  /** A worker to keep (minThreads): idle from the start. */
  private grow(): Member {
    const m = this.workers.start();
    this.armIdle(m);
    return m;
  }

  // ---- a task's life -------------------------------------------------------------

  /** Deadline and abort apply from the call on, in the queue and while running. */
  private watch(task: Task): void {
    if (task.timeout) {
      task.timer = setTimeout(() => this.giveUp(task, 'timeout'), task.timeout);
      task.timer.unref();
    }
    if (task.signal) {
      task.onAbort = () => this.giveUp(task, 'abort');
      task.signal.addEventListener('abort', task.onAbort, { once: true });
    }
  }

  private run(m: Member, task: Task): void {
    task.member = m;
    task.startedAt = performance.now();
    m.acquire();
    this.running++;
    let opts: CallOptions | undefined;
    if (task.timer || task.onAbort) {
      task.controller = new AbortController();
      // The caller's own signal too: it still ends a stream the task returned, after the task is settled.
      opts = { signal: task.signal ? AbortSignal.any([task.controller.signal, task.signal]) : task.controller.signal };
    }
    if (task.metadata) (opts ??= {}).metadata = task.metadata;
    // The callee learns the time left (currentDeadline(), and calls it makes onward); the pool keeps the timer.
    const left = task.timeout ? Math.max(1, Math.ceil(task.timeout - (performance.now() - task.calledAt))) : undefined;
    m.host.peer.call(0, CallKind.Apply, task.path, task.args, opts, left).then(
      (v) => this.done(task, true, v),
      (e) => this.done(task, false, e),
    );
  }

  private done(task: Task, ok: boolean, result: unknown): void {
    const m = task.member!;
    if (task.abandoned) {
      // The caller has had its answer. The slot stays taken until the worker
      // is free again, so placement does not send work to a stuck thread.
      if (m.state === 'gone') this.free(m);
      else void m.whenResponsive().then(() => this.free(m));
      return;
    }
    this.running--;
    this.record(task, ok);
    if (!ok && m.state === 'gone' && result instanceof ChannelClosedError) result = lostWith(task, m, result);
    settle(task, ok, result);
    this.sample(m);
    this.free(m);
  }

  /** The caller stops waiting: taken out of the queue, or told to its worker. */
  private giveUp(task: Task, why: 'timeout' | 'abort'): void {
    if (task.settled) return;
    const m = task.member;
    const err = gaveUp(task, why);
    if (!m) {
      this.queue.remove(task);
      settle(task, false, err);
      this.queueChanged();
      return;
    }
    task.abandoned = true;
    this.running--;
    this.record(task, false);
    settle(task, false, err);
    // The callee hears it through currentSignal(); one that does not listen runs on.
    task.controller!.abort(err);
    if (this.settings.terminateOnAbort && m.state !== 'gone') void m.kill('aborted');
    this.checkIdle();
  }

  /** Waiting for a worker to load counts as waiting, not as running. */
  private record(task: Task, ok: boolean): void {
    const started = Math.max(task.startedAt!, Math.min(task.member!.readyAt, performance.now()));
    this.recorder.record(started - task.calledAt, performance.now() - started, ok);
  }

  /** A slot on `m` is free: stop it if it is retiring, else give it the next task. */
  private free(m: Member): void {
    m.release();
    this.settled(m);
    this.schedule();
  }

  /** Once nothing uses `m` any more, a retiring worker stops and a live one starts its idle timer. */
  private settled(m: Member): void {
    if (!m.idle) return;
    if (m.state === 'retiring') void m.stop(m.stopReason!);
    else if (m.state === 'live') this.armIdle(m);
  }

  /** Hands queued tasks to workers while there is room. */
  private schedule(): void {
    while (this.queue.size > 0) {
      let m: Member | undefined;
      try {
        m = this.pick();
      } catch (err) {
        this.failQueued(() => err);
        break;
      }
      if (!m) break;
      this.run(m, this.queue.shift()!);
    }
    this.queueChanged();
  }

  private queueChanged(): void {
    if (this.queue.size === 0 && this.queueUsed) {
      this.queueUsed = false;
      if (this.state !== 'closed') this.emit('drain');
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.running === 0 && this.queue.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private failQueued(why: (t: Task) => unknown): void {
    let t: Task | undefined;
    while ((t = this.queue.shift())) settle(t, false, why(t));
  }

  // ---- workers coming and going ----------------------------------------------------

  private armIdle(m: Member): void {
    if (this.settings.idleTimeout === Infinity || this.state !== 'open') return;
    clearTimeout(m.idleTimer);
    m.idleTimer = setTimeout(() => {
      if (m.state === 'live' && m.idle && this.workers.live > this.settings.minThreads) void m.stop('idle');
    }, this.settings.idleTimeout);
    m.idleTimer.unref();
  }

  /** Measures a worker's heap after a task; one over `maxMemory` retires once its tasks are done. */
  private sample(m: Member): void {
    const max = this.settings.maxMemoryBytes;
    if (max === Infinity || m.state !== 'live' || !m.control || m.sampling) return;
    const now = performance.now();
    if (now - m.sampledAt < SAMPLE_INTERVAL_MS) return;
    m.sampling = true;
    m.sampledAt = now;
    m.control.heapUsed().then(
      (bytes) => {
        m.sampling = false;
        if (bytes <= max || m.state !== 'live' || this.state === 'closed') return;
        m.retire('memory');
        if (m.idle) void m.stop('memory');
        this.replenish();
      },
      () => (m.sampling = false),
    );
  }

  /** A worker exited (crash, idle, recycled, terminated): its own tasks have already been rejected. */
  private lost(m: Member, cause: Error): void {
    this.retiredBusyMs += m.busyMs();
    const reason = m.stopReason ?? (m.ready ? 'crash' : 'start-failed');
    const exit: WorkerExit = { id: m.host.id, reason };
    if (reason === 'crash' || reason === 'start-failed') exit.error = cause;
    this.emit('workerExit', exit);
    if (this.state === 'closed') return;
    if (reason === 'start-failed' && !this.workers.all.some((x) => x.ready)) {
      // The module does not load: what waits would fail the same way, and
      // starting more workers for it would loop.
      this.failQueued((t) => neverRan(t, `the pool's ${m.describeLoss().replace(/^its /, '')}`, cause));
      this.queueChanged();
      return;
    }
    this.replenish();
  }

  /** Keeps `minThreads` workers and serves the queue. */
  private replenish(): void {
    try {
      if (this.state === 'open') while (this.workers.live < this.settings.minThreads) this.grow();
    } catch (err) {
      this.failQueued(() => err);
    }
    this.schedule();
  }

  // ---- lifecycle ---------------------------------------------------------------------

  close(): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    return (this.closing ??= this.whenIdle().then(() => this.stopAll('closed')));
  }

  destroy(): Promise<void> {
    if (!this.destroying) {
      this.state = 'closed';
      this.failQueued((t) => neverRan(t, 'the pool was destroyed before it started'));
      this.queueChanged();
      this.destroying = this.stopAll('destroyed');
    }
    return this.destroying;
  }

  private whenIdle(): Promise<void> {
    if (this.running === 0 && this.queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async stopAll(reason: 'closed' | 'destroyed'): Promise<void> {
    this.state = 'closed';
    await Promise.all(this.workers.all.slice().map((m) => (reason === 'destroyed' ? m.kill(reason) : m.stop(reason))));
  }
}
