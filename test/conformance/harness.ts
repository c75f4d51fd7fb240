/**
 * One conformance suite for every transport (DESIGN.md, "parity rule"): a
 * value, an error, a callback or a failure behaves the same whichever
 * channel carries it. A transport plugs in with a TransportCase.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CallAbortedError,
  CallTimeoutError,
  ChannelClosedError,
  NoSuchMethodError,
  NotCloneableError,
  ProxyReleasedError,
  proxy,
  releaseProxy,
  transfer,
  withOptions,
  currentMetadata,
  MAX_METADATA_CHARS,
  MAX_METADATA_ENTRIES,
  type Remote,
} from '../../src/index.ts';
import { difference } from './compare.ts';
import { streamCases } from './streams-cases.ts';
import { valueMatrix } from './values.ts';
import { within } from '../deadline.ts';

export type ConformanceApi = typeof import('./api.ts');

export interface Connection {
  api: Remote<ConformanceApi>;
  close(): Promise<void>;
  /**
   * Optional: kills the serving side from outside (Worker.terminate, SIGKILL).
   * Without it the crash cases SIGKILL the serving process by its pid, which
   * only works when it is not the test process.
   */
  terminate?(): Promise<void>;
}

export interface TransportCase {
  /** 'worker', 'child process', 'unix socket', 'tcp' */
  name: string;
  /** A fresh peer process/thread serving api.ts, and a client for it. */
  open(): Promise<Connection>;
  /** transfer() detaches the sender's ArrayBuffer. */
  transfers: boolean;
  /** exit()/throwUncaught() kill the serving side (false if it runs in the test process). */
  crashes: boolean;
  /**
   * The client learns why the serving side died (exit code, uncaught error):
   * true when it owns that thread or process (worker, child), false for a
   * server reached over a socket, where a crash is only a closed connection.
   */
  knowsExitCause: boolean;
  /**
   * false where the client is not one peer over one channel: a pool (calls
   * past its workers wait in its queue) or NATS (calls spread over several
   * sessions). The case that reads both peers' tables does not apply.
   */
  peerTables?: false;
}

/** Within this many milliseconds of a crash, every pending call has rejected (DESIGN.md, "No call hangs"). */
const CRASH_DEADLINE_MS = 100;

/** The reason `p` rejected with; fails the test if it fulfils. */
export async function rejection(p: unknown): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return assert.unreachable('expected a rejection, but the call succeeded');
}

/** Runs `use` and returns how it failed, whether it threw at once or returned a rejected promise. */
function failure(use: () => unknown): Promise<unknown> {
  return rejection(
    (async () => {
      await use();
    })(),
  );
}


export function isError(e: unknown, Class: abstract new (...args: never[]) => Error, includes: string[] = []): asserts e is Error {
  assert.instance(e, Class, `expected a ${Class.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  for (const s of includes) assert.ok((e as Error).message.includes(s), `"${(e as Error).message}" should mention "${s}"`);
}

/** A Remote for a value the type of a property of the API hides (comlink's types treat plain objects as data). */
const remoteOf = <T>(r: unknown): Remote<T> => r as Remote<T>;

/** Any path at all, to call what the API does not have. */
type AnyPath = { (): Promise<unknown>; readonly [key: string]: AnyPath };

export function runConformance(tc: TransportCase): void {
  const test = suite(tc.name);
  let shared: Connection | undefined;
  const api = (): Remote<ConformanceApi> => shared!.api;

  /** A connection of its own, for cases that close or crash it. */
  async function withOwn(use: (conn: Connection) => Promise<void>): Promise<void> {
    const opened = await tc.open();
    let closing: Promise<void> | undefined;
    const conn: Connection = { ...opened, close: () => (closing ??= opened.close()) };
    try {
      await use(conn);
    } finally {
      await conn.close();
    }
  }

  test.before(async () => {
    shared = await tc.open();
  });
  test.after(async () => {
    await shared?.close();
  });

  // ---- values ---------------------------------------------------------------

  for (const [label, make] of valueMatrix) {
    test(`value: ${label} arrives as structuredClone gives it`, async () => {
      const value = make();
      const want = structuredClone(value);
      const d = difference(await api().echo(value), want);
      assert.is(d, undefined, d);
    });
  }

  test('value: one object in two arguments arrives as one object', async () => {
    const x = { shared: true };
    assert.ok(await api().same(x, x));
    const [a, b] = (await api().echoAll(x, x)) as [object, object];
    assert.ok(a === b);
    assert.not.ok(await api().same(x, { shared: true }));
  });

  test('value: a getter that makes another call while its object is being sent', async () => {
    // Both calls are encoded on the same channel, one in the middle of the other.
    let inner: Promise<number> | undefined;
    const arg = {
      a: 1,
      get b() {
        inner ??= api().add(20, 22);
        return 'from the getter';
      },
      c: [3, 'x'.repeat(100)],
    };
    const echoed = await api().echo(arg);
    assert.equal(echoed, { a: 1, b: 'from the getter', c: [3, 'x'.repeat(100)] });
    assert.ok(inner, 'the getter ran');
    assert.is(await inner, 42);
    assert.is(await api().add(1, 2), 3, 'the channel still works');
  });

  test('value: errors inside a returned value arrive as structuredClone gives them', async () => {
    const got = await api().errorsInside();
    assert.instance(got.plain, Error);
    assert.instance(got.typed, TypeError);
    assert.is(got.typed.message, 'typed');
    assert.instance(got.withCause.cause, Error);
    assert.is((got.withCause.cause as Error).message, 'inner');
    // The same value cloned here once more must not change.
    const d = difference(got, structuredClone(got));
    assert.is(d, undefined, d);
  });

  // ---- errors ---------------------------------------------------------------

  test('error: name, message, cause, code and own properties arrive', async () => {
    const e = await rejection(api().throwError());
    isError(e, Error, ['it broke']);
    assert.is(e.name, 'Error');
    const own = e as Error & { code?: unknown; detail?: unknown; count?: unknown };
    assert.is(own.code, 'E_BROKE');
    assert.equal(own.detail, { attempts: 3 });
    assert.is(own.count, 7);
    assert.equal(Object.keys(e).sort(), ['code', 'count', 'detail']);
    isError(e.cause, RangeError, ['the root cause']);
  });

  test('error: the stack keeps the remote frames, marked as remote', async () => {
    const e = await rejection(api().throwError());
    isError(e, Error);
    assert.ok(e.stack?.startsWith('Error: it broke'), e.stack);
    assert.match(e.stack ?? '', /\[remote\][^\n]*throwError/);
    assert.not.match(e.stack ?? '', /^\s+at (?!\[remote\])/m, 'every frame of the remote stack is marked');
  });

  test('error: built-in classes stay themselves', async () => {
    isError(await rejection(api().throwTypeError()), TypeError, ['wrong type']);
  });

  test('error: AggregateError keeps its errors, each with its shape', async () => {
    const e = await rejection(api().rejectAggregate());
    isError(e, AggregateError, ['several things failed']);
    const errors = (e as AggregateError).errors;
    assert.is(errors.length, 3);
    isError(errors[0], Error, ['first']);
    isError(errors[1], TypeError, ['second']);
    assert.is(errors[2], 'third');
  });

  test('error: a custom subclass keeps its name, message and own properties', async () => {
    const e = await rejection(api().throwCustom());
    isError(e, Error, ['custom failure']);
    assert.is(e.name, 'CustomError');
    assert.is((e as Error & { status?: unknown }).status, 418);
    assert.ok(e.stack?.startsWith('CustomError: custom failure'), e.stack);
  });

  test('error: one that cannot be encoded still rejects the call, saying why', async () => {
    isError(await rejection(api().throwUnencodable()), Error, ['a getter that throws']);
    assert.is(await api().add(1, 2), 3, 'the serving side is still up');
  });

  for (const [label, value] of [
    ['a string', 'just a string'],
    ['a number', 42],
    ['undefined', undefined],
    ['null', null],
    ['a plain object', { reason: 'plain', n: 1 }],
  ] as const) {
    test(`error: ${label} thrown arrives as itself, sync or async`, async () => {
      assert.equal(await rejection(api().throwValue(value)), value);
      assert.equal(await rejection(api().rejectValue(value)), value);
    });
  }

  // ---- many calls -----------------------------------------------------------

  test('10,000 calls in flight each get their own answer', async () => {
    const n = 10_000;
    const calls: Array<Promise<number>> = [];
    for (let i = 0; i < n; i++) calls.push(i % 2 ? api().add(i, i) : api().addLater(i, 1));
    const results = await Promise.all(calls);
    for (let i = 0; i < n; i++) if (results[i] !== (i % 2 ? 2 * i : i + 1)) assert.unreachable(`call ${i} got ${results[i]}`);
  });

  // ---- callbacks and proxies ------------------------------------------------

  test('500 calls in flight, each carrying and returning about 1 KiB of records', async () => {
    const records = (n: number) => ({ items: Array.from({ length: 10 + (n % 9) }, (_, i) => ({ id: i, name: `record ${n}.${i}`, ok: i % 2 === 0, tags: ['a', 'b'] })) });
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(Array.from({ length: 500 }, (_, n) => api().echo(records(n))));
      results.forEach((got, n) => assert.equal(got, records(n), `call ${n} of round ${round}`));
    }
  });

  test('callback: called several times, its results awaited', async () => {
    const seen: number[] = [];
    const cb = proxy((n: number) => {
      seen.push(n);
      return n * 10;
    });
    assert.equal(await api().watch(cb, 4), [10, 20, 30, 40]);
    assert.equal(seen, [1, 2, 3, 4]);
    const slow = proxy(async (n: number) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return -n;
    });
    assert.equal(await api().watch(slow, 3), [-1, -2, -3]);
  });

  test('callback: its error reaches the remote caller and comes back with its shape', async () => {
    const failing = proxy((n: number): number => {
      throw Object.assign(new RangeError(`no ${n}`), { code: 'E_CB' });
    });
    const e = await rejection(api().watch(failing, 2));
    isError(e, RangeError, ['no 1']);
    assert.is((e as Error & { code?: unknown }).code, 'E_CB');
  });

  test('callback: receives an object of the other side by reference', async () => {
    const total = await api().lend(
      proxy(async (c) => {
        const counter = remoteOf<import('./api.ts').Counter>(c);
        await counter.increment(5);
        return await counter.value;
      }),
    );
    assert.is(total, 30); // 15 seen by the callback + 15 on the lender's side
  });

  test('proxy returned from a call: methods, state, nested objects', async () => {
    const m = await api().makeCounter(1);
    assert.is(await m.increment(), 2);
    assert.is(await m.increment(), 3);
    assert.is(await m.count, 3);
    assert.is(await m.calls(), 2);
    const nested = remoteOf<{ label: string; double(n: number): number }>(m.nested);
    assert.is(await nested.label, 'nested');
    assert.is(await nested.double(21), 42);
    m[releaseProxy]();
  });

  test('proxy returned from a proxy: each keeps its own state', async () => {
    const m = await api().makeCounter(2);
    const child = await m.child();
    assert.is(await child.increment(), 21);
    const fork = await child.fork();
    assert.is(await fork.increment(4), 25);
    assert.is(await child.value, 21);
    for (const r of [fork, child, m]) r[releaseProxy]();
  });

  test('releaseProxy frees the object on the other side, and the proxy refuses further use', async () => {
    const before = await api().releaseCount();
    const t = await api().makeTracked();
    assert.is(await t.ping(), 'pong');
    t[releaseProxy]();
    isError(await failure(() => t.ping()), ProxyReleasedError);
    assert.is(await api().releaseCount(), before + 1);
  });

  // ---- properties and classes -----------------------------------------------

  test('property: read, written, then read back', async () => {
    const counter = remoteOf<ConformanceApi['counter'] & { added?: string }>(api().counter);
    assert.is(await counter.label, 'counter');
    const start = await counter.value;
    (counter as { value: unknown }).value = start + 41;
    assert.is(await counter.value, start + 41);
    (counter as { added: unknown }).added = 'new';
    assert.is(await counter.added, 'new');
  });

  test('class: new remote.Class() gives a proxy to a new instance', async () => {
    const c = await new (api().Counter)(5);
    assert.is(await c.increment(), 6);
    assert.is(await c.increment(10), 16);
    assert.is(await c.value, 16);
    const other = await new (api().Counter)();
    assert.is(await other.value, 0);
    c[releaseProxy]();
    isError(await failure(() => c.increment()), ProxyReleasedError);
    other[releaseProxy]();
  });

  // ---- transfer -------------------------------------------------------------

  test('transfer: a transferred argument arrives whole', async () => {
    const buf = new Uint8Array(64).fill(9).buffer;
    assert.is(await api().byteLength(transfer(buf, [buf])), 64);
    const view = new Uint16Array(10);
    assert.is(await api().byteLength(transfer(view, [view.buffer])), 20);
    if (tc.transfers) {
      assert.is(buf.byteLength, 0, "the sender's ArrayBuffer is detached");
      assert.is(view.byteLength, 0, "the sender's view is detached");
    }
  });

  test('transfer: a transferred result arrives whole', async () => {
    const got = await api().makeBuffer(32, 7);
    assert.instance(got, ArrayBuffer);
    assert.equal([...new Uint8Array(got)], new Array(32).fill(7));
    if (tc.transfers) assert.is(await api().lastSentByteLength(), 0, "the sender's ArrayBuffer is detached");
  });

  test('transfer: an untransferred buffer is copied, the sender keeps it', async () => {
    const buf = new ArrayBuffer(16);
    assert.is(await api().byteLength(buf), 16);
    assert.is(buf.byteLength, 16);
  });

  // ---- bad calls ------------------------------------------------------------

  test("an argument's getter that throws: the call rejects with that error, the getter run once", async () => {
    let runs = 0;
    const arg = {
      get x(): never {
        runs++;
        throw new RangeError('out of range, says the getter');
      },
    };
    const err = await rejection(api().echo(arg));
    assert.ok(err instanceof RangeError, `got ${String(err)}`);
    assert.is((err as Error).message, 'out of range, says the getter');
    assert.is(runs, 1);
    assert.is(await api().add(1, 2), 3, 'the channel still works');
  });

  test('not cloneable: a bare function argument is rejected, naming it and suggesting proxy()', async () => {
    const e = await rejection(api().echo((() => 1) as never));
    isError(e, NotCloneableError, ['argument 1 of echo()', 'proxy(']);
    const e2 = await rejection(api().echoAll(1, { method() {} }));
    isError(e2, NotCloneableError, ['argument 2 of echoAll()', 'proxy(']);
    assert.is(await api().add(1, 1), 2, 'the connection still serves');
  });

  test('not cloneable: a symbol argument is rejected, naming it', async () => {
    const e = await rejection(api().echo(Symbol('nope') as never));
    isError(e, NotCloneableError, ['argument 1 of echo()', 'proxy(']);
    assert.is(await api().add(2, 2), 4, 'the connection still serves');
  });

  test('not cloneable: a bad argument fails only its own call among calls sent together', async () => {
    const [a, bad, b] = await Promise.allSettled([api().add(1, 2), api().echo({ f: Symbol('x') }), api().add(3, 4)]);
    assert.equal(a, { status: 'fulfilled', value: 3 });
    assert.equal(b, { status: 'fulfilled', value: 7 });
    assert.is(bad?.status, 'rejected');
    isError((bad as PromiseRejectedResult).reason, NotCloneableError, ['argument 1 of echo()']);
  });

  test('too deep: a 2,000-deep argument and result each fail only their own call; calls beside them succeed', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 2000; i++) deep = { a: deep };
    const [a, arg, b] = await Promise.allSettled([api().add(1, 2), api().depthOf(deep), api().add(3, 4)]);
    assert.equal([a, b], [{ status: 'fulfilled', value: 3 }, { status: 'fulfilled', value: 7 }]);
    isError((arg as PromiseRejectedResult).reason, NotCloneableError, ['argument 1 of depthOf()']);
    const [c, result, d] = await Promise.allSettled([api().add(5, 6), api().nested(2000), api().add(7, 8)]);
    assert.equal([c, d], [{ status: 'fulfilled', value: 11 }, { status: 'fulfilled', value: 15 }]);
    isError((result as PromiseRejectedResult).reason, NotCloneableError, ['nested()']);
    assert.is(await api().depthOf(await api().nested(900)), 900, 'a value within the limit crosses both ways');
  });

  test('not cloneable: a function result is rejected, naming the call', async () => {
    isError(await rejection(api().makeFunction()), NotCloneableError, ['makeFunction']);
  });

  test('missing property: a read gives undefined, as in comlink; a call to it still rejects with NoSuchMethodError', async () => {
    const loose = api() as unknown as AnyPath;
    assert.is(await loose.notThere, undefined);
    assert.is(await loose.counter!.notThere, undefined);
    isError(await rejection(loose.notThere!()), NoSuchMethodError, ['notThere']);
    isError(await rejection(loose.nothingHere!.at), NoSuchMethodError, ['nothingHere.at']);
  });

  test('missing path: the rejection names the path', async () => {
    const loose = api() as unknown as AnyPath;
    isError(await rejection(loose.nothingHere!.at!.all!()), NoSuchMethodError, ['nothingHere.at.all']);
    isError(await rejection(loose.counter!.missing!.deep!()), NoSuchMethodError, ['counter.missing.deep']);
    isError(await rejection(loose.counter!.value!()), NoSuchMethodError, ['counter.value', 'not a function']);
  });

  // ---- per-call options -------------------------------------------------------

  test('withOptions: a timeout rejects that call with CallTimeoutError; the remote it came from is unchanged', async () => {
    const timed = withOptions(api(), { timeout: 20 });
    isError(await within(2000, 'hang() with a 20 ms timeout', rejection(timed.hang())), CallTimeoutError, ['hang()', '20 ms']);
    assert.is(await timed.add(1, 2), 3);
    assert.is((await withOptions(api(), { timeout: 1000 }).counter).label, 'counter');
  });

  test('withOptions: an abort rejects that call at once with CallAbortedError, its cause the reason', async () => {
    const ac = new AbortController();
    const pending = rejection(withOptions(api(), { signal: ac.signal }).hang());
    ac.abort(new Error('enough'));
    const err = await within(1000, 'hang() after abort', pending);
    isError(err, CallAbortedError, ['hang()']);
    assert.is(((err as Error).cause as Error).message, 'enough');
    isError(await rejection(withOptions(api(), { signal: ac.signal }).add(1, 2)), CallAbortedError);
  });

  test('withOptions: options stack, and bad ones are refused naming the option', async () => {
    const ac = new AbortController();
    const both = withOptions(withOptions(api(), { signal: ac.signal }), { timeout: 5000 });
    const pending = rejection(both.hang());
    ac.abort();
    isError(await within(1000, 'hang() with stacked options', pending), CallAbortedError);
    assert.throws(() => withOptions(api(), { timeot: 5 } as never), /has no option timeot \(did you mean timeout\?\)/);
    assert.throws(() => withOptions(api(), { timeout: -1 }), /timeout must be a non-negative number/);
    assert.throws(() => withOptions({}, { timeout: 1 }), /expects a remote/);
  });

  // ---- metadata ---------------------------------------------------------------

  test('metadata: the callee reads what the call carried, after awaits too; a call without reads none', async () => {
    const tagged = withOptions(api(), { metadata: { tenant: 'acme', 'request-id': 'r1' } });
    assert.equal(await tagged.metadata(), { tenant: 'acme', 'request-id': 'r1' });
    assert.equal(await tagged.metadataLater(), { tenant: 'acme', 'request-id': 'r1' });
    assert.equal(await api().metadata(), {});
    assert.equal(await withOptions(tagged, { metadata: { 'request-id': 'r2' } }).metadata(), { tenant: 'acme', 'request-id': 'r2' }, 'stacked: merged, the new one wins');
  });

  test('metadata: carried on when the callee calls on (here, back into a callback of the caller)', async () => {
    const seen = proxy(() => ({ ...currentMetadata() }));
    assert.equal(await withOptions(api(), { metadata: { trace: 't-42' } }).callBack(seen), { trace: 't-42' });
    assert.equal(await api().callBack(seen), {}, 'nothing carried when nothing was sent');
  });

  test('metadata: past its bounds or not strings, refused naming the problem', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_METADATA_ENTRIES + 1 }, (_, i) => [`k${i}`, 'v']));
    assert.throws(() => withOptions(api(), { metadata: many }), (e: Error) => e instanceof RangeError && e.message.includes(`more than ${MAX_METADATA_ENTRIES} entries`));
    assert.throws(() => withOptions(api(), { metadata: { big: 'x'.repeat(MAX_METADATA_CHARS) } }), (e: Error) => e instanceof RangeError && e.message.includes(`over ${MAX_METADATA_CHARS} characters`));
    assert.throws(() => withOptions(api(), { metadata: { n: 1 } as never }), /metadata\.n must be a string/);
    assert.throws(() => withOptions(api(), { metadata: 'x' as never }), /metadata must be an object of string keys and values/);
  });
  streamCases(test, tc, api, withOwn);

  // ---- closing and crashing ---------------------------------------------------

  test('close(): a pending call rejects with ChannelClosedError', () =>
    withOwn(async (conn) => {
      assert.is(await conn.api.add(1, 2), 3);
      const pending = rejection(conn.api.hang());
      await conn.close();
      isError(await within(1000, 'hang() after close()', pending), ChannelClosedError);
      const late = await within(1000, 'a call after close()', failure(() => conn.api.add(1, 2)));
      assert.ok(late instanceof ChannelClosedError || late instanceof ProxyReleasedError, String(late));
    }));

  if (tc.crashes) {
    test(`crash: exit(3) rejects a pending call within ${CRASH_DEADLINE_MS} ms, naming the exit code`, () =>
      withOwn(async (conn) => {
        const pending = rejection(conn.api.hang());
        await conn.api.exit(3);
        const start = performance.now();
        const e = await within(1000, 'hang() after exit(3)', pending);
        const ms = performance.now() - start;
        isError(e, ChannelClosedError);
        if (tc.knowsExitCause) assert.match(e.message, /\b3\b/);
        assert.ok(ms < CRASH_DEADLINE_MS, `rejected after ${ms.toFixed(1)} ms`);
        isError(await within(1000, 'a call after the exit', failure(() => conn.api.add(1, 2))), ChannelClosedError);
      }));

    test('crash: an uncaught error rejects a pending call with its message', () =>
      withOwn(async (conn) => {
        const pending = rejection(conn.api.hang());
        await conn.api.throwUncaught('kaboom 7731');
        const start = performance.now();
        const e = await within(1000, 'hang() after throwUncaught()', pending);
        const ms = performance.now() - start;
        isError(e, ChannelClosedError, tc.knowsExitCause ? ['kaboom 7731'] : []);
        assert.ok(ms < CRASH_DEADLINE_MS, `rejected after ${ms.toFixed(1)} ms`);
      }));

    test('crash: terminated from outside, a pending call rejects', () =>
      withOwn(async (conn) => {
        const pending = rejection(conn.api.hang());
        assert.is(await conn.api.add(1, 1), 2); // the hang() call has reached the other side
        if (conn.terminate) {
          await conn.terminate();
        } else {
          const pid = await conn.api.pid();
          assert.is.not(pid, process.pid, 'the serving side runs in this process: give the connection a terminate()');
          process.kill(pid, 'SIGKILL');
        }
        isError(await within(1000, 'hang() after termination', pending), ChannelClosedError);
      }));
  }

  test.run();
}
