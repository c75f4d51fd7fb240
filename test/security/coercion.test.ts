/**
 * A client's proxy coerced by server code must not leave calls behind
 * that reject unheard once the client leaves (an unhandled rejection ends
 * a Node process).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listen } from '../../src/index.ts';
import { MsgType } from '../../src/protocol.ts';
import { tempDir } from '../streams/helpers.ts';
import { rawClient } from './raw.ts';

test('a proxy passed where a number is expected fails that call at once; the client leaving leaves nothing unhandled', async () => {
  const tmp = tempDir();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const server = await listen({ add: (a: number, b: number) => a + b, greet: (n: string) => `hi ${n}` }, tmp.path('c.sock'));
  const raw = await rawClient(server.address as string);
  for (const p of [['add'], ['greet']]) {
    const r = await raw.call({ p, a: [undefined, 1], x: [[0, 'proxy', 3]] });
    assert.is(r.t, MsgType.Throw);
    assert.ok(r.e?.m?.includes('cannot be converted'), r.e?.m);
  }
  assert.equal(raw.callsIn, [], 'the server made no call to the client');
  raw.close();
  await raw.client.whenClosed();
  await server.close();
  // Rejections are reported after a turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  assert.equal(unhandled, []);
  tmp.remove();
});

test.run();
