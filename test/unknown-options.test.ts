/**
 * Every public entry point rejects an option it does not know, at once and
 * before starting anything, naming the option and the nearest known one.
 */
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, createPool, createSyncFn, expose, listen, spawn, wrap } from '../src/index.ts';
import { suggestion } from '../src/options.ts';

const module = new URL('./fixtures/math.worker.ts', import.meta.url);

/** Awaits `fn` (sync throw or rejection) and checks the TypeError it gives. */
async function rejects(fn: () => unknown, ...includes: string[]): Promise<void> {
  let thrown: unknown;
  try {
    await fn();
  } catch (err) {
    thrown = err;
  }
  assert.instance(thrown, TypeError, `expected a TypeError, got ${String(thrown)}`);
  const message = (thrown as Error).message;
  for (const s of includes) assert.ok(message.includes(s), `"${message}" should mention "${s}"`);
}

const loose = (o: object) => o as never;

test('spawn() names a misspelt option and suggests the right one', async () => {
  await rejects(() => spawn(module, loose({ startTimout: 100 })), 'spawn() has no option startTimout', '(did you mean startTimeout?)');
  await rejects(() => spawn(module, loose({ helloTimeout: 100 })), 'spawn() has no option helloTimeout');
});

test('connect() and listen() name a misspelt option', async () => {
  await rejects(() => connect('/nowhere.sock', loose({ reconect: true })), 'connect() has no option reconect', '(did you mean reconnect?)');
  await rejects(() => listen({}, '/nowhere.sock', loose({ mxMessageSize: 10 })), 'listen() has no option mxMessageSize', '(did you mean maxMessageSize?)');
  await rejects(() => listen({}, '/nowhere.sock', loose({ colour: 'red' })), 'listen() has no option colour');
});

test('expose(), wrap(), createPool(), pool.with() and createSyncFn() name a misspelt option', async () => {
  const { port1, port2 } = new MessageChannel();
  await rejects(() => wrap(port1, loose({ timout: 5 })), 'wrap() has no option timout', '(did you mean timeout?)');
  await rejects(() => expose({}, port2, loose({ transferHandler: new Map() })), 'expose() has no option transferHandler', '(did you mean transferHandlers?)');
  port1.close();
  await rejects(() => createPool(module, loose({ maxThread: 2 })), 'createPool() has no option maxThread', '(did you mean maxThreads?)');
  await rejects(() => createSyncFn(module, 'add', loose({ timeOut: 5 })), 'createSyncFn() has no option timeOut', '(did you mean timeout?)');
  const pool = createPool(module, { maxThreads: 1 });
  await rejects(() => pool.with(loose({ sginal: undefined })), 'pool.with() has no option sginal', '(did you mean signal?)');
  await pool.close();
});

test('a suggestion is made only for a near miss', () => {
  assert.is(suggestion('maxthreads', ['maxThreads']), ' (did you mean maxThreads?)');
  assert.is(suggestion('closeTimout', ['mode', 'closeTimeout']), ' (did you mean closeTimeout?)');
  assert.is(suggestion('port', ['mode', 'closeTimeout']), '');
  assert.is(suggestion('x', ['mode']), '');
});

test.run();
