/**
 * The hello handshake (DESIGN.md, "Protocol"): a peer of another protocol
 * version, or something that is not farcall at all, fails at once with an
 * error that says so, on both sides — never a decode error later.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage } from '../../src/codec/binary.ts';
import { FrameDecoder } from '../../src/framing.ts';
import { PROTOCOL_VERSION } from '../../src/protocol.ts';
import { ProtocolError, connect, listen, type Server } from '../../src/index.ts';
import { RawClient, frameOf, header, hello, isError, rejection, tempDir, within } from './helpers.ts';

const tmp = tempDir();
let n = 0;
const api = { add: (a: number, b: number) => a + b };

/** A farcall server that records its clientErrors. */
async function farcallServer(): Promise<{ server: Server; errors: Error[]; nextError(): Promise<Error> }> {
  const server = await listen(api, tmp.path(`h${n++}.sock`), { helloTimeout: 2000 });
  const errors: Error[] = [];
  server.on('clientError', (e) => errors.push(e));
  return {
    server,
    errors,
    nextError: async () => (errors.length ? errors[0]! : ((await within(5000, 'a clientError', once(server, 'clientError')))[0] as Error)),
  };
}

/** A raw server at a new path that answers every connection with `greet(socket)`; records what it received. */
async function rawServer(
  greet: (socket: net.Socket) => void,
): Promise<{ path: string; received: Buffer[]; ended: Promise<void>; close(): Promise<void> }> {
  const path = tmp.path(`r${n++}.sock`);
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let ended!: () => void;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (b: Buffer) => received.push(b));
    socket.on('close', () => ended());
    socket.on('error', () => {});
    greet(socket);
  });
  server.listen(path);
  await once(server, 'listening');
  return {
    path,
    received,
    ended: new Promise<void>((resolve) => (ended = resolve)),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

test('a client of another protocol version: connect() rejects naming both versions', async () => {
  const other = PROTOCOL_VERSION + 1;
  const fake = await rawServer((s) => s.write(hello(other)));
  const err = await rejection(connect(fake.path, { helloTimeout: 2000 }));
  isError(err, ProtocolError, 'version mismatch', `farcall protocol ${PROTOCOL_VERSION}`, `farcall protocol ${other}`);
  // What the fake server got was a proper hello, so it could say the same.
  await within(5000, 'the client closing its side', fake.ended);
  const frames: unknown[] = [];
  const decoder = new FrameDecoder((f) => frames.push(decodeMessage(f.body, f.buffers)));
  for (const b of fake.received) decoder.push(b);
  assert.equal(frames[0], { farcall: PROTOCOL_VERSION, features: ['ping'] });
  await fake.close();
});

test('a client of another protocol version: the server reports clientError naming both versions', async () => {
  const { server, nextError } = await farcallServer();
  const client = await RawClient.open(server.address as string);
  const other = PROTOCOL_VERSION + 7;
  // The hello and, in the same write, messages a newer version might send:
  // the mismatch is what is reported, not what the later bytes look like.
  client.write(Buffer.concat([hello(other), header(3), Buffer.from([9, 9, 9]), frameOf({ t: 77, future: true })]));
  const err = await nextError();
  isError(err, ProtocolError, 'version mismatch', `farcall protocol ${PROTOCOL_VERSION}`, `farcall protocol ${other}`);
  // The client was told the server's version before the close.
  assert.equal(await client.next(), { farcall: PROTOCOL_VERSION, features: ['ping'] });
  await client.whenClosed();
  await server.close();
});

test('a hello whose version is not a number is not a farcall hello', async () => {
  const { server, nextError } = await farcallServer();
  const client = await RawClient.open(server.address as string);
  client.write(frameOf({ farcall: '1', features: [] }));
  isError(await nextError(), ProtocolError, 'not a farcall peer');
  await client.whenClosed();
  await server.close();
});

test('a farcall message before the hello is refused as not a hello', async () => {
  const { server, nextError } = await farcallServer();
  const client = await RawClient.open(server.address as string);
  client.write(frameOf({ t: 0, i: 1, p: ['add'], a: [1, 2] }));
  isError(await nextError(), ProtocolError, 'not a farcall peer', 'did not start with a farcall hello');
  await client.whenClosed();
  await server.close();
});

test('non-farcall bytes first (an HTTP request): the server says so and shows them', async () => {
  const { server, errors, nextError } = await farcallServer();
  const client = await RawClient.open(server.address as string);
  client.write(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'));
  const err = await nextError();
  isError(err, ProtocolError, 'not a farcall peer', '47 45 54 20', '"GET / HTTP/1.1..');
  assert.not.ok(err.message.includes('maxMessageSize'), 'not reported as a huge frame');
  await client.whenClosed();
  assert.is(errors.length, 1);
  await server.close();
});

test('non-farcall bytes first, a few at a time and short: still named once the hello is overdue', async () => {
  const server = await listen(api, tmp.path(`h${n++}.sock`), { helloTimeout: 150 });
  const reported = once(server, 'clientError');
  const client = await RawClient.open(server.address as string);
  client.write(Buffer.from('hi\n'));
  const [err] = (await within(5000, 'a clientError', reported)) as [Error];
  isError(err, ProtocolError, 'no hello within 150 ms', '68 69 0a', '"hi."');
  await client.whenClosed();
  await server.close();
});

test('connect() to something that is not farcall rejects clearly, showing its first bytes', async () => {
  const ssh = await rawServer((s) => s.write('SSH-2.0-OpenSSH_9.6\r\n'));
  const err = await rejection(connect(ssh.path));
  isError(err, ProtocolError, 'not a farcall peer', '"SSH-2.0-OpenSSH_');
  await ssh.close();
});

test('connect() to an HTTP server rejects clearly', async () => {
  const web = http.createServer((_, res) => res.end('hello'));
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  const { port } = web.address() as net.AddressInfo;
  const err = await rejection(connect({ host: '127.0.0.1', port }));
  isError(err, ProtocolError, 'not a farcall peer', '"HTTP/1.1');
  web.close();
  web.closeAllConnections();
  await once(web, 'close');
});

test('connect() to a server that says nothing rejects after helloTimeout', async () => {
  const mute = await rawServer(() => {});
  const started = Date.now();
  const err = await rejection(connect(mute.path, { helloTimeout: 150 }));
  isError(err, ProtocolError, 'sent no hello within 150 ms');
  assert.ok(Date.now() - started >= 140);
  await mute.close();
});

test('a TLS client at a plain TCP server: the server says it is not farcall', async () => {
  const server = await listen(api, { host: '127.0.0.1', port: 0 });
  const reported = once(server, 'clientError');
  const { port } = server.address as { port: number };
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  const failed = once(socket, 'error').catch((e: unknown) => [e]);
  const [err] = (await within(5000, 'a clientError', reported)) as [Error];
  // A TLS record starts 16 03: a handshake, TLS 1.x.
  isError(err, ProtocolError, 'not a farcall peer', '16 03');
  await within(5000, 'the TLS client failing', failed);
  socket.destroy();
  await server.close();
});

test('both sides farcall: the handshake passes and calls work', async () => {
  const { server, errors } = await farcallServer();
  const conn = await connect<typeof api>(server.address as string);
  assert.is(await conn.api.add(1, 2), 3);
  await conn.close();
  await server.close();
  assert.is(errors.length, 0);
});

test.after(() => tmp.remove());

test.run();
