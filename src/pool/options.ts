import { availableParallelism } from 'node:os';
import { SHARE_ENV, type ResourceLimits } from 'node:worker_threads';
import { describe } from '../codec/marks.ts';
import { checkOptionNames, type OptionNames } from '../options.ts';
import { sideGovernor, type GovernSettings, type SideGovernor } from '../rpc/govern.ts';

/** Where a pool's workers run. */
export type PoolIsolation = 'thread' | 'process';

export interface PoolOptions extends GovernSettings {
  /**
   * `'thread'` (default): worker threads, cheap to start and to call.
   * `'process'`: child processes, each with its own heap and its own fate;
   * for work that needs more memory or may crash hard.
   */
  isolation?: PoolIsolation;
  /** Workers started with the pool and kept when idle. Default 0. */
  minThreads?: number;
  /** Most workers at once. Default `os.availableParallelism()` (at least `minThreads`). */
  maxThreads?: number;
  /** Milliseconds an idle worker above `minThreads` lives; `Infinity` keeps it. Default 10,000. */
  idleTimeout?: number;
  /** Tasks that may wait for a worker; past it a call rejects with QueueFullError. Default no limit. */
  maxQueue?: number;
  /**
   * Tasks one worker holds at once. A worker still runs one synchronous task
   * at a time; the others wait in its channel, so it never idles between
   * tasks (that is what makes tiny tasks cheap). Set 1 for strict
   * least-busy placement of long tasks. Default 16.
   */
  concurrentTasksPerWorker?: number;
  /** Default deadline of every task in milliseconds, counted from the call: queue time included. */
  timeout?: number;
  /**
   * Terminate (and replace) a worker whose running task was aborted or timed
   * out, for tasks that do not listen to `currentSignal()`. The worker's other
   * tasks reject too. Default false: the task is told and left to finish.
   */
  terminateOnAbort?: boolean;
  /**
   * MiB of JavaScript heap a worker may use. Checked after tasks complete;
   * a worker above it gets no new tasks, finishes the ones it holds and is
   * replaced. Default no limit.
   */
  maxMemory?: number;
  /** Worker threads only: V8 heap limits; a worker over them dies and its tasks reject. */
  resourceLimits?: ResourceLimits;
  /**
   * The workers' `process.env`. Default: a copy of this process's. Threads
   * may take `SHARE_ENV` from node:worker_threads to share this one.
   */
  env?: NodeJS.ProcessEnv | typeof SHARE_ENV;
  /** What the module sees in `process.argv.slice(2)`. */
  argv?: readonly string[];
  /**
   * Node flags. A thread gets these instead of this process's (Node accepts
   * only per-thread flags there); a process gets them after this process's
   * own, so a loader such as tsx stays.
   */
  execArgv?: readonly string[];
  /** Worker threads only: `workerData` of every thread. */
  workerData?: unknown;
}

/** Options one call carries: `pool.with({ signal }).api.fn(...)`. */
export interface TaskOptions {
  /** Aborting removes a queued task at once, or tells a running one (its `currentSignal()` aborts). */
  signal?: AbortSignal;
  /** Milliseconds from the call, queue time included; overrides the pool's `timeout`. */
  timeout?: number;
}

/** PoolOptions with every default filled in. */
export interface PoolSettings {
  isolation: PoolIsolation;
  minThreads: number;
  maxThreads: number;
  idleTimeout: number;
  maxQueue: number;
  perWorker: number;
  timeout: number | undefined;
  terminateOnAbort: boolean;
  maxMemoryBytes: number;
  resourceLimits: ResourceLimits | undefined;
  env: NodeJS.ProcessEnv | typeof SHARE_ENV | undefined;
  argv: string[];
  execArgv: string[] | undefined;
  workerData: unknown;
  /** Middleware and metrics around the pool's calls, before they queue. */
  governor: SideGovernor | undefined;
}

/** Every option createPool() takes: add a name here when you add one to PoolOptions. */
const POOL_OPTIONS = {
  isolation: true,
  minThreads: true,
  maxThreads: true,
  idleTimeout: true,
  maxQueue: true,
  concurrentTasksPerWorker: true,
  timeout: true,
  terminateOnAbort: true,
  maxMemory: true,
  resourceLimits: true,
  env: true,
  argv: true,
  execArgv: true,
  workerData: true,
  use: true,
  metrics: true,
} as const satisfies OptionNames<PoolOptions>;

/** Every option pool.with() takes. */
const TASK_OPTIONS = { signal: true, timeout: true } as const satisfies OptionNames<TaskOptions>;

const THREAD_ONLY = {
  resourceLimits: "use maxMemory, or execArgv: ['--max-old-space-size=…'] for a hard limit",
  workerData: 'pass data in argv or env, or as arguments to the tasks',
} as const;

/** Throws a TypeError (wrong type) or RangeError (out of range) that names the option. */
export function poolSettings(o: unknown): PoolSettings {
  if (o === undefined) o = {};
  checkOptionNames('createPool', o, POOL_OPTIONS);
  const opts = o as PoolOptions;
  const isolation = opts.isolation ?? 'thread';
  if (isolation !== 'thread' && isolation !== 'process') {
    throw new TypeError(`createPool() option isolation must be 'thread' or 'process', got ${describe(isolation)}`);
  }
  if (isolation === 'process') {
    for (const [key, instead] of Object.entries(THREAD_ONLY)) {
      if (opts[key as keyof typeof THREAD_ONLY] !== undefined) {
        throw new TypeError(`createPool() option ${key} applies to worker threads only, not to isolation: 'process'; ${instead}`);
      }
    }
  }
  const minThreads = integer('minThreads', opts.minThreads, 0) ?? 0;
  const maxThreads = integer('maxThreads', opts.maxThreads, 1) ?? Math.max(minThreads, availableParallelism());
  if (minThreads > maxThreads) throw new RangeError(`createPool() option minThreads (${minThreads}) is above maxThreads (${maxThreads})`);
  const maxQueue = opts.maxQueue === Infinity ? Infinity : integer('maxQueue', opts.maxQueue, 0, 'or Infinity');
  const idleTimeout = opts.idleTimeout === Infinity ? Infinity : ms('idleTimeout', opts.idleTimeout, 'or Infinity');
  const maxMemory = opts.maxMemory;
  if (maxMemory !== undefined) {
    if (typeof maxMemory !== 'number') throw new TypeError(`createPool() option maxMemory must be a number of MiB, got ${describe(maxMemory)}`);
    if (!(maxMemory > 0 && Number.isFinite(maxMemory))) throw new RangeError(`createPool() option maxMemory must be a positive number of MiB, got ${maxMemory}`);
  }
  if (opts.terminateOnAbort !== undefined && typeof opts.terminateOnAbort !== 'boolean') {
    throw new TypeError(`createPool() option terminateOnAbort must be a boolean, got ${describe(opts.terminateOnAbort)}`);
  }
  if (opts.resourceLimits !== undefined && (typeof opts.resourceLimits !== 'object' || opts.resourceLimits === null)) {
    throw new TypeError(`createPool() option resourceLimits must be an object, got ${describe(opts.resourceLimits)}`);
  }
  if (opts.env === SHARE_ENV) {
    if (isolation === 'process') throw new TypeError("createPool() option env cannot be SHARE_ENV with isolation: 'process'; a process has its own environment");
  } else if (opts.env !== undefined && (typeof opts.env !== 'object' || opts.env === null)) {
    throw new TypeError(`createPool() option env must be an object of strings, got ${describe(opts.env)}`);
  }
  return {
    isolation,
    minThreads,
    maxThreads,
    idleTimeout: idleTimeout ?? 10_000,
    maxQueue: maxQueue ?? Infinity,
    perWorker: integer('concurrentTasksPerWorker', opts.concurrentTasksPerWorker, 1) ?? 16,
    timeout: ms('timeout', opts.timeout) || undefined,
    terminateOnAbort: opts.terminateOnAbort ?? false,
    maxMemoryBytes: maxMemory === undefined ? Infinity : maxMemory * 1024 * 1024,
    resourceLimits: opts.resourceLimits,
    env: opts.env,
    argv: strings('argv', opts.argv) ?? [],
    execArgv: strings('execArgv', opts.execArgv),
    workerData: opts.workerData,
    governor: sideGovernor('createPool', opts),
  };
}

/** Checks `pool.with()`'s argument. */
export function checkTaskOptions(o: unknown): TaskOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError(`pool.with() expects { signal?, timeout? }, got ${describe(o)}`);
  const opts = o as TaskOptions;
  checkOptionNames('pool.with', opts, TASK_OPTIONS);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new TypeError(`pool.with() option signal must be an AbortSignal, got ${describe(opts.signal)}`);
  }
  if (opts.timeout !== undefined) {
    if (typeof opts.timeout !== 'number') throw new TypeError(`pool.with() option timeout must be a number of milliseconds, got ${describe(opts.timeout)}`);
    if (!(opts.timeout >= 0 && Number.isFinite(opts.timeout))) {
      throw new RangeError(`pool.with() option timeout must be a non-negative, finite number of milliseconds, got ${opts.timeout}`);
    }
  }
  return opts;
}

function integer(name: string, v: unknown, min: number, alt = ''): number | undefined {
  if (v === undefined) return undefined;
  const what = `an integer of at least ${min}${alt ? ` ${alt}` : ''}`;
  if (typeof v !== 'number') throw new TypeError(`createPool() option ${name} must be ${what}, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`createPool() option ${name} must be ${what}, got ${v}`);
  return v;
}

function ms(name: string, v: unknown, alt = ''): number | undefined {
  if (v === undefined) return undefined;
  const what = `a non-negative number of milliseconds${alt ? ` ${alt}` : ''}`;
  if (typeof v !== 'number') throw new TypeError(`createPool() option ${name} must be ${what}, got ${describe(v)}`);
  if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`createPool() option ${name} must be ${what}, got ${v}`);
  return v;
}

function strings(name: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new TypeError(`createPool() option ${name} must be an array of strings, got ${describe(v)}`);
  }
  return [...v];
}
