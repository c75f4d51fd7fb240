/**
 * The tracing channels: what each event carries and when, a start
 * subscriber's metadata reaching the server, a bound store current inside
 * the served function, and nothing published without subscribers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, createPool, currentMetadata, listen, withOptions, type MiddlewareContext } from '../../src/index.ts';
import { rejection, tempDir, within } from '../streams/helpers.ts';

const test = suite('tracing');
const tmp = tempDir();
test.after(() => tmp.remove());

const client = diagnosticsChannel.tracingChannel('farcall:client:call');
const server = diagnosticsChannel.tracingChannel('farcall:server:call');

function record(channel: typeof client, log: string[], contexts: MiddlewareContext[]) {
  const on = (event: string) => (message: unknown) => {
    const ctx = message as MiddlewareContext & { error?: Error; result?: unknown };
    if (event === 'start') contexts.push(ctx);
    log.push(`${ctx.side} ${event} ${ctx.method}${event === 'error' ? ` ${ctx.error?.message}` : ''}${event === 'asyncEnd' && 'result' in ctx ? ` = ${String(ctx.result)}` : ''}`);
  };
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}

const api = {
  add: (a: number, b: number) => a + b,
  fail() {
    throw new Error('no luck');
  },
  who: () => ({ ...currentMetadata() }),
  active: () => store.getStore() ?? null,
};
const store = new AsyncLocalStorage<string>();

test('client and server events in order, with method, transport, metadata, result and error', async () => {
  const srv = await listen(api, tmp.path('t.sock'));
  const conn = await connect<typeof api>(srv.address as string);
  const log: string[] = [];
  const contexts: MiddlewareContext[] = [];
  const stop = [record(client, log, contexts), record(server, log, contexts)];
  try {
    assert.is(await withOptions(conn.api, { metadata: { tenant: 'acme' } }).add(1, 2), 3);
    assert.equal(log, [
      'client start add',
      'client end add',
      'server start add',
      'server end add',
      'server asyncStart add',
      'server asyncEnd add = 3',
      'client asyncStart add',
      'client asyncEnd add = 3',
    ]);
    const [c, s] = contexts;
    assert.is(c!.transport, `server at ${srv.address}`);
    assert.is(s!.transport, 'client');
    assert.equal({ ...c!.metadata }, { tenant: 'acme' });
    assert.equal({ ...s!.metadata }, { tenant: 'acme' });
    assert.equal(s!.args, [1, 2]);

    log.length = 0;
    await rejection(conn.api.fail());
    assert.ok(log.includes('server error fail no luck'), log.join('\n'));
    assert.ok(log.includes('client error fail no luck'), log.join('\n'));
  } finally {
    for (const s of stop) s();
    await conn.close();
    await srv.close();
  }
});

test('a client start subscriber adds metadata the server reads; a server store is current in the method', async () => {
  const srv = await listen(api, tmp.path('t2.sock'));
  const conn = await connect<typeof api>(srv.address as string);
  const inject = (m: unknown) => void ((m as MiddlewareContext).metadata.traceparent = 'tp-1');
  client.start.subscribe(inject);
  server.start.bindStore(store, (m) => `span for ${(m as MiddlewareContext).method}`);
  try {
    assert.equal(await conn.api.who(), { traceparent: 'tp-1' });
    assert.is(await conn.api.active(), 'span for active');
  } finally {
    client.start.unsubscribe(inject);
    server.start.unbindStore(store);
    await conn.close();
    await srv.close();
  }
});

test('without subscribers nothing is published and calls work as before', async () => {
  assert.not.ok(client.start.hasSubscribers || server.start.hasSubscribers, 'no subscriber left from other tests');
  const srv = await listen(api, tmp.path('t3.sock'));
  const conn = await connect<typeof api>(srv.address as string);
  const seen: unknown[] = [];
  const any = (m: unknown) => seen.push(m);
  // A subscriber to end alone does not turn tracing on: start is what a call checks.
  client.end.subscribe(any);
  try {
    assert.is(await conn.api.add(2, 2), 4);
    assert.equal(seen, []);
  } finally {
    client.end.unsubscribe(any);
    await conn.close();
    await srv.close();
  }
});

test('a pool tells the callee its deadline with client middleware and with a tracing subscriber', async () => {
  const pool = createPool<typeof import('../fixtures/pool/meta.ts')>(new URL('../fixtures/pool/meta.ts', import.meta.url), {
    maxThreads: 1,
    use: [(_ctx, next) => next()],
  });
  const stop = record(client, [], []);
  try {
    const left = await within(5000, 'a pool call', withOptions(pool.api, { timeout: 4000 }).deadlineLeft());
    assert.ok(left !== null && left > 0 && left <= 4000, `the callee was told ${String(left)} ms left`);
    stop();
    const untraced = await within(5000, 'a pool call', withOptions(pool.api, { timeout: 4000 }).deadlineLeft());
    assert.ok(untraced !== null && untraced > 0 && untraced <= 4000, `without a subscriber the callee was told ${String(untraced)} ms left`);
  } finally {
    stop();
    await pool.destroy();
  }
});

test.run();
