/**
 * A worker that dies takes only its own tasks with it: they reject with an
 * error that says which worker and why; the pool starts another and keeps
 * serving. A module that cannot load fails the calls waiting for it once,
 * clearly, without starting workers in a loop.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, createPool } from '../../src/index.ts';
import type { WorkerExit } from '../../src/index.ts';
import { gate, nextExit, rejects, tasksUrl, type Tasks } from './helpers.ts';

test('process.exit() in a task rejects that task with the exit code; the other thread is untouched', async () => {
  const pool = createPool<Tasks>(tasksUrl, { minThreads: 2, maxThreads: 2 });
  const g = gate();
  const bystander = pool.api.hold(g.sab); // on the other thread
  const exited = nextExit(pool, 'crash');
  const err = await rejects(pool.api.crash(7), ChannelClosedError, 'crash() did not finish: its worker (thread', 'exited with code 7');
  assert.is((err as ChannelClosedError).code, 'ERR_FARCALL_CLOSED');
  const exit = await exited;
  assert.match(exit.error!.message, /exited with code 7/);
  g.open();
  assert.type(await bystander, 'number', 'the task on the other thread finished');
  assert.is(pool.stats.threads, 2, 'a replacement keeps minThreads');
  assert.is(await pool.api.add(2, 3), 5);
  await pool.close();
});

test('an uncaught throw rejects only the tasks of that thread, with the error', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1 });
  const exits: WorkerExit[] = [];
  pool.on('workerExit', (e) => exits.push(e));
  // Loaded first: a worker that dies before its "loaded" message is read is
  // told apart from one whose module failed only by that message, and Node
  // may deliver the worker's error event ahead of it.
  await pool.api.add(0, 0);
  const dying = pool.api.throwUncaught('kaboom');
  const alongside = pool.api.sleep(1000); // same thread, still pending when it dies
  const err = await rejects(dying, ChannelClosedError, 'throwUncaught() did not finish', 'threw an uncaught error: kaboom');
  assert.match(String((err.cause as Error)?.message), /kaboom/);
  await rejects(alongside, ChannelClosedError, 'sleep() did not finish', 'kaboom');
  assert.is(await pool.api.add(1, 1), 2, 'a new thread serves');
  assert.equal(
    exits.map((e) => e.reason),
    ['crash'],
  );
  assert.is(pool.stats.failed, 2);
  await pool.close();
});

test('resourceLimits: a thread over its heap limit rejects its task with a clear error; the pool keeps serving', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } });
  const first = await pool.api.whoami();
  await rejects(pool.api.exhaustHeap(), ChannelClosedError, 'exhaustHeap() did not finish', 'ran out of memory (over its resourceLimits)');
  const next = await pool.api.whoami();
  assert.is.not(next, first, 'a new thread, with the same limits');
  assert.is(await pool.api.add(20, 22), 42);
  await pool.close();
});

test("a module that cannot load fails the waiting calls once, and no thread is started in a loop", async () => {
  const pool = createPool<Tasks>(new URL('../fixtures/pool/broken.ts', import.meta.url), { minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 1 });
  const exits: string[] = [];
  pool.on('workerExit', (e) => exits.push(e.reason));
  const [placed, ...queued] = [pool.api.add(1, 1), pool.api.add(2, 2), pool.api.add(3, 3)];
  await rejects(placed!, ChannelClosedError, 'add() did not finish: its worker (thread', 'failed to load the module', 'refuses to load');
  for (const call of queued) await rejects(call, ChannelClosedError, "add() did not run: the pool's worker", 'failed to load the module');
  assert.is(pool.stats.threads, 0, 'not restarted for minThreads');
  // A later call tries again, and fails the same way.
  await rejects(pool.api.add(4, 4), ChannelClosedError, 'refuses to load');
  assert.equal(exits, ['start-failed', 'start-failed'], 'one thread per attempt');
  await pool.close();
});

test.run();
