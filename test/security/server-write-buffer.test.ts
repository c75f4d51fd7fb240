/**
 * maxServerWriteBuffer: the bytes all clients leave unread are bounded
 * together; the slowest reader is cut first.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, listen } from '../../src/index.ts';
import { isError, rejection, tempDir, within } from '../streams/helpers.ts';
import { rawClient } from './raw.ts';

const tmp = tempDir();
const MiB = 1024 * 1024;

test('clients that do not read: past maxServerWriteBuffer the one with most waiting is cut, the other keeps its replies', async () => {
  const served: string[] = [];
  const server = await listen({ bytes: (n: number, who: string) => (served.push(who), new Uint8Array(n)) }, tmp.path('w.sock'), {
    maxServerWriteBuffer: 8 * MiB,
  });
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const a = await rawClient(server.address as string);
  const b = await rawClient(server.address as string);
  a.client.socket.pause();
  b.client.socket.pause();
  const fromA = Array.from({ length: 3 }, () => a.call({ p: ['bytes'], a: [MiB, 'a'] }));
  const fromB = Array.from({ length: 10 }, () => b.call({ p: ['bytes'], a: [MiB, 'b'] }));
  await within(10_000, 'the server cutting a client', new Promise<void>((resolve) => server.once('clientError', () => resolve())));
  isError(errors[0], ChannelClosedError, 'maxServerWriteBuffer 8388608', 'reads too slowly');
  // B, the slowest, was cut; A reads its three replies once it resumes.
  b.client.socket.resume();
  await b.client.whenClosed();
  a.client.socket.resume();
  for (const r of await Promise.all(fromA)) assert.is(r.t, 1);
  assert.is(errors.length, 1);
  assert.ok(served.filter((w) => w === 'b').length > 3);
  void fromB.map((p) => p.catch(() => {}));
  a.close();
  await server.close();
});

test('maxServerWriteBuffer must be a positive number', async () => {
  const err = await rejection(listen({}, tmp.path('x.sock'), { maxServerWriteBuffer: 0 }).then(async (s) => (await s.close(), s)));
  isError(err, TypeError, 'maxServerWriteBuffer');
});

test.after(() => tmp.remove());
test.run();
