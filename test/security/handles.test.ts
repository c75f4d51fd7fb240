/**
 * Handles over a socket: a client may release only what it was given, and
 * maxHandles bounds the callbacks it passes in as well as the proxies it holds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, finalizer, listen, proxy, releaseProxy } from '../../src/index.ts';
import { CallKind, MsgType } from '../../src/protocol.ts';
import { isError, rejection, tempDir } from '../streams/helpers.ts';
import { FarcallError } from '../../src/errors.ts';
import { rawClient } from './raw.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`h${n++}.sock`);

test('a raw Release of handle 0 ends that connection only: the shared api is not finalized', async () => {
  let finalized = 0;
  const api = { add: (a: number, b: number) => a + b, [finalizer]: () => finalized++ };
  const server = await listen(api, sock());
  const other = await connect<typeof api>(server.address);
  for (let i = 0; i < 20; i++) {
    const raw = await rawClient(server.address as string);
    raw.post({ t: MsgType.Release, h: 0 });
    await raw.client.whenClosed();
  }
  assert.is(finalized, 0, 'the api the other clients use was finalized');
  assert.is(await other.api.add(1, 2), 3);
  await other.close();
  await server.close();
});

test('maxHandles counts the callbacks a client passes in: one past it fails that call, the connection stays', async () => {
  const held: unknown[] = [];
  const api = { subscribe: (cb: unknown) => void held.push(cb), count: () => held.length };
  const server = await listen(api, sock(), { maxHandles: 10 });
  const raw = await rawClient(server.address as string);
  for (let i = 1; i <= 10; i++) {
    const r = await raw.call({ p: ['subscribe'], a: [undefined], x: [[0, 'proxy', i]] });
    assert.is(r.t, MsgType.Return, `subscribe ${i}`);
  }
  const refused = await raw.call({ p: ['subscribe'], a: [undefined], x: [[0, 'proxy', 11]] });
  assert.is(refused.t, MsgType.Throw);
  assert.ok(refused.e?.m?.includes('maxHandles 10'), refused.e?.m);
  assert.is(held.length, 10);
  assert.is((await raw.call({ p: ['count'] })).v, 10, 'the connection is still served');
  raw.close();
  await server.close();
});

test('maxHandles through connect(): the 11th subscribe rejects naming the limit; room again once the server lets go', async () => {
  const held: Array<{ [releaseProxy](): void }> = [];
  const api = {
    subscribe: (cb: { [releaseProxy](): void }) => void held.push(cb),
    dropAll: () => {
      for (const cb of held.splice(0)) cb[releaseProxy]();
    },
  };
  const server = await listen(api, sock(), { maxHandles: 10 });
  const conn = await connect<typeof api>(server.address);
  const cb = proxy(() => {});
  for (let i = 0; i < 10; i++) await conn.api.subscribe(cb as never);
  const err = await rejection(conn.api.subscribe(cb as never));
  isError(err, FarcallError, 'maxHandles 10');
  await conn.api.dropAll();
  await conn.api.subscribe(cb as never);
  await conn.close();
  await server.close();
});

test.after(() => tmp.remove());
test.run();
