/**
 * Shared-secret challenge–response in the stream handshake, and TLS client
 * certificates as identities. Every refusal is a test, and none reaches a
 * method: the api counts the calls it serves.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthenticationError, connect, currentIdentity, listen, type MiddlewareContext, type Server } from '../../src/index.ts';
import { MsgType, PROTOCOL_VERSION } from '../../src/protocol.ts';
import { frameOf, isError, RawClient, rejection, tempDir, within } from '../streams/helpers.ts';

const test = suite('auth');
const tmp = tempDir();
test.after(() => tmp.remove());

const SECRET = 'correct horse battery staple';
let served = 0;
const api = {
  add(a: number, b: number) {
    served++;
    return a + b;
  },
  whoami: () => currentIdentity() ?? null,
};
type Api = typeof api;

let n = 0;
async function server(auth: Parameters<typeof listen>[2] extends infer O ? (O extends { auth?: infer A } ? A : never) : never, extra = {}) {
  const s = await listen(api, tmp.path(`a${n++}.sock`), { auth, ...extra });
  const errors: Error[] = [];
  s.on('clientError', (e) => errors.push(e));
  return { s, errors, path: s.address as string };
}

/** Waits for the server's 'clientError', then checks it. */
async function reported(errors: Error[], ...includes: string[]): Promise<void> {
  await within(5000, 'clientError', (async () => {
    while (errors.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  })());
  isError(errors[0], AuthenticationError, ...includes);
}

test.before.each(() => {
  served = 0;
});

test('the right shared secret connects, and calls work as without', async () => {
  const { s, path } = await server({ secret: SECRET });
  const conn = await connect<Api>(path, { auth: { secret: SECRET } });
  try {
    assert.is(await conn.api.add(1, 2), 3);
    assert.is(await conn.api.whoami(), null, 'a shared secret and no key id: no identity');
  } finally {
    await conn.close();
    await s.close();
  }
});

test('a key per client: the key id is the identity the callee and middleware read', async () => {
  const seen: Array<string | undefined> = [];
  const s = await listen(api, tmp.path('keys.sock'), {
    auth: { keys: { alice: 'alice-secret-0123456789', bob: 'bob-secret-0123456789ab' } },
    use: [(ctx: MiddlewareContext, next) => (seen.push(ctx.identity), next())],
  });
  const alice = await connect<Api>(s.address as string, { auth: { keyId: 'alice', secret: 'alice-secret-0123456789' } });
  const bob = await connect<Api>(s.address as string, { auth: { keyId: 'bob', secret: 'bob-secret-0123456789ab' } });
  try {
    assert.is(await alice.api.whoami(), 'alice');
    assert.is(await bob.api.whoami(), 'bob');
    assert.equal(seen, ['alice', 'bob']);
  } finally {
    await alice.close();
    await bob.close();
    await s.close();
  }
});

test('a wrong secret: AuthenticationError for the client, the server says why, no method reached', async () => {
  const { s, errors, path } = await server({ secret: SECRET });
  try {
    isError(await rejection(connect<Api>(path, { auth: { secret: 'not the right secret at all' } })), AuthenticationError, 'the server refused the credentials');
    await reported(errors, "the client's proof does not match");
    assert.is(served, 0);
  } finally {
    await s.close();
  }
});

test('a missing secret: refused on both sides', async () => {
  const { s, errors, path } = await server({ secret: SECRET });
  try {
    isError(await rejection(connect<Api>(path)), AuthenticationError, 'uses authentication (option auth) and this side has none');
    await reported(errors, 'the client offered no credentials');
    assert.is(served, 0);
  } finally {
    await s.close();
  }
});

test('an unknown key id, or a key id a server with keys needs and does not get', async () => {
  const { s, errors, path } = await server({ keys: { alice: 'alice-secret-0123456789' } });
  try {
    isError(await rejection(connect<Api>(path, { auth: { keyId: 'mallory', secret: 'alice-secret-0123456789' } })), AuthenticationError);
    await reported(errors, 'key id "mallory", which this server does not have');
    errors.length = 0;
    isError(await rejection(connect<Api>(path, { auth: { secret: 'alice-secret-0123456789' } })), AuthenticationError);
    await reported(errors, 'named no key id');
    assert.is(served, 0);
  } finally {
    await s.close();
  }
});

test('a client with a secret refuses a server that cannot prove it holds it (or does not authenticate)', async () => {
  const wrong = await server({ secret: 'the server holds another one' });
  const none = await listen(api, tmp.path('none.sock'));
  try {
    // The server refuses the client's proof first, so the client hears a refusal.
    isError(await rejection(connect<Api>(wrong.path, { auth: { secret: SECRET } })), AuthenticationError);
    isError(await rejection(connect<Api>(none.address as string, { auth: { secret: SECRET } })), AuthenticationError, 'the server does not authenticate clients');
    assert.is(served, 0);
  } finally {
    await wrong.s.close();
    await none.close();
  }
});

/** A client's handshake by hand: its hello, then its proof for the server's nonce. */
const proof = (role: string, nc: string, ns: string) => createHmac('sha256', SECRET).update(`farcall-auth-1\0${role}\0\0${nc}\0${ns}`).digest('base64');

test('a recorded client handshake, replayed, is refused: the server chose a new nonce', async () => {
  const { s, errors, path } = await server({ secret: SECRET });
  try {
    const nc = randomBytes(32).toString('base64');
    const hello = frameOf({ farcall: PROTOCOL_VERSION, features: [], auth: { n: nc } });
    const first = await RawClient.open(path);
    first.write(hello);
    const serverHello = (await first.next()) as { auth: { n: string } };
    const recordedProof = frameOf({ auth: { p: proof('client', nc, serverHello.auth.n) } });
    first.write(recordedProof);
    const serverProof = (await first.next()) as { auth: { p: string } };
    assert.is(serverProof.auth.p, proof('server', nc, serverHello.auth.n), 'the server proved it holds the secret');
    first.write(frameOf({ t: MsgType.Call, i: 1, p: ['add'], a: [2, 2] }));
    assert.equal(await first.next(), { t: MsgType.Return, i: 1, v: 4 });
    first.destroy();
    assert.is(served, 1);

    const replay = await RawClient.open(path);
    replay.write(hello);
    await replay.next();
    replay.write(recordedProof);
    replay.write(frameOf({ t: MsgType.Call, i: 1, p: ['add'], a: [2, 2] }));
    const refusal = (await replay.next()) as { error?: { n: string } };
    assert.is(refusal.error?.n, 'AuthenticationError');
    await replay.whenClosed();
    await reported(errors, 'proof does not match', 'replayed');
    assert.is(served, 1, 'the replayed call never ran');
  } finally {
    await s.close();
  }
});

test('a client cannot pass off a refusal (or anything else) as its proof', async () => {
  const { s, errors, path } = await server({ secret: SECRET });
  try {
    const c = await RawClient.open(path);
    c.write(frameOf({ farcall: PROTOCOL_VERSION, features: [], auth: { n: randomBytes(32).toString('base64') } }));
    await c.next();
    c.write(frameOf({ farcall: PROTOCOL_VERSION, features: [], error: { k: 1, n: 'ChannelClosedError', m: 'nothing to see' } }));
    await c.whenClosed();
    await reported(errors, 'sent something else where its proof of the secret belongs');
    assert.is(served, 0);
  } finally {
    await s.close();
  }
});

test('a recorded server handshake, replayed to a client, is refused: the client chose a new nonce', async () => {
  const { s, path } = await server({ secret: SECRET });
  // A relay that records what the real server says to a real client.
  const recorded: Buffer[] = [];
  const relay = net.createServer((c) => {
    const upstream = net.connect(path);
    upstream.on('data', (d: Buffer) => (recorded.push(d), c.write(d)));
    c.on('data', (d) => upstream.write(d));
    c.on('close', () => upstream.destroy());
    upstream.on('close', () => c.destroy());
  });
  relay.listen(tmp.path('relay.sock'));
  await once(relay, 'listening');
  const conn = await connect<Api>(tmp.path('relay.sock'), { auth: { secret: SECRET } });
  assert.is(await conn.api.add(1, 1), 2);
  await conn.close();
  relay.close();
  // A fake server that replays it.
  const fake = net.createServer((c) => {
    c.on('error', () => {});
    c.write(Buffer.concat(recorded));
  });
  fake.listen(tmp.path('fake.sock'));
  await once(fake, 'listening');
  try {
    isError(await rejection(connect<Api>(tmp.path('fake.sock'), { auth: { secret: SECRET } })), AuthenticationError, 'the server could not prove it holds the secret');
  } finally {
    fake.close();
    await s.close();
  }
});

test('bad auth options are refused naming the problem', async () => {
  isError(await rejection(listen(api, tmp.path('x.sock'), { auth: { secret: 'short' } })), RangeError, 'auth.secret must be at least 16 bytes');
  isError(await rejection(listen(api, tmp.path('x.sock'), { auth: { keys: {} } })), TypeError, 'auth.keys has no keys');
  isError(await rejection(listen(api, tmp.path('x.sock'), { auth: { secrt: SECRET } as never })), TypeError, 'option auth must be { secret } or { keys');
  isError(await rejection(connect(tmp.path('x.sock'), { auth: { secret: SECRET, keyid: 'a' } as never })), TypeError, 'option auth has no field keyid');
  isError(await rejection(connect(tmp.path('x.sock'), { auth: { secret: 42 } as never })), TypeError, 'auth.secret must be a string or bytes');
});

// ---- TLS client certificates ---------------------------------------------------------

function selfSigned(name: string, subject: string, san?: string): { key: string; cert: string } | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const key = tmp.path(`${name}-key.pem`);
  const cert = tmp.path(`${name}-cert.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', subject, ...(san ? ['-addext', `subjectAltName=${san}`] : [])],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

const serverPems = selfSigned('server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
const clientPems = selfSigned('client', '/CN=alice/O=acme');
if (!serverPems) console.log('  (openssl not found: the TLS client certificate test is skipped)');

(serverPems && clientPems ? test : test.skip)('TLS client certificates: the subject is the identity; a client without one is refused', async () => {
  const s: Server = await listen(api, { host: '127.0.0.1', port: 0, tls: { ...serverPems!, requestCert: true, ca: [clientPems!.cert] } });
  const errors: Error[] = [];
  s.on('clientError', (e) => errors.push(e));
  const { port } = s.address as { port: number };
  try {
    const conn = await connect<Api>({ host: '127.0.0.1', port, tls: { ca: serverPems!.cert, ...clientPems! } });
    assert.is(await conn.api.whoami(), 'CN=alice, O=acme');
    await conn.close();
    await rejection(connect<Api>({ host: '127.0.0.1', port, tls: { ca: serverPems!.cert } }));
    assert.is(served, 0);
  } finally {
    await s.close();
  }
});

test.run();
