// How calls share messages over a port. Calls that reach a thread in one batch are
// answered one by one when they are slow: a finished call's reply does not wait
// for the CPU-bound calls queued behind it. And under a steady flow of quick
// calls, batches stay batches rather than falling apart into one call each.
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, wrap } from '../src/index.ts';
import type * as tasks from './fixtures/pool/tasks.ts';
import { tsWorker } from './fixtures/ts-worker.ts';

test('three 60 ms calls sent together to one thread come back about 60 ms apart, not all at the end', async () => {
  const pool = createPool<typeof tasks>(new URL('./fixtures/pool/tasks.ts', import.meta.url), { minThreads: 1, maxThreads: 1 });
  try {
    await pool.api.spin(1);
    const t0 = performance.now();
    const at: number[] = [];
    await Promise.all([1, 2, 3].map(() => pool.api.spin(60).then(() => at.push(performance.now() - t0))));
    assert.ok(at[1]! - at[0]! > 30 && at[2]! - at[1]! > 30, `replies arrived at ${at.map((t) => t.toFixed(0)).join(', ')} ms`);
  } finally {
    await pool.destroy();
  }
});

test('slow calls that travel as whole messages (here: each with a deadline) are answered one by one too', async () => {
  const worker = tsWorker(new URL('./fixtures/spin.worker.ts', import.meta.url));
  const api = wrap<{ spin(ms: number): number }>(worker, { timeout: 10_000 });
  try {
    await api.spin(1);
    const t0 = performance.now();
    const at: number[] = [];
    await Promise.all([1, 2, 3].map(() => api.spin(60).then(() => at.push(performance.now() - t0))));
    assert.ok(at[1]! - at[0]! > 30 && at[2]! - at[1]! > 30, `replies arrived at ${at.map((t) => t.toFixed(0)).join(', ')} ms`);
  } finally {
    await worker.terminate();
  }
});

test('quick calls that travel as whole messages come back together when sent together', async () => {
  const worker = tsWorker(new URL('./fixtures/math.worker.ts', import.meta.url));
  const math = wrap<{ add(a: number, b: number): number }>(worker, { timeout: 60_000 });
  let posts = 0;
  worker.on('message', () => posts++);
  try {
    await math.add(0, 0);
    posts = 0;
    // Three calls with a deadline: a batch of three whole messages, whose replies have no reason to part.
    assert.equal(await Promise.all([math.add(1, 1), math.add(2, 2), math.add(3, 3)]), [2, 4, 6]);
    assert.is(posts, 1, `three replies took ${posts} postMessages`);
  } finally {
    await worker.terminate();
  }
});

for (const [what, options] of [
  ['calls', {}],
  ['calls sent as whole messages (each with a deadline)', { timeout: 60_000 }],
] as const) {
  test(`a steady flow of 1,000 ${what} in flight keeps many calls to a postMessage`, async () => {
    let posts = 0;
    const worker = tsWorker(new URL('./fixtures/math.worker.ts', import.meta.url));
    const post = worker.postMessage.bind(worker);
    worker.postMessage = ((value: unknown, transfer?: Parameters<Worker["postMessage"]>[1]) => {
      posts++;
      post(value, transfer);
    }) as Worker['postMessage'];
    const math = wrap<{ add(a: number, b: number): number }>(worker, options);
    try {
      await math.add(0, 0);
      posts = 0;
      // Each reply starts the next call, so calls are made from reply callbacks, several promise hops deep.
      const total = 30_000;
      let started = 0;
      const lane = async (): Promise<void> => {
        while (started < total) {
          started++;
          await math.add(started, 1);
        }
      };
      await Promise.all(Array.from({ length: 1000 }, lane));
      assert.ok(total / posts > 20, `${total} calls took ${posts} postMessages (${(total / posts).toFixed(1)} calls each)`);
    } finally {
      await worker.terminate();
    }
  });
}

test.run();
