/**
 * The conformance cases for streams, cancellation and deadlines: part of
 * the one suite (runConformance adds them), in a file of their own.
 */
import { setMaxListeners } from 'node:events';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAbortedError, CallTimeoutError, ChannelClosedError, currentDeadline, proxy, transfer, withOptions, type Remote } from '../../src/index.ts';
import { Peer } from '../../src/rpc/peer.ts';
import { targetOf } from '../../src/rpc/remote.ts';
import { within } from '../deadline.ts';
import { isError, rejection, type Connection, type ConformanceApi, type TransportCase } from './harness.ts';

type Api = Remote<ConformanceApi>;

/** Waits, a round trip at a time, until `check` holds; fails after `ms`. */
async function until(ms: number, what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.unreachable(`${what}: still not so after ${ms} ms`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The tables of the peer beneath `api` on this side. */
function localTables(api: Api): Record<string, number> {
  const t = targetOf(api);
  const peer = t instanceof Peer ? t : (t as unknown as { peer?: Peer }).peer;
  assert.ok(peer instanceof Peer, 'the remote has a peer beneath it');
  return peer.tables();
}

const empty = (t: Record<string, number>): boolean => Object.values(t).every((n) => n === 0);

export function streamCases(test: Test, tc: TransportCase, api: () => Api, withOwn: (use: (conn: Connection) => Promise<void>) => Promise<void>): void {
  test('stream: a returned async generator arrives as an async iterator, every item in order', async () => {
    const got: number[] = [];
    for await (const x of await api().count(2500)) got.push(x);
    assert.equal(got, Array.from({ length: 2500 }, (_, i) => i));
    const recs = [];
    for await (const r of await api().records(3)) recs.push(r);
    assert.is(recs.length, 3);
    assert.is(recs[2]!.id, 2);
    assert.instance(recs[2]!.at, Date);
    assert.equal(recs[1]!.tags, ['a', 'b']);
  });

  test('stream: a returned ReadableStream arrives as a ReadableStream', async () => {
    const rs = await api().readable(5);
    assert.instance(rs, ReadableStream);
    const got: number[] = [];
    for await (const x of rs) got.push(x);
    assert.equal(got, [0, 1, 2, 3, 4]);
  });

  test('stream: an async iterable, a ReadableStream and an object with Symbol.asyncIterator as arguments', async () => {
    async function* gen(): AsyncGenerator<number> {
      for (let i = 1; i <= 3000; i++) yield i;
    }
    assert.is(await api().sum(gen()), (3000 * 3001) / 2);
    let i = 0;
    const rs = new ReadableStream<number>({ pull: (c) => (i < 10 ? c.enqueue(i++) : c.close()) });
    assert.is(await api().sum(rs), 45);
    const custom = { [Symbol.asyncIterator]: () => ({ n: 0, next() { return Promise.resolve(this.n < 4 ? { value: this.n++, done: false } : { value: undefined, done: true }); } }) };
    assert.is(await api().sum(custom as AsyncIterable<number>), 6);
  });

  test('stream: transferred buffers inside items arrive whole, both ways', async () => {
    const sent: ArrayBuffer[] = [];
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 40; i++) {
        const c = new Uint8Array(64 * 1024).fill(i);
        sent.push(c.buffer);
        yield transfer(c, [c.buffer]);
      }
    }
    assert.equal(await api().measure(chunks()), { bytes: 40 * 64 * 1024, chunks: 40, typed: true });
    if (tc.transfers) assert.ok(sent.every((b) => b.byteLength === 0), 'the sender’s buffers are detached');
    let n = 0;
    for await (const b of await api().buffers(30, 100_000)) {
      assert.instance(b, Uint8Array);
      assert.is(b.byteLength, 100_000);
      assert.is(b[99_999], n++ & 0xff);
    }
    assert.is(n, 30);
  });

  test('stream: break ends the producer, and its finally runs', async () => {
    const before = await api().finallyCount();
    for await (const x of await api().count(1e9)) if (x === 3) break;
    await within(2000, 'the finally of a stream left by break', until(2000, 'finallyCount', async () => (await api().finallyCount()) > before));
  });

  test('stream: a throw in the producer reaches the consumer with its shape, both ways', async () => {
    const got: number[] = [];
    const err = await rejection((async () => {
      for await (const x of await api().failAfter(3)) got.push(x);
    })());
    assert.equal(got, [0, 1, 2]);
    isError(err, RangeError, ['the stream broke']);
    assert.is((err as Error & { code?: string }).code, 'E_STREAM');
    assert.is(((err as Error).cause as Error).message, 'underneath');
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      throw Object.assign(new TypeError('the caller’s stream broke'), { code: 'E_MINE' });
    }
    assert.is(await api().drain(failing()), 'TypeError: the caller’s stream broke (E_MINE)');
  });

  test('stream: an item that cannot be sent ends the stream with a NotCloneableError, in the last batch too', async () => {
    const bad = { nested: { f() {} } };
    async function* last(): AsyncGenerator<unknown> {
      yield 1;
      yield bad;
    }
    async function* early(): AsyncGenerator<unknown> {
      yield bad;
      // The batch with the bad item leaves before the generator is done.
      await new Promise<void>((resolve) => setImmediate(resolve));
      yield 2;
    }
    for (const gen of [last, early]) {
      const ended = await api().drain(gen());
      assert.ok(ended.startsWith('NotCloneableError: an item of a stream could not be sent'), `${gen.name}: ${ended}`);
    }
  });

  test('stream: the consumer’s throw() is thrown into the producer, whose finally runs', async () => {
    let caught: unknown;
    let finished = false;
    async function* gen(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } catch (e) {
        caught = e;
      } finally {
        finished = true;
      }
    }
    assert.equal(await api().takeThenThrow(gen(), 3, 'no more, thanks'), [0, 1, 2]);
    await until(2000, 'the producer hears the throw', () => finished);
    isError(caught, TypeError, ['no more, thanks']);
  });

  test('stream: an argument stream the callee drops unread is stopped, a missing method’s too', async () => {
    let stopped = 0;
    async function* unread(): AsyncGenerator<number> {
      try {
        yield 1;
      } finally {
        stopped++;
      }
    }
    const started = (gen: AsyncGenerator<number>): AsyncGenerator<number> => (void gen.next(), gen);
    assert.is(await api().ignore(started(unread())), 'ignored');
    const loose = api() as unknown as { nothingHere(x: unknown): Promise<unknown> };
    await rejection(loose.nothingHere(started(unread())));
    await until(5000, 'both unread streams stopped', async () => (await api().collectNow(), stopped === 2));
  });

  test('flow control: a slow consumer holds the producer to the window (1,000 items; 4 MiB of buffers)', async () => {
    let consumed = 0;
    const start = await api().producedCount();
    for await (const _ of await api().count(3000)) {
      consumed++;
      if (consumed % 7 === 0) {
        const ahead = (await api().producedCount()) - start - consumed;
        assert.ok(ahead <= 1000, `the producer ran ${ahead} items ahead of the consumer`);
      }
    }
    assert.is(consumed, 3000);
    consumed = 0;
    const before = await api().producedCount();
    for await (const _ of await api().buffers(300, 64 * 1024)) {
      consumed++;
      const ahead = (await api().producedCount()) - before - consumed;
      assert.ok(ahead <= 64, `the producer ran ${ahead} chunks of 64 KiB ahead of the consumer`);
    }
  });

  test('stream: close() ends open streams on both sides with ChannelClosedError', () =>
    withOwn(async (conn) => {
      const it = (await conn.api.oneThenHang())[Symbol.asyncIterator]();
      assert.is((await it.next()).value, 1);
      const pending = rejection(it.next());
      let finished = false;
      async function* mine(): AsyncGenerator<number> {
        try {
          for (let i = 0; ; i++) {
            yield i;
            await new Promise<void>((resolve) => setTimeout(resolve, 1));
          }
        } finally {
          finished = true;
        }
      }
      const consuming = rejection(conn.api.consumeForever(mine()));
      await until(2000, 'the argument stream has started', () => conn.api.producedCount().then(() => true));
      await conn.close();
      isError(await within(1000, 'next() after close()', pending), ChannelClosedError);
      isError(await within(1000, 'consumeForever() after close()', consuming), ChannelClosedError);
      await until(1000, 'the argument stream’s finally after close()', () => finished);
      assert.equal(await within(1000, 'next() once ended', it.next()), { value: undefined, done: true });
    }));

  if (tc.crashes) {
    test('stream: the serving side dying ends a stream being read with ChannelClosedError', () =>
      withOwn(async (conn) => {
        const it = (await conn.api.oneThenHang())[Symbol.asyncIterator]();
        assert.is((await it.next()).value, 1);
        const pending = rejection(it.next());
        await conn.api.exit(4);
        isError(await within(1000, 'next() after exit(4)', pending), ChannelClosedError);
      }));
  }

  // ---- cancellation and deadlines ---------------------------------------------

  test('abort: the callee’s signal fires, saying the caller aborted, before the next call is served', async () => {
    const ac = new AbortController();
    const pending = rejection(withOptions(api(), { signal: ac.signal }).waitForAbort());
    assert.is(await api().add(1, 1), 2); // waitForAbort is being served
    ac.abort(new Error('stop now'));
    const err = await pending;
    isError(err, CallAbortedError, ['waitForAbort()']);
    assert.is(((err as Error).cause as Error).message, 'stop now');
    assert.is(await api().lastAbortReason(), 'CallAbortedError: the caller aborted this call');
  });

  test('abort: the signal of a call that returned a stream ends the stream too, on both sides', async () => {
    const ac = new AbortController();
    const before = await api().finallyCount();
    const it = (await withOptions(api(), { signal: ac.signal }).count(1e9))[Symbol.asyncIterator]();
    assert.is((await it.next()).value, 0);
    ac.abort(new Error('enough streaming'));
    const err = await rejection((async () => {
      for (;;) await it.next();
    })());
    isError(err, CallAbortedError, ['count()']);
    assert.is(((err as Error).cause as Error).message, 'enough streaming');
    await until(2000, 'the producer’s finally', async () => (await api().finallyCount()) > before);
  });

  test('timeout: the callee’s signal fires, saying the deadline passed', async () => {
    isError(await rejection(withOptions(api(), { timeout: 30 }).waitForAbort()), CallTimeoutError);
    assert.match((await api().lastAbortReason())!, /^CallTimeoutError: .*deadline/);
  });

  test('deadline: currentDeadline() in the callee, and passed on to a call it makes onward', async () => {
    const t0 = Date.now();
    const { here, onward } = await withOptions(api(), { timeout: 5000 }).deadlines(proxy(() => currentDeadline()));
    assert.ok(here !== undefined && here >= t0 + 4000 && here <= Date.now() + 5000, `deadline ${here} for a call made at ${t0}`);
    assert.ok(onward !== undefined && onward <= here + 50, `the onward call's deadline ${onward} is within the caller's ${here}`);
    assert.equal(await api().deadlines(proxy(() => currentDeadline())), { here: undefined, onward: undefined });
  });

  test('late replies: to an aborted call or a timed-out stream call, dropped without touching later calls', async () => {
    const ac = new AbortController();
    const late = rejection(withOptions(api(), { signal: ac.signal }).heldEcho('late'));
    const stream = rejection(withOptions(api(), { timeout: 20 }).heldStream());
    ac.abort();
    isError(await late, CallAbortedError);
    isError(await stream, CallTimeoutError);
    const next = api().echo('next');
    await api().releaseHeld();
    assert.is(await next, 'next');
    assert.is(await api().add(2, 3), 5);
    await until(2000, 'the late reply’s stream is cancelled', async () => (await api().tables()).producing === 0);
  });

  if (tc.peerTables !== false) test('bookkeeping: 10,000 aborted calls, 10,000 timed out and 1,000 abandoned streams leave every table empty on both sides', async () => {
    // Earlier cases leave calls to hang() being served for ever; those stay.
    const before = await api().tables();
    // Two rounds of 5,000: a server serves at most 10,000 calls at once by default.
    for (let round = 0; round < 2; round++) {
      const ac = new AbortController();
      setMaxListeners(5000, ac.signal);
      const aborting = withOptions(api(), { signal: ac.signal });
      const aborted = Array.from({ length: 5000 }, () => rejection(aborting.waitForAbort()));
      await api().add(0, 0);
      ac.abort();
      for (const e of await Promise.all(aborted)) isError(e, CallAbortedError);
      const timing = withOptions(api(), { timeout: 5 });
      for (const e of await Promise.all(Array.from({ length: 5000 }, () => rejection(timing.waitForAbort())))) isError(e, CallTimeoutError);
    }
    await Promise.all(
      Array.from({ length: 1000 }, async () => {
        for await (const _ of await api().count(1e9)) break;
      }),
    );
    let seen = '';
    await until(10_000, 'empty tables', async () => {
      const [there, here] = [await api().tables(), localTables(api())];
      seen = JSON.stringify({ there, before, here });
      return there.handles! <= before.handles! && JSON.stringify({ ...there, handles: 0 }) === JSON.stringify({ ...before, handles: 0 }) && empty(here);
    }).catch((e: Error) => assert.unreachable(`${e.message}: ${seen}`));
  });
}
