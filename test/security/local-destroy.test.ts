/**
 * A socket destroyed by this process says so, rather than blaming the other side.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type net from 'node:net';
import { ChannelClosedError, connect, listen } from '../../src/index.ts';
import { isError, rejection, tempDir } from '../streams/helpers.ts';

test('a client socket destroyed locally mid-write: calls reject saying it was destroyed on this side', async () => {
  const tmp = tempDir();
  const server = await listen({ size: (b: ArrayBuffer) => b.byteLength, never: () => new Promise(() => {}) }, tmp.path('d.sock'));
  const conn = await connect<{ size(b: ArrayBuffer): number; never(): Promise<void> }>(server.address);
  const causes: Error[] = [];
  conn.on('disconnect', (e) => causes.push(e));
  const writing = conn.api.size(new ArrayBuffer(48 * 1024 * 1024));
  const waiting = conn.api.never();
  // The socket is the client's own; an application holding it (or a library beneath it) may destroy it.
  (conn as unknown as { socket: net.Socket }).socket.destroy();
  for (const call of [writing, waiting]) {
    const err = await rejection(call);
    isError(err, ChannelClosedError, 'destroyed on this side');
    assert.not.ok(err.message.includes('server at') && err.message.includes('closed the connection'), err.message);
  }
  isError(causes[0], ChannelClosedError, 'destroyed on this side');
  await conn.close();
  await server.close();
  tmp.remove();
});

test.run();
