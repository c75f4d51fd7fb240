/**
 * isolation: 'process': the same pool over child processes. Exports and
 * self-exposing modules work, TypeScript runs under tsx, a member that dies
 * hard (abort, SIGKILL, uncaught throw) rejects only its own tasks and is
 * replaced, and queue, abort and stats behave as with threads.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAbortedError, ChannelClosedError, createPool, QueueFullError, transfer, type Pool, type WorkerExit } from '../../src/index.ts';
import type { SelfExposingApi } from '../fixtures/pool/self-exposing.ts';
import { nextExit, rejects, tasksUrl, within, type Tasks } from './helpers.ts';

let pool: Pool<Tasks>;
const exits: WorkerExit[] = [];

test.before(() => {
  pool = createPool<Tasks>(tasksUrl, {
    isolation: 'process',
    minThreads: 2,
    maxThreads: 2,
    concurrentTasksPerWorker: 1,
    maxQueue: 1,
    env: { ...process.env, FARCALL_POOL_TEST: 'to the children' },
    argv: ['--level', '3'],
    execArgv: ['--no-deprecation'],
  });
  pool.on('workerExit', (e) => exits.push(e));
});

test.after(async () => {
  await pool.close();
});

test('a TypeScript module runs in child processes; buffers move, errors keep their class', async () => {
  const me = await pool.api.identity();
  assert.is(me.where, 'process');
  assert.is.not(me.pid, process.pid);
  const buf = new TextEncoder().encode('abc').buffer;
  assert.is(await pool.api.sha256(transfer(buf, [buf])), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.is(buf.byteLength, 0, 'the buffer moved');
  assert.instance(await pool.api.fail('no').catch((e: unknown) => e), RangeError);
});

test('minThreads processes, each a different pid', async () => {
  assert.is(pool.stats.threads, 2);
  const pids = await Promise.all([pool.api.sleep(50), pool.api.sleep(50)]);
  assert.is(new Set(pids).size, 2);
});

test("env and argv reach the process; execArgv comes after this process's own flags", async () => {
  assert.is(await pool.api.envSeen('FARCALL_POOL_TEST'), 'to the children');
  assert.equal(await pool.api.argvSeen(), ['--level', '3']);
  const flags = await pool.api.execArgvSeen();
  assert.equal(flags.slice(-1), ['--no-deprecation']);
  assert.ok(flags.includes('tsx'), `the loader stays: ${flags.join(' ')}`);
});

for (const [how, call, says] of [
  ['process.abort()', () => pool.api.abortProcess(), 'was killed by SIGABRT'],
  ['SIGKILL', () => pool.api.killProcess(), 'was killed by SIGKILL'],
  ['an uncaught throw', () => pool.api.throwUncaught('an intended crash'), 'threw an uncaught error: an intended crash'],
] as const) {
  test(`a process that dies by ${how} rejects its own task only, and a new one takes its place`, async () => {
    const other = pool.api.sleep(300);
    const exited = nextExit(pool, 'crash');
    const err = await rejects(call(), ChannelClosedError, 'did not finish: its worker (process', says);
    const exit = await within(5000, 'the exit event', exited);
    assert.ok(err.message.includes(`process ${exit.id}`), 'the message names the process');
    assert.type(await other, 'number', 'the task on the other process finished');
    assert.is(pool.stats.threads, 2, 'replaced, for minThreads');
    const pids = await Promise.all([pool.api.sleep(20), pool.api.sleep(20)]);
    assert.not.ok(pids.includes(exit.id), 'the dead one serves nothing');
  });
}

test('the queue, QueueFullError and abort of a queued task work the same', async () => {
  const running = [pool.api.sleep(200), pool.api.sleep(200)];
  const ac = new AbortController();
  const queued = pool.with({ signal: ac.signal }).api.add(1, 2);
  await rejects(pool.api.add(3, 4), QueueFullError, 'maxQueue 1');
  ac.abort();
  await rejects(queued, CallAbortedError, "waiting in the pool's queue");
  await Promise.all(running);
});

test("abort reaches a running task's currentSignal() in the child", async () => {
  const busy = pool.api.sleep(500); // one process
  const ac = new AbortController();
  const waiting = pool.with({ signal: ac.signal }).api.waitForAbort(); // the other
  ac.abort();
  await rejects(waiting, CallAbortedError, 'while running on process');
  // Queued until a process is free: the one that heard the abort, long before the sleep ends.
  assert.match(String(await pool.api.lastAbortSeen()), /aborted/, 'the callee saw its signal abort');
  await busy;
});

test('stats count what the processes did', () => {
  const s = pool.stats;
  assert.ok(s.completed >= 10, `completed ${s.completed}`);
  assert.ok(s.failed >= 4, `failed ${s.failed}`);
  assert.is(s.running, 0);
  assert.ok(s.runTimeMs.max >= 199);
  assert.equal(
    exits.map((e) => e.reason),
    ['crash', 'crash', 'crash'],
  );
});

test('a module that calls expose() itself works in a process', async () => {
  const own = createPool<SelfExposingApi>(new URL('../fixtures/pool/self-exposing.ts', import.meta.url), { isolation: 'process', maxThreads: 1 });
  assert.is(await own.api.greet('child'), 'hello, child');
  assert.is(await own.api.next(), 1);
  assert.is(await own.api.next(), 2);
  await own.close();
});

test.run();
