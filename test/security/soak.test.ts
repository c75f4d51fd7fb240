/**
 * A short soak in the suite: mixed load on every transport for 12 s; heap
 * after GC and open descriptors flat after warm-up, no call failed.
 * benchmarks/soak.ts runs it for as long as asked.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../streams/helpers.ts';
import { mean, soak } from './soak.ts';

const MiB = 1024 * 1024;

test('soak, 12 s on a worker, a child, a Unix socket and TCP: no failure, heap and descriptors flat after warm-up', async () => {
  const tmp = tempDir();
  const r = await soak(tmp.dir, 12, 1);
  tmp.remove();
  assert.equal(r.failures.map((e) => e.message).slice(0, 5), []);
  assert.ok(r.calls > 1000, `${r.calls} calls`);
  // Warm-up is the first 3 s; compare 3-6 s with the last 3 s.
  const last = r.samples.at(-1)!.s;
  const heapEarly = mean(r.samples, 'heap', 3, 6);
  const heapLate = mean(r.samples, 'heap', last - 3, last);
  const fdsEarly = mean(r.samples, 'fds', 3, 6);
  const fdsLate = mean(r.samples, 'fds', last - 3, last);
  // 10 %, or 4 MiB for a heap this small.
  assert.ok(heapLate <= Math.max(heapEarly * 1.1, heapEarly + 4 * MiB), `heap after GC ${(heapEarly / MiB).toFixed(1)} -> ${(heapLate / MiB).toFixed(1)} MiB`);
  assert.ok(fdsLate <= fdsEarly * 1.1 + 2, `open descriptors ${fdsEarly} -> ${fdsLate}`);
});

test.run();
