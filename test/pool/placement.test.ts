/**
 * How many workers a pool starts and where each task goes: minThreads are
 * started with the pool, more start on demand up to maxThreads (default
 * os.availableParallelism()), a task goes to an idle worker before a busy
 * one, and a worker holds at most concurrentTasksPerWorker tasks.
 */
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type Pool } from '../../src/index.ts';
import { gate, tasksUrl, type Tasks } from './helpers.ts';

// Two threads from the start, shared by the tests that need just that.
let two: Pool<Tasks>;
test.before(() => {
  two = createPool<Tasks>(tasksUrl, { minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 8 });
});
test.after(() => two.close());

test('minThreads are started with the pool and serve from distinct threads', async () => {
  const pool = two;
  assert.is(pool.stats.threads, 2, 'both started before any call');
  const g = gate();
  const held = [pool.api.hold(g.sab), pool.api.hold(g.sab)];
  g.open();
  const ids = await Promise.all(held);
  assert.is(new Set(ids).size, 2, `two tasks held at once ran on two threads, got ${ids}`);
});

test('maxThreads bounds the threads started; more tasks wait in the queue', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 3, concurrentTasksPerWorker: 1 });
  assert.is(pool.stats.threads, 0, 'minThreads defaults to 0: nothing starts before a call');
  const g = gate();
  const held = Array.from({ length: 5 }, () => pool.api.hold(g.sab));
  assert.is(pool.stats.threads, 3);
  assert.is(pool.stats.running, 3);
  assert.is(pool.stats.queued, 2);
  g.open();
  const ids = await Promise.all(held);
  assert.is(new Set(ids).size, 3, `five tasks ran on exactly three threads, got ${ids}`);
  await pool.close();
});

test('maxThreads defaults to os.availableParallelism()', async () => {
  const cpus = availableParallelism();
  const pool = createPool<Tasks>(tasksUrl, { concurrentTasksPerWorker: 1 });
  const g = gate();
  const held = Array.from({ length: cpus + 1 }, () => pool.api.hold(g.sab));
  assert.is(pool.stats.threads, cpus);
  assert.is(pool.stats.queued, 1);
  g.open();
  await Promise.all(held);
  await pool.close();
});

test('a task goes to an idle thread, not behind a busy one', async () => {
  const pool = two;
  const g = gate();
  const busy = pool.api.hold(g.sab);
  assert.is(pool.stats.running, 1, 'placement is synchronous: one thread now holds a task');
  // Each of these finds the other thread idle (the gate keeps the first one blocked).
  const others = new Set<number>();
  for (let i = 0; i < 5; i++) others.add(await pool.api.whoami());
  assert.is(others.size, 1, 'every quick call went to the one idle thread');
  g.open();
  const blocked = await busy;
  assert.not.ok(others.has(blocked), 'and it is not the blocked one');
});

test('tasks spread evenly over busy threads (least busy first)', async () => {
  const pool = two;
  const g = gate();
  const held = Array.from({ length: 6 }, () => pool.api.hold(g.sab));
  g.open();
  const ids = await Promise.all(held);
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.equal([...counts.values()], [3, 3], `six tasks on two threads, got ${JSON.stringify([...counts])}`);
});

test('concurrentTasksPerWorker: a thread holds that many tasks, the rest queue', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1, concurrentTasksPerWorker: 3 });
  const slow = Array.from({ length: 5 }, () => pool.api.sleep(100));
  assert.is(pool.stats.running, 3);
  assert.is(pool.stats.queued, 2);
  const drained = once(pool, 'drain');
  await drained;
  assert.is(pool.stats.queued, 0);
  assert.ok(pool.stats.completed >= 1, 'a slot freed before the queued tasks started');
  await Promise.all(slow);
  await pool.close();
});

test.run();
