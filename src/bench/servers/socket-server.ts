// A separate process serving the bench over a socket or a pipe:
//   socket-server.js farcall|framed|copy <unix socket path>|tcp|pipe
// "pipe" serves the framed echo on fd 3 (the parent's pipe) until the
// parent closes it. Otherwise it prints the address it listens on as one
// JSON line and serves until the parent closes its stdin (or dies).
import net from 'node:net';
import { Readable, pipeline } from 'node:stream';
import { listen } from '../../index.ts';
import { serveEcho } from '../framed.ts';
import * as api from './api.ts';

const [kind, where] = process.argv.slice(2);

/**
 * The raw copy the stream rows are measured beside: per connection, read
 * "items n" or "chunks n size", then stream.pipeline n lines of a number,
 * or n fresh chunks, into the socket and end it.
 */
function serveCopy(sock: net.Socket): void {
  sock.once('data', (line) => {
    const [what, n, size] = String(line).trim().split(' ');
    const count = Number(n);
    function* items(): Generator<Uint8Array | string> {
      for (let i = 0; i < count; i++) yield what === 'chunks' ? new Uint8Array(Number(size)) : `${i}\n`;
    }
    pipeline(Readable.from(items()), sock, () => {});
  });
}
/** Room for a 64 MiB buffer and its frame header. */
const maxMessageSize = 256 * 1024 * 1024;

async function serveSocket(): Promise<string | { host: string; port: number }> {
  if (kind === 'farcall') {
    const server = await listen({ ...api }, where === 'tcp' ? { host: '127.0.0.1', port: 0 } : where!, { maxMessageSize });
    return server.address;
  }
  const server = net.createServer(kind === 'copy' ? serveCopy : serveEcho);
  if (where === 'tcp') await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  else await new Promise<void>((resolve) => server.listen(where, resolve));
  const a = server.address();
  return typeof a === 'string' ? a : { host: '127.0.0.1', port: a!.port };
}

if (where === 'pipe') {
  const channel = new net.Socket({ fd: 3, readable: true, writable: true });
  serveEcho(channel);
  channel.on('close', () => process.exit(0));
} else {
  process.stdout.write(JSON.stringify(await serveSocket()) + '\n');
  process.stdin.on('end', () => process.exit(0)).resume();
}
