/**
 * createSyncFn(): a function that runs on a dedicated worker and answers
 * synchronously. Every test uses a real worker.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallTimeoutError, ChannelClosedError, ModuleNotFoundError, NotCloneableError, createSyncFn, type SyncFn } from '../../src/index.ts';
import { SpinBudget } from '../../src/pool/sync-channel.ts';
import type * as tasks from '../fixtures/pool/sync-tasks.ts';
import { ahead } from '../limit.ts';

const TASKS = new URL('../fixtures/pool/sync-tasks.ts', import.meta.url);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.unreachable('expected a throw');
}

const add = createSyncFn<typeof tasks.default>(TASKS);
const echo = createSyncFn<typeof tasks.echo>(TASKS, 'echo');
const later = createSyncFn<typeof tasks.later>(TASKS, 'later');

test.after(async () => {
  await Promise.all([add.close(), echo.close(), later.close()]);
});

// The idle-CPU program (sync-idle.ts) needs seconds of its own and nothing of this thread, which the tests
// below block: it starts before them, and its test, near the end, reads its figures.
let idleRun: Promise<string>;
test.before(() => {
  const script = fileURLToPath(new URL('../fixtures/pool/sync-idle.ts', import.meta.url));
  idleRun = ahead(
    new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', script], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    }),
  );
});

test('the default export answers synchronously', () => {
  const sum: number = add(1, 2);
  assert.is(sum, 3);
  for (let i = 0; i < 1000; i++) assert.is(add(i, 1), i + 1);
});

test('values arrive as structured clone carries them', () => {
  const value = {
    n: -0,
    big: 2n ** 70n,
    s: 'héllo',
    u: undefined,
    d: new Date(0),
    m: new Map([[1, { deep: [1, 2, 3] }]]),
    set: new Set(['a']),
    bytes: new Uint8Array([1, 2, 3]),
    re: /x/g,
  };
  assert.equal(echo(value), value);
  assert.is(echo(undefined), undefined);
  assert.is(echo(null), null);
});

test('messages larger than the shared buffer, and values only structured clone reproduces, arrive the same', () => {
  const big = 'x'.repeat(300_000);
  assert.is(echo(big), big);
  const bytes = new Uint8Array(200_000).map((_, i) => i & 0xff);
  assert.equal(echo(bytes), bytes);
  // Large only once encoded: nested, so nothing says so before the encoder runs.
  const nested = { rows: Array.from({ length: 4000 }, (_, i) => ({ i, s: `row ${i}`.padEnd(32) })) };
  assert.equal(echo(nested), nested);
  // What the compact codec leaves to structured clone: an error, a sparse array, a boxed primitive, a lone surrogate.
  class Point {
    constructor(public x = 1) {}
  }
  const odd = { err: new RangeError('r'), sparse: [1, , 3], boxed: new Number(4), lone: '\ud800', point: new Point() };
  const back = echo(odd) as typeof odd;
  assert.equal(back, structuredClone(odd));
  assert.instance(back.err, RangeError);
  assert.is(back.err.message, 'r');
  assert.not.ok(1 in back.sparse);
  assert.is(back.lone, '\ud800');
  // Small and large, one after the other in both directions: every call gets its own answer.
  for (let i = 0; i < 60; i++) {
    const v = i % 3 === 0 ? big.slice(i) : i % 3 === 1 ? { i } : odd;
    assert.equal(echo(v), v === odd ? structuredClone(odd) : v);
  }
});

test('an async function is awaited in the worker', () => {
  const v: string = later('done', 20);
  assert.is(v, 'done');
});

test('an error thrown in the worker is thrown here, with its shape', () => {
  const fail = createSyncFn<typeof tasks.fail>(TASKS, 'fail');
  try {
    const e = thrown(() => fail('out of range')) as RangeError & { code: string; detail: unknown };
    assert.instance(e, RangeError);
    assert.is(e.name, 'RangeError');
    assert.is(e.message, 'out of range');
    assert.is(e.code, 'E_FIXTURE');
    assert.equal(e.detail, { n: 1 });
    assert.is((e.cause as Error).message, 'underneath');
    assert.match(e.stack!, /at \[remote\] /);
    assert.match(e.stack!, /sync-tasks\.ts/);

    const failLater = createSyncFn<typeof tasks.failLater>(TASKS, 'failLater');
    const e2 = thrown(() => failLater('rejected')) as Error;
    assert.instance(e2, TypeError);
    assert.is(e2.message, 'rejected');
    void failLater.close();

    const throwValue = createSyncFn<typeof tasks.throwValue>(TASKS, 'throwValue');
    assert.is(thrown(() => throwValue()), 42);
    // The function still serves after throwing.
    assert.instance(thrown(() => fail('again')), RangeError);
    void throwValue.close();
  } finally {
    void fail.close();
  }
});

test('a call past its timeout throws CallTimeoutError; its late reply is dropped and the next call gets its own answer', async () => {
  const slow = createSyncFn<typeof tasks.later>(TASKS, 'later', { timeout: 300 });
  try {
    assert.is(slow('warm', 0), 'warm'); // the worker's start does not count against the timeout
    const t = performance.now();
    const e = thrown(() => slow('too late', 450)) as CallTimeoutError;
    const waited = performance.now() - t;
    assert.instance(e, CallTimeoutError);
    assert.is(e.code, 'ERR_FARCALL_TIMEOUT');
    assert.match(e.message, /sync-tasks\.ts#later\(\) timed out after 300 ms/);
    assert.ok(waited >= 295 && waited < 600, `waited ${waited} ms`);
    // 'too late' answers (at ~450 ms) while this call waits for its own (at ~500 ms).
    assert.is(slow('next', 200), 'next');
    // Another late answer, this time already waiting on the port when the next call starts.
    assert.instance(thrown(() => slow('late again', 400)), CallTimeoutError);
    await sleep(200);
    for (const v of ['a', 'b', 'c']) assert.is(slow(v, 0), v);
  } finally {
    await slow.close();
  }
});

test('after a timeout on a blocked worker, the next call waits for the worker and gets its own answer', async () => {
  const block = createSyncFn<typeof tasks.block>(TASKS, 'block', { timeout: 400 });
  try {
    assert.is(block(0), 0);
    assert.instance(thrown(() => block(600, 'first')), CallTimeoutError);
    // The worker is still busy with 'first' for ~200 ms; then it runs this call.
    assert.is(block(1, 'second'), 'second');
  } finally {
    await block.close();
  }
});

test('a call that times out before the worker took it is withdrawn: the worker never runs it', () => {
  const record = createSyncFn<typeof tasks.record>(TASKS, 'record', { timeout: 500 });
  try {
    assert.equal(record(0, 'warm'), ['warm']);
    // 'a' keeps the worker busy for 1,250 ms; 'b' times out at ~1,000 ms, before the worker is free to take it;
    // 'c' is taken at ~1,250 ms and answers within its 500 ms.
    assert.instance(thrown(() => record(1250, 'a')), CallTimeoutError);
    assert.instance(thrown(() => record(0, 'b')), CallTimeoutError);
    assert.equal(record(0, 'c'), ['warm', 'a', 'c']);
  } finally {
    void record.close();
  }
});

test('close() stops the worker; later calls throw ChannelClosedError', async () => {
  const f = createSyncFn<typeof tasks.default>(TASKS);
  assert.is(f(2, 2), 4);
  await f.close();
  const e = thrown(() => f(1, 1)) as ChannelClosedError;
  assert.instance(e, ChannelClosedError);
  assert.is(e.code, 'ERR_FARCALL_CLOSED');
  assert.match(e.message, /was closed/);
  await f.close(); // twice is fine
});

test('a program that never closes its sync function still exits by itself', async () => {
  const script = fileURLToPath(new URL('../fixtures/pool/sync-exit.ts', import.meta.url));
  const started = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script], { timeout: 15_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  assert.match(out, /add\(2, 3\) = 5/);
  assert.ok(performance.now() - started < 15_000);
});

test('a worker that exits or dies of an uncaught error fails the blocked call and every later one', () => {
  const exit = createSyncFn<typeof tasks.exit>(TASKS, 'exit');
  const e = thrown(() => exit(3)) as ChannelClosedError;
  assert.instance(e, ChannelClosedError);
  assert.match(e.message, /exited with code 3/);
  assert.is(thrown(() => exit(0)), e);

  const crash = createSyncFn<typeof tasks.crash>(TASKS, 'crash');
  const c = thrown(() => crash('kaboom')) as ChannelClosedError;
  assert.instance(c, ChannelClosedError);
  assert.match(c.message, /uncaught error: kaboom/);
  assert.is((c.cause as Error).message, 'kaboom');
});

test('arguments and results that cannot be cloned throw NotCloneableError; the function keeps serving', () => {
  const e = thrown(() => (echo as unknown as SyncFn<(v: unknown) => unknown>)(() => 1)) as NotCloneableError;
  assert.instance(e, NotCloneableError);
  assert.match(e.message, /arguments of sync-tasks\.ts#echo\(\) could not be cloned/);
  assert.is(echo('still here'), 'still here');

  const give = createSyncFn<typeof tasks.giveFunction>(TASKS, 'giveFunction');
  const r = thrown(() => give()) as NotCloneableError;
  assert.instance(r, NotCloneableError);
  assert.match(r.message, /result of giveFunction\(\) could not be cloned/);
  void give.close();
});

test('a missing export throws a clear error on call; a module that is not there, at createSyncFn()', () => {
  const missing = createSyncFn(TASKS, 'nope');
  const e = thrown(() => missing()) as TypeError;
  assert.instance(e, TypeError);
  assert.match(e.message, /has no function exported as "nope"/);
  assert.match(e.message, /its functions: .*later/);
  void missing.close();

  const notFn = createSyncFn(TASKS, 'notAFunction');
  assert.match((thrown(() => notFn()) as Error).message, /no function exported as "notAFunction"/);
  void notFn.close();

  const absent = thrown(() => createSyncFn(new URL('../fixtures/pool/no-such-module.ts', import.meta.url)));
  assert.instance(absent, ModuleNotFoundError);
  assert.match((absent as Error).message, /no-such-module\.ts does not exist/);
});

test('bad arguments to createSyncFn() name what was expected and what was given', () => {
  const loose = createSyncFn as unknown as (...args: unknown[]) => unknown;
  const check = (args: unknown[], ...includes: string[]): void => {
    const e = thrown(() => loose(...args)) as Error;
    assert.instance(e, TypeError);
    for (const s of includes) assert.ok(e.message.includes(s), `"${e.message}" should mention "${s}"`);
  };
  check([], 'createSyncFn() expects a module path or file URL', 'got undefined');
  check([42], 'got number 42');
  check([TASKS, 7], 'exportName must be a non-empty string', 'got number 7');
  check([TASKS, ''], 'exportName must be a non-empty string');
  check([TASKS, 'add', 'fast'], 'options must be an object', 'got a string');
  check([TASKS, 'add', { timeout: -1 }], 'option timeout', 'got number -1');
  check([TASKS, 'add', { spin: -1 }], 'option spin', 'got number -1');
  check([TASKS, 'add', { spin: '5' }], 'option spin', 'got a string');
});

test('without spinning (spin: 0) and with a long spin, calls, errors and async results are the same', () => {
  for (const spin of [0, 5000]) {
    const f = createSyncFn<typeof tasks.default>(TASKS, 'default', { spin });
    const l = createSyncFn<typeof tasks.later>(TASKS, 'later', { spin });
    try {
      for (let i = 0; i < 200; i++) assert.is(f(i, 1), i + 1);
      assert.is(l('x', 1), 'x');
      assert.is(f(2, 3), 5);
    } finally {
      void f.close();
      void l.close();
    }
  }
});

test('the spin adapts: full while it catches the other side, halved when it runs out, then stopped with ever rarer probes', () => {
  const b = new SpinBudget(100);
  assert.is(b.next(), 100);
  b.spun(true);
  assert.is(b.next(), 100);
  const lengths: number[] = [];
  for (let us = b.next(); us > 0; us = b.next()) {
    lengths.push(us);
    b.spun(false);
  }
  assert.equal(lengths, [100, 50, 25, 12.5, 6.25, 3.125]);
  // Stopped: no spin, except a full-length probe of two calls after 16 calls, then after 32 more, 64, ...
  const probes: number[] = [];
  for (let i = 2; i <= 140; i++) {
    const us = b.next();
    if (us > 0) {
      assert.is(us, 100);
      probes.push(i);
      b.spun(false);
    }
  }
  assert.equal(probes, [16, 17, 49, 50, 114, 115]);
  // A probe that catches the other side brings the full spin back.
  while (b.next() === 0);
  b.spun(true);
  assert.is(b.next(), 100);

  // spin: 0 never spins.
  const never = new SpinBudget(0);
  for (let i = 0; i < 5000; i++) assert.is(never.next(), 0);
});

test('an idle worker uses no CPU once its spin bound has passed', async () => {
  // In a process of its own, so that only this worker and its caller are counted. A worker still
  // spinning would use ~100 % of a CPU; one parked uses none (the rest is the process's own timers).
  const out = await idleRun;
  const shares = JSON.parse(out.trim().split('\n').pop()!) as number[];
  assert.is(shares.length, 2);
  for (const [i, share] of shares.entries()) {
    assert.ok(share < 0.05, `${i === 0 ? 'default spin' : '20 ms spin'}: the process used ${(share * 100).toFixed(1)} % of a CPU while idle`);
  }
});

test('types: parameters and the awaited result of F', () => {
  const typed = (f: SyncFn<typeof tasks.later>): string => f('x', 0);
  void typed;
  // @ts-expect-error a string is not a number
  const wrong = (f: SyncFn<typeof tasks.default>) => f('1', 2);
  void wrong;
});

test.run();
