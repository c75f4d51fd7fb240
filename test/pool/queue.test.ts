/**
 * The queue: maxQueue refuses what does not fit with a QueueFullError that
 * says what to do; 'drain' says when there is room again; a timeout counts
 * from the call, queue time included; an abort takes a queued task out at
 * once.
 */
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAbortedError, CallTimeoutError, createPool, QueueFullError, type Pool } from '../../src/index.ts';
import { elapsedSince, gate, rejects, tasksUrl, type Tasks } from './helpers.ts';

// One thread taking one task at a time: everything else waits in the queue.
let pool: Pool<Tasks>;

test.before(() => {
  pool = createPool<Tasks>(tasksUrl, { minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 1, maxQueue: 2 });
});

test.after(async () => {
  await pool.destroy();
});

test('a full queue refuses the call with QueueFullError, and drain fires when it empties', async () => {
  const g = gate();
  const running = pool.api.hold(g.sab);
  const queued = [pool.api.add(1, 1), pool.api.add(2, 2)];
  assert.is(pool.stats.queued, 2);
  const refused = await rejects(pool.api.add(3, 3), QueueFullError, 'add() was refused', 'maxQueue 2', "'drain'");
  assert.is((refused as QueueFullError).code, 'ERR_FARCALL_QUEUE_FULL');
  assert.is(pool.stats.queued, 2, 'the refused call was not queued');

  const drained = once(pool, 'drain');
  g.open();
  await drained;
  assert.is(pool.stats.queued, 0);
  // Room again: a call is accepted.
  assert.equal(await Promise.all([running.then(() => 'ran'), ...queued, pool.api.add(4, 4)]), ['ran', 2, 4, 8]);
});

test('maxQueue 0: a call is refused only when every worker is full', async () => {
  const strict = createPool<Tasks>(tasksUrl, { maxThreads: 1, concurrentTasksPerWorker: 1, maxQueue: 0 });
  const g = gate();
  const first = strict.api.hold(g.sab);
  await rejects(strict.api.add(1, 2), QueueFullError, 'maxQueue 0');
  g.open();
  await first;
  assert.is(await strict.api.add(1, 2), 3);
  await strict.close();
});

test('a timeout counts queue time: a task that waits too long never runs', async () => {
  const g = gate();
  const running = pool.api.hold(g.sab);
  const t = performance.now();
  await rejects(pool.with({ timeout: 50 }).api.add(1, 2), CallTimeoutError, 'add() timed out after 50 ms', "waiting in the pool's queue");
  assert.ok(elapsedSince(t) < 1000, 'rejected at its deadline, not when the thread came free');
  assert.is(pool.stats.queued, 0, 'and it left the queue');
  const completed = pool.stats.completed;
  g.open();
  await running;
  assert.is(pool.stats.completed, completed + 1, 'only the held task completed');
});

test('a timeout spans queue and run time', async () => {
  const g = gate();
  const running = pool.api.hold(g.sab);
  // Waits in the queue until the gate opens, then runs 800 ms: over its 300 ms deadline either way.
  const late = pool.with({ timeout: 300 }).api.spin(800);
  const t = performance.now();
  setTimeout(() => g.open(), 100).unref();
  await rejects(late, CallTimeoutError, 'spin() timed out after 300 ms', 'while running');
  assert.ok(elapsedSince(t) < 800, `rejected at the deadline counted from the call, not when the task returned (${elapsedSince(t)} ms)`);
  await running;
  // The thread is the spin's until it returns; this waits for it.
  assert.is(await pool.api.add(1, 1), 2);
  assert.ok(elapsedSince(t) >= 800, 'the next task ran once the abandoned one had returned');
});

test("the pool's timeout option is every task's default; with() overrides it", async () => {
  const timed = createPool<Tasks>(tasksUrl, { maxThreads: 1, timeout: 50 });
  await rejects(timed.api.sleep(1000), CallTimeoutError, 'sleep() timed out after 50 ms');
  assert.is(await timed.with({ timeout: 2000 }).api.sleep(100), await timed.api.whoami());
  assert.is(await timed.with({ timeout: 0 }).api.add(1, 1), 2, 'timeout 0: no deadline');
  await timed.destroy();
});

test('abort removes a queued task at once', async () => {
  const g = gate();
  const running = pool.api.hold(g.sab);
  const ac = new AbortController();
  const queued = pool.with({ signal: ac.signal }).api.add(1, 2);
  assert.is(pool.stats.queued, 1);
  const t = performance.now();
  ac.abort(new Error('user gave up'));
  const err = await rejects(queued, CallAbortedError, 'add() was aborted', "waiting in the pool's queue");
  assert.is((err.cause as Error).message, 'user gave up', 'the reason is the cause');
  assert.ok(elapsedSince(t) < 5000, 'at once, while the thread is still blocked');
  assert.is(pool.stats.queued, 0);
  g.open();
  await running;
});

test('an already aborted signal rejects before anything is queued', async () => {
  const before = pool.stats;
  await rejects(pool.with({ signal: AbortSignal.abort() }).api.add(1, 2), CallAbortedError, 'add() was aborted before it was called');
  assert.is(pool.stats.completed + pool.stats.failed, before.completed + before.failed, 'never counted as a task');
});

test.run();
