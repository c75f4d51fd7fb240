/**
 * Arguments checked by Standard Schemas where the api is served (zod and
 * valibot, the real libraries): a ValidationError with each issue and its
 * path, and the method never runs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as v from 'valibot';
import { z } from 'zod';
import { connect, listen, ValidationError, withOptions, wrap, expose } from '../../src/index.ts';
import { tsWorker } from '../fixtures/ts-worker.ts';
import { isError, rejection, tempDir } from '../streams/helpers.ts';
import { MessageChannel } from 'node:worker_threads';

const test = suite('validation');
const tmp = tempDir();
test.after(() => tmp.remove());

function serving() {
  const calls: unknown[][] = [];
  const api = {
    createUser(user: { name: string; age: number }, tags: string[]) {
      calls.push([user, tags]);
      return `${user.name} (${user.age}) ${tags.join(',')}`;
    },
    math: { half: (n: number) => n / 2 },
    free: (x: unknown) => x,
  };
  return { api, calls };
}

for (const [vendor, schemas] of [
  [
    'zod',
    {
      createUser: z.tuple([z.object({ name: z.string().min(1), age: z.number().int().default(0) }), z.array(z.string())]),
      'math.half': z.tuple([z.coerce.number()]),
    },
  ],
  [
    'valibot',
    {
      createUser: v.tuple([v.object({ name: v.pipe(v.string(), v.minLength(1)), age: v.optional(v.pipe(v.number(), v.integer()), 0) }), v.array(v.string())]),
      'math.half': v.tuple([v.pipe(v.union([v.number(), v.string()]), v.transform(Number))]),
    },
  ],
] as const) {
  test(`${vendor}: invalid arguments get a ValidationError listing each issue with its path; the method never runs`, async () => {
    const { api, calls } = serving();
    const server = await listen(api, tmp.path(`${vendor}.sock`), { schemas });
    const conn = await connect<typeof api>(server.address as string);
    try {
      const err = await rejection(conn.api.createUser({ name: '', age: 1.5 }, ['ok', 7 as never]));
      isError(err, ValidationError, 'createUser() was called with invalid arguments', 'argument 1, name', 'argument 1, age', 'argument 2, 1');
      assert.is((err as ValidationError).code, 'ERR_FARCALL_INVALID_ARGUMENTS');
      const paths = (err as ValidationError).issues.map((i) => i.path);
      assert.ok(paths.some((p) => p[0] === 0 && p[1] === 'name'), JSON.stringify(paths));
      assert.ok(paths.some((p) => p[0] === 0 && p[1] === 'age'), JSON.stringify(paths));
      assert.ok(paths.some((p) => p[0] === 1 && p[1] === 1), JSON.stringify(paths));
      for (const i of (err as ValidationError).issues) assert.type(i.message, 'string');
      isError(await rejection(conn.api.createUser({ name: 'a' } as never, 'x' as never)), ValidationError, 'argument 2');
      assert.equal(calls, [], 'the method never ran');

      assert.is(await conn.api.createUser({ name: 'ann' } as never, ['x']), 'ann (0) x', "the schema's output (a default filled in) is what the method gets");
      assert.is(await (conn.api as unknown as { math: { half(n: string): Promise<number> } }).math.half('8'), 4, 'a nested method, its argument coerced');
      assert.is(await conn.api.free('anything'), 'anything', 'a method without a schema is not checked');
    } finally {
      await conn.close();
      await server.close();
    }
  });
}

test('expose(): schemas on a worker, checked before the method and its middleware-approved call', async () => {
  const worker = tsWorker(new URL('../fixtures/govern.worker.ts', import.meta.url));
  const api = wrap<{ add(a: number, b: number): number; reached(): number }>(worker);
  try {
    isError(await rejection(api.add(1, 'two' as never)), ValidationError, 'add() was called with invalid arguments', 'argument 2');
    isError(await rejection(withOptions(api, { metadata: { role: 'guest' } }).add(1, 'two' as never)), Error, 'guests may not call add()');
    assert.is(await api.reached(), 0);
    assert.is(await api.add(1, 2), 3);
  } finally {
    await worker.terminate();
  }
});

test('an async schema is awaited before the method runs', async () => {
  const { port1, port2 } = new MessageChannel();
  let ran = 0;
  const slowSchema = {
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate: async (value: unknown) => {
        await new Promise<void>((resolve) => setImmediate(resolve));
        return (value as unknown[])[0] === 'ok' ? { value } : { issues: [{ message: 'not ok', path: [0] }] };
      },
    },
  };
  expose({ run: (s: string) => (ran++, s) }, port1, { schemas: { run: slowSchema } });
  const api = wrap<{ run(s: string): string }>(port2);
  try {
    isError(await rejection(api.run('no')), ValidationError, 'argument 1: not ok');
    assert.is(ran, 0);
    assert.is(await api.run('ok'), 'ok');
  } finally {
    port1.close();
    port2.close();
  }
});

test('schemas are checked where given: a Standard Schema each, naming a method of the api', async () => {
  const { api } = serving();
  isError(await rejection(listen(api, tmp.path('bad.sock'), { schemas: { creatUser: z.tuple([]) } })), TypeError, 'schemas.creatUser names no method of the api (did you mean createUser?)');
  isError(await rejection(listen(api, tmp.path('bad.sock'), { schemas: { free: { parse() {} } as never } })), TypeError, 'schemas.free is not a Standard Schema');
  isError(await rejection(listen(api, tmp.path('bad.sock'), { schemas: 3 as never })), TypeError, 'option schemas must be an object');
  const { port1, port2 } = new MessageChannel();
  assert.throws(() => wrap(port2, { schemas: {} } as never), /wrap\(\) has no option schemas: .*pass them to expose\(\)/);
  port1.close();
  port2.close();
});

test.run();
