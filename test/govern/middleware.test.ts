/**
 * Middleware on both sides: order, what a middleware sees, refusals that
 * never reach the method, on a server (listen), a connection (connect), a
 * worker (wrap/expose) and a pool.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CallTimeoutError,
  connect,
  createPool,
  currentMetadata,
  FarcallError,
  listen,
  QueueFullError,
  withOptions,
  wrap,
  type MiddlewareContext,
  type Middleware,
} from '../../src/index.ts';
import { tsWorker } from '../fixtures/ts-worker.ts';
import { isError, rejection, tempDir } from '../streams/helpers.ts';

const test = suite('middleware');
const tmp = tempDir();
test.after(() => tmp.remove());

/** How a nested method is called (the Remote type reads a plain nested object as data). */
type Nested = { math: { twice(n: number): Promise<number> } };

class NotAllowedError extends FarcallError {}

function serving() {
  let reached = 0;
  const api = {
    add(a: number, b: number) {
      reached++;
      return a + b;
    },
    who: () => ({ ...currentMetadata() }),
    math: { twice: (n: number) => n * 2 },
  };
  return { api, reached: () => reached };
}

test('server: middleware runs in the order given, around the method; each sees the call', async () => {
  const { api } = serving();
  const log: string[] = [];
  const seen: MiddlewareContext[] = [];
  const step =
    (name: string): Middleware =>
    async (ctx, next) => {
      log.push(`${name} in`);
      seen.push(ctx);
      const v = await next();
      log.push(`${name} out`);
      return v;
    };
  const server = await listen(api, tmp.path('order.sock'), { use: [step('a'), step('b')] });
  const conn = await connect<typeof api>(server.address as string);
  try {
    assert.is(await (withOptions(conn.api, { metadata: { tenant: 'acme' } }) as unknown as Nested).math.twice(21), 42);
    assert.equal(log, ['a in', 'b in', 'b out', 'a out']);
    const ctx = seen[0]!;
    assert.is(ctx.side, 'server');
    assert.is(ctx.method, 'math.twice');
    assert.equal(ctx.path, ['math', 'twice']);
    assert.is(ctx.kind, 'apply');
    assert.equal(ctx.args, [21]);
    assert.equal({ ...ctx.metadata }, { tenant: 'acme' });
    assert.is(ctx.transport, 'client');
    assert.ok(Object.isFrozen(ctx.metadata), 'what arrived cannot be changed on the server');
  } finally {
    await conn.close();
    await server.close();
  }
});

test('server: a middleware refuses with a typed error before the method runs; the caller gets its class and code', async () => {
  const { api, reached } = serving();
  const server = await listen(api, tmp.path('refuse.sock'), {
    use: [
      (ctx, next) => {
        if (ctx.metadata.token !== 'sesame') throw new QueueFullError(`${ctx.method}() refused: no token`);
        return next();
      },
    ],
  });
  const conn = await connect<typeof api>(server.address as string);
  try {
    isError(await rejection(conn.api.add(1, 2)), QueueFullError, 'add() refused: no token');
    assert.is(reached(), 0, 'the method never ran');
    assert.is(await withOptions(conn.api, { metadata: { token: 'sesame' } }).add(1, 2), 3);
    assert.is(reached(), 1);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('server: an async middleware that rejects, or calls next() twice, fails that call only', async () => {
  const { api, reached } = serving();
  const server = await listen(api, tmp.path('async.sock'), {
    use: [
      async (ctx, next) => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (ctx.args[0] === 13) throw new NotAllowedError('ERR_FARCALL_PROTOCOL', 'unlucky');
        if (ctx.args[0] === 2) {
          await next();
          return next();
        }
        return next();
      },
    ],
  });
  const conn = await connect<typeof api>(server.address as string);
  try {
    isError(await rejection(conn.api.add(13, 0)), Error, 'unlucky');
    assert.is(reached(), 0);
    isError(await rejection(conn.api.add(2, 0)), Error, 'called next() twice');
    assert.is(reached(), 1, 'the method ran once');
    assert.is(await conn.api.add(1, 1), 2);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('client: connection middleware runs in order before the call leaves, may add metadata and change arguments, and may refuse', async () => {
  const { api, reached } = serving();
  const server = await listen(api, tmp.path('client.sock'));
  const log: string[] = [];
  const conn = await connect<typeof api>(server.address as string, {
    use: [
      async (ctx, next) => {
        log.push(`a ${ctx.side} ${ctx.method} ${ctx.transport}`);
        ctx.metadata['request-id'] = 'r-1';
        return next();
      },
      (ctx, next) => {
        log.push('b');
        if (ctx.method === 'add' && ctx.args[0] === -1) throw new TypeError('no negative sums here');
        if (ctx.method === 'add') ctx.args = [(ctx.args[0] as number) * 10, ctx.args[1]];
        return next();
      },
    ],
  });
  try {
    assert.equal(await conn.api.who(), { 'request-id': 'r-1' });
    assert.is(await conn.api.add(1, 2), 12);
    isError(await rejection(conn.api.add(-1, 2)), TypeError, 'no negative sums here');
    assert.is(reached(), 1, 'the refused call never left');
    assert.equal(log.slice(0, 2), [`a client who server at ${server.address}`, 'b']);
  } finally {
    await conn.close();
    await server.close();
  }
});

test('client: a middleware that adds metadata past its bounds fails the call with RangeError', async () => {
  const { api } = serving();
  const server = await listen(api, tmp.path('bounds.sock'));
  const conn = await connect<typeof api>(server.address as string, {
    use: [
      (ctx, next) => {
        ctx.metadata.huge = 'x'.repeat(10_000);
        return next();
      },
    ],
  });
  try {
    isError(await rejection(conn.api.add(1, 2)), RangeError, 'add() was not sent', 'characters');
  } finally {
    await conn.close();
    await server.close();
  }
});

test('worker: expose() middleware and wrap() middleware, one on each side', async () => {
  const worker = tsWorker(new URL('../fixtures/govern.worker.ts', import.meta.url));
  const api = wrap<{ add(a: number, b: number): number; reached(): number; tenant(): string | null }>(worker, {
    use: [(ctx, next) => (ctx.method === 'tenant' ? withTenant(ctx, next) : next())],
  });
  function withTenant(ctx: MiddlewareContext, next: () => Promise<unknown>): Promise<unknown> {
    ctx.metadata.tenant = 'from-middleware';
    return next();
  }
  try {
    assert.is(await api.tenant(), 'from-middleware');
    isError(await rejection(withOptions(api, { metadata: { role: 'guest' } }).add(1, 2)), Error, 'guests may not call add()');
    assert.is(await api.reached(), 0);
    assert.is(await api.add(1, 2), 3);
  } finally {
    await worker.terminate();
  }
});

test('pool: middleware runs per call before it queues, and a refusal takes no worker', async () => {
  const seen: string[] = [];
  const pool = createPool<typeof import('../fixtures/pool/tasks.ts')>(new URL('../fixtures/pool/tasks.ts', import.meta.url), {
    maxThreads: 1,
    use: [
      (ctx, next) => {
        seen.push(`${ctx.side} ${ctx.method} ${ctx.transport}`);
        if (ctx.method === 'fail') throw new CallTimeoutError('refused by the pool middleware');
        return next();
      },
    ],
  });
  try {
    assert.is(await pool.api.add(2, 3), 5);
    isError(await rejection(pool.api.fail('x')), CallTimeoutError, 'refused by the pool middleware');
    assert.equal(seen, ['client add pool', 'client fail pool']);
    assert.is(pool.stats.completed, 1, 'the refused call never reached a worker');
  } finally {
    await pool.destroy();
  }
});

test('bad middleware options are refused naming the option', async () => {
  const e1 = await rejection(listen({}, tmp.path('x.sock'), { use: 'nope' as never }));
  isError(e1, TypeError, 'listen() option use must be a list of middleware functions');
  const e2 = await rejection(connect(tmp.path('x.sock'), { use: [1 as never] }));
  isError(e2, TypeError, 'connect() option use[0] must be a middleware function');
  assert.throws(() => createPool(new URL('../fixtures/pool/tasks.ts', import.meta.url), { usee: [] } as never), /has no option usee \(did you mean use\?\)/);
});

test.run();
