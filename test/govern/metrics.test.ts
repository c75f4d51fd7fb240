/**
 * Per-method metrics on both sides: calls, errors by code, in flight,
 * latency percentiles, bytes over sockets; stats() and the Prometheus text.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageChannel } from 'node:worker_threads';
import { connect, createPool, expose, listen, Metrics, spawn, UnsupportedError, wrap } from '../../src/index.ts';
import { MsgType } from '../../src/protocol.ts';
import { isError, RawClient, frameOf, tempDir, within } from '../streams/helpers.ts';

const test = suite('metrics');
const tmp = tempDir();
test.after(() => tmp.remove());

function serving() {
  let release: (() => void) | undefined;
  const api = {
    add: (a: number, b: number) => a + b,
    fail(code: string) {
      throw Object.assign(new Error('failed on purpose'), { code });
    },
    gate: () => new Promise<void>((resolve) => (release = resolve)),
  };
  return { api, open: () => release?.() };
}

test('server and connection: calls, errors by code, in flight, latency and bytes, per method', async () => {
  const { api, open } = serving();
  // Every call timed (by default a busy method has one in 64 timed).
  const server = await listen(api, tmp.path('m.sock'), { metrics: new Metrics({ timeEvery: 1 }) });
  const conn = await connect<typeof api>(server.address as string, { metrics: true });
  try {
    for (let i = 0; i < 5; i++) assert.is(await conn.api.add(i, 1), i + 1);
    await conn.api.fail('E_ONE').catch(() => {});
    await conn.api.fail('E_ONE').catch(() => {});
    await conn.api.fail('E_TWO').catch(() => {});
    const gated = conn.api.gate();
    await within(2000, 'gate() in flight on the server', waitFor(() => server.stats().server.gate?.inFlight === 1));

    const s = server.stats();
    assert.is(s.server.add!.calls, 5);
    assert.is(s.server.add!.errors, 0);
    assert.is(s.server.fail!.calls, 3);
    assert.equal(s.server.fail!.errorsByCode, { E_ONE: 2, E_TWO: 1 });
    assert.is(s.server.gate!.inFlight, 1);
    const l = s.server.add!.latencyMs;
    assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, JSON.stringify(l));
    assert.ok(s.bytesIn! > 0 && s.bytesOut! > 0, `bytes in ${s.bytesIn}, out ${s.bytesOut}`);
    assert.equal(s.client, {}, 'the server made no calls');

    const c = conn.stats();
    assert.is(c.client.add!.calls, 5);
    assert.equal(c.client.fail!.errorsByCode, { E_ONE: 2, E_TWO: 1 });
    assert.is(c.client.gate!.inFlight, 1);
    assert.ok(c.bytesOut! >= s.bytesIn! - 64, 'the client sent what the server received');
    open();
    await gated;
    assert.is(conn.stats().client.gate!.inFlight, 0);
    assert.is(conn.stats().client.gate!.calls, 1);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('prometheus: the text exposition format, with labels, counters, gauge and summary', async () => {
  const { api } = serving();
  const server = await listen(api, tmp.path('p.sock'), { metrics: true });
  const conn = await connect<typeof api>(server.address as string);
  try {
    await conn.api.add(1, 2);
    await conn.api.fail('E"X').catch(() => {});
    const text = server.metrics({ service: 'math' });
    assert.ok(text.endsWith('\n'));
    for (const line of [
      '# TYPE farcall_calls_total counter',
      'farcall_calls_total{service="math",side="server",method="add"} 1',
      'farcall_errors_total{service="math",side="server",method="fail",code="E\\"X"} 1',
      '# TYPE farcall_in_flight gauge',
      '# TYPE farcall_call_duration_seconds summary',
      'farcall_call_duration_seconds_count{service="math",side="server",method="add"} 1',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line ${line} in\n${text}`);
    }
    // Every sample line: a name, optional labels, a number.
    for (const line of text.trim().split('\n')) {
      if (line.startsWith('#')) continue;
      assert.match(line, /^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [0-9.e+-]+$/);
    }
    assert.match(text, /farcall_call_duration_seconds\{service="math",side="server",method="add",quantile="0.99"\} [0-9.e-]+/);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('metrics off: stats() says how to turn them on', async () => {
  const server = await listen({}, tmp.path('off.sock'));
  const conn = await connect(server.address as string);
  try {
    assert.throws(() => server.stats(), (e: Error) => e instanceof UnsupportedError && e.message.includes('listen() the option metrics: true'));
    assert.throws(() => conn.metrics(), (e: Error) => e instanceof UnsupportedError && e.message.includes('connect()'));
  } finally {
    await conn.close();
    await server.close();
  }
});

test('a client probing for methods cannot grow the table: unknown names count as one', async () => {
  const server = await listen({ add: (a: number, b: number) => a + b }, tmp.path('probe.sock'), { metrics: true });
  const raw = await RawClient.open(server.address as string);
  try {
    await raw.greet();
    for (let i = 1; i <= 50; i++) raw.write(frameOf({ t: MsgType.Call, i, p: [`nope${i}`], a: [] }));
    for (let i = 1; i <= 50; i++) await raw.next();
    const s = server.stats().server;
    assert.equal(Object.keys(s), ['(no such method)']);
    assert.is(s['(no such method)']!.calls, 50);
    assert.equal(s['(no such method)']!.errorsByCode, { ERR_FARCALL_NO_SUCH_METHOD: 50 });
  } finally {
    raw.destroy();
    await server.close();
  }
});

test('a shared Metrics over a worker port, both sides, and a pool with per-method stats', async () => {
  const metrics = new Metrics();
  const { port1, port2 } = new MessageChannel();
  expose({ twice: (n: number) => n * 2 }, port1, { metrics });
  const api = wrap<{ twice(n: number): number }>(port2, { metrics });
  assert.is(await api.twice(2), 4);
  const s = metrics.stats();
  assert.is(s.client.twice!.calls, 1);
  assert.is(s.server.twice!.calls, 1);
  assert.ok(s.client.twice!.latencyMs.max > 0 && s.server.twice!.latencyMs.max > 0, 'the first calls of a method are all timed');
  assert.is(s.bytesIn, undefined, 'a port counts no bytes');
  port1.close();
  port2.close();
  assert.throws(() => wrap(new MessageChannel().port1, { metrics: true }), /pass a Metrics/);

  const pool = createPool<typeof import('../fixtures/pool/tasks.ts')>(new URL('../fixtures/pool/tasks.ts', import.meta.url), { maxThreads: 1, metrics: true });
  try {
    await pool.api.add(1, 2);
    await pool.api.fail('x').catch(() => {});
    const stats = pool.stats;
    assert.is(stats.completed, 1, 'the pool figures are still there');
    assert.is(stats.methods!.add!.calls, 1);
    assert.is(stats.methods!.fail!.errors, 1);
    assert.match(pool.metrics(), /farcall_calls_total\{side="client",method="add"\} 1/);
  } finally {
    await pool.destroy();
  }
  assert.throws(() => new Metrics({ timeEvery: 0 }), /timeEvery must be a whole number of at least 1/);
  isError(await (async () => { try { await listen({}, tmp.path('x.sock'), { metrics: 'yes' as never }); } catch (e) { return e; } })(), TypeError, 'option metrics must be true, false or a Metrics');
});

test('a busy method is timed one call in timeEvery, rounded up to a power of two; its counts stay exact', () => {
  const m = new Metrics({ timeEvery: 3 });
  const r = m.method('client', 0, ['busy']);
  const open = Array.from({ length: 10 }, () => r.begin());
  for (let i = 0; i < 100_000; i++) r.ok(r.begin());
  const failing = m.method('client', 0, ['busy']);
  failing.fail(failing.begin(), Object.assign(new Error('no'), { code: 'ERR_X' }));
  const s = m.stats().client.busy!;
  assert.is(s.calls, 100_001);
  assert.is(s.errors, 1);
  assert.is(s.inFlight, 10);
  // The first 64 calls timed, then one in 2, then one in 4 (3 rounded up).
  assert.ok(r.latency.count >= 25_000 && r.latency.count <= 25_200, `${r.latency.count} of 100,011 calls timed`);
  for (const slot of open) r.ok(slot);
  assert.is(m.stats().client.busy!.inFlight, 0);
});

test('every call timed with many in flight: each keeps its own start time', async () => {
  const metrics = new Metrics({ timeEvery: 1 });
  const { port1, port2 } = new MessageChannel();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  expose({ slow: async (n: number) => (await gate, n), fast: (n: number) => n }, port1, { metrics });
  const api = wrap<{ slow(n: number): number; fast(n: number): number }>(port2, { metrics });
  try {
    const slow = Promise.all(Array.from({ length: 50 }, (_, i) => api.slow(i)));
    assert.equal(await Promise.all(Array.from({ length: 50 }, (_, i) => api.fast(i))), Array.from({ length: 50 }, (_, i) => i));
    assert.is(metrics.stats().client.slow!.inFlight, 50);
    release();
    assert.is((await slow).length, 50);
    const s = metrics.stats();
    for (const side of [s.client, s.server]) {
      assert.is(side.slow!.calls, 50);
      assert.is(side.slow!.inFlight, 0);
      assert.ok(side.slow!.latencyMs.p50 >= side.fast!.latencyMs.p50, 'the slow calls were timed from their own start');
    }
  } finally {
    port1.close();
    port2.close();
  }
});

test('a served stats() hands the snapshot and the Prometheus text to a remote caller as they are', async () => {
  const metrics = new Metrics();
  const api = { add: (a: number, b: number) => a + b, stats: () => metrics.stats(), prometheus: () => metrics.metrics() };
  const server = await listen(api, tmp.path('remote-stats.sock'), { metrics });
  const conn = await connect<typeof api>(server.address as string);
  try {
    await conn.api.add(1, 2);
    const remote = await conn.api.stats();
    assert.is(remote.server.add!.calls, 1);
    assert.equal(Object.keys(remote.server.add!.latencyMs), ['p50', 'p90', 'p99', 'max', 'mean']);
    assert.ok(remote.bytesIn! > 0);
    assert.match(await conn.api.prometheus(), /farcall_calls_total\{side="server",method="add"\} 1/);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('spawn(): metrics of the calls made to a child process', async () => {
  const child = await spawn<typeof import('../fixtures/pool/tasks.ts')>(new URL('../fixtures/pool/tasks.ts', import.meta.url), { metrics: true, startTimeout: 60_000 });
  try {
    await child.api.add(1, 2);
    await child.api.fail('x').catch(() => {});
    const s = child.stats();
    assert.is(s.client.add!.calls, 1);
    assert.is(s.client.fail!.errors, 1);
    assert.match(child.metrics(), /farcall_errors_total\{side="client",method="fail",code="ERR_UNKNOWN"\} 1/);
  } finally {
    await child.close();
  }
});

async function waitFor(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise<void>((resolve) => setImmediate(resolve));
}

test.run();
