/**
 * farcall/node-adapter: comlink's nodeEndpoint(), for code that imports it.
 * The adapter works as comlink's does, and wrap()/expose() see through it to
 * the port, so a worker's exit still rejects pending calls.
 */
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, expose, wrap } from '../src/index.ts';
import nodeEndpoint from '../src/node-adapter.ts';
import type { ConformanceApi } from './conformance/harness.ts';
import { within } from './deadline.ts';
import { tsWorker } from './fixtures/ts-worker.ts';

test('as in comlink: message listeners get { data }, are removed, and handleEvent objects work', async () => {
  const { port1, port2 } = new MessageChannel();
  const ep = nodeEndpoint(port1);
  const got: unknown[] = [];
  const fn = (ev: { data: unknown }): void => void got.push(['fn', ev.data]);
  // comlink's listener may be an object with handleEvent (its type says so; ours is looser at run time).
  const obj = { handleEvent: (ev: { data: unknown }) => void got.push(['obj', ev.data]) } as unknown as (ev: { data: unknown }) => void;
  ep.addEventListener('message', fn);
  ep.addEventListener('message', obj);
  port2.postMessage(1);
  await within(2000, 'both listeners', new Promise<void>((resolve) => port1.once('message', () => setImmediate(resolve))));
  ep.removeEventListener('message', fn);
  ep.removeEventListener('message', obj);
  assert.equal(got, [
    ['fn', 1],
    ['obj', 1],
  ]);
  port1.close();
});

test('wrap() and expose() over an adapted port call through it', async () => {
  const { port1, port2 } = new MessageChannel();
  expose({ twice: (n: number) => 2 * n }, nodeEndpoint(port1));
  const remote = wrap<{ twice(n: number): number }>(nodeEndpoint(port2));
  assert.is(await remote.twice(21), 42);
  port1.close();
});

test("over an adapted worker, the worker's exit still rejects a pending call", async () => {
  const worker = tsWorker(new URL('./conformance/api.worker.ts', import.meta.url));
  const api = wrap<ConformanceApi>(nodeEndpoint(worker));
  assert.is(await api.add(1, 2), 3);
  const pending = api.hang().then(
    () => undefined,
    (e: unknown) => e,
  );
  await api.exit(3).catch(() => {});
  const err = await within(2000, 'hang() after exit', pending);
  assert.instance(err, ChannelClosedError);
  assert.match((err as Error).message, 'exited with code 3');
});

test.run();
