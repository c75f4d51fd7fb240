/**
 * Services over a real nats-server: values, errors and buffers in our codec,
 * callbacks over the pinned session, no responders, an instance dying
 * mid-call, graceful close, the micro protocol's discovery answers, and a
 * running client taking up an instance that starts after it connected.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { ChannelClosedError, Metrics, NoSuchServiceError, connect, currentMetadata, proxy, serve, transfer, withOptions } from '../../src/index.ts';
import { loadNats } from '../../src/services/nats/client.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, DEAD_INSTANCE_MS, HEARTBEAT_MS, PING_TIMEOUT_MS, type NatsServiceConnection } from '../../src/services/nats/connect.ts';
import { ANNOUNCE_MS, serveNats } from '../../src/services/nats/serve.ts';
import { within } from '../deadline.ts';
import { natsSkipReason, reportSkipped, natsSuite } from './server.ts';

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

const test = natsSuite('nats services');
const skip = natsSkipReason();

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

test('serve(name, api, { nats }) and connect({ service, nats }) are this backend, by the same names as on one host', async ({ nc }) => {
  const svc = await serve('by-name', api, { nats: nc, version: '1.4.0' });
  assert.match(String(svc.address), /^nats:/);
  // The backend's own options pass through the public connect().
  const c = await connect<Api>({ service: 'by-name', nats: nc, sessions: 2, maxInstances: 4, connectTimeout: 2_000 });
  try {
    assert.is(await c.api.echo('over NATS'), 'over NATS');
    assert.is((c as unknown as { instances: string[] }).instances.length, 2);
    const typo = await connect({ service: 'by-name', nats: nc, sesions: 2 } as never).catch((e: unknown) => e);
    assert.match(String(typo), /has no option sesions \(did you mean sessions\?\)/);
    const missing = await connect({ service: 'nobody-serves-this', nats: nc }).catch((e: unknown) => e);
    assert.instance(missing, NoSuchServiceError);
    const wrong = await serve('by-name', api, { nats: nc, registry: '/tmp' } as never).catch((e: unknown) => e);
    assert.match(String(wrong), /has no option registry/);
    const capped = await serve('by-name', api, { nats: nc, maxSessions: 5, description: 'capped' });
    await capped.close();
    // Without nats they are refused, naming where they belong.
    assert.match(String(await serve('by-name', api, { maxSessions: 5 }).catch((e: unknown) => e)), /option maxSessions is only for serving over NATS/);
    assert.match(String(await connect({ service: 'by-name', sessions: 2 }).catch((e: unknown) => e)), /option sessions is only for connecting over NATS/);
  } finally {
    await c.close();
    await svc.close();
  }
});

test("a value past the server's max_payload is refused on the sender's side, naming the limit; the session goes on", async ({ nc }) => {
  const svc = await serveNats('big', api, { nats: nc });
  const c = await connectNats<Api>({ service: 'big', nats: nc, sessions: 1 });
  try {
    const err = await c.api.echo(new Uint8Array(2 * 1024 * 1024)).catch((e: unknown) => e);
    assert.instance(err, Error);
    assert.match((err as Error).message, /a message of \d+ bytes exceeds what one NATS message may carry \(\d+ bytes: the server's max_payload, 1048576/);
    assert.is(await c.api.echo('after'), 'after');
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
  const err = await within(2_000, 'no responders', connectNats<Api>({ service: 'nobody', nats: nc, connectTimeout: 60_000 }).catch((e: unknown) => e));
  assert.instance(err, NoSuchServiceError);
  assert.ok((err as Error).message.includes("'nobody'"), (err as Error).message);
});

test(`an instance whose connection dies mid-call: its pending calls reject within ${HEARTBEAT_MS} ms (a heartbeat meets no responders), bounded here by ${DEAD_INSTANCE_MS} ms`, async ({ nc, server }) => {
  const { connect } = await loadNats();
  const own = await connect({ servers: server.url });
  await serveNats('mortal', api, { nats: own });
  const c = await connectNats<Api>({ service: 'mortal', nats: nc });
  const pending = c.api.never().catch((e: unknown) => e);
  assert.is(await c.api.echo(1), 1);
  // The instance's connection goes away without a goodbye, as when its process is killed.
  await own.close();
  const err = await within(DEAD_INSTANCE_MS, 'the pending call to reject', pending);
  assert.instance(err, ChannelClosedError);
  assert.ok((err as Error).message.includes('mortal'), (err as Error).message);
  // The next call looks for another instance, and there is none.
  assert.instance(await c.api.echo(2).catch((e: unknown) => e), NoSuchServiceError);
});

test(`an instance frozen mid-call (SIGSTOP: its connection open, nothing answered): its pending calls reject within ${DEAD_INSTANCE_MS} ms`, async ({ nc, server }) => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/nats-instance.ts', import.meta.url)), server.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await within(30_000, 'the instance to start', once(child.stdout!, 'data'))) as [Buffer];
    const id = line.toString().trim();
    const c = await connectNats<{ hang(): Promise<never>; ok(): string }>({ service: 'frozen', nats: nc, sessions: 1 });
    assert.equal(c.instances, [id]);
    assert.is(await c.api.ok(), 'ok');
    const pending = c.api.hang().catch((e: unknown) => e);
    assert.is(await c.api.ok(), 'ok'); // hang() has reached the instance
    child.kill('SIGSTOP');
    const err = await within(DEAD_INSTANCE_MS + 1_000, 'the pending call to reject', pending);
    assert.instance(err, ChannelClosedError);
    assert.match((err as Error).message, `no heartbeat within ${PING_TIMEOUT_MS} ms`);
    await c.close();
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});

test('close(): no new session, in-flight calls finish, the client sends its next calls to another instance', async ({ nc }) => {
  let release!: () => void;
  const slow = { wait: () => new Promise<string>((r) => (release = () => r('done'))), who: () => 'first' };
  const first = await serveNats('closing', slow, { nats: nc });
  const c = await connectNats<typeof slow>({ service: 'closing', nats: nc, sessions: 1 });
  const second = await serveNats('closing', { ...slow, who: () => 'second' }, { nats: nc });
  try {
    assert.equal(c.instances, [first.id]);
    const call = c.api.wait();
    await within(10_000, 'the call to arrive', (async () => { while (!release) await new Promise((r) => setImmediate(r)); })());
    const closing = first.close();
    // The drain notice reaches the client, which picks the other instance from then on.
    await within(10_000, 'the client to leave the closing instance', (async () => { while (c.instances.includes(first.id)) await new Promise((r) => setImmediate(r)); })());
    assert.is(await c.api.who(), 'second');
    release();
    assert.is(await call, 'done');
    await closing;
    assert.is(first.sessions, 0);
    assert.ok(c.connected);
  } finally {
    await c.close();
    await Promise.all([first.close(), second.close()]);
  }
});

test('close() with no other instance: the in-flight call finishes, the next finds no instance', async ({ nc }) => {
  let release!: () => void;
  const slow = { wait: () => new Promise<string>((r) => (release = () => r('done'))) };
  const svc = await serveNats('alone', slow, { nats: nc });
  const c = await connectNats<typeof slow>({ service: 'alone', nats: nc });
  const call = c.api.wait();
  await within(10_000, 'the call to arrive', (async () => { while (!release) await new Promise((r) => setImmediate(r)); })());
  const closing = svc.close();
  release();
  assert.is(await call, 'done');
  await closing;
  const next = await c.api.wait().catch((e: unknown) => e);
  assert.instance(next, NoSuchServiceError, String(next));
  await c.close();
});

test('version: a client asking for 2 reaches only instances of version 2.x', async ({ nc }) => {
  const one = await serveNats('versioned', { v: () => '1.4.0' }, { nats: nc, version: '1.4.0' });
  const two = await serveNats('versioned', { v: () => '2.1.0' }, { nats: nc, version: '2.1.0' });
  try {
    const c = await connectNats<{ v(): string }>({ service: 'versioned', nats: nc, version: '2' });
    for (let i = 0; i < 10; i++) assert.is(await c.api.v(), '2.1.0');
    await c.close();
    const err = await connectNats({ service: 'versioned', nats: nc, version: '2.10' }).catch((e: unknown) => e);
    assert.instance(err, NoSuchServiceError);
    assert.ok((err as Error).message.includes('version 2.10'), (err as Error).message);
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});

test('one client spreads its calls over the instances it has sessions with', async ({ nc }) => {
  const instances = await Promise.all(['a', 'b'].map((who) => serveNats('spread', { who: () => who }, { nats: nc })));
  // Which instances NATS picks is its choice: open sessions until both are among them (bounded).
  let c = await connectNats<{ who(): string }>({ service: 'spread', nats: nc, sessions: 4 });
  for (let i = 0; i < 20 && new Set(c.instances).size < 2; i++) {
    await c.close();
    c = await connectNats({ service: 'spread', nats: nc, sessions: 4 });
  }
  try {
    assert.is(new Set(c.instances).size, 2, 'both instances among the sessions');
    const answers = await Promise.all(Array.from({ length: 200 }, () => c.api.who()));
    assert.equal(new Set(answers), new Set(['a', 'b']));
  } finally {
    await c.close();
    await Promise.all(instances.map((s) => s.close()));
  }
});

test('a call with a deadline carries it in a NATS header; a plain call carries no headers', async ({ nc }) => {
  const svc = await serveNats('deadlines', api, { nats: nc });
  const seen: Array<string | undefined> = [];
  const spy = nc.subscribe(`farcall.deadlines.${svc.id}`, { callback: (_e, m) => void seen.push(m.headers?.get('Farcall-Deadline') ?? (m.headers ? 'other headers' : undefined)) });
  await nc.flush();
  const plain = await connectNats<Api>({ service: 'deadlines', nats: nc, sessions: 1 });
  const timed = await connectNats<Api>({ service: 'deadlines', nats: nc, sessions: 1, timeout: 4_000 });
  try {
    assert.is(await plain.api.echo(1), 1);
    assert.is(await timed.api.echo(2), 2);
    await nc.flush();
    assert.equal(seen, [undefined, '4000']);
  } finally {
    spy.unsubscribe();
    await Promise.all([plain.close(), timed.close()]);
    await svc.close();
  }
});

test('metadata: each call of a shared NATS message keeps its own, and a callee carries it on to a service it calls over NATS', async ({ nc }) => {
  const back = await serveNats('meta-back', { read: () => ({ ...currentMetadata() }) }, { nats: nc });
  const toBack = await connectNats<{ read(): Record<string, string> }>({ service: 'meta-back', nats: nc, sessions: 1 });
  const front = await serveNats('meta-front', { relay: () => toBack.api.read(), own: () => ({ ...currentMetadata() }) }, { nats: nc });
  const c = await connectNats<{ relay(): Record<string, string>; own(): Record<string, string> }>({ service: 'meta-front', nats: nc, sessions: 1 });
  try {
    // Issued in one tick: they share NATS messages both ways, each with its own metadata.
    const sent = Array.from({ length: 50 }, (_, i) => ({ 'request-id': `r${i}`, ...(i % 2 ? { tenant: 'acme' } : {}) }));
    const relayed = await Promise.all(sent.map((m) => withOptions(c.api, { metadata: m }).relay()));
    assert.equal(relayed, sent);
    assert.equal(await c.api.own(), {}, 'a call without metadata reads none');
    assert.equal(await withOptions(c.api, { metadata: { 'line\nbreak': 'a: b\r\n' } }).own(), { 'line\nbreak': 'a: b\r\n' }, 'any string, as on every transport');
  } finally {
    await c.close();
    await front.close();
    await toBack.close();
    await back.close();
  }
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
    const c = await connectNats<Api>({ service: 'found', nats: nc, sessions: 1 });
    assert.is(await c.api.echo(1), 1);
    await c.close();
    const stats = (await nc.request(`$SRV.STATS.found`, '', { timeout: 5_000 })).json<any>();
    assert.is(stats.type, 'io.nats.micro.v1.stats_response');
    assert.ok(!Number.isNaN(Date.parse(stats.started)));
    // The hello and the call at least (the goodbye may or may not have been counted yet).
    assert.ok(stats.endpoints[0].num_requests >= 2, String(stats.endpoints[0].num_requests));
  } finally {
    await svc.close();
  }
});

test('the calls of one tick share a NATS message, each with its own deadline in the header', async ({ nc }) => {
  const svc = await serveNats('batched', api, { nats: nc });
  const seen: Array<{ batch?: string; deadlines?: string }> = [];
  // Heartbeats (Farcall-Ping) share the subject: left out.
  const spy = nc.subscribe(`farcall.batched.${svc.id}`, { callback: (_e, m) => void (m.headers?.has('Farcall-Ping') || seen.push({ batch: m.headers?.get('Farcall-Batch') || undefined, deadlines: m.headers?.get('Farcall-Deadline') || undefined })) });
  await nc.flush();
  const c = await connectNats<Api>({ service: 'batched', nats: nc, sessions: 1 });
  try {
    const values = Array.from({ length: 100 }, (_, i) => i);
    assert.equal(await Promise.all(values.map((i) => c.api.echo(i))), values);
    assert.is(seen.length, 1, 'one NATS message for 100 calls');
    assert.is(seen[0]!.batch!.split(',').length, 100);
    assert.is(seen[0]!.deadlines, undefined);
    // Past 512 messages, or past what one NATS message carries, a tick's messages take more NATS messages, in order.
    seen.length = 0;
    const many = Array.from({ length: 600 }, (_, i) => i);
    assert.equal(await Promise.all(many.map((i) => c.api.echo(i))), many);
    assert.equal(seen.map((m) => m.batch!.split(',').length), [512, 88]);
    seen.length = 0;
    const big = Array.from({ length: 5 }, (_, i) => String(i).repeat(300_000));
    assert.equal(await Promise.all(big.map((s) => c.api.echo(s))), big);
    assert.equal(seen.map((m) => m.batch?.split(',').length ?? 1), [3, 2]);
    seen.length = 0;
    const t = await connectNats<Api>({ service: 'batched', nats: nc, sessions: 1, timeout: 3_000 });
    try {
      assert.equal(await Promise.all([t.api.echo(1), t.api.echo(2)]), [1, 2]);
      assert.equal(seen.map((m) => m.deadlines), ['3000,3000']);
    } finally {
      await t.close();
    }
  } finally {
    spy.unsubscribe();
    await c.close();
    await svc.close();
  }
});

test('bad arguments name what was wrong', async ({ nc }) => {
  for (const [opts, what] of [
    [{ service: 'a.b', nats: nc }, 'service name'],
    [{ service: 'ok' }, 'option nats'],
    [{ service: 'ok', nats: nc, timeout: -1 }, 'option timeout'],
    [{ service: 'ok', nats: nc, idempotnet: ['a'] }, 'no option idempotnet (did you mean idempotent?)'],
    [{ service: 'ok', nats: nc, sessions: 0 }, 'option sessions'],
    [{ service: 'ok', nats: nc, maxInstances: 0.5 }, 'option maxInstances'],
    [{ service: 'ok', nats: nc, version: '1.*' }, 'option version'],
  ] as const) {
    const err = await connectNats(opts as any).catch((e: unknown) => e);
    assert.instance(err, TypeError);
    assert.ok((err as Error).message.includes(what), (err as Error).message);
  }
  for (const [args, what] of [
    [['ok', 5, { nats: nc }], 'an object or a function'],
    [['ok', api, { nats: nc, verison: '1' }], 'no option verison (did you mean version?)'],
    [['ok', api, { nats: nc, metadata: { a: 1 } }], 'option metadata'],
  ] as const) {
    const err = await (serveNats as any)(...args).catch((e: unknown) => e);
    assert.instance(err, TypeError);
    assert.ok((err as Error).message.includes(what), (err as Error).message);
  }
});

test('options the NATS backend does not carry yet are refused by name, not ignored', async ({ nc }) => {
  const served = await serveNats('unwired', api, { nats: nc, streamWindow: { items: 10 } }).catch((e: unknown) => e);
  assert.match(String(served), /serve\(\) option streamWindow is not supported over NATS/);
  const connected = await connectNats({ service: 'unwired', nats: nc, streamWindow: { items: 10 } }).catch((e: unknown) => e);
  assert.match(String(connected), /connect\(\) option streamWindow is not supported over NATS/);
});

test('metrics and middleware over NATS: stats() and metrics() as on a socket, over every session, with bytes', async ({ nc }) => {
  const calc = {
    add: (a: number, b: number) => a + b,
    fail(code: string): never {
      throw Object.assign(new Error('failed on purpose'), { code });
    },
  };
  const seen: string[] = [];
  const svc = await serveNats('metered', calc, { nats: nc, metrics: new Metrics({ timeEvery: 1 }), use: [(ctx, next) => (seen.push(`served ${ctx.method}`), next())] });
  const c = await connectNats<typeof calc>({ service: 'metered', nats: nc, sessions: 2, metrics: true, use: [(ctx, next) => (seen.push(`sent ${ctx.method}`), next())] });
  try {
    assert.equal(await Promise.all([1, 2, 3, 4, 5].map((i) => c.api.add(i, 1))), [2, 3, 4, 5, 6]);
    for (const code of ['E_ONE', 'E_ONE', 'E_TWO']) await c.api.fail(code).catch(() => {});
    const s = svc.stats();
    assert.is(s.server.add!.calls, 5);
    assert.equal(s.server.fail!.errorsByCode, { E_ONE: 2, E_TWO: 1 });
    const l = s.server.add!.latencyMs;
    assert.ok(l.p50 > 0 && l.p50 <= l.max, JSON.stringify(l));
    const cs = c.stats();
    assert.is(cs.client.add!.calls, 5);
    assert.equal(cs.client.fail!.errorsByCode, { E_ONE: 2, E_TWO: 1 });
    assert.ok(cs.bytesOut! > 0 && cs.bytesOut === s.bytesIn && s.bytesOut === cs.bytesIn, `client ${cs.bytesOut}/${cs.bytesIn}, instance ${s.bytesIn}/${s.bytesOut}`);
    assert.match(c.metrics({ service: 'metered' }), /farcall_calls_total\{[^}]*method="add"[^}]*\} 5/);
    assert.is(seen.filter((s) => s === 'sent add').length, 5);
    assert.is(seen.filter((s) => s === 'served add').length, 5);
    const unmetered = await connectNats<typeof calc>({ service: 'metered', nats: nc, sessions: 1 });
    assert.throws(() => unmetered.stats(), /metrics are off: pass connect\(\) the option metrics: true/);
    await unmetered.close();
  } finally {
    await c.close();
    await svc.close();
  }
});

// Scaling out under a running client: an instance that starts after a client connected announces itself,
// and the client opens a session with it (moving one off an instance holding two, else adding one, up to maxInstances).

/** An api that says which instance served the call. */
const named = (who: string) => ({ who: async () => who });
type Named = ReturnType<typeof named>;

/** Each instance on a connection of its own, as on another host. */
async function instance(url: string, service: string, who: string) {
  const nc: NatsConnection = await (await loadNats()).connect({ servers: url });
  const svc = await serveNats(service, named(who), { nats: nc });
  return { svc, close: async () => (await svc.close(), await nc.close()) };
}

/** Calls under steady load (20 at a time) until `wanted` answers one; every call must succeed. */
async function callsUntil(c: NatsServiceConnection<Named>, wanted: string): Promise<number> {
  // Bounded: the announcement made on start reaches the client at once; a missed one is repeated within ANNOUNCE_MS.
  return within(ANNOUNCE_MS + 3_000, `a call served by ${wanted}`, (async () => {
    for (let calls = 0; ; calls += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => c.api.who()));
      if (answers.includes(wanted)) return calls;
    }
  })());
}

test('an instance started after the client connected serves its calls, without a replaced session', async ({ server, nc }) => {
  const a = await instance(server.url, 'grow', 'A');
  const c = await connectNats<Named>({ service: 'grow', nats: nc });
  let b: Awaited<ReturnType<typeof instance>> | undefined;
  try {
    assert.equal([...new Set(c.instances)], [a.svc.id], 'all three sessions start on the only instance');
    assert.is(await c.api.who(), 'A');
    let disconnects = 0;
    c.on('disconnect', () => disconnects++);
    b = await instance(server.url, 'grow', 'B');
    await callsUntil(c, 'B');
    assert.ok(c.instances.includes(b.svc.id));
    assert.is(c.instances.length, 3, 'a session moved: the client still keeps three');
    assert.is(disconnects, 0, 'no session was lost on the way');
    // The moved session is closed once its calls were answered: A serves two.
    await within(5_000, 'the moved session closed on A', (async () => {
      while (a.svc.sessions !== 2) await c.api.who();
    })());
  } finally {
    await c.close();
    await b?.close();
    await a.close();
  }
});

test('a client on as many instances as it keeps sessions adds one for a new instance, up to maxInstances', async ({ server, nc }) => {
  const a = await instance(server.url, 'wide', 'A');
  const c = await connectNats<Named>({ service: 'wide', nats: nc, sessions: 1, maxInstances: 2 });
  const others: Array<Awaited<ReturnType<typeof instance>>> = [];
  try {
    others.push(await instance(server.url, 'wide', 'B'));
    await callsUntil(c, 'B');
    assert.equal(new Set(c.instances), new Set([a.svc.id, others[0]!.svc.id]));
    // A third instance is past maxInstances: its announcement (heard on the client's own connection, so the client heard it too) changes nothing.
    const heard = nc.subscribe('farcall.wide.up', { max: 1 });
    others.push(await instance(server.url, 'wide', 'C'));
    await within(5_000, "C's announcement", (async () => {
      for await (const _ of heard) break;
    })());
    for (let i = 0; i < 40; i++) assert.is.not(await c.api.who(), 'C');
    assert.is(c.instances.length, 2);
  } finally {
    await c.close();
    for (const o of others) await o.close();
    await a.close();
  }
});

if (skip) reportSkipped('test/nats/service.test.ts');
else test.run();
