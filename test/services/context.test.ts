// Knowing who calls: 'connection' / 'disconnect' on listen() and serve(), currentCall().client; the built-in introspection call.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, currentCall, listen, proxy, serve, type ClientInfo, type ServiceInfo } from '../../src/index.ts';
import { within } from '../deadline.ts';
import { registryDirForTest, rejects, removeDir } from './helpers.ts';

test('a daemon drops the callbacks of a client that left; the others never see its error', async () => {
  const dir = await registryDirForTest();
  const watchers = new Map<ClientInfo, (n: number) => Promise<void>>();
  const api = {
    watch(cb: (n: number) => Promise<void>): number {
      const { client } = currentCall();
      watchers.set(client!, cb);
      return client!.id;
    },
    async notify(n: number): Promise<number> {
      await Promise.all([...watchers.values()].map((cb) => cb(n)));
      return watchers.size;
    },
    whoAmI: (): number | undefined => currentCall().client?.id,
  };
  const server = await listen(api, `${dir}/d.sock`);
  try {
    const connected: ClientInfo[] = [];
    server.on('connection', (c) => connected.push(c));
    server.on('disconnect', (c) => watchers.delete(c));
    const alice = await connect<typeof api>(`${dir}/d.sock`);
    const bob = await connect<typeof api>(`${dir}/d.sock`);
    const heard: number[] = [];
    const aliceId = await alice.api.watch(proxy(async () => {}));
    await bob.api.watch(proxy(async (n: number) => void heard.push(n)));
    assert.is(connected.length, 2);
    assert.is(connected[0]!.id, aliceId);
    assert.is(await alice.api.whoAmI(), aliceId);
    assert.is.not(await bob.api.whoAmI(), aliceId);
    assert.match(connected[0]!.remoteAddress, 'd.sock');
    assert.instance(connected[0]!.connectedAt, Date);
    const gone = once(server, 'disconnect');
    await alice.close();
    const [who, cause] = (await within(5_000, 'disconnect', gone)) as [ClientInfo, Error];
    assert.is(who, connected[0]);
    assert.instance(cause, Error);
    assert.is(await bob.api.notify(7), 1, 'alice\'s callback was dropped; bob\'s call did not fail');
    assert.equal(heard, [7]);
    // The server can also drop a client itself.
    const bobGone = once(server, 'disconnect');
    connected[1]!.close();
    await within(5_000, 'server closes bob', bobGone);
    await bob.close();
  } finally {
    await server.close();
    await removeDir(dir);
  }
  assert.throws(() => currentCall(), /must be called synchronously/);
});

test('every instance answers $farcall.info(): name, version, metadata, methods, uptime, calls in flight, stats (null: metrics off); nothing else is reachable there', async () => {
  const dir = await registryDirForTest();
  let release!: () => void;
  const api = {
    resize: (w: number) => w,
    hold: () => new Promise<void>((r) => (release = r)),
    nested: { deep: () => 1 },
  };
  const svc = await serve('intro', api, { registry: dir, version: '1.4.0', metadata: { zone: 'a' } });
  const events: string[] = [];
  svc.on('connection', () => events.push('connection'));
  svc.on('disconnect', () => events.push('disconnect'));
  try {
    const conn = await connect<typeof api>({ service: 'intro', registry: dir });
    const builtin = conn.api as unknown as { $farcall: Record<string, (...a: unknown[]) => Promise<unknown>> & { info(): Promise<ServiceInfo> } };
    const held = conn.api.hold();
    await within(5_000, 'the held call arrives', (async () => {
      while (!release) await new Promise((r) => setImmediate(r));
    })());
    const info = await builtin.$farcall.info();
    assert.is(info.name, 'intro');
    assert.is(info.id, svc.id);
    assert.is(info.version, '1.4.0');
    assert.equal(info.metadata, { zone: 'a' });
    assert.equal(info.methods, ['hold', 'nested.deep', 'resize']);
    assert.is(info.pid, process.pid);
    assert.is(info.inFlight, 1);
    assert.is(info.connections, 1);
    assert.is(info.stats, null, 'served without metrics');
    assert.type(info.uptimeMs, 'number');
    assert.ok(info.uptimeMs >= 0);
    release();
    await held;
    const paths = builtin.$farcall as unknown as Record<string, () => Promise<unknown>>;
    await rejects(() => paths['constructor']!(), /not exposed/);
    await rejects(() => (paths['info'] as unknown as Record<string, () => Promise<unknown>>)['call']!(), /not exposed/);
    await rejects(() => paths['toString']!(), /not exposed/);
    // The user's api is untouched.
    assert.not.ok('$farcall' in api);
    assert.is(await conn.api.resize(5), 5);
    await conn.close();
    await within(5_000, 'disconnect', (async () => {
      while (!events.includes('disconnect')) await new Promise((r) => setImmediate(r));
    })());
    assert.equal(events, ['connection', 'disconnect']);
  } finally {
    await svc.close();
    await removeDir(dir);
  }
});

test.run();
