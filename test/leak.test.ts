/**
 * Nothing leaks: 200,000 calls over a worker leave both heaps where they
 * were, and proxies dropped without releaseProxy are freed on the other side
 * once garbage-collected.
 */
import { getHeapStatistics } from 'node:v8';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { proxy, wrap } from '../src/index.ts';
import type { ConformanceApi } from './conformance/harness.ts';
import { tsWorker } from './fixtures/ts-worker.ts';

const CALLS = 200_000;
const IN_FLIGHT = 1_000;
const CALLBACKS = 2_000;
const MiB = 1024 * 1024;
/** Slack for what V8 keeps around between collections (code, inline caches, free lists). */
const ALLOWED_GROWTH = 3 * MiB;

const gc = (globalThis as { gc?: () => void }).gc;
const heapUsed = (): number => getHeapStatistics().used_heap_size;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('200,000 calls, callbacks and dropped proxies leave both heaps flat', async () => {
  assert.type(gc, 'function', 'run with --expose-gc');
  const worker = tsWorker(new URL('./conformance/api.worker.ts', import.meta.url));
  const api = wrap<ConformanceApi>(worker);

  async function calls(n: number): Promise<void> {
    const payload = { id: 1, tags: ['a', 'b'], at: new Date(0) };
    for (let done = 0; done < n; done += IN_FLIGHT) {
      const batch: Array<Promise<unknown>> = [];
      for (let i = 0; i < IN_FLIGHT; i++) batch.push(i % 2 ? api.add(i, done) : api.echo(payload));
      await Promise.all(batch);
    }
  }

  async function callbacksAndProxies(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      // Each callback holds ~16 KB, so one the worker never releases shows in the heap.
      const ballast = new Array<number>(2_000).fill(i);
      await api.watch(proxy((k: number) => k + ballast.length), 1);
      const tracked = await api.makeTracked();
      await tracked.ping();
    }
  }

  /** Both heaps after garbage collection on both sides, once the releases it causes have crossed. */
  async function settledHeaps(): Promise<{ main: number; worker: number }> {
    for (let i = 0; i < 3; i++) {
      await api.collectGarbage();
      gc!();
      await turn();
    }
    await api.add(0, 0); // the releases sent so far have been handled
    gc!();
    return { main: heapUsed(), worker: await api.collectGarbage() };
  }

  try {
    await measure();
  } finally {
    await worker.terminate();
  }

  async function measure(): Promise<void> {
    const started = performance.now();
    await calls(20_000);
    await callbacksAndProxies(200);
    const before = await settledHeaps();
    const releasedBefore = await api.releaseCount();

    await calls(CALLS);
    await callbacksAndProxies(CALLBACKS);

    // Proxies dropped here are freed over there only after this side's
    // FinalizationRegistry runs; give it a bounded number of collections.
    let released = 0;
    for (let attempt = 0; attempt < 50 && released < CALLBACKS; attempt++) {
      gc!();
      await turn();
      released = (await api.releaseCount()) - releasedBefore;
    }
    const after = await settledHeaps();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `  leak: ${CALLS + 20_000} calls, ${CALLBACKS + 200} callbacks in ${seconds.toFixed(1)} s; ` +
        `heap growth main ${((after.main - before.main) / MiB).toFixed(2)} MiB, worker ${((after.worker - before.worker) / MiB).toFixed(2)} MiB`,
    );
    assert.is(released, CALLBACKS, 'every dropped proxy was released on the other side');
    assert.ok(after.main - before.main < ALLOWED_GROWTH, `main heap grew by ${after.main - before.main} bytes`);
    assert.ok(after.worker - before.worker < ALLOWED_GROWTH, `worker heap grew by ${after.worker - before.worker} bytes`);
  }
});

test.run();
