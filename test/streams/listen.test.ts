/**
 * listen() and connect() over real Unix sockets, TCP and TLS: socket files,
 * many clients, closing, reconnecting, and options checked up front.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChannelClosedError, connect, listen, proxy, type Server } from '../../src/index.ts';
import { startServerProcess } from '../fixtures/server-process.ts';
import { RawClient, frameOf, isError, rejection, tempDir, within } from './helpers.ts';
import { MsgType } from '../../src/protocol.ts';
import { listenOn } from '../../src/transport/socket.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`l${n++}.sock`);

/** A promise with its resolve, to let a served call finish when the test says so. */
function latch<T = void>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const api = {
  add: (a: number, b: number) => a + b,
  async whoami(cb: () => Promise<number>) {
    return await cb();
  },
  bytes: (n: number) => new Uint8Array(n),
};
type Api = typeof api;

async function served(address: string | { host: string; port: number }): Promise<number> {
  const conn = await connect<Api>(address);
  try {
    return await conn.api.add(40, 2);
  } finally {
    await conn.close();
  }
}

// ---- socket files -----------------------------------------------------------

test('a stale socket file left by a killed server is replaced', async () => {
  const path = sock();
  const dead = await startServerProcess(path);
  await dead.stop(); // SIGKILL: the server had no chance to remove its file
  assert.ok(lstatSync(path).isSocket(), 'the dead server left its socket file');
  const server = await listen(api, path);
  assert.is(await served(path), 42);
  await server.close();
});

test('a live server’s socket is not replaced: a clear EADDRINUSE error, and the first server keeps serving', async () => {
  const path = sock();
  const first = await listen(api, path);
  const err = await rejection(listen(api, path));
  isError(err, Error, 'already listening', path);
  assert.is((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
  assert.is(await served(path), 42);
  await first.close();
});

test('a regular file at the path is not replaced', async () => {
  const path = sock();
  writeFileSync(path, 'precious');
  const err = await rejection(listen(api, path));
  isError(err, Error, 'is not a socket', 'refusing to replace it');
  assert.is((err as NodeJS.ErrnoException).code, 'EEXIST');
  assert.is(readFileSync(path, 'utf8'), 'precious');
});

test('errorStacks: false keeps the stacks of thrown errors, and of their causes, on the server', async () => {
  const failing = {
    fail() {
      throw Object.assign(new TypeError('bad input', { cause: new RangeError('inner') }), { code: 'E_BAD' });
    },
  };
  for (const errorStacks of [true, false]) {
    const server = await listen(failing, sock(), { errorStacks });
    const conn = await connect<typeof failing>(server.address as string);
    try {
      const err = (await rejection(conn.api.fail())) as TypeError & { code: string; cause: RangeError };
      assert.ok(err instanceof TypeError);
      assert.is(err.message, 'bad input');
      assert.is(err.code, 'E_BAD');
      assert.ok(err.cause instanceof RangeError && err.cause.message === 'inner');
      const here = import.meta.url.replace('file://', '');
      for (const e of [err, err.cause]) {
        assert.is(e.stack!.includes(`[remote] `), errorStacks, `remote frames in ${e.stack}`);
        assert.is(e.stack!.includes(here), errorStacks, `the server's file in ${e.stack}`);
      }
    } finally {
      await conn.close();
      await server.close();
    }
  }
});

test('the socket file has its mode from the moment it exists, not only after a chmod', async () => {
  // 'listening' fires before listen() gets to chmod the file: the mode seen here is the one it was born with.
  for (const mode of [0o600, 0o640]) {
    const server = net.createServer();
    const path = sock();
    let born = -1;
    server.on('listening', () => (born = statSync(path).mode & 0o777));
    await listenOn(server, { kind: 'unix', path }, mode);
    assert.is(born, mode, `born with ${born.toString(8)}, wanted ${mode.toString(8)}`);
    server.close();
  }
});

test('the socket file is mode 0600 by default, and the mode option is honoured', async () => {
  const a = await listen(api, sock());
  assert.is(statSync(a.address as string).mode & 0o777, 0o600);
  const b = await listen(api, sock(), { mode: 0o660 });
  assert.is(statSync(b.address as string).mode & 0o777, 0o660);
  await a.close();
  await b.close();
  assert.not.ok(existsSync(a.address as string), 'close() removes the socket file');
});

test('a path over 107 bytes gets a clear error naming the limit; 107 bytes works', async () => {
  const exact = join(tmp.dir, 'p'.repeat(107 - Buffer.byteLength(tmp.dir) - 1));
  assert.is(Buffer.byteLength(exact), 107);
  const server = await listen(api, exact);
  assert.is(await served(exact), 42);
  await server.close();
  const long = exact + 'x';
  isError(await rejection(listen(api, long)), TypeError, '108 bytes', 'at most 107');
  isError(await rejection(connect(long)), TypeError, '108 bytes', 'at most 107');
  // Bytes, not characters, are what count.
  const wide = join(tmp.dir, 'é'.repeat(Math.ceil((108 - Buffer.byteLength(tmp.dir)) / 2)));
  assert.ok(wide.length <= 107);
  isError(await rejection(listen(api, wide)), TypeError, 'at most 107');
});

// ---- many clients, closing ------------------------------------------------

test('many clients at once, each its own peer', async () => {
  const server = await listen(api, sock());
  const count = 40;
  const conns = await Promise.all(Array.from({ length: count }, () => connect<Api>(server.address as string)));
  assert.is(server.connections, count);
  // The server calls each client back on that client's own connection.
  const answers = await Promise.all(conns.map((c, i) => c.api.whoami(proxy(async () => i))));
  assert.equal(answers, conns.map((_, i) => i));
  await Promise.all(conns.map((c) => c.close()));
  await server.close();
  assert.is(server.connections, 0);
});

test('close() stops accepting, lets a call in flight finish, then closes', async () => {
  const gate = latch<string>();
  const started = latch();
  const server = await listen(
    {
      slow: () => {
        started.resolve();
        return gate.promise;
      },
    },
    sock(),
  );
  const conn = await connect<{ slow(): Promise<string> }>(server.address as string);
  const disconnected = once(conn, 'disconnect');
  const call = conn.api.slow();
  await started.promise;
  let closed = false;
  const closing = server.close().then(() => (closed = true));
  // No longer accepting: the socket file is gone, a new client is refused.
  const refused = await rejection(connect(server.address as string));
  assert.ok(['ENOENT', 'ECONNREFUSED'].includes((refused as NodeJS.ErrnoException).code!), refused.message);
  assert.not.ok(closed, 'close() waits for the call in flight');
  gate.resolve('done');
  assert.is(await call, 'done', 'the call in flight got its answer');
  await within(5000, 'server.close()', closing);
  await within(5000, 'the client hearing of the close', disconnected);
  isError(await rejection(conn.api.slow()), ChannelClosedError);
  await conn.close();
});

test('close() cuts off a call still running after closeTimeout; its caller gets ChannelClosedError', async () => {
  const server = await listen({ never: () => new Promise(() => {}) }, sock(), { closeTimeout: 50 });
  const conn = await connect<{ never(): Promise<void> }>(server.address as string);
  const call = conn.api.never();
  await within(5000, 'server.close()', server.close());
  isError(await rejection(call), ChannelClosedError, 'closed');
  await conn.close();
});

test('close() does not hang on a client that neither reads nor closes', async () => {
  const server = await listen(api, sock());
  const stuck = await RawClient.open(server.address as string);
  await stuck.greet();
  stuck.socket.pause();
  stuck.write(Buffer.concat([1, 2, 3, 4].map((i) => frameOf({ t: MsgType.Call, i, p: ['bytes'], a: [2 * 1024 * 1024] }))));
  // A round trip on another connection, so the calls above have surely arrived.
  assert.is(await served(server.address as string), 42);
  await within(5000, 'server.close() with a stuck client', server.close());
  stuck.destroy();
});

// ---- reconnecting -------------------------------------------------------------

test('connect({ reconnect }): calls in flight at a drop reject, later calls wait, the client reconnects after a restart', async () => {
  const path = sock();
  const first = await startServerProcess(path);
  const conn = await connect<typeof import('../conformance/api.ts')>(path, { reconnect: { minDelay: 20, maxDelay: 100 } });
  try {
    const firstPid = await conn.api.pid();
    const hanging = rejection(conn.api.hang());
    const disconnected = once(conn, 'disconnect');
    await first.stop();
    const err = await hanging;
    isError(err, ChannelClosedError, `server at ${path}`);
    assert.is((err as { code?: string }).code, 'ERR_FARCALL_CLOSED');
    const [cause] = (await within(5000, 'disconnect', disconnected)) as [Error];
    assert.instance(cause, ChannelClosedError);
    assert.not.ok(conn.connected);
    // Made while the server is down: waits for the next connection.
    const meanwhile = conn.api.add(1, 2);
    const reconnected = once(conn, 'reconnect');
    const second = await startServerProcess(path);
    try {
      await within(5000, 'reconnect', reconnected);
      assert.ok(conn.connected);
      assert.is(await meanwhile, 3);
      assert.is.not(await conn.api.pid(), firstPid, 'served by the new server');
    } finally {
      await second.stop();
    }
  } finally {
    await conn.close();
  }
});

test('connect({ reconnect: { retries } }) gives up after its retries, rejecting waiting calls clearly', async () => {
  const path = sock();
  const server = await startServerProcess(path);
  const conn = await connect<typeof import('../conformance/api.ts')>(path, { reconnect: { retries: 2, minDelay: 5, maxDelay: 10 } });
  const disconnected = once(conn, 'disconnect');
  await server.stop();
  await within(5000, 'disconnect', disconnected);
  const err = await within(5000, 'giving up', rejection(conn.api.add(1, 2)));
  assert.not.ok(conn.connected);
  isError(err, ChannelClosedError, 'could not reconnect', 'after 2 attempts');
  await conn.close();
});

test('close() while reconnecting stops at once and leaves no timer behind', async () => {
  const path = sock();
  const server = await startServerProcess(path);
  const conn = await connect<typeof import('../conformance/api.ts')>(path, { reconnect: { minDelay: 60_000 } });
  const disconnected = once(conn, 'disconnect');
  await server.stop();
  await within(5000, 'disconnect', disconnected);
  const waiting = rejection(conn.api.add(1, 2));
  await conn.close();
  // Settles now, not after the minute-long delay.
  isError(await within(2000, 'the waiting call', waiting), ChannelClosedError);
});

// ---- TCP and TLS ------------------------------------------------------------------

test('TCP on { host, port: 0 }: the bound port is reported and served', async () => {
  const server = await listen(api, { host: '127.0.0.1', port: 0 });
  const address = server.address as { host: string; port: number };
  assert.is(address.host, '127.0.0.1');
  assert.ok(address.port > 0);
  assert.is(await served(address), 42);
  await server.close();
});

function selfSigned(): { key: string; cert: string } | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const key = tmp.path('key.pem');
  const cert = tmp.path('cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

const pems = selfSigned();
if (!pems) console.log('  (openssl not found: the TLS test is skipped)');

(pems ? test : test.skip)('TLS on { host, port, tls }: served to a client that trusts the certificate, refused to one that does not', async () => {
  const { key, cert } = pems!;
  const server = await listen(api, { host: '127.0.0.1', port: 0, tls: { key, cert } });
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  const { port } = server.address as { port: number };
  const conn = await connect<Api>({ host: '127.0.0.1', port, tls: { ca: cert } });
  assert.is(await conn.api.add(2, 3), 5);
  const big = await conn.api.bytes(3 * 1024 * 1024);
  assert.is(big.byteLength, 3 * 1024 * 1024);
  await conn.close();
  // No trust in a self-signed certificate by default.
  const untrusting = await rejection(connect({ host: '127.0.0.1', port, tls: {} }));
  assert.match(untrusting.message, /self[- ]signed/);
  // A plain client at a TLS server fails at once, not after helloTimeout.
  const plain = await within(5000, 'a plain client at a TLS server', rejection(connect({ host: '127.0.0.1', port })));
  assert.instance(plain, Error);
  await server.close();
  assert.ok(errors.length >= 1, 'the server reported the failed handshakes');
});

(pems ? test : test.skip)('TLS: a client silent before its handshake is closed after helloTimeout, and reported', async () => {
  const { key, cert } = pems!;
  const server = await listen(api, { host: '127.0.0.1', port: 0, tls: { key, cert } }, { helloTimeout: 200 });
  const reported = once(server, 'clientError');
  const { port } = server.address as { port: number };
  const silent = net.connect(port, '127.0.0.1');
  silent.on('error', () => {});
  const closed = once(silent, 'close');
  const [err] = (await within(5000, 'clientError', reported)) as [Error];
  assert.match(err.message, /timeout/i);
  await within(5000, 'the silent client being closed', closed);
  await server.close();
});

// ---- bad addresses and options -------------------------------------------------------

test('bad addresses and options give clear TypeErrors before anything is opened', async () => {
  const path = sock();
  const loose = listen as (...args: unknown[]) => Promise<Server>;
  const dial = connect as (...args: unknown[]) => Promise<unknown>;
  const cases: Array<[Promise<unknown>, ...string[]]> = [
    [loose(api, 42), 'expects a Unix socket path or { host, port[, tls] }', 'got number 42'],
    [loose(api, undefined), 'got undefined'],
    [loose(api, ''), 'empty socket path'],
    [loose(api, { port: 70000 }), 'port must be an integer from 0 to 65535', 'got number 70000'],
    [loose(api, { port: 1.5 }), 'port must be an integer'],
    [loose(api, { port: '80' }), 'port must be an integer', 'got a string'],
    [loose(api, { host: 7, port: 0 }), 'host must be a string'],
    [loose(api, { port: 0, tls: 'on' }), 'tls must be an object'],
    [loose(null, path), 'expects an object or a function to serve'],
    [loose(api, path, 'fast'), 'options must be an object'],
    [loose(api, path, { mode: 0o1777 }), 'option mode'],
    [loose(api, path, { mode: 'rw' }), 'option mode'],
    [loose(api, path, { errorStacks: 'no' }), 'option errorStacks'],
    [loose(api, path, { maxMessageSize: 0 }), 'maxMessageSize must be a positive number'],
    [loose(api, path, { maxMessageSize: 2 ** 32 }), 'maxMessageSize must be at most 4294967295'],
    [loose(api, path, { maxWriteBuffer: NaN }), 'maxWriteBuffer must be a positive number'],
    [loose(api, path, { helloTimeout: 2 ** 31 }), 'helloTimeout must be at most 2147483647'],
    [loose(api, path, { closeTimeout: -1 }), 'closeTimeout must be a non-negative number'],
    [loose(api, path, { closeTimeout: 1e10 }), 'closeTimeout must be at most'],
    [loose(api, path, { timeout: 'soon' }), 'option timeout'],
    [loose(api, path, { maxInFlight: 1.5 }), 'maxInFlight must be a whole number'],
    [loose(api, path, { maxInFlight: 0 }), 'maxInFlight must be a positive number'],
    [loose(api, path, { maxHandles: 'many' }), 'maxHandles must be a whole number'],
    [loose(api, path, { transferHandlers: {} }), 'transferHandlers must be a Map'],
    [dial(), 'connect() expects a Unix socket path', 'got undefined'],
    [dial({}), 'got an object'],
    [dial({ port: -1 }), 'port must be an integer'],
    [dial(path, { reconnect: 'yes' }), 'option reconnect must be true, false or { retries, minDelay, maxDelay }'],
    [dial(path, { reconnect: { retries: -1 } }), 'reconnect.retries must be a whole number or Infinity'],
    [dial(path, { reconnect: { minDelay: -5 } }), 'reconnect.minDelay'],
    [dial(path, { expose: 5 }), 'option expose must be an object or a function'],
    [dial(path, { helloTimeout: 0 }), 'helloTimeout must be a positive number'],
  ];
  const failures = await Promise.all(cases.map(([p]) => rejection(p)));
  failures.forEach((err, i) => {
    const [, ...includes] = cases[i]!;
    isError(err, TypeError, ...includes);
  });
  assert.not.ok(existsSync(path), 'nothing was created');
});

test.after(() => tmp.remove());

test.run();
