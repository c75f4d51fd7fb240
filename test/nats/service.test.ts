/**
 * Services over a real nats-server: values, errors and buffers in our codec,
 * callbacks over the pinned session, no responders, an instance dying
 * mid-call, graceful close, and the micro protocol's discovery answers.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, NoSuchServiceError, proxy, transfer } from '../../src/index.ts';
import { loadNats } from '../../src/services/nats/client.ts';
import { connectNats, HEARTBEAT_MS, PING_TIMEOUT_MS } from '../../src/services/nats/connect.ts';
import { serveNats } from '../../src/services/nats/serve.ts';
import { within } from '../deadline.ts';
import { natsSkipReason, reportSkipped, startNatsServer, type NatsServer } from './server.ts';

const api = {
  echo: <T>(v: T): T => v,
  fail(): never {
    throw Object.assign(new RangeError('out of range'), { code: 'E_RANGE', detail: { n: 1 } });
  },
  async each(n: number, cb: (i: number) => Promise<void> | void): Promise<number> {
    for (let i = 0; i < n; i++) await cb(i);
    return n;
  },
  sum(buf: ArrayBuffer): number {
    return new Uint8Array(buf).reduce((a, b) => a + b, 0);
  },
  never: (): Promise<never> => new Promise(() => {}),
};
type Api = typeof api;

const test = suite<{ server: NatsServer; nc: import('@nats-io/transport-node').NatsConnection }>('nats services');
const skip = natsSkipReason();

test.before(async (ctx) => {
  const { connect } = await loadNats();
  ctx.server = await startNatsServer();
  ctx.nc = await connect({ servers: ctx.server.url });
});
test.after(async (ctx) => {
  await ctx.nc?.close();
  await ctx.server?.stop();
});

test('values, thrown errors and transferred buffers cross as on every transport', async ({ nc }) => {
  const svc = await serveNats('values', api, { nats: nc });
  const c = await connectNats<Api>({ service: 'values', nats: nc });
  try {
    const v = { m: new Map([[1, new Date(5)]]), s: new Set(['a']), big: 10n, nested: { u8: new Uint8Array([1, 2, 3]) }, undef: undefined };
    assert.equal(await c.api.echo(v), v);
    const err = await c.api.fail().catch((e: unknown) => e);
    assert.instance(err, RangeError);
    assert.is((err as RangeError).message, 'out of range');
    assert.equal({ code: (err as any).code, detail: (err as any).detail }, { code: 'E_RANGE', detail: { n: 1 } });
    const buf = new Uint8Array(200_000).fill(1).buffer;
    assert.is(await c.api.sum(transfer(buf, [buf])), 200_000);
    assert.is(buf.byteLength, 0, 'a transferred buffer is detached on the sender');
  } finally {
    await c.close();
    await svc.close();
  }
});

test('a callback passed with proxy() is called back over the session', async ({ nc }) => {
  const svc = await serveNats('callbacks', api, { nats: nc });
  const c = await connectNats<Api>({ service: 'callbacks', nats: nc });
  try {
    const seen: number[] = [];
    assert.is(await c.api.each(3, proxy((i: number) => void seen.push(i))), 3);
    assert.equal(seen, [0, 1, 2]);
  } finally {
    await c.close();
    await svc.close();
  }
});

test('no instance: NoSuchServiceError naming the service, at once', async ({ nc }) => {
  const err = await within(2_000, 'no responders', connectNats<Api>({ service: 'nobody', nats: nc, timeout: 60_000 }).catch((e: unknown) => e));
  assert.instance(err, NoSuchServiceError);
  assert.ok((err as Error).message.includes("'nobody'"), (err as Error).message);
});

test(`an instance that dies mid-call: its pending calls reject within ${HEARTBEAT_MS + PING_TIMEOUT_MS} ms plus slack`, async ({ nc, server }) => {
  const { connect } = await loadNats();
  const own = await connect({ servers: server.url });
  await serveNats('mortal', api, { nats: own });
  const c = await connectNats<Api>({ service: 'mortal', nats: nc });
  const pending = c.api.never().catch((e: unknown) => e);
  assert.is(await c.api.echo(1), 1);
  // The instance's connection goes away without a goodbye, as when its process is killed.
  await own.close();
  const err = await within(HEARTBEAT_MS + PING_TIMEOUT_MS + 3_000, 'the pending call to reject', pending);
  assert.instance(err, ChannelClosedError);
  assert.ok((err as Error).message.includes('mortal'), (err as Error).message);
  // The next call looks for another instance, and there is none.
  assert.instance(await c.api.echo(2).catch((e: unknown) => e), NoSuchServiceError);
});

test('close(): in-flight calls finish, then the client hears the session is over', async ({ nc }) => {
  let release!: () => void;
  const slow = { wait: () => new Promise<string>((r) => (release = () => r('done'))) };
  const svc = await serveNats('closing', slow, { nats: nc });
  const c = await connectNats<typeof slow>({ service: 'closing', nats: nc });
  const call = c.api.wait();
  await within(10_000, 'the call to arrive', (async () => { while (!release) await new Promise((r) => setImmediate(r)); })());
  const closing = svc.close();
  release();
  assert.is(await call, 'done');
  await closing;
  assert.instance(await within(10_000, 'the session to close', c.closed), ChannelClosedError);
});

test('discovery: $SRV.PING, INFO and STATS answer with the micro v1 shapes, for all, by name, by name and id', async ({ nc }) => {
  const svc = await serveNats('found', api, { nats: nc, version: '1.2.3', metadata: { zone: 'a' } });
  try {
    for (const suffix of ['', '.found', `.found.${svc.id}`]) {
      const ping = (await nc.request(`$SRV.PING${suffix}`, '', { timeout: 5_000 })).json<any>();
      assert.equal(ping, { type: 'io.nats.micro.v1.ping_response', name: 'found', id: svc.id, version: '1.2.3', metadata: { zone: 'a' } });
    }
    const info = (await nc.request(`$SRV.INFO.found.${svc.id}`, '', { timeout: 5_000 })).json<any>();
    assert.is(info.type, 'io.nats.micro.v1.info_response');
    assert.equal(info.endpoints.map((e: any) => [e.subject, e.queue_group]), [['farcall.found.hello', 'found']]);
    const c = await connectNats<Api>({ service: 'found', nats: nc });
    await c.close();
    const stats = (await nc.request(`$SRV.STATS.found`, '', { timeout: 5_000 })).json<any>();
    assert.is(stats.type, 'io.nats.micro.v1.stats_response');
    assert.ok(!Number.isNaN(Date.parse(stats.started)));
    assert.is(stats.endpoints[0].num_requests, 1);
  } finally {
    await svc.close();
  }
});

test('bad arguments name what was wrong', async ({ nc }) => {
  for (const [opts, what] of [
    [{ service: 'a.b', nats: nc }, 'service name'],
    [{ service: 'ok' }, 'option nats'],
    [{ service: 'ok', nats: nc, timeout: -1 }, 'option timeout'],
  ] as const) {
    const err = await connectNats(opts as any).catch((e: unknown) => e);
    assert.instance(err, TypeError);
    assert.ok((err as Error).message.includes(what), (err as Error).message);
  }
  const err = await serveNats('ok', 5 as any, { nats: nc }).catch((e: unknown) => e);
  assert.instance(err, TypeError);
});

if (skip) reportSkipped('test/nats/service.test.ts');
else test.run();
