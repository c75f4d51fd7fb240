/**
 * Streams against a peer that breaks the rules, and the window option.
 * A hand-written side speaks the protocol over a MessageChannel.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, NotCloneableError, ProtocolError, connect, expose, listen as serve, wrap } from '../src/index.ts';
import { Peer } from '../src/rpc/peer.ts';
import { targetOf } from '../src/rpc/remote.ts';
import { MsgType, invalidMessage, type Message } from '../src/protocol.ts';
import { unpackPortData } from '../src/transport/port.ts';
import { within } from './deadline.ts';
import { rawClient } from './security/raw.ts';
import { tempDir } from './streams/helpers.ts';

/** Messages the farcall side sends, as they arrive on the hand-written side. */
function listen(port: MessagePort): { next(t: number): Promise<Message & Record<string, unknown>> } {
  const got: Message[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (data) => {
    got.push(...unpackPortData(data));
    wake?.();
  });
  return {
    async next(t) {
      for (;;) {
        const i = got.findIndex((m) => m.t === t);
        if (i >= 0) return got.splice(i, 1)[0] as Message & Record<string, unknown>;
        await within(2000, `a message of type ${t}`, new Promise<void>((resolve) => (wake = resolve)));
      }
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return assert.unreachable('expected a rejection');
}

test('invalidMessage: every field of the stream messages is checked', () => {
  const bad: unknown[] = [
    { t: MsgType.StreamData, s: -1, v: [] },
    { t: MsgType.StreamData, s: 1, v: 'x' },
    { t: MsgType.StreamData, s: 1, v: [], x: [[0, 'stream']] },
    { t: MsgType.StreamCredit, s: 1, n: 1.5, b: 0 },
    { t: MsgType.StreamCredit, s: 1, n: 1, b: 2 ** 40 },
    { t: MsgType.StreamCredit, s: 1, n: 1 },
    { t: MsgType.StreamEnd, s: '1' },
    { t: MsgType.StreamCancel },
    { t: MsgType.Cancel, i: 1, r: 2 },
  ];
  for (const m of bad) assert.type(invalidMessage(m), 'string', JSON.stringify(m));
  const good: unknown[] = [
    { t: MsgType.StreamData, s: 1, v: [1, 2], x: [[0, 'proxy', 3]] },
    { t: MsgType.StreamCredit, s: 1, n: 1000, b: 4 << 20 },
    { t: MsgType.StreamEnd, s: 1, e: { k: 0, v: 1 } },
    { t: MsgType.StreamCancel, s: 1 },
    { t: MsgType.Cancel, i: 1, r: 1 },
  ];
  for (const m of good) assert.is(invalidMessage(m), undefined, JSON.stringify(m));
});

test('a producer that sends more items than its credit costs itself the connection', async () => {
  const { port, first, credit } = await openStream({ items: 4 });
  try {
    assert.equal([credit.s, credit.n], [7, 4]);
    port.postMessage({ t: MsgType.StreamData, s: 7, v: [1, 2, 3, 4, 5] });
    const err = await within(2000, 'next() after an overrun', rejection(first));
    assert.instance(err, ChannelClosedError);
    assert.match((err as Error).message, /5 items with credit for 4/);
  } finally {
    port.close();
  }
});

/** A stream of the hand-written side, 7, returned to a call over a port with `window`; its first next() is pending, and the credit it was granted. */
async function openStream(window: { items?: number; bytes?: number }): Promise<{ port: MessagePort; it: AsyncIterator<unknown>; first: Promise<IteratorResult<unknown>>; credit: Message & Record<string, unknown> }> {
  const { port1, port2 } = new MessageChannel();
  const api = wrap<{ items(): AsyncIterable<unknown> }>(port1, { streamWindow: window });
  const other = listen(port2);
  const call = api.items();
  const c = await other.next(MsgType.Call);
  port2.postMessage({ t: MsgType.Return, i: c.i, v: undefined, x: [[0, 'stream', 7]] });
  const it = (await call)[Symbol.asyncIterator]();
  const first = it.next();
  const credit = await other.next(MsgType.StreamCredit);
  return { port: port2, it, first, credit };
}

/** A stream with a window of 1,000 bytes. */
async function byteStream(): Promise<{ port: MessagePort; it: AsyncIterator<unknown>; first: Promise<IteratorResult<unknown>> }> {
  const opened = await openStream({ bytes: 1000 });
  assert.equal(opened.credit.b, 1000);
  return opened;
}

test('a producer may send one item past its byte credit: it pulls while any is left', async () => {
  const { port, it, first } = await byteStream();
  try {
    port.postMessage({ t: MsgType.StreamData, s: 7, v: ['a'.repeat(999), 'b'.repeat(500)] });
    assert.is(((await within(2000, 'the first item', first)).value as string).length, 999);
    assert.is(((await it.next()).value as string).length, 500);
  } finally {
    port.close();
  }
});

test('a producer that sends an item with its byte credit spent costs itself the connection', async () => {
  const { port, first } = await byteStream();
  try {
    port.postMessage({ t: MsgType.StreamData, s: 7, v: ['a'.repeat(999), 'b'.repeat(500), 'c'] });
    const err = await within(2000, 'next() after a byte overrun', rejection(first));
    assert.instance(err, ChannelClosedError);
    assert.match((err as Error).message, /stream 7 sent an item with its byte credit spent \(streamWindow.bytes 1000\)/);
  } finally {
    port.close();
  }
});

test('raw frames: a client whose argument stream overruns its byte credit is cut off; the server serves on', async () => {
  const tmp = tempDir();
  let consumed = 0;
  const server = await serve(
    {
      async upload(chunks: AsyncIterable<Uint8Array>) {
        for await (const c of chunks) consumed += c.byteLength;
        return consumed;
      },
      ping: () => 'pong',
    },
    tmp.path('s.sock'),
    { streamWindow: { bytes: 1024 } },
  );
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const raw = await rawClient(server.address as string);
  const credits: Array<Record<string, unknown>> = [];
  const replies = raw.client.onMessage!;
  raw.client.onMessage = (m) => ((m as { t: number }).t === MsgType.StreamCredit ? credits.push(m as Record<string, unknown>) : replies(m));
  void raw.call({ p: ['upload'], a: [undefined], x: [[0, 'stream', 7]] }).catch(() => {});
  await within(2000, 'the server’s credit', (async () => {
    while (credits.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  })());
  assert.equal([credits[0]!.s, credits[0]!.b], [7, 1024]);
  raw.post({ t: MsgType.StreamData, s: 7, v: [new Uint8Array(1000), new Uint8Array(2000), new Uint8Array(10)] });
  await raw.client.whenClosed(2000);
  assert.is(errors.length, 1);
  assert.instance(errors[0], ProtocolError);
  assert.match(errors[0]!.message, /stream 7 sent an item with its byte credit spent \(streamWindow.bytes 1024\)/);
  const conn = await connect<{ ping(): string }>(server.address as string);
  assert.is(await conn.api.ping(), 'pong');
  await conn.close();
  await server.close();
  tmp.remove();
});

test('a stream id that arrives twice costs the sender its connection', async () => {
  const { port1, port2 } = new MessageChannel();
  const api = wrap<{ two(): [AsyncIterable<number>, AsyncIterable<number>] }>(port1);
  const other = listen(port2);
  const call = api.two();
  const c = await other.next(MsgType.Call);
  port2.postMessage({ t: MsgType.Return, i: c.i, v: undefined, x: [[0, 'stream', 3]] });
  await call;
  const again = rejection(api.two());
  const c2 = await other.next(MsgType.Call);
  port2.postMessage({ t: MsgType.Return, i: c2.i, v: undefined, x: [[0, 'stream', 3]] });
  assert.match(String(await within(2000, 'the second call', again)), /stream 3 arrived twice/);
  port2.close();
});

test('a stream argument of a call that cannot be sent is stopped, not kept for ever', async () => {
  const { port1, port2 } = new MessageChannel();
  expose({ sum: async (it: AsyncIterable<number>) => it && 0 }, port1);
  const api = wrap<{ sum(it: AsyncIterable<number>, extra: unknown): Promise<number> }>(port2);
  let stopped = 0;
  async function* gen(): AsyncGenerator<number> {
    try {
      yield 1;
    } finally {
      stopped++;
    }
  }
  const started = (g: AsyncGenerator<number>): AsyncGenerator<number> => (void g.next(), g);
  // Refused while encoding (a bare function), then by postMessage (a method inside an object).
  assert.instance(await rejection(api.sum(started(gen()), () => 1)), NotCloneableError);
  assert.instance(await rejection(api.sum(started(gen()), { f() {} })), NotCloneableError);
  await within(2000, 'both generators stopped', (async () => {
    while (stopped < 2) await new Promise<void>((resolve) => setImmediate(resolve));
  })());
  assert.is((targetOf(api) as Peer).tables().producing, 0);
  port1.close();
});

test('streamWindow: the producer runs at most the consumer’s window ahead of it', async () => {
  const { port1, port2 } = new MessageChannel();
  let produced = 0;
  expose(
    {
      async *numbers() {
        for (let i = 0; i < 500; i++) {
          produced++;
          yield i;
        }
      },
    },
    port1,
  );
  const api = wrap<{ numbers(): AsyncIterable<number> }>(port2, { streamWindow: { items: 10 } });
  let consumed = 0;
  for await (const _ of await api.numbers()) {
    consumed++;
    // Let the producer run as far as it may before the next item is taken.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    assert.ok(produced - consumed <= 10, `${produced - consumed} items ahead`);
  }
  assert.is(consumed, 500);
  port1.close();
});

test('streamWindow: a bad window is refused naming what is wrong', () => {
  const { port1 } = new MessageChannel();
  assert.throws(() => wrap(port1, { streamWindow: { itmes: 5 } as never }), /streamWindow has no itmes \(did you mean items\?\)/);
  assert.throws(() => wrap(port1, { streamWindow: { items: 0 } }), /streamWindow.items must be a whole number/);
  assert.throws(() => wrap(port1, { streamWindow: 5 as never }), /streamWindow must be an object/);
  port1.close();
});

test.run();
