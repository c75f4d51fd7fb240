// connect({ service }): balancing, versions, no instance, waiting, following the registry, the connection cap, outliers.
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, NoSuchServiceError, serve, type Service } from '../../src/index.ts';
import { LocalRegistry } from '../../src/services/local-registry.ts';
import { within } from '../deadline.ts';
import { registryDirForTest, rejects, removeDir } from './helpers.ts';

/** An api that says which instance served the call. */
const named = (tag: string) => ({
  who: (): string => tag,
  wait: (ms: number): Promise<string> => new Promise((r) => setTimeout(() => r(tag), ms)),
});
type Api = ReturnType<typeof named>;

async function withRegistry(fn: (dir: string, started: Service[]) => Promise<void>): Promise<void> {
  const dir = await registryDirForTest();
  const started: Service[] = [];
  try {
    await fn(dir, started);
  } finally {
    await Promise.all(started.map((s) => s.close()));
    await removeDir(dir);
  }
}

const count = (xs: string[]): Record<string, number> => xs.reduce<Record<string, number>>((o, x) => ((o[x] = (o[x] ?? 0) + 1), o), {});

test('least-pending (the default) spreads calls over every instance; round-robin takes each in turn', async () => {
  await withRegistry(async (dir, started) => {
    for (const tag of ['a', 'b', 'c']) started.push(await serve('spread', named(tag), { registry: dir }));
    const conn = await connect<Api>({ service: 'spread', registry: dir });
    const seen = count(await Promise.all(Array.from({ length: 300 }, () => conn.api.wait(5))));
    assert.equal(Object.keys(seen).sort(), ['a', 'b', 'c']);
    for (const n of Object.values(seen)) assert.ok(n >= 60, `each instance takes a fair share: ${JSON.stringify(seen)}`);
    const rr = await connect<Api>({ service: 'spread', registry: dir, balance: 'round-robin' });
    const order: string[] = [];
    for (let i = 0; i < 9; i++) order.push(await rr.api.who());
    assert.equal(count(order), { a: 3, b: 3, c: 3 });
    assert.is(order[0] !== order[1] && order[1] !== order[2] && order[0] !== order[2], true);
    await Promise.all([conn.close(), rr.close()]);
  });
});

test('a version range picks only the instances that satisfy it', async () => {
  await withRegistry(async (dir, started) => {
    started.push(await serve('ver', named('1.3.0'), { registry: dir, version: '1.3.0' }));
    started.push(await serve('ver', named('1.4.2'), { registry: dir, version: '1.4.2' }));
    started.push(await serve('ver', named('2.0.0'), { registry: dir, version: '2.0.0' }));
    const conn = await connect<Api>({ service: 'ver', registry: dir, version: '^1.4' });
    assert.equal(count(await Promise.all(Array.from({ length: 30 }, () => conn.api.who()))), { '1.4.2': 30 });
    assert.equal(conn.instances.map((i) => i.version), ['1.4.2']);
    await conn.close();
    await rejects(() => connect({ service: 'ver', registry: dir, version: '>=3' }), /no live instance of service 'ver' matching version >=3/);
  });
});

test('no instance: NoSuchServiceError naming the service and the registry; with waitForInstance, it waits', async () => {
  await withRegistry(async (dir, started) => {
    const err = await rejects(() => connect({ service: 'nobody', registry: dir }), new RegExp(`no live instance of service 'nobody' in the registry at ${dir}`));
    assert.instance(err, NoSuchServiceError);
    assert.is((err as NoSuchServiceError).code, 'ERR_FARCALL_NO_SUCH_SERVICE');
    await rejects(() => connect({ service: 'nobody', registry: dir, waitForInstance: 30 }), /waited 30 ms/);
    const waiting = connect<Api>({ service: 'late', registry: dir, waitForInstance: 10_000 });
    started.push(await serve('late', named('late'), { registry: dir }));
    const conn = await within(10_000, 'connect waits for the instance', waiting);
    assert.is(await conn.api.who(), 'late');
    // Every instance gone: a call fails the same clear way, at once.
    const noWait = await connect<Api>({ service: 'late', registry: dir });
    const removed = once(noWait, 'instanceRemoved');
    await started.pop()!.close();
    await within(5_000, 'the drained instance leaves', removed);
    const late = await rejects(() => noWait.api.who(), /no live instance of service 'late'/);
    assert.instance(late, NoSuchServiceError);
    await Promise.all([conn.close(), noWait.close()]);
  });
});

test('a new instance gets calls without the caller doing anything', async () => {
  await withRegistry(async (dir, started) => {
    started.push(await serve('grow', named('first'), { registry: dir }));
    const conn = await connect<Api>({ service: 'grow', registry: dir });
    assert.is(await conn.api.who(), 'first');
    const added = once(conn, 'instanceAdded');
    started.push(await serve('grow', named('second'), { registry: dir }));
    await within(2_000, 'the client hears of the new instance', added);
    const seen = count(await Promise.all(Array.from({ length: 20 }, () => conn.api.wait(5))));
    assert.ok((seen.second ?? 0) > 0, JSON.stringify(seen));
    await conn.close();
  });
});

test('maxConnections caps how many instances are connected at once', async () => {
  await withRegistry(async (dir, started) => {
    for (const tag of ['a', 'b', 'c']) started.push(await serve('cap', named(tag), { registry: dir }));
    const conn = await connect<Api>({ service: 'cap', registry: dir, maxConnections: 2 });
    await Promise.all(Array.from({ length: 100 }, () => conn.api.wait(2)));
    assert.is(started.reduce((n, s) => n + s.connections, 0), 2);
    await conn.close();
  });
});

test('an instance whose connection keeps failing is ejected for a while, then tried again; calls go elsewhere', async () => {
  await withRegistry(async (dir, started) => {
    started.push(await serve('outlier', named('good'), { registry: dir }));
    // A registered instance that accepts and hangs up at once: alive by pid and socket, useless by protocol.
    let accepted = 0;
    const bad = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    const path = join(dir, 'bad.sock');
    await new Promise<void>((r) => bad.listen(path, r));
    const reg = await new LocalRegistry(dir).register({ id: 'bad', name: 'outlier', version: '1.0.0', metadata: {}, address: path, pid: process.pid, startedAt: Date.now() });
    try {
      const conn = await connect<Api>({ service: 'outlier', registry: dir });
      const results: string[] = [];
      const until = Date.now() + 1_200;
      while (Date.now() < until) results.push(...(await Promise.all(Array.from({ length: 10 }, () => conn.api.who()))));
      assert.equal(Object.keys(count(results)), ['good']);
      // Tried at 0, then after 0.5 s and 1 s of ejection: a handful of attempts, not one per call.
      assert.ok(accepted >= 2 && accepted <= 4, `the failing instance was tried ${accepted} times`);
      await conn.close();
    } finally {
      await reg.close();
      await new Promise((r) => bad.close(r));
    }
  });
});

test.run();
