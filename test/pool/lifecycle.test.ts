/**
 * close() lets queued and running work finish, destroy() rejects it, and
 * after either (or with an open pool that has nothing to do) nothing keeps
 * the process alive: each scenario runs in its own process, which must exit
 * by itself.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, createPool } from '../../src/index.ts';
import { rejects, tasksUrl, type Tasks } from './helpers.ts';

const script = fileURLToPath(new URL('../fixtures/pool/lifetime.ts', import.meta.url));
/** Long enough for a loaded machine to start Node, tsx and a pool; a process still there after it is kept alive by something. */
const DEADLINE_MS = 20_000;

interface Report {
  tasks: string[];
  afterClose?: string;
  stats: { threads: number; running: number; queued: number };
}

/** Runs the script and resolves with its reports once it has exited by itself. */
function runAlone(isolation: string, modes: string): Promise<Record<string, Report>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, isolation, modes], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${isolation} ${modes}: still running ${DEADLINE_MS} ms later; something keeps it alive. Output: ${out}`));
    }, DEADLINE_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (code !== 0) return reject(new Error(`${isolation} ${modes}: exited with ${signal ?? code}. Output: ${out}`));
      try {
        resolve(JSON.parse(out) as Record<string, Report>);
      } catch {
        reject(new Error(`${isolation} ${modes}: no report. Output: ${out}`));
      }
    });
  });
}

let started: Record<'Thread' | 'Process', Promise<Record<string, Report>>> | undefined;
/**
 * One process per isolation, each with a pool closed, one destroyed and
 * (threads) one left open; started together when the first test needs them.
 */
function scenarios(): NonNullable<typeof started> {
  if (started) return started;
  started = { Thread: runAlone('thread', 'close,destroy,open'), Process: runAlone('process', 'close,destroy') };
  for (const p of Object.values(started)) p.catch(() => {}); // each is awaited by its tests
  return started;
}

for (const isolation of ['Thread', 'Process'] as const) {
  test(`${isolation.toLowerCase()}s: close() lets running and queued tasks finish, refuses new calls, and the process exits by itself`, async () => {
    const r = (await scenarios()[isolation]).close!;
    assert.equal(r.tasks, ['ok 1', 'ok 2', 'ok 3', 'ok 4']);
    assert.is(r.afterClose, 'ChannelClosedError: add() was called after the pool was closed');
    assert.is(r.stats.threads, 0);
  });

  test(`${isolation.toLowerCase()}s: destroy() rejects running and queued tasks, and the process exits by itself`, async () => {
    const r = (await scenarios()[isolation]).destroy!;
    assert.equal(r.tasks, [
      'ChannelClosedError: sleep() did not finish: the pool was destroyed while it ran',
      'ChannelClosedError: spin() did not finish: the pool was destroyed while it ran',
      'ChannelClosedError: add() did not run: the pool was destroyed before it started',
      'ChannelClosedError: add() did not run: the pool was destroyed before it started',
    ]);
    assert.is(r.stats.threads, 0);
    assert.is(r.stats.running, 0);
  });
}

test('an open pool with nothing to do does not keep the process alive', async () => {
  const r = (await scenarios().Thread).open!;
  assert.is(r.tasks[0], 'ok 3');
  assert.match(r.tasks[1]!, /^ok \d+$/);
  assert.is(r.stats.threads, 2, 'its threads were still there when the script ended');
});

test('close() still finishes queued work when a worker crashes while closing', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1, concurrentTasksPerWorker: 1 });
  const crashing = pool.api.crash(3);
  const queued = [pool.api.add(1, 1), pool.api.add(2, 2)];
  const closed = pool.close();
  await rejects(crashing, ChannelClosedError, 'exited with code 3');
  assert.equal(await Promise.all(queued), [2, 4], 'a replacement ran them');
  await closed;
  assert.is(pool.stats.threads, 0);
});

test('destroy() after close() stops the waiting at once; both settle', async () => {
  const pool = createPool<Tasks>(tasksUrl, { maxThreads: 1 });
  const long = pool.api.sleep(60_000);
  const closed = pool.close();
  await pool.destroy();
  await closed;
  await rejects(long, ChannelClosedError, 'the pool was destroyed while it ran');
});

test.run();
