import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wrap } from '../src/index.ts';
import { tsWorker } from './fixtures/ts-worker.ts';

test('a worker answers a call', async () => {
  const worker = tsWorker(new URL('./fixtures/math.worker.ts', import.meta.url));
  const math = wrap<{ add(a: number, b: number): number }>(worker);
  assert.is(await math.add(1, 2), 3);
  await worker.terminate();
});

test.run();
