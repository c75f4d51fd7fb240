/** createPool() with a module that is not there fails at once, with an error of its own class. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, ModuleNotFoundError } from '../../src/index.ts';

test('a wrong module path is refused by createPool() itself, naming the file', () => {
  const url = new URL('../fixtures/no-such-module.ts', import.meta.url);
  let thrown: unknown;
  try {
    createPool(url);
  } catch (err) {
    thrown = err;
  }
  assert.instance(thrown, ModuleNotFoundError);
  assert.is((thrown as ModuleNotFoundError).code, 'ERR_FARCALL_MODULE_NOT_FOUND');
  assert.ok((thrown as Error).message.includes('no-such-module.ts does not exist'), (thrown as Error).message);
});

test('a .js name whose .ts source is there is accepted (a TypeScript loader maps it)', async () => {
  const pool = createPool<{ add(a: number, b: number): number }>(new URL('../fixtures/math.worker.js', import.meta.url), { maxThreads: 1 });
  await pool.close();
});

test.run();
