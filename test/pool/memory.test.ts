/**
 * maxMemory: a worker whose heap is over the limit after a task gets no
 * new tasks, finishes the ones it holds, and is replaced. Threads and
 * processes alike.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type PoolIsolation, type WorkerExit } from '../../src/index.ts';
import { nextExit, tasksUrl, within, type Tasks } from './helpers.ts';

for (const isolation of ['thread', 'process'] as PoolIsolation[]) {
  test(`${isolation}: a worker over maxMemory finishes what it holds, takes nothing new, and is replaced`, async () => {
    const pool = createPool<Tasks>(tasksUrl, { isolation, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 4, maxMemory: 48 });
    const events: string[] = [];
    const exited = nextExit(pool, 'memory');
    const sleeping = pool.api.sleep(300).then((id) => {
      events.push('sleep finished');
      return id;
    });
    void exited.then(() => events.push('exited'));
    // The first task to finish on the worker: its heap is measured right after.
    const old = await pool.api.retain(96);
    // Placed before the measurement came back, answered after it: from here on the worker is retiring.
    assert.is(await pool.api.add(1, 1), 2);
    const next = await pool.api.whoami();
    assert.is.not(next, old, 'new tasks go to the replacement');
    assert.is(await sleeping, old, 'the task it held finished there');
    const exit: WorkerExit = await within(10_000, 'the retired worker exiting', exited);
    assert.is(exit.id, old);
    assert.equal(events, ['sleep finished', 'exited'], 'it stopped only once its task was done');
    assert.is(pool.stats.threads, 1);
    assert.is(pool.stats.failed, 0, 'recycling fails no task');
    await pool.close();
  });
}

test('a worker under maxMemory is kept', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1, maxMemory: 512 });
  const exits: WorkerExit[] = [];
  pool.on('workerExit', (e) => exits.push(e));
  const ids = new Set<number>();
  for (let i = 0; i < 3; i++) ids.add(await pool.api.retain(8));
  assert.is(ids.size, 1);
  assert.equal(exits, []);
  await pool.close();
});

test.run();
