/** connect() where no server listens says so in words, and keeps the system's code. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../../src/index.ts';
import { rejection, tempDir } from './helpers.ts';

const tmp = tempDir();

test('no socket file: no server is listening at the path', async () => {
  const path = tmp.path('never.sock');
  const err = (await rejection(connect(path))) as NodeJS.ErrnoException;
  assert.is(err.message, `no server is listening at ${path} (there is no socket file there); start it with listen() first`);
  assert.is(err.code, 'ENOENT');
  assert.instance(err.cause, Error);
});

test('a stale socket file: says the file is there but nobody listens', async () => {
  const path = tmp.path('stale.sock');
  // A server killed before it could remove its file leaves exactly this behind.
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script], { stdio: 'ignore' });
  assert.ok(existsSync(path), 'the killed server left its socket file');
  const err = (await rejection(connect(path))) as NodeJS.ErrnoException;
  assert.ok(err.message.startsWith(`no server is listening at ${path} (a stale socket file is there`), err.message);
  assert.is(err.code, 'ECONNREFUSED');
});

test('a TCP port nobody listens on', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const err = (await rejection(connect({ host: '127.0.0.1', port }))) as NodeJS.ErrnoException;
  assert.ok(err.message.startsWith(`no server is listening at 127.0.0.1:${port}`), err.message);
  assert.is(err.code, 'ECONNREFUSED');
});

test.after(() => tmp.remove());

test.run();
