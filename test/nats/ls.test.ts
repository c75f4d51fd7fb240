/**
 * Listing services over NATS: listNatsServices() gathers $SRV.INFO and
 * $SRV.STATS answers, and `farcall ls --nats URL` prints them.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as assert from 'uvu/assert';
import { connectNats } from '../../src/services/nats/connect.ts';
import { listNatsServices } from '../../src/services/nats/ls.ts';
import { serveNats } from '../../src/services/nats/serve.ts';
import { natsSkipReason, reportSkipped, natsSuite } from './server.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const farcall = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', cli, ...args], { timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

const test = natsSuite('nats ls');

test('listNatsServices() finds every instance, with its version and requests, sorted', async ({ nc }) => {
  const a = await serveNats('thumbs', { ok: () => 1 }, { nats: nc, version: '1.2.0', description: 'makes thumbnails' });
  const b = await serveNats('thumbs', { ok: () => 1 }, { nats: nc, version: '1.3.0' });
  const c = await serveNats('audit', { ok: () => 1 }, { nats: nc });
  try {
    const conn = await connectNats<{ ok(): number }>({ service: 'audit', nats: nc, sessions: 1 });
    assert.is(await conn.api.ok(), 1);
    await conn.close();
    const all = await listNatsServices(nc, { wait: 300 });
    assert.equal(all.map((s) => s.name), ['audit', 'thumbs', 'thumbs']);
    assert.equal(new Set(all.map((s) => s.id)), new Set([a.id, b.id, c.id]));
    const first = all.find((s) => s.id === a.id)!;
    assert.is(first.version, '1.2.0');
    assert.is(first.description, 'makes thumbnails');
    assert.ok(all[0]!.requests! >= 2, 'the hello and the call');
    const thumbs = await listNatsServices(nc, { service: 'thumbs', wait: 300 });
    assert.equal(thumbs.map((s) => s.version).sort(), ['1.2.0', '1.3.0']);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('listNatsServices() checks its arguments', async ({ nc }) => {
  for (const [opts, what] of [
    [{ wiat: 5 }, 'no option wiat (did you mean wait?)'],
    [{ wait: -1 }, 'option wait'],
    [{ service: 'a b' }, 'service name'],
  ] as const) {
    const err = await listNatsServices(nc, opts as any).catch((e: unknown) => e);
    assert.instance(err, TypeError);
    assert.ok((err as Error).message.includes(what), (err as Error).message);
  }
});

// Each run of the command is a process of its own (seconds on a busy machine): three at once, each showing something else.
test('farcall ls --nats URL prints a table; a mistake exits 2 with a hint; no server there exits 1 saying so', async ({ nc, server }) => {
  const svc = await serveNats('listed', { ok: () => 1 }, { nats: nc, version: '2.0.0' });
  try {
    const [table, bad, nobody] = await Promise.all([
      farcall('ls', '--nats', server.url, '--wait', '300'),
      farcall('ls', '--nats', server.url, '--wiat', '3'),
      farcall('ls', '--nats', 'nats://127.0.0.1:1'),
    ]);
    assert.is(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+ID\s+VERSION\s+REQUESTS\s+DESCRIPTION/);
    assert.match(table.stdout, new RegExp(`listed\\s+${svc.id}\\s+2\\.0\\.0\\s+0\\s+farcall service listed`));
    assert.is(bad.code, 2);
    assert.match(bad.stderr, "farcall ls: unknown option '--wiat'");
    assert.is(nobody.code, 1);
    assert.match(nobody.stderr, 'farcall ls: cannot reach a NATS server at nats://127.0.0.1:1');
  } finally {
    await svc.close();
  }
});

if (natsSkipReason()) reportSkipped('test/nats/ls.test.ts');
else test.run();
