/**
 * Aborting or timing out a running task: the caller's promise rejects at
 * once, and the callee is told (its currentSignal() aborts). A task that
 * does not listen runs on, holding its thread, unless terminateOnAbort
 * terminates the thread and starts another.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAbortedError, CallTimeoutError, ChannelClosedError, createPool, type Pool, type WorkerExit } from '../../src/index.ts';
import { elapsedSince, gate, nextExit, rejects, tasksUrl, type Tasks } from './helpers.ts';

// One thread, shared by the tests that leave it as they found it.
let one: Pool<Tasks>;
test.before(() => {
  one = createPool<Tasks>(tasksUrl, { maxThreads: 1 });
});
test.after(() => one.close());

test("abort tells a running task: the callee's currentSignal() aborts", async () => {
  const pool = one;
  const ac = new AbortController();
  const waiting = pool.with({ signal: ac.signal }).api.waitForAbort();
  assert.is(await pool.api.add(1, 1), 2, 'the task is running on the thread');
  ac.abort(new Error('stop'));
  const err = await rejects(waiting, CallAbortedError, 'waitForAbort() was aborted while running on thread');
  assert.is((err.cause as Error).message, 'stop');
  assert.match(String(await pool.api.lastAbortSeen()), /aborted/, 'the callee saw its signal abort');
});

test('a running task that ignores the abort is left to finish; its thread is not replaced', async () => {
  const pool = one;
  const exits: string[] = [];
  const onExit = (e: WorkerExit): void => void exits.push(e.reason);
  pool.on('workerExit', onExit);
  const thread = await pool.api.whoami();
  const ac = new AbortController();
  const t = performance.now();
  const spinning = pool.with({ signal: ac.signal }).api.spin(800);
  ac.abort();
  await rejects(spinning, CallAbortedError, 'spin() was aborted while running');
  assert.ok(elapsedSince(t) < 800, 'the caller is answered at once, not when the task returns');
  assert.is(await pool.api.whoami(), thread, 'the same thread serves the next call...');
  assert.ok(elapsedSince(t) >= 800, '...once the abandoned task has returned');
  assert.equal(exits, []);
  pool.off('workerExit', onExit);
});

test('a timed-out running task is told too', async () => {
  const pool = one;
  const before = await pool.api.abortsSeen();
  await rejects(pool.with({ timeout: 100 }).api.waitForAbort(), CallTimeoutError, 'waitForAbort() timed out after 100 ms while running');
  assert.is(await pool.api.abortsSeen(), before + 1, 'the callee saw its signal abort');
});

test('terminateOnAbort: the thread of an aborted task that does not listen is terminated and replaced', async () => {
  const pool = createPool<Tasks>(tasksUrl, { minThreads: 1, maxThreads: 1, terminateOnAbort: true });
  const thread = await pool.api.whoami();
  const ac = new AbortController();
  const g = gate();
  const stuck = pool.with({ signal: ac.signal }).api.hold(g.sab);
  // Another task on the same thread, waiting behind the stuck one.
  const bystander = pool.api.add(1, 2);
  const exited = nextExit(pool, 'aborted');
  const t = performance.now();
  ac.abort();
  await rejects(stuck, CallAbortedError, 'hold() was aborted while running');
  assert.is((await exited).id, thread);
  assert.ok(elapsedSince(t) < 2000, 'terminated at once, not when the task would have returned');
  await rejects(bystander, ChannelClosedError, 'add() did not finish', 'was terminated because a task on it was aborted or timed out (terminateOnAbort)');
  const replacement = await pool.api.whoami();
  assert.is.not(replacement, thread, 'a new thread serves');
  assert.is(pool.stats.threads, 1);
  await pool.close();
});

test('terminateOnAbort applies to timeouts', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1, terminateOnAbort: true });
  const exited = nextExit(pool, 'aborted');
  await rejects(pool.with({ timeout: 100 }).api.spin(5000), CallTimeoutError, 'spin() timed out after 100 ms');
  await exited;
  assert.is(await pool.api.add(2, 2), 4);
  await pool.close();
});

test.run();
