/**
 * idleTimeout, keep-alive pings and maxConnections: silent connections
 * cannot hold a server's descriptors against legitimate clients.
 */
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, connect, listen, proxy } from '../../src/index.ts';
import { defaultMaxConnections } from '../../src/connections.ts';
import { FrameDecoder } from '../../src/framing.ts';
import { decodeMessage } from '../../src/codec/binary.ts';
import { fromTuple, MsgType, PROTOCOL_VERSION } from '../../src/protocol.ts';
import { frameOf, isError, rejection, tempDir, within } from '../streams/helpers.ts';
import { rawClient } from './raw.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`c${n++}.sock`);

function serverApi() {
  const held: unknown[] = [];
  let open: Array<() => void> = [];
  return {
    add: (a: number, b: number) => a + b,
    keep: (cb: unknown) => void held.push(cb),
    wait: () => new Promise<void>((resolve) => open.push(resolve)),
    waiting: () => open.length,
    release: () => {
      for (const r of open) r();
      open = [];
    },
  };
}

test('idleTimeout: a silent connection is closed; one that pings, one holding a handle and one with a call in flight stay', async () => {
  const api = serverApi();
  const server = await listen(api, sock(), { idleTimeout: 300 });
  const pinging = await connect<typeof api>(server.address, { pingInterval: 50 });
  const holding = await connect<typeof api>(server.address, { pingInterval: 0 });
  await holding.api.keep(proxy(() => {}) as never);
  const calling = await connect<typeof api>(server.address, { pingInterval: 0 });
  const inFlight = calling.api.wait();
  while ((await pinging.api.waiting()) < 1);
  const silent = await rawClient(server.address as string);
  // Opened last, so by the time it is closed the others have been as quiet for as long.
  await silent.client.whenClosed(5000);
  assert.ok(pinging.connected && holding.connected && calling.connected);
  assert.is(await pinging.api.add(1, 2), 3);
  api.release();
  await inFlight;
  await pinging.close();
  await holding.close();
  await calling.close();
  await server.close();
});

test('idleTimeout through connect(): a client that does not ping is disconnected, saying the server closed', async () => {
  const server = await listen(serverApi(), sock(), { idleTimeout: 200 });
  const quiet = await connect<ReturnType<typeof serverApi>>(server.address, { pingInterval: 0 });
  const [cause] = (await within(5000, 'the idle disconnect', once(quiet, 'disconnect'))) as [Error];
  isError(cause, ChannelClosedError, 'closed the connection');
  await quiet.close();
  await server.close();
});

test('maxConnections: when full, the idlest connection makes room; when all are busy, a new client is refused saying why', async () => {
  const api = serverApi();
  const server = await listen(api, sock(), { maxConnections: 3 });
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const silent = [await rawClient(server.address as string), await rawClient(server.address as string), await rawClient(server.address as string)];
  // A legitimate client still gets in, at the cost of the longest idle.
  const first = await connect<typeof api>(server.address);
  assert.is(await first.api.add(1, 1), 2);
  await silent[0]!.client.whenClosed();
  const busy = [first, await connect<typeof api>(server.address), await connect<typeof api>(server.address)];
  const waits = busy.map((c) => c.api.wait());
  for (const s of silent) await s.client.whenClosed();
  assert.is(server.connections, 3);
  await within(5000, 'the calls reaching the server', (async () => {
    while ((await busy[2]!.api.waiting()) < 3);
  })());
  const refused = await rejection(connect(server.address));
  isError(refused, Error, 'maxConnections 3');
  api.release();
  await Promise.all(waits);
  for (const c of busy) await c.close();
  await server.close();
});

test('the default maxConnections follows the descriptor limit', () => {
  const d = defaultMaxConnections();
  assert.ok(d >= 1, String(d));
});

/** A server that says hello with `features` and counts the Pings each connection sends it. */
async function helloServer(path: string, features: string[]): Promise<{ pings: () => number; whenPings(n: number): Promise<void>; close(): void }> {
  let pings = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.write(frameOf({ farcall: PROTOCOL_VERSION, features }));
    const decoder = new FrameDecoder((f) => {
      if ((fromTuple(decodeMessage(f.body, f.buffers)) as { t?: unknown }).t === MsgType.Ping && ++pings === waiter?.n) waiter.resolve();
    });
    s.on('data', (chunk: Buffer) => decoder.push(chunk));
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    pings: () => pings,
    whenPings: (n) => new Promise<void>((resolve) => (waiter = { n, resolve })),
    close: () => (sockets.forEach((s) => s.destroy()), server.close()),
  };
}

test('connect() pings only a server whose hello says it understands pings', async () => {
  const knows = await helloServer(sock(), ['ping']);
  const older = await helloServer(sock(), []);
  const a = await connect(tmp.path(`c${n - 2}.sock`), { pingInterval: 20 });
  const b = await connect(tmp.path(`c${n - 1}.sock`), { pingInterval: 20 });
  // Both clients ping on the same clock: by three more pings to one, the other would have sent some.
  await within(5000, 'three pings to the server that understands them', knows.whenPings(knows.pings() + 3));
  assert.is(older.pings(), 0);
  await a.close();
  await b.close();
  knows.close();
  older.close();
});

test('idleTimeout, maxConnections and pingInterval are checked', async () => {
  for (const [options, says] of [
    [{ idleTimeout: -1 }, 'idleTimeout'],
    [{ maxConnections: 0 }, 'maxConnections'],
    [{ maxConnections: 2.5 }, 'maxConnections'],
  ] as const) {
    const err = await rejection(listen({}, sock(), options as never).then(async (s) => (await s.close(), s)));
    isError(err, TypeError, says);
  }
  isError(await rejection(connect(sock(), { pingInterval: -5 })), TypeError, 'pingInterval');
});

test.after(() => tmp.remove());
test.run();
