// Going offline without callers noticing: close() deregisters, tells clients (Drain), lets calls finish, then closes.
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, serve, type Service } from '../../src/index.ts';
import { sendDrain } from '../../src/rpc/drain.ts';
import { Peer } from '../../src/rpc/peer.ts';
import { LocalRegistry } from '../../src/services/local-registry.ts';
import { dial, resolveAddress } from '../../src/transport/socket.ts';
import { StreamTransport } from '../../src/transport/stream.ts';
import { within } from '../deadline.ts';
import { registryDirForTest, removeDir, startInstances, type InstanceProcess } from './helpers.ts';

interface Api {
  slow(ms: number): Promise<number>;
  echo<T>(x: T): T;
  pid(): number;
}

test('close() under load: calls in flight finish, new calls go to the other instance, none fails', async () => {
  const dir = await registryDirForTest();
  const api = (tag: string) => ({ slow: (ms: number) => new Promise<string>((r) => setTimeout(() => r(tag), ms)) });
  const a = await serve('drain', api('a'), { registry: dir });
  const b = await serve('drain', api('b'), { registry: dir });
  try {
    const conn = await connect<ReturnType<typeof api>>({ service: 'drain', registry: dir });
    const drained = once(conn, 'drain');
    const first = Array.from({ length: 200 }, () => conn.api.slow(100));
    const closing = a.close();
    const [info] = (await within(5_000, 'the drain notice', drained)) as [{ id: string }];
    assert.is(info.id, a.id);
    // Sent after the notice: every one goes to b.
    const after = await within(5_000, 'calls after', Promise.all(Array.from({ length: 50 }, () => conn.api.slow(1))));
    assert.equal([...new Set(after)], ['b']);
    const before = await within(5_000, 'calls in flight', Promise.all(first));
    assert.ok(before.includes('a') && before.includes('b'), 'calls in flight on the draining instance finished there');
    await within(5_000, 'close', closing);
    assert.is(a.connections, 0);
    await conn.close();
  } finally {
    await Promise.all([a.close(), b.close()]);
    await removeDir(dir);
  }
});

test('a plain connect() client hears drain, answers at once, and reconnects to the next server on that address', async () => {
  const dir = await registryDirForTest();
  // A long drainTimeout: close() returns soon only because the client answered the notice.
  let svc: Service | undefined = await serve('plain', { v: () => 1 }, { registry: dir, drainTimeout: 60_000 });
  try {
    const conn = await connect<{ v(): number }>(svc.address as string, { reconnect: { minDelay: 10 } });
    const drained = once(conn, 'drain');
    await within(10_000, 'close, once the client answered', svc.close());
    await within(1_000, 'drain event', drained);
    svc = await serve('plain', { v: () => 2 }, { registry: dir, address: svc.address as string });
    assert.is(await within(5_000, 'call after restart', conn.api.v()), 2);
    await conn.close();
  } finally {
    await svc?.close();
    await removeDir(dir);
  }
});

test('a client that never answers the drain notice costs close() at most drainTimeout; its calls in flight still finish', async () => {
  const dir = await registryDirForTest();
  let release!: () => void;
  const svc = await serve('deaf', { hold: () => new Promise<string>((r) => (release = () => r('done'))) }, { registry: dir, drainTimeout: 100 });
  try {
    // A client that does not know Drain: a bare peer on a socket.
    const socket = await dial(resolveAddress('test', svc.address));
    const transport = new StreamTransport(socket, socket, { label: 'server' });
    const peer = new Peer(transport);
    await transport.ready;
    // A Drain nobody asked for is nothing to a server: it goes on serving this client.
    sendDrain(peer);
    const held = peer.call(0, 0, ['hold']);
    await within(5_000, 'the call arrives', (async () => {
      while (!release) await new Promise((r) => setImmediate(r));
    })());
    const closing = svc.close();
    await within(5_000, 'the instance leaves the registry', (async () => {
      while ((await new LocalRegistry(dir).list('deaf')).length > 0) await new Promise((r) => setImmediate(r));
    })());
    release();
    assert.is(await within(5_000, 'the held call', held), 'done');
    await within(10_000, 'close after drainTimeout', closing);
    await within(5_000, 'the client is closed', new Promise((r) => peer.onClose(r)));
  } finally {
    await svc.close();
    await removeDir(dir);
  }
});

test('rolling restart of three instance processes under continuous load: no call fails, idempotent or not', async () => {
  const dir = await registryDirForTest();
  let procs: InstanceProcess[] = [];
  try {
    procs = await within(30_000, 'three instances', Promise.all([0, 1, 2].map(() => startInstances(dir, 'roll'))));
    const conn = await connect<Api>({ service: 'roll', registry: dir });
    let stop = false;
    let done = 0;
    const failures: unknown[] = [];
    const seen = new Map<number, number>();
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const pid = await conn.api.slow(5);
          seen.set(pid, (seen.get(pid) ?? 0) + 1);
          await conn.api.echo('x');
          done += 2;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const load = Array.from({ length: 50 }, worker);
    try {
      for (let i = 0; i < procs.length; i++) {
        assert.is(await within(20_000, 'graceful stop', procs[i]!.stop()), 0);
        const added = once(conn, 'instanceAdded');
        procs[i] = await within(30_000, 'a new instance', startInstances(dir, 'roll'));
        await within(5_000, 'the client hears of it', added);
      }
      // Every new instance gets calls without the client doing anything (its first dial may take a while on a busy machine).
      await within(20_000, 'calls on every new instance', (async () => {
        while (!procs.every((p) => seen.has(p.pid))) await new Promise((r) => setImmediate(r));
      })());
    } finally {
      stop = true;
    }
    await within(10_000, 'load stops', Promise.all(load));
    assert.equal(failures, []);
    assert.ok(done > 500, `${done} calls made`);
    await conn.close();
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await removeDir(dir);
  }
});

test.run();
