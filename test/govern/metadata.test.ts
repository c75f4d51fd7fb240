/**
 * Metadata from a hostile peer, and through a pool. (What every transport
 * does with metadata is in the conformance suite.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, listen, ProtocolError, withOptions } from '../../src/index.ts';
import { invalidMessage, MAX_METADATA_CHARS, MAX_METADATA_ENTRIES, MsgType } from '../../src/protocol.ts';
import { isError, RawClient, frameOf, tempDir, within } from '../streams/helpers.ts';

const test = suite('metadata');
const tmp = tempDir();
test.after(() => tmp.remove());

const call = (m: unknown) => ({ t: MsgType.Call, i: 1, p: ['f'], a: [], m });

test('invalidMessage: metadata must be an object of strings within the bounds', () => {
  assert.is(invalidMessage(call({ a: 'b' })), undefined);
  assert.is(invalidMessage(call({})), undefined);
  assert.match(invalidMessage(call('x'))!, /not an object of strings/);
  assert.match(invalidMessage(call(['a']))!, /not an object of strings/);
  assert.match(invalidMessage(call(null))!, /not an object of strings/);
  assert.match(invalidMessage(call({ n: 1 }))!, /"n" is not a string/);
  const many = Object.fromEntries(Array.from({ length: MAX_METADATA_ENTRIES + 1 }, (_, i) => [`k${i}`, '']));
  assert.match(invalidMessage(call(many))!, new RegExp(`more than ${MAX_METADATA_ENTRIES} entries`));
  assert.match(invalidMessage(call({ k: 'v'.repeat(MAX_METADATA_CHARS) }))!, new RegExp(`over ${MAX_METADATA_CHARS} characters`));
});

test('a client sending bad metadata loses its connection, the server says why, the method never runs', async () => {
  let ran = 0;
  const server = await listen({ f: () => ran++ }, tmp.path('bad-meta.sock'));
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  try {
    for (const m of [{ n: 1 }, Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])), { big: 'x'.repeat(100_000) }]) {
      const raw = await RawClient.open(server.address as string);
      await raw.greet();
      raw.write(frameOf(call(m)));
      await raw.whenClosed();
    }
    assert.is(ran, 0);
    assert.is(errors.length, 3);
    for (const e of errors) isError(e, ProtocolError, 'metadata');
    const good = await RawClient.open(server.address as string);
    await good.greet();
    good.write(frameOf(call({ tenant: 'acme' })));
    assert.equal(await good.next(), { t: MsgType.Return, i: 1, v: 0 });
    good.destroy();
  } finally {
    await server.close();
  }
});

test('pool: metadata reaches the worker, also for a call that waited in the queue', async () => {
  const pool = createPool<typeof import('../fixtures/pool/meta.ts')>(new URL('../fixtures/pool/meta.ts', import.meta.url), { maxThreads: 1, concurrentTasksPerWorker: 1 });
  try {
    const tagged = withOptions(pool.api, { metadata: { tenant: 'acme' } });
    const [a, b] = await within(5000, 'two pool calls', Promise.all([tagged.tenant(), tagged.tenant()]));
    assert.is(a, 'acme');
    assert.is(b, 'acme');
    assert.is(await pool.api.tenant(), null);
  } finally {
    await pool.destroy();
  }
});

test.run();
