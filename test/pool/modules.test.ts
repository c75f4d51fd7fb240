/**
 * What a pool's threads run and see: a TypeScript module under tsx, a
 * module that calls expose() itself, and the env, argv, execArgv and
 * workerData given to createPool().
 */
import { SHARE_ENV, threadId } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, proxy, transfer, type Pool } from '../../src/index.ts';
import type { SelfExposingApi } from '../fixtures/pool/self-exposing.ts';
import { tasksUrl, type Tasks } from './helpers.ts';

// A pool with default options, shared by the tests that only call it.
let plain: Pool<Tasks & { missing(): void }>;
test.before(() => {
  process.env.FARCALL_POOL_DEFAULT = 'inherited';
  plain = createPool(tasksUrl, { maxThreads: 1 });
});
test.after(async () => {
  delete process.env.FARCALL_POOL_DEFAULT;
  await plain.close();
});

test('a TypeScript module runs on threads under tsx; buffers move, callbacks call back, errors keep their class', async () => {
  const pool = plain;
  const me = await pool.api.identity();
  assert.is(me.where, 'thread');
  assert.is.not(me.threadId, threadId);
  assert.is(me.pid, process.pid);
  const buf = new TextEncoder().encode('abc').buffer;
  assert.is(await pool.api.sha256(transfer(buf, [buf])), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.is(buf.byteLength, 0, 'the buffer moved');
  const err = await pool.api.fail('out of range').catch((e: unknown) => e);
  assert.instance(err, RangeError);
  const seen: number[] = [];
  assert.is(await pool.api.countTo(3, proxy((i: number) => void seen.push(i))), 'counted');
  assert.equal(seen, [1, 2, 3], 'a callback passed with proxy() is called back from the thread');
});

test('a module that calls expose() itself serves what it exposed', async () => {
  const pool = createPool<SelfExposingApi & { notServed(): string }>(new URL('../fixtures/pool/self-exposing.ts', import.meta.url), { maxThreads: 1 });
  assert.is(await pool.api.greet('pool'), 'hello, pool');
  assert.is(await pool.api.next(), 1);
  assert.is(await pool.api.next(), 2, 'the same object, with its state');
  const err = (await pool.api.notServed().catch((e: unknown) => e)) as Error;
  assert.match(err.message, /notServed/, 'its exports are not the API');
  await pool.close();
});

test('env, argv, execArgv and workerData reach the thread', async () => {
  const pool = createPool<Tasks>(tasksUrl, {
    maxThreads: 1,
    env: { FARCALL_POOL_TEST: 'from the pool' },
    argv: ['--level', '3'],
    execArgv: ['--no-deprecation'],
    workerData: { job: 'resize', sizes: [1, 2] },
  });
  assert.is(await pool.api.envSeen('FARCALL_POOL_TEST'), 'from the pool');
  assert.is(await pool.api.envSeen('PATH'), undefined, 'env replaces the environment');
  assert.equal(await pool.api.argvSeen(), ['--level', '3'], 'argv, and nothing of the pool');
  assert.equal(await pool.api.execArgvSeen(), ['--no-deprecation']);
  assert.equal(await pool.api.workerDataSeen(), { job: 'resize', sizes: [1, 2] });
  await pool.close();
});

test('by default a thread sees a copy of this process environment and no argv; SHARE_ENV shares it', async () => {
  const copied = plain;
  const shared = createPool<Tasks>(tasksUrl, { maxThreads: 1, env: SHARE_ENV });
  try {
    assert.is(await copied.api.envSeen('FARCALL_POOL_DEFAULT'), 'inherited');
    assert.equal(await copied.api.argvSeen(), []);
    assert.is(await copied.api.workerDataSeen(), undefined);
    assert.is(await shared.api.envSeen('FARCALL_POOL_DEFAULT'), 'inherited');
    process.env.FARCALL_POOL_DEFAULT = 'changed later';
    assert.is(await copied.api.envSeen('FARCALL_POOL_DEFAULT'), 'inherited', 'a copy');
    assert.is(await shared.api.envSeen('FARCALL_POOL_DEFAULT'), 'changed later', 'shared');
  } finally {
    await shared.close();
  }
});

test('a name that is not exported, or an argument that cannot be sent, rejects that call only', async () => {
  const pool = plain;
  const failed = pool.stats.failed;
  const err = (await pool.api.missing().catch((e: unknown) => e)) as Error & { code?: string };
  assert.is(err.code, 'ERR_FARCALL_NO_SUCH_METHOD');
  const loose = pool.api.add as unknown as (...args: unknown[]) => Promise<number>;
  const bad = (await loose(() => 1, 2).catch((e: unknown) => e)) as Error & { code?: string };
  assert.is(bad.code, 'ERR_FARCALL_NOT_CLONEABLE');
  assert.is(await pool.api.add(1, 2), 3);
  assert.equal([pool.stats.running, pool.stats.failed], [0, failed + 2], 'both counted as failed, neither holds a slot');
});

test('reading an exported value goes to a thread too', async () => {
  const pool = createPool<{ add: Tasks['add']; answer: number }>(new URL('../fixtures/pool/values.ts', import.meta.url), { maxThreads: 1 });
  assert.is(await pool.api.answer, 42);
  await pool.close();
});

test.run();
