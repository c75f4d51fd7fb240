import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { describe } from '../codec/marks.ts';
import { CallAbortedError, ChannelClosedError, QueueFullError } from '../errors.ts';
import { checkMs } from '../options.ts';
import { CallKind } from '../protocol.ts';
import type { CallOptions } from '../rpc/peer.ts';
import { createRemote, type Remote, type RemoteTarget } from '../rpc/remote.ts';
import { moduleHref } from '../module-href.ts';
import { Member } from './member.ts';
import { RingQueue, type TaskQueue } from './queue.ts';
import { StatsRecorder, type PoolStats } from './stats.ts';

export interface PoolOptions {
  /** Threads started with the pool and kept when idle. Default 0. */
  minThreads?: number;
  /** Default `os.availableParallelism()`. */
  maxThreads?: number;
  /** Milliseconds an idle thread above `minThreads` lives. Default 10,000. */
  idleTimeout?: number;
  /** Tasks that may wait for a thread; past it a call rejects with QueueFullError. Default no limit. */
  maxQueue?: number;
  /**
   * Tasks one thread holds at once. A thread still runs one synchronous task
   * at a time; the others wait in its port, so it never idles between tasks
   * (that is what makes tiny tasks cheap). Set 1 for strict least-busy
   * placement of long tasks. Default 16.
   */
  concurrentTasksPerWorker?: number;
  /** Default deadline of every task, in milliseconds. */
  timeout?: number;
  /** Terminate (and replace) a thread whose running task was aborted. Default false. */
  terminateOnAbort?: boolean;
  resourceLimits?: ResourceLimits;
  /** The threads' process.env; default a copy of this one. */
  env?: NodeJS.ProcessEnv;
  argv?: string[];
  execArgv?: string[];
  workerData?: unknown;
}

/** Options one call carries: `pool.with({ signal }).api.fn(...)`. */
export interface TaskOptions {
  signal?: AbortSignal;
  /** Milliseconds; overrides the pool's `timeout`. */
  timeout?: number;
}

export interface PoolEvents {
  /** The queue emptied and every thread is idle. */
  drain: [];
}

export interface Pool<T> extends EventEmitter<PoolEvents> {
  /** The module's exports, run on the pool's threads. */
  readonly api: Remote<T>;
  /** The same API with per-call options, still typed: `pool.with({ signal }).api.fn(...)`. */
  with(options: TaskOptions): { readonly api: Remote<T> };
  readonly stats: PoolStats;
  /** Lets queued and running tasks finish, then stops every thread. */
  close(): Promise<void>;
  /** Rejects queued tasks, stops every thread now (running tasks reject). */
  destroy(): Promise<void>;
}

interface Task {
  path: string[];
  args: unknown[];
  opts: TaskOptions | undefined;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  queuedAt: number;
  onAbort?: () => void;
}

/**
 * A pool of worker threads serving `module`'s exports (or what it passes
 * to `expose()`). Least-busy thread first; a crashed thread is replaced.
 */
export function createPool<T>(module: string | URL, options: PoolOptions = {}): Pool<T> {
  return new ThreadPool<T>(moduleHref('createPool', module), checkPoolOptions(options));
}

function checkPoolOptions(o: unknown): PoolOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError(`createPool() options must be an object, got ${describe(o)}`);
  const opts = o as PoolOptions;
  const count = (name: keyof PoolOptions, min: number): void => {
    const v = opts[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= min)) {
      throw new TypeError(`createPool() option ${name} must be an integer of at least ${min}, got ${describe(v)}`);
    }
  };
  count('minThreads', 0);
  count('maxThreads', 1);
  count('concurrentTasksPerWorker', 1);
  if (opts.maxQueue !== undefined && !(opts.maxQueue === Infinity || (Number.isInteger(opts.maxQueue) && opts.maxQueue >= 0))) {
    throw new TypeError(`createPool() option maxQueue must be a non-negative integer or Infinity, got ${describe(opts.maxQueue)}`);
  }
  checkMs('createPool', 'idleTimeout', opts.idleTimeout);
  checkMs('createPool', 'timeout', opts.timeout);
  if ((opts.minThreads ?? 0) > (opts.maxThreads ?? Infinity)) {
    throw new TypeError(`createPool() minThreads (${opts.minThreads}) is above maxThreads (${opts.maxThreads})`);
  }
  return opts;
}

class ThreadPool<T> extends EventEmitter<PoolEvents> implements Pool<T>, RemoteTarget {
  readonly api: Remote<T>;
  private readonly members: Member[] = [];
  private readonly queue: TaskQueue<Task> = new RingQueue<Task>();
  private readonly recorder = new StatsRecorder();
  private readonly minThreads: number;
  private readonly maxThreads: number;
  private readonly perWorker: number;
  private readonly maxQueue: number;
  private running = 0;
  /** Busy time of threads that have exited, for utilization. */
  private retiredBusyMs = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private drained: Array<() => void> = [];

  constructor(
    private readonly href: string,
    private readonly options: PoolOptions,
  ) {
    super();
    this.maxThreads = options.maxThreads ?? Math.max(options.minThreads ?? 1, availableParallelism());
    this.minThreads = options.minThreads ?? 0;
    this.perWorker = options.concurrentTasksPerWorker ?? 16;
    this.maxQueue = options.maxQueue ?? Infinity;
    this.api = createRemote<T>(this, 0);
    for (let i = 0; i < this.minThreads; i++) this.grow();
  }

  with(opts: TaskOptions): { readonly api: Remote<T> } {
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`pool.with() expects { signal?, timeout? }, got ${describe(opts)}`);
    if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw new TypeError(`pool.with() signal must be an AbortSignal, got ${describe(opts.signal)}`);
    checkMs('pool.with', 'timeout', opts.timeout);
    return { api: createRemote<T>({ call: (h, k, p, a, o) => this.call(h, k, p, a, o ?? opts), release: () => {} }, 0) };
  }

  get stats(): PoolStats {
    let busyMs = this.retiredBusyMs;
    for (const m of this.members) busyMs += m.busyMs();
    return this.recorder.snapshot(this.queue.size, this.running, this.members.length, this.maxThreads, busyMs);
  }

  // ---- RemoteTarget: what the api proxy calls ------------------------------

  call(_handle: number, kind: CallKind, path: string[], args: unknown[] = [], opts?: CallOptions): Promise<unknown> {
    if (this.state !== 'open') return Promise.reject(new ChannelClosedError('the pool is closed'));
    if (kind !== CallKind.Apply) {
      // Reading a property or constructing: any thread will do.
      const m = this.pick() ?? this.members[0] ?? this.grow();
      return m.peer.call(0, kind, path, args, opts);
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(new CallAbortedError(`${path.join('.')}() was aborted before it started`, { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      const task: Task = { path, args, opts, resolve, reject, queuedAt: performance.now() };
      const m = this.pick();
      if (m) return this.run(m, task);
      if (this.queue.size >= this.maxQueue) {
        return reject(new QueueFullError(`the pool's queue is full (maxQueue ${this.maxQueue}); wait for 'drain' or raise maxQueue`));
      }
      this.queue.push(task);
      if (signal) {
        task.onAbort = () => {
          if (this.queue.remove(task)) reject(new CallAbortedError(`${path.join('.')}() was aborted while queued`, { cause: signal.reason }));
        };
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
    });
  }

  release(): void {
    // The pool's lifetime is close()/destroy(); releasing its api changes nothing.
  }

  // ---- scheduling ------------------------------------------------------------

  /** The least-busy thread with room, starting one if all are busy and there is room for more. */
  private pick(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members) {
      if (!best || m.busy < best.busy) best = m;
      if (m.busy === 0) return m;
    }
    if (this.members.length < this.maxThreads) return this.grow();
    return best && best.busy < this.perWorker ? best : undefined;
  }

  private grow(): Member {
    const m = new Member(this.href, this.options, (cause) => this.lost(m, cause));
    this.members.push(m);
    return m;
  }

  private run(m: Member, task: Task): void {
    if (task.onAbort) task.opts!.signal!.removeEventListener('abort', task.onAbort);
    m.started();
    this.running++;
    const startedAt = performance.now();
    const opts: CallOptions | undefined = task.opts ?? (this.options.timeout ? { timeout: this.options.timeout } : undefined);
    m.peer.call(0, CallKind.Apply, task.path, task.args, opts).then(
      (v) => {
        this.finished(m, task, startedAt, true);
        task.resolve(v);
      },
      (e) => {
        this.finished(m, task, startedAt, false);
        if (e instanceof CallAbortedError && this.options.terminateOnAbort) m.terminate();
        task.reject(e);
      },
    );
  }

  private finished(m: Member, task: Task, startedAt: number, ok: boolean): void {
    const now = performance.now();
    this.recorder.record(startedAt - task.queuedAt, now - startedAt, ok);
    this.running--;
    m.finished(this.members.length > this.minThreads ? this.options.idleTimeout ?? 10_000 : undefined);
    const next = m.alive ? this.queue.shift() : undefined;
    if (next) return this.run(m, next);
    if (this.running === 0 && this.queue.size === 0) {
      this.emit('drain');
      for (const d of this.drained.splice(0)) d();
    }
  }

  /** A thread exited (crash, idle timeout, terminate): its own tasks already rejected; keep serving. */
  private lost(m: Member, _cause: Error): void {
    const i = this.members.indexOf(m);
    if (i >= 0) this.members.splice(i, 1);
    this.retiredBusyMs += m.busyMs();
    if (this.state !== 'open') return;
    while (this.members.length < this.minThreads) this.grow();
    let next: Task | undefined;
    while (this.queue.size > 0 && (next = this.queue.shift())) {
      const target = this.pick();
      if (!target) {
        this.queue.push(next);
        break;
      }
      this.run(target, next);
    }
  }

  // ---- lifecycle -------------------------------------------------------------

  close(): Promise<void> {
    if (this.state === 'open') this.state = 'closing';
    const idle = this.running === 0 && this.queue.size === 0 ? Promise.resolve() : new Promise<void>((r) => this.drained.push(r));
    return idle.then(() => this.stop());
  }

  destroy(): Promise<void> {
    this.state = 'closing';
    let t: Task | undefined;
    while ((t = this.queue.shift())) t.reject(new ChannelClosedError('the pool was destroyed before this task started'));
    return this.stop();
  }

  private async stop(): Promise<void> {
    this.state = 'closed';
    await Promise.all(this.members.splice(0).map((m) => m.terminate()));
  }
}
