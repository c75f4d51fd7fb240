/**
 * spawn() against real child processes: starting, failing to start, dying,
 * closing, never outliving the parent, and leaving stdio to the user.
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, ModuleNotFoundError, spawn, type SpawnOptions } from '../../src/index.ts';
import type * as ChildApi from '../fixtures/streams/child-api.ts';
import { isError, rejection, tempDir, within } from './helpers.ts';

const fixture = (name: string): URL => new URL(`../fixtures/streams/${name}`, import.meta.url);
const childApi = fixture('child-api.ts');
const tmp = tempDir();

/** Whether `pid` still runs; a zombie (exited, not yet reaped by whoever adopted it) does not. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state is the field after the parenthesised command name.
    return !/\)\s+Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Waits for a process that is not our child to exit. There is no event for
 * that, so this polls, with a deadline.
 */
async function gone(pid: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (running(pid)) {
    if (Date.now() > deadline) assert.unreachable(`process ${pid} still runs after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs test/fixtures/streams/spawn-parent.ts in its own process. */
function parentProcess(stdio: 'inherit' | 'pipe', what: 'log' | 'wait'): ChildProcess {
  return spawnProcess(process.execPath, ['--import', 'tsx', fixture('spawn-parent.ts').pathname, stdio, what], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function collect(stream: Readable): () => string {
  let text = '';
  stream.setEncoding('utf8').on('data', (s: string) => (text += s));
  return () => text;
}

/** Resolves when `stream` has carried a line containing `text`. */
function lineWith(stream: Readable, text: string): Promise<string> {
  const lines = createInterface({ input: stream });
  return new Promise((resolve) => {
    lines.on('line', (line) => {
      if (line.includes(text)) {
        lines.close();
        resolve(line);
      }
    });
  });
}

// ---- starting ------------------------------------------------------------------

test('startTimeout: a module that never finishes loading rejects clearly, and its process is killed', async () => {
  const started = Date.now();
  const err = await rejection(spawn(fixture('never-loads.ts'), { startTimeout: 1500 }));
  isError(err, ChannelClosedError, 'never-loads.ts', 'did not start within 1500 ms', 'was killed');
  assert.ok(Date.now() - started >= 1400);
  const pid = Number(/pid (\d+)/.exec(err.message)?.[1]);
  assert.ok(pid > 0, err.message);
  await gone(pid);
});

test('a module that throws on import rejects spawn() with that error', async () => {
  const err = await rejection(spawn(fixture('throws-on-import.ts'), { stdio: 'ignore' }));
  isError(err, ChannelClosedError, 'throws-on-import.ts', 'failed to start', 'RangeError: bad configuration: port is missing');
  const cause = err.cause as Error & { code?: string };
  assert.instance(cause, RangeError, 'the module’s error, rebuilt as its class');
  assert.is(cause.message, 'bad configuration: port is missing');
  assert.is(cause.code, 'E_CONFIG');
  assert.is((cause.cause as Error).message, 'FARCALL_PORT is not set');
  assert.ok(cause.stack?.includes('throws-on-import.ts'), 'the stack points into the module');
});

test('an uncaught error while the module loads rejects spawn() with that error', async () => {
  const err = await rejection(spawn(fixture('throws-while-loading.ts'), { stdio: 'ignore' }));
  isError(err, ChannelClosedError, 'failed to start', 'TypeError: late failure while loading');
  assert.instance(err.cause, TypeError);
});

test('a module that does not exist rejects spawn() at once with ModuleNotFoundError naming it (no process is started)', async () => {
  const err = await rejection(spawn(tmp.path('missing.ts'), { stdio: 'ignore' }));
  isError(err, ModuleNotFoundError, `${tmp.path('missing.ts')} does not exist`);
  assert.is((err as ModuleNotFoundError).code, 'ERR_FARCALL_MODULE_NOT_FOUND');
});

test('a cwd that does not exist rejects spawn() clearly, and nothing is left running', async () => {
  const err = await rejection(spawn(childApi, { cwd: tmp.path('no-such-dir'), stdio: 'ignore' }));
  isError(err, ChannelClosedError, 'failed to start', `cannot use ${tmp.path('no-such-dir')} as its cwd`);
});

test('startTimeout governs how long the child may load; helloTimeout is refused, pointing at it', async () => {
  const refused = await rejection(spawn<typeof ChildApi>(childApi, { startTimeout: 20_000, helloTimeout: 1 } as SpawnOptions));
  isError(refused, TypeError, 'spawn() has no option helloTimeout; startTimeout covers loading the module and its hello');
  const child = await spawn<typeof ChildApi>(childApi, { startTimeout: 20_000 });
  assert.is(await child.api.add(1, 2), 3);
  await child.close();
});

// ---- dying and closing --------------------------------------------------------------

test('a child killed by a signal rejects pending calls naming the signal', async () => {
  const child = await spawn<typeof ChildApi>(childApi);
  const pending = [rejection(child.api.hang()), rejection(child.api.hang())];
  child.process.kill('SIGTERM');
  for (const err of await Promise.all(pending)) isError(err, ChannelClosedError, 'killed by SIGTERM');
  isError(await rejection(child.api.add(1, 2)), ChannelClosedError, 'killed by SIGTERM');
  await child.close();
});

test('close() ends the child gracefully: it exits by itself with code 0, pending calls reject', async () => {
  const child = await spawn<typeof ChildApi>(childApi);
  const pending = rejection(child.api.hang());
  const exited = once(child.process, 'exit');
  await child.close();
  const [code, signal] = await exited;
  assert.equal([code, signal], [0, null]);
  isError(await pending, ChannelClosedError, 'closed');
  await child.close(); // a second close() is harmless
});

test('close() kills the child after closeTimeout when it does not exit', async () => {
  const child = await spawn<typeof ChildApi>(childApi, { closeTimeout: 300, stdio: ['ignore', 'pipe', 'inherit'] });
  const blocked = lineWith(child.process.stdout!, 'busy now');
  const stuck = rejection(child.api.busy());
  await within(5000, 'the child blocking its event loop', blocked);
  const started = Date.now();
  await within(5000, 'close()', child.close());
  assert.ok(Date.now() - started >= 280, 'not before closeTimeout');
  assert.is(child.process.signalCode, 'SIGKILL');
  isError(await stuck, ChannelClosedError);
});

test('no orphans: when the parent process is SIGKILLed, its spawned child exits too', async () => {
  const parent = parentProcess('inherit', 'wait');
  const stderr = collect(parent.stderr!);
  const first = await within(10_000, 'the parent printing its child’s pid', lineWith(parent.stdout!, '"pid"')).catch((err: Error) => {
    throw new Error(`${err.message}\n${stderr()}`);
  });
  const { pid } = JSON.parse(first) as { pid: number };
  assert.ok(running(pid), 'the child runs while its parent does');
  const parentExit = once(parent, 'exit');
  parent.kill('SIGKILL');
  await parentExit;
  await gone(pid);
});

// ---- stdio ------------------------------------------------------------------------------

test('stdio inherited (the default): the child’s console.log appears on the parent’s stdout, console.error on its stderr', async () => {
  const parent = parentProcess('inherit', 'log');
  const stdout = collect(parent.stdout!);
  const stderr = collect(parent.stderr!);
  const [code] = await within(10_000, 'the parent exiting by itself', once(parent, 'exit'));
  assert.is(code, 0, stderr());
  assert.ok(stdout().includes('a line from the child on stdout'), stdout());
  assert.ok(stderr().includes('a line from the child on stderr'), stderr());
  // The channel is not stdout: nothing but the user's lines is there.
  assert.equal(
    stdout()
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('{"pid"')),
    ['a line from the child on stdout'],
  );
});

test("stdio 'pipe': the child's output is readable from child.process", async () => {
  const child = await spawn<typeof ChildApi>(childApi, { stdio: 'pipe' });
  const out = lineWith(child.process.stdout!, 'piped to stdout');
  const err = lineWith(child.process.stderr!, 'piped to stderr');
  await child.api.log('piped to stdout');
  await child.api.logError('piped to stderr');
  assert.is(await within(5000, 'stdout', out), 'piped to stdout');
  assert.is(await within(5000, 'stderr', err), 'piped to stderr');
  await child.close();
});

// ---- options ----------------------------------------------------------------------------

test('args, env, cwd and execArgv reach the child', async () => {
  const child = await spawn<typeof ChildApi>(childApi, {
    args: ['--flag', 'two words', ''],
    env: { ...process.env, FARCALL_TEST_VALUE: 'from the parent' },
    cwd: tmp.dir,
    execArgv: [...process.execArgv, '--stack-size=900'],
  });
  const info = await child.api.info();
  assert.equal(info.argv, ['--flag', 'two words', '']);
  assert.ok(info.argv1.endsWith('child-api.ts'), `argv[1] is the module, as if run directly: ${info.argv1}`);
  assert.is(info.env, 'from the parent');
  assert.is(realpathSync(info.cwd), realpathSync(tmp.dir));
  assert.ok(info.execArgv.includes('--stack-size=900'), info.execArgv.join(' '));
  assert.is(info.pid, child.pid);
  await child.close();
});

test("maxMessageSize holds on the child's end too: a reply over it fails that call, and the child serves on", async () => {
  const child = await spawn<typeof ChildApi>(childApi, { maxMessageSize: 1 << 20 });
  try {
    const err = await rejection(child.api.bytes(2 << 20));
    assert.match(String(err), 'exceeds maxMessageSize (1048576 bytes)');
    assert.is(await child.api.add(1, 2), 3);
  } finally {
    await child.close();
  }
});

test('bad spawn() options are TypeErrors naming the option', async () => {
  const loose = spawn as (...args: unknown[]) => Promise<unknown>;
  const cases: Array<[Promise<unknown>, ...string[]]> = [
    [loose(42), 'expects a module path or file URL'],
    [loose(childApi, { args: 'x' }), 'option args must be an array of strings'],
    [loose(childApi, { execArgv: [1] }), 'option execArgv must be an array of strings'],
    [loose(childApi, { stdio: 'loud' }), 'option stdio'],
    [loose(childApi, { startTimeout: -1 }), 'startTimeout'],
    [loose(childApi, { closeTimeout: 2 ** 31 }), 'closeTimeout must be at most'],
    [loose(childApi, { maxMessageSize: 0 }), 'maxMessageSize'],
    [loose(childApi, { cwd: 7 }), 'option cwd must be a directory path'],
  ];
  const failures = await Promise.all(cases.map(([p]) => rejection(p)));
  failures.forEach((err, i) => {
    const [, ...includes] = cases[i]!;
    isError(err, TypeError, ...includes);
  });
});

test.after(() => tmp.remove());

test.run();
