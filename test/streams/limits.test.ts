/**
 * The per-connection limits (DESIGN.md, "Trust"): maxInFlight,
 * maxMessageSize both ways, maxWriteBuffer. A limit reached fails the one
 * call, or the one offending connection, never silently.
 */
import { EventEmitter, once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, ProtocolError, QueueFullError, connect, listen, proxy, transfer } from '../../src/index.ts';
import { isError, rejection, tempDir, within } from './helpers.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`m${n++}.sock`);
const MiB = 1024 * 1024;

const api = {
  add: (a: number, b: number) => a + b,
  bytes: (n: number) => new Uint8Array(n),
  byteLength: (b: ArrayBuffer) => b.byteLength,
  throwBig(n: number): never {
    throw new Error('x'.repeat(n));
  },
};
type Api = typeof api;

test('maxInFlight: a call past it is refused at once with QueueFullError; the connection stays', async () => {
  const gates: Array<() => void> = [];
  const started = new EventEmitter();
  const server = await listen(
    {
      ...api,
      wait: (i: number) =>
        new Promise<number>((resolve) => {
          gates.push(() => resolve(i));
          started.emit('wait');
        }),
    },
    sock(),
    { maxInFlight: 3 },
  );
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const conn = await connect<Api & { wait(i: number): Promise<number> }>(server.address as string);
  const held = [conn.api.wait(1), conn.api.wait(2), conn.api.wait(3)];
  const refused = await rejection(conn.api.wait(4));
  isError(refused, QueueFullError, 'wait()', 'maxInFlight 3');
  assert.is((refused as { code?: string }).code, 'ERR_FARCALL_QUEUE_FULL');
  assert.is(gates.length, 3, 'the refused call never ran');
  for (const open of gates.splice(0)) open();
  assert.equal(await Promise.all(held), [1, 2, 3]);
  // Room again.
  const reached = once(started, 'wait');
  const again = conn.api.wait(5);
  await within(5000, 'the call reaching the server', reached);
  gates.shift()!();
  assert.is(await again, 5);
  assert.ok(conn.connected);
  assert.is(errors.length, 0);
  await conn.close();
  await server.close();
});

test('maxInFlight on connect() bounds the callbacks the server may have running on the client', async () => {
  const server = await listen(
    {
      async twice(cb: () => Promise<string>) {
        const results = await Promise.allSettled([cb(), cb()]);
        return results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name));
      },
    },
    sock(),
  );
  const conn = await connect<{ twice(cb: () => Promise<string>): Promise<string[]> }>(server.address as string, { maxInFlight: 1 });
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const slow = proxy(
    () =>
      new Promise<string>((resolve) => {
        release = () => resolve('ran');
        started();
      }),
  );
  const result = conn.api.twice(slow);
  await within(5000, 'the first callback starting', running);
  release();
  assert.equal((await result).sort(), ['QueueFullError', 'ran']);
  await conn.close();
  await server.close();
});

test('a result over the server’s maxMessageSize rejects the call instead of leaving it pending', async () => {
  const server = await listen(api, sock(), { maxMessageSize: MiB });
  const conn = await connect<Api>(server.address as string);
  const err = await within(5000, 'the oversized result', rejection(conn.api.bytes(2 * MiB)));
  isError(err, ProtocolError, 'exceeds maxMessageSize (1048576 bytes)');
  assert.is(await conn.api.add(1, 1), 2, 'the connection stays');
  assert.is((await conn.api.bytes(MiB - 100)).byteLength, MiB - 100, 'under the limit is fine');
  await conn.close();
  await server.close();
});

test('an error too large to send still rejects the call, saying why', async () => {
  const server = await listen(api, sock(), { maxMessageSize: MiB });
  const conn = await connect<Api>(server.address as string);
  const err = await within(5000, 'the oversized error', rejection(conn.api.throwBig(2 * MiB)));
  assert.match(err.message, /what it threw could not be sent: a message of \d+ bytes exceeds maxMessageSize/);
  assert.ok(err.message.length < 1000);
  await conn.close();
  await server.close();
});

test('an argument over the client’s maxMessageSize rejects before sending; a transferred buffer stays attached', async () => {
  const server = await listen(api, sock());
  const conn = await connect<Api>(server.address as string, { maxMessageSize: MiB });
  const buf = new ArrayBuffer(2 * MiB);
  const err = await rejection(conn.api.byteLength(transfer(buf, [buf])));
  isError(err, ProtocolError, 'exceeds maxMessageSize (1048576 bytes)');
  assert.is(buf.byteLength, 2 * MiB, 'not detached by a call that was never sent');
  assert.is(await conn.api.add(2, 2), 4, 'the connection stays');
  const small = new ArrayBuffer(1000);
  assert.is(await conn.api.byteLength(transfer(small, [small])), 1000);
  assert.is(small.byteLength, 0, 'a call that was sent detaches as usual');
  await conn.close();
  await server.close();
});

test('a frame over the receiver’s limit costs the sender its connection, reported on the server', async () => {
  const server = await listen(api, sock(), { maxMessageSize: MiB });
  const reported = once(server, 'clientError');
  const conn = await connect<Api>(server.address as string);
  const err = await rejection(conn.api.byteLength(new ArrayBuffer(2 * MiB)));
  isError(err, ChannelClosedError);
  const [clientError] = (await within(5000, 'clientError', reported)) as [Error];
  isError(clientError, ProtocolError, 'exceeds maxMessageSize (1048576 bytes)');
  await conn.close();
  await server.close();
});

test('maxWriteBuffer smaller than one reply: a reply alone still goes out to a reading client', async () => {
  const server = await listen(api, sock(), { maxWriteBuffer: 64 * 1024 });
  const conn = await connect<Api>(server.address as string);
  assert.is((await conn.api.bytes(4 * MiB)).byteLength, 4 * MiB);
  assert.is((await conn.api.bytes(4 * MiB)).byteLength, 4 * MiB);
  await conn.close();
  await server.close();
});

test.after(() => tmp.remove());

test.run();
