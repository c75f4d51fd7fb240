/**
 * A value nested too deep to carry fails its own call with a clear error,
 * never the channel and the other calls on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, listen, NotCloneableError, wrap } from '../../src/index.ts';
import { Tag } from '../../src/codec/compact.ts';
import { MsgType } from '../../src/protocol.ts';
import { encodeFrame } from '../../src/framing.ts';
import { isError, rejection, tempDir } from '../streams/helpers.ts';
import { rawClient } from './raw.ts';
import { tsWorker } from '../fixtures/ts-worker.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`d${n++}.sock`);

const deep = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};

const api = {
  depth(v: unknown): number {
    let d = 0;
    while (typeof v === 'object' && v !== null) [v, d] = [(v as { a: unknown }).a, d + 1];
    return d;
  },
  slow: (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 20)),
};

test('over a socket, a 2,000-deep argument is refused at encode; ten calls in flight beside it succeed', async () => {
  const server = await listen(api, sock());
  const conn = await connect<typeof api>(server.address);
  const others = Array.from({ length: 10 }, (_, i) => conn.api.slow(i));
  const err = await rejection(conn.api.depth(deep(2000)));
  isError(err, NotCloneableError, 'argument 1 of depth()');
  assert.ok(/deeper than 1000 levels/.test(err.message) || /call stack/.test(err.message), err.message);
  assert.equal(await Promise.all(others), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(await conn.api.depth(deep(900)), 900, 'a value within the limit still crosses');
  await conn.close();
  await server.close();
});

test('raw frames: a 2,000-deep argument fails only its call, with a reply naming the limit; the connection stays', async () => {
  const server = await listen(api, sock());
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const raw = await rawClient(server.address as string);
  // [CALL, id 100, ['depth'], [ [[[...]]] ]] in the compact codec, by hand.
  const levels = 2000;
  const head = [1, Tag.Array, 4, Tag.Int32, 0xff, 0xff, 0xff, 0xff, 0x80 + 100, Tag.Array, 1, Tag.Name, 5, ...Buffer.from('depth'), Tag.Array, 1];
  const body = Buffer.from([...head, ...Array.from({ length: levels }, () => [Tag.Array, 1]).flat(), 0x81]);
  const others = Array.from({ length: 10 }, (_, i) => raw.call({ p: ['slow'], a: [i] }));
  for (const chunk of encodeFrame(body, [])) raw.client.write(chunk);
  const reply = await new Promise<Record<string, unknown>>((resolve) => {
    const before = raw.client.onMessage!;
    raw.client.onMessage = (m) => ((m as { i: number }).i === 100 ? resolve(m as Record<string, unknown>) : before(m));
  });
  assert.is(reply.t, MsgType.Throw);
  const e = reply.e as { n: string; m: string };
  assert.is(e.n, 'ProtocolError');
  assert.ok(e.m.includes('deeper than 1000 levels'), e.m);
  for (const r of await Promise.all(others)) assert.is(r.t, MsgType.Return);
  assert.is((await raw.call({ p: ['slow'], a: [42] })).v, 42);
  assert.equal(errors, []);
  raw.close();
  await server.close();
});

type WorkerApi = typeof api & { deep(levels: number): unknown; items(levels: number): AsyncIterable<unknown>; echo<T>(v: T): T };
// One worker for the cases below: each also shows the channel survived the one before.
const worker = tsWorker(new URL('../fixtures/depth.worker.ts', import.meta.url));
const remote = wrap<WorkerApi>(worker);

test('over a worker, a 2,000-deep argument and a 2,000-deep result each fail their own call; ten calls in flight beside each succeed', async () => {
  let others = Array.from({ length: 10 }, (_, i) => remote.slow(i));
  const arg = await rejection(remote.depth(deep(2000)));
  isError(arg, NotCloneableError, 'argument 1 of depth() is nested deeper than 1000 levels');
  assert.equal(await Promise.all(others), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  others = Array.from({ length: 10 }, (_, i) => remote.slow(i));
  const result = await rejection(remote.deep(2000));
  isError(result, NotCloneableError, 'the result of deep() is nested deeper than 1000 levels');
  assert.equal(await Promise.all(others), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(await remote.depth(deep(900)), 900, 'a value within the limit still crosses');
  assert.is(await remote.depth(await remote.deep(900)), 900);
});

test('over a worker, a stream item too deep ends its stream with the reason; the channel stays', async () => {
  const got: unknown[] = [];
  const err = await rejection(
    (async () => {
      for await (const v of await remote.items(2000)) got.push(v);
    })(),
  );
  assert.ok(/nested deeper than 1000 levels/.test(err.message), err.message);
  // Items leave in batches: the first may have been refused with the deep one.
  assert.ok(got.length <= 1 && got.every((v) => v === 1), JSON.stringify(got));
  assert.is(await remote.slow(7), 7);
});

test('over a worker, a widely shared object and a cycle are not taken for depth', async () => {
  // 40 levels of [x, x]: 2^40 paths through 40 arrays, cheap for structured clone and so for the check.
  let shared: unknown[] = [1];
  for (let i = 0; i < 40; i++) shared = [shared, shared];
  const back = (await remote.echo(shared)) as unknown[];
  assert.ok(back[0] === back[1]);
  const ring: { a?: unknown } = {};
  ring.a = { a: ring };
  const round = (await remote.echo(ring)) as { a: { a: unknown } };
  assert.ok(round.a.a === round);
});

test.after(async () => {
  tmp.remove();
  await worker.terminate();
});
test.run();
