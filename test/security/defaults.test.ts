/**
 * A server's defaults suit clients it does not trust.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, listen } from '../../src/index.ts';
import { rejection, tempDir } from '../streams/helpers.ts';

test('by default, an error a client receives carries no stack naming the server\'s files', async () => {
  const tmp = tempDir();
  const server = await listen({ fail: () => { throw new Error('no'); } }, tmp.path('e.sock'));
  const conn = await connect<{ fail(): void }>(server.address);
  const err = await rejection(conn.api.fail());
  assert.is(err.message, 'no');
  assert.not.ok(err.stack?.includes('[remote]'), err.stack);
  assert.not.ok(err.stack?.includes('defaults.test.ts'), err.stack);
  await conn.close();
  await server.close();
  tmp.remove();
});

test.run();
