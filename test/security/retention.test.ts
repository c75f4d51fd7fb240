/**
 * What a message refers to is let go once it is sent: a large buffer must
 * not stay alive until the next message is encoded.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/codec/binary.ts';
import { connect, listen } from '../../src/index.ts';
import { tempDir } from '../streams/helpers.ts';

const gc = globalThis.gc as () => void;
const MiB = 1024 * 1024;

/** Collects garbage across a couple of turns of the event loop, so WeakRefs made earlier can clear. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

test('the encoder keeps no reference to the last message\'s out-of-band buffer', async () => {
  let big: ArrayBuffer | undefined = new ArrayBuffer(32 * MiB);
  const ref = new WeakRef(big);
  let encoded: unknown = encodeMessage({ data: big }, undefined);
  assert.ok(encoded);
  big = undefined;
  encoded = undefined;
  await collect();
  assert.is(ref.deref(), undefined, 'the 32 MiB buffer is still referenced after its message was encoded');
});

test('a buffer sent over a socket is collectable once its call is answered', async () => {
  const tmp = tempDir();
  const server = await listen({ size: (b: ArrayBuffer) => b.byteLength }, tmp.path('r.sock'));
  const conn = await connect<{ size(b: ArrayBuffer): number }>(server.address);
  let big: ArrayBuffer | undefined = new ArrayBuffer(32 * MiB);
  const ref = new WeakRef(big);
  assert.is(await conn.api.size(big), 32 * MiB);
  big = undefined;
  await collect();
  assert.is(ref.deref(), undefined, 'the 32 MiB buffer is still referenced after its call');
  await conn.close();
  await server.close();
  tmp.remove();
});

test.run();
