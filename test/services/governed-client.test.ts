// connect({ service }) takes what connect() takes for each instance's connection: auth, middleware, metrics, streamWindow, pings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthenticationError, connect, currentIdentity, serve, type Middleware } from '../../src/index.ts';
import { registryDirForTest, rejects, removeDir } from './helpers.ts';

const SECRET = 'a service secret, long enough';
const api = {
  add: (a: number, b: number): number => a + b,
  who: (): string | undefined => currentIdentity(),
};

test('a service served with auth: connect({ service, auth }) reaches it with its key id; without the secret, AuthenticationError', async () => {
  const registry = await registryDirForTest();
  const svc = await serve('guarded', api, { registry, auth: { keys: { ops: SECRET } } });
  try {
    const conn = await connect<typeof api>({ service: 'guarded', registry, auth: { keyId: 'ops', secret: SECRET } });
    assert.is(await conn.api.add(1, 2), 3);
    assert.is(await conn.api.who(), 'ops');
    await conn.close();
    const err = await rejects(() => connect<typeof api>({ service: 'guarded', registry }), /authentication/);
    assert.instance(err, AuthenticationError);
  } finally {
    await svc.close();
    await removeDir(registry);
  }
});

test('connect({ service }) runs its middleware on each call and meters the calls across instances', async () => {
  const registry = await registryDirForTest();
  const a = await serve('metered', api, { registry });
  const b = await serve('metered', api, { registry });
  try {
    const seen: string[] = [];
    const log: Middleware = async (ctx, next) => {
      seen.push(ctx.path.join('.'));
      return next();
    };
    const conn = await connect<typeof api>({ service: 'metered', registry, use: [log], metrics: true, balance: 'round-robin' });
    for (let i = 0; i < 6; i++) assert.is(await conn.api.add(i, 1), i + 1);
    assert.equal(seen, Array(6).fill('add'));
    assert.is(conn.stats().client.add?.calls, 6);
    assert.match(conn.metrics({ service: 'metered' }), /farcall_calls_total\{service="metered",side="client",method="add"\} 6/);
    await conn.close();
  } finally {
    await Promise.all([a.close(), b.close()]);
    await removeDir(registry);
  }
});

test('connect({ service }) checks the connection options it now takes', async () => {
  // Each message names what the option now is; before, auth and pingInterval were unknown names.
  await rejects(() => connect({ service: 'x', pingIntervall: 5 } as never), /has no option pingIntervall \(did you mean pingInterval\?\)/);
  await rejects(() => connect({ service: 'x', auth: { secret: 3 } } as never), /option auth\.secret must be a string or bytes, got number 3/);
  await rejects(() => connect({ service: 'x', pingInterval: -1 }), /option pingInterval must be a non-negative number of milliseconds/);
});

test.run();
