/**
 * createPool() and pool.with() given the wrong thing throw at once, naming
 * the option: TypeError for the wrong type, RangeError for a value out of
 * range. None of these starts a worker.
 */
import { SHARE_ENV } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool } from '../../src/index.ts';
import { tasksUrl } from './helpers.ts';

const loose = createPool as unknown as (module: unknown, options?: unknown) => ReturnType<typeof createPool>;

function throws(options: unknown, type: typeof TypeError | typeof RangeError, ...includes: string[]): void {
  let thrown: unknown;
  try {
    loose(tasksUrl, options);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, `createPool(${JSON.stringify(options)}) should throw`);
  assert.is((thrown as Error).constructor, type, `expected ${type.name}, got ${String(thrown)}`);
  const message = (thrown as Error).message;
  for (const s of includes) assert.ok(message.includes(s), `"${message}" should mention "${s}"`);
}

test('the module must be a path or URL', () => {
  assert.throws(() => loose(42), (e: Error) => e instanceof TypeError && /createPool\(\) expects a module path or file URL, got number 42/.test(e.message));
  assert.throws(() => loose(''), TypeError);
});

test('options must be an object', () => {
  throws('fast', TypeError, 'createPool() options must be an object', 'got a string');
  throws(null, TypeError, 'got null');
});

test('a misspelt option is named, with a suggestion', () => {
  throws({ maxThread: 2 }, TypeError, 'createPool() has no option maxThread', 'did you mean maxThreads?');
  throws({ idletimeout: 5 }, TypeError, 'no option idletimeout', 'did you mean idleTimeout?');
  throws({ colour: 'red' }, TypeError, 'no option colour');
});

test('worker counts: integers in range, min not above max', () => {
  throws({ maxThreads: 0 }, RangeError, 'option maxThreads must be an integer of at least 1', 'got 0');
  throws({ maxThreads: 1.5 }, RangeError, 'option maxThreads', 'got 1.5');
  throws({ maxThreads: '2' }, TypeError, 'option maxThreads', 'got a string');
  throws({ minThreads: -1 }, RangeError, 'option minThreads must be an integer of at least 0');
  throws({ minThreads: 3, maxThreads: 2 }, RangeError, 'minThreads (3) is above maxThreads (2)');
  throws({ concurrentTasksPerWorker: 0 }, RangeError, 'option concurrentTasksPerWorker must be an integer of at least 1');
  throws({ maxQueue: -1 }, RangeError, 'option maxQueue must be an integer of at least 0 or Infinity');
  throws({ maxQueue: NaN }, RangeError, 'option maxQueue');
});

test('durations: non-negative milliseconds', () => {
  throws({ idleTimeout: -5 }, RangeError, 'option idleTimeout must be a non-negative number of milliseconds or Infinity', 'got -5');
  throws({ timeout: '1s' }, TypeError, 'option timeout', 'got a string');
  throws({ timeout: Infinity }, RangeError, 'option timeout');
  throws({ timeout: NaN }, RangeError, 'option timeout');
});

test('maxMemory, terminateOnAbort, isolation, env, argv, execArgv, resourceLimits', () => {
  throws({ maxMemory: 0 }, RangeError, 'option maxMemory must be a positive number of MiB');
  throws({ maxMemory: '64' }, TypeError, 'option maxMemory');
  throws({ terminateOnAbort: 'yes' }, TypeError, 'option terminateOnAbort must be a boolean');
  throws({ isolation: 'fork' }, TypeError, "option isolation must be 'thread' or 'process'", 'got a string');
  throws({ env: 'A=1' }, TypeError, 'option env must be an object');
  throws({ argv: 'x' }, TypeError, 'option argv must be an array of strings');
  throws({ execArgv: [1] }, TypeError, 'option execArgv must be an array of strings');
  throws({ resourceLimits: 16 }, TypeError, 'option resourceLimits must be an object');
});

test('thread-only options are refused for isolation: process, saying what to use instead', () => {
  throws({ isolation: 'process', resourceLimits: { maxOldGenerationSizeMb: 64 } }, TypeError, 'option resourceLimits applies to worker threads only', 'maxMemory');
  throws({ isolation: 'process', workerData: { a: 1 } }, TypeError, 'option workerData applies to worker threads only', 'argv or env');
  throws({ isolation: 'process', env: SHARE_ENV }, TypeError, 'option env cannot be SHARE_ENV');
});

test('a flag a thread cannot take fails createPool() when threads start with it', () => {
  assert.throws(() => loose(tasksUrl, { minThreads: 1, execArgv: ['--expose-gc'] }), /invalid execArgv/);
});

test('a flag a thread cannot take rejects the call that would start the thread', async () => {
  const pool = loose(tasksUrl, { execArgv: ['--expose-gc'] });
  let thrown: unknown;
  await (pool.api as any).add(1, 2).catch((e: unknown) => (thrown = e));
  assert.match(String(thrown), /invalid execArgv/);
  await pool.destroy();
});

test('pool.with() checks its options', async () => {
  const pool = loose(tasksUrl, {});
  const w = (o: unknown) => (pool.with as (o: unknown) => unknown)(o);
  assert.throws(() => w(5), (e: Error) => e instanceof TypeError && e.message.includes('pool.with() expects { signal?, timeout? }'));
  assert.throws(() => w({ signal: {} }), (e: Error) => e instanceof TypeError && e.message.includes('option signal must be an AbortSignal'));
  assert.throws(() => w({ timeout: -1 }), (e: Error) => e instanceof RangeError && e.message.includes('option timeout'));
  assert.throws(() => w({ timout: 5 }), (e: Error) => e instanceof TypeError && e.message.includes('pool.with() has no option timout'));
  assert.is(pool.stats.threads, 0, 'no worker was started');
  await pool.close();
});

test.run();
