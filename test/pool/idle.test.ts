/**
 * idleTimeout: threads above minThreads that have been idle that long
 * stop; minThreads stay. (That an idle pool never keeps the process alive
 * is in lifecycle.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type WorkerExit } from '../../src/index.ts';
import { gate, nextExit, tasksUrl, within, type Tasks } from './helpers.ts';

test('idle threads above minThreads go away after idleTimeout; minThreads stay and serve', async () => {
  const pool = createPool<Tasks>(tasksUrl, { minThreads: 1, maxThreads: 3, concurrentTasksPerWorker: 1, idleTimeout: 50 });
  const exits: WorkerExit[] = [];
  pool.on('workerExit', (e) => exits.push(e));
  const g = gate();
  const held = [pool.api.hold(g.sab), pool.api.hold(g.sab), pool.api.hold(g.sab)];
  assert.is(pool.stats.threads, 3);
  g.open();
  const ids = await Promise.all(held);
  await within(5000, 'two idle threads stopping', (async () => {
    while (exits.length < 2) await nextExit(pool, 'idle');
  })());
  assert.equal(
    exits.map((e) => e.reason),
    ['idle', 'idle'],
  );
  assert.is(pool.stats.threads, 1, 'minThreads stays');
  const survivor = await pool.api.whoami();
  assert.ok(ids.includes(survivor) && !exits.some((e) => e.id === survivor), 'the one that stayed serves');
  await pool.close();
});

test('idleTimeout: Infinity keeps every thread', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 2, concurrentTasksPerWorker: 1, idleTimeout: Infinity });
  const g = gate();
  const held = [pool.api.hold(g.sab), pool.api.hold(g.sab)];
  g.open();
  await Promise.all(held);
  // Nothing to wait for: no timer was set. A zero-delay pass of the event loop shows nothing left.
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(pool.stats.threads, 2);
  await pool.close();
});

test.run();
