/**
 * pool.stats: what has been done (completed, failed), what is happening
 * (queued, running, threads), how busy the threads were (utilization) and
 * how long tasks waited and ran, as p50/p99/max in milliseconds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool } from '../../src/index.ts';
import { gate, tasksUrl, type Tasks } from './helpers.ts';

test('counts, histograms with units in their names, utilization', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1, concurrentTasksPerWorker: 1 });
  const empty = pool.stats;
  assert.equal(empty.waitTimeMs, { p50: 0, p99: 0, max: 0 });
  assert.equal(empty.runTimeMs, { p50: 0, p99: 0, max: 0 });
  assert.is(empty.utilization, 0);

  await pool.api.add(0, 0); // the thread has loaded: what follows measures tasks, not start-up
  const g = gate();
  const held = pool.api.hold(g.sab);
  const spins = [pool.api.spin(40), pool.api.spin(40)];
  const failing = pool.api.fail('no');
  let s = pool.stats;
  assert.is(s.running, 1);
  assert.is(s.queued, 3);
  assert.is(s.threads, 1);
  g.open();
  await Promise.all([held, ...spins, failing.catch(() => {})]);

  s = pool.stats;
  assert.is(s.completed, 4, 'add, hold and two spins');
  assert.is(s.failed, 1, 'the one that threw');
  assert.is(s.running, 0);
  assert.is(s.queued, 0);
  assert.ok(s.runTimeMs.max >= 39, `a spin(40) ran for at least 40 ms: ${JSON.stringify(s.runTimeMs)}`);
  assert.ok(s.runTimeMs.p50 <= s.runTimeMs.p99 && s.runTimeMs.p99 <= s.runTimeMs.max);
  assert.ok(s.waitTimeMs.max >= 79, `the failing call waited behind two spins: ${JSON.stringify(s.waitTimeMs)}`);
  assert.ok(s.utilization > 0 && s.utilization <= 1, `utilization ${s.utilization}`);
  await pool.close();
});

test('waiting for a thread to load counts as wait time, not run time', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1 });
  await pool.api.add(1, 1); // placed on a thread that was still loading
  const s = pool.stats;
  assert.ok(s.runTimeMs.max < s.waitTimeMs.max, `run ${s.runTimeMs.max} ms, wait ${s.waitTimeMs.max} ms`);
  await pool.close();
});

test.run();
