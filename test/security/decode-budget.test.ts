/**
 * maxMessageItems: decoding is bounded by what it builds, not only by the
 * frame's bytes. A message past the budget fails its own call.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtocolError, connect, listen } from '../../src/index.ts';
import { encodeFrame } from '../../src/framing.ts';
import { MsgType } from '../../src/protocol.ts';
import { isError, rejection, tempDir, within } from '../streams/helpers.ts';
import { compactBomb, v8Bomb, type BombKind } from './bombs.ts';
import { rawClient } from './raw.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`b${n++}.sock`);
const MiB = 1024 * 1024;
const gc = globalThis.gc as () => void;
const api = { f: (a: unknown[]) => a.length, add: (a: number, b: number) => a + b, count: (a: unknown[]) => a.length };

test('compact bombs at the default limit: each fails its own call naming maxMessageItems; the heap stays bounded', async () => {
  const server = await listen(api, sock());
  const raw = await rawClient(server.address as string);
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  for (const kind of ['map', 'set', 'object', 'array', 'int'] as BombKind[]) {
    const id = 100;
    const reply = new Promise<Record<string, unknown>>((resolve) => {
      const before = raw.client.onMessage!;
      raw.client.onMessage = (m) => ((m as { i: number }).i === id ? ((raw.client.onMessage = before), resolve(m as Record<string, unknown>)) : before(m));
    });
    for (const chunk of encodeFrame(compactBomb(kind, 8 * MiB, id), [])) raw.client.write(chunk);
    const r = await within(30_000, `the reply to the ${kind} bomb`, reply);
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    assert.is(r.t, MsgType.Throw, kind);
    assert.ok((r.e as { m: string }).m.includes('maxMessageItems 200000'), (r.e as { m: string }).m);
  }
  // Before the budget, an 8 MiB body of empty Maps cost 851 MiB.
  assert.ok(peak < 128 * MiB, `heap grew by ${(peak / MiB).toFixed(0)} MiB`);
  assert.is((await raw.call({ p: ['add'], a: [1, 2] })).v, 3, 'the connection is still served');
  raw.close();
  await server.close();
});

/** Resolves with the reply to call `id` on a raw client. */
function replyTo(raw: Awaited<ReturnType<typeof rawClient>>, id: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const before = raw.client.onMessage!;
    raw.client.onMessage = (m) => ((m as { i: number }).i === id ? ((raw.client.onMessage = before), resolve(m as Record<string, unknown>)) : before(m));
  });
}

test('ValueSerializer bombs are counted before V8 decodes them: a call (object or tuple) fails alone; a body that is no message closes its connection', async () => {
  const server = await listen(api, sock(), { maxMessageItems: 10_000 });
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const other = await connect<typeof api>(server.address);
  const raw = await rawClient(server.address as string);
  for (const [id, body] of [
    [300, v8Bomb(10_000, 300)],
    [301, v8Bomb(10_000, 301, 'tuple')],
  ] as const) {
    const reply = replyTo(raw, id);
    for (const chunk of encodeFrame(body, [])) raw.client.write(chunk);
    const r = await within(10_000, `the reply to call ${id}`, reply);
    assert.is(r.t, MsgType.Throw);
    assert.ok((r.e as { m: string }).m.includes('maxMessageItems 10000'), (r.e as { m: string }).m);
  }
  assert.is((await raw.call({ p: ['add'], a: [1, 2] })).v, 3, 'the connection is still served');
  assert.equal(errors, []);
  // No call to fail: the body is 10,000 Maps and nothing else.
  for (const chunk of encodeFrame(v8Bomb(10_000, 0, 'bare'), [])) raw.client.write(chunk);
  await raw.client.whenClosed();
  isError(errors[0], ProtocolError, 'maxMessageItems 10000');
  assert.is(await other.api.add(2, 3), 5);
  await other.close();
  await server.close();
});

test('a call over the server\'s budget through connect(): that call rejects, the connection stays', async () => {
  const server = await listen(api, sock(), { maxMessageItems: 1000 });
  const conn = await connect<typeof api>(server.address);
  const err = await rejection(conn.api.count(Array.from({ length: 2000 }, (_, i) => i)));
  isError(err, ProtocolError, 'maxMessageItems 1000');
  assert.is(await conn.api.count([1, 2, 3]), 3);
  assert.ok(conn.connected);
  await conn.close();
  await server.close();
});

test('a result over the client\'s budget rejects that call on the client; the connection stays', async () => {
  const server = await listen({ ...api, list: (k: number) => Array.from({ length: k }, (_, i) => ({ i })) }, sock());
  const conn = await connect<{ list(k: number): unknown[]; add(a: number, b: number): number }>(server.address, { maxMessageItems: 1000 });
  const err = await rejection(conn.api.list(1000));
  isError(err, ProtocolError, 'maxMessageItems 1000');
  assert.is(await conn.api.add(1, 1), 2);
  await conn.close();
  await server.close();
});

test('maxMessageItems must be a positive whole number', async () => {
  for (const bad of [0, -1, 1.5, '10']) {
    const err = await rejection(connect(sock(), { maxMessageItems: bad as number }));
    isError(err, TypeError, 'maxMessageItems');
  }
});

test.after(() => tmp.remove());
test.run();
