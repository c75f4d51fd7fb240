/**
 * The pool's types, checked by `tsc` before the tests run: a typed api,
 * per-call options, typed events and options. Nothing here is called.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type Pool, type PoolIsolation, type PoolOptions, type PoolStats, type WorkerExit, type WorkerExitReason } from '../../src/index.ts';
import { tasksUrl, type Tasks } from './helpers.ts';

function typeChecks(pool: Pool<Tasks>): void {
  const sum: Promise<number> = pool.api.add(1, 2);
  // @ts-expect-error an argument of the wrong type
  void pool.api.add('1', 2);
  // @ts-expect-error not exported by the module
  void pool.api.subtract(1, 2);
  const aborted: Promise<string> = pool.with({ signal: AbortSignal.timeout(10), timeout: 5 }).api.waitForAbort();
  // @ts-expect-error with() takes signal and timeout
  pool.with({ retries: 2 });

  pool.on('drain', () => {});
  pool.on('workerExit', (e: WorkerExit) => {
    const reason: WorkerExitReason = e.reason;
    const id: number = e.id;
    const error: Error | undefined = e.error;
    void [reason, id, error];
  });
  // @ts-expect-error not an event of the pool
  pool.on('exit', () => {});

  const stats: PoolStats = pool.stats;
  const p99: number = stats.runTimeMs.p99 + stats.waitTimeMs.p50 + stats.utilization;
  const isolation: PoolIsolation = 'process';
  const options: PoolOptions = { isolation, maxMemory: 256, minThreads: 1, maxThreads: 4, idleTimeout: Infinity };
  // @ts-expect-error a misspelt option
  createPool<Tasks>(tasksUrl, { maxThread: 2 });
  // @ts-expect-error isolation is 'thread' or 'process'
  createPool<Tasks>(tasksUrl, { isolation: 'fork' });
  void [sum, aborted, p99, options, pool.close(), pool.destroy()];
}

test('the types above compile (tsc runs before the tests)', () => {
  assert.type(typeChecks, 'function');
});

test.run();
