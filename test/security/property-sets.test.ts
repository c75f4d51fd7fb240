/**
 * Property sets from socket clients: every client reaches the same exposed
 * objects, so one client's set must not change what the others reach.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnsupportedError, connect, listen, proxy } from '../../src/index.ts';
import { CallKind, MsgType } from '../../src/protocol.ts';
import { isError, rejection, tempDir } from '../streams/helpers.ts';
import { rawClient } from './raw.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`p${n++}.sock`);

function shared() {
  return { add: (a: number, b: number) => a + b, config: { level: 1 }, setLevel(this: { config: { level: number } }, l: number) { this.config.level = l; } };
}

test('sets are refused by default: a client cannot replace a method with its own callback, nor rewrite shared data', async () => {
  const api = shared();
  const server = await listen(api, sock());
  const a = await rawClient(server.address as string);
  // Client A stores a callback of its own in place of add (comlink semantics: api.add = proxy(fn)).
  const hijack = await a.call({ k: CallKind.Set, p: ['add'], a: [undefined], x: [[0, 'proxy', 7]] });
  assert.is(hijack.t, MsgType.Throw);
  assert.is(hijack.e?.n, 'UnsupportedError');
  assert.ok(hijack.e?.m?.includes('allowPropertySets'), hijack.e?.m);
  const data = await a.call({ k: CallKind.Set, p: ['config', 'level'], a: [999] });
  assert.is(data.t, MsgType.Throw);
  // Client B still reaches the server's own add, and the shared data is untouched.
  const b = await connect<typeof api>(server.address);
  assert.is(await b.api.add(1, 2), 3);
  assert.is(api.config.level, 1);
  assert.equal(a.callsIn, [], 'B\'s call never reached A');
  a.close();
  await b.close();
  await server.close();
});

test('through connect(): a set is refused and the api is as it was for another client', async () => {
  const api = shared();
  const server = await listen(api, sock());
  const a = await connect<typeof api>(server.address);
  const b = await connect<typeof api>(server.address);
  const seen: number[][] = [];
  (a.api as unknown as { add: unknown }).add = proxy((x: number, y: number) => (seen.push([x, y]), 42));
  // Any call after the set is served after it: the set has been refused by then.
  assert.is(await a.api.add(2, 2), 4);
  assert.is(await b.api.add(1, 2), 3);
  assert.equal(seen, []);
  assert.is(typeof api.add, 'function');
  await a.close();
  assert.is(await b.api.add(5, 5), 10, 'add still works once A has left');
  await b.close();
  await server.close();
});

test('allowPropertySets: data may be set and is shared; a function can neither be stored nor replaced', async () => {
  const api = shared();
  const server = await listen(api, sock(), { allowPropertySets: true });
  const a = await rawClient(server.address as string);
  assert.is((await a.call({ k: CallKind.Set, p: ['config', 'level'], a: [3] })).t, MsgType.Return);
  assert.is(api.config.level, 3);
  const hijack = await a.call({ k: CallKind.Set, p: ['add'], a: [undefined], x: [[0, 'proxy', 7]] });
  assert.is(hijack.e?.n, 'UnsupportedError');
  assert.ok(hijack.e?.m?.includes('function'), hijack.e?.m);
  const overwrite = await a.call({ k: CallKind.Set, p: ['add'], a: [5] });
  assert.is(overwrite.e?.n, 'UnsupportedError');
  assert.ok(overwrite.e?.m?.includes('may not replace'), overwrite.e?.m);
  const newFn = await a.call({ k: CallKind.Set, p: ['config', 'hook'], a: [undefined], x: [[0, 'proxy', 8]] });
  assert.is(newFn.e?.n, 'UnsupportedError');
  assert.is(typeof api.add, 'function');
  assert.is((api.config as Record<string, unknown>).hook, undefined);
  a.close();
  await server.close();
});

test('allowPropertySets must be a boolean', async () => {
  const started = listen({}, sock(), { allowPropertySets: 'yes' as unknown as boolean });
  const err = await rejection(started.then(async (s) => (await s.close(), s)));
  isError(err, TypeError, 'allowPropertySets', 'true or false');
});

test.after(() => tmp.remove());
test.run();
