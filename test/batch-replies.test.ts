// Calls that reach a thread in one batch are answered one by one when they are slow:
// a finished call's reply does not wait for the CPU-bound calls queued behind it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool } from '../src/index.ts';
import type * as tasks from './fixtures/pool/tasks.ts';

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

test.run();
