/**
 * Unix sockets, TCP and TLS: one server, one client, the same stream
 * transport beneath both.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { describe } from '../codec/marks.ts';
import { MAX_FRAME_SIZE } from '../framing.ts';
import { MAX_TIMER_MS, type OptionNames } from '../options.ts';
import { SocketReads } from './socket-reads.ts';
import type { StreamLimits } from './stream.ts';

/**
 * Where a server listens or a client connects: a Unix socket path, or a
 * TCP `{ host, port }`, with `tls` options for TLS.
 */
/** Server options (`tls.createServer`) on listen, client options (`tls.connect`) on connect. */
export type TlsSettings = tls.TlsOptions | tls.ConnectionOptions;

export type SocketAddress = string | { path: string } | { host?: string; port: number; tls?: TlsSettings };

export type ResolvedAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number; tls?: TlsSettings };

/** Linux's sun_path holds 108 bytes, the last one a NUL. */
const MAX_UNIX_PATH = 107;

export function resolveAddress(fn: string, address: unknown): ResolvedAddress {
  const path = typeof address === 'string' ? address : (address as { path?: unknown } | null)?.path;
  if (typeof path === 'string') {
    if (path.length === 0) throw new TypeError(`${fn}() got an empty socket path`);
    const bytes = Buffer.byteLength(path);
    if (bytes > MAX_UNIX_PATH) {
      throw new TypeError(`${fn}() socket path is ${bytes} bytes; Unix sockets allow at most ${MAX_UNIX_PATH}: use a shorter path (${path})`);
    }
    return { kind: 'unix', path };
  }
  if (typeof address === 'object' && address !== null && 'port' in address) {
    const { host = 'localhost', port, tls: tlsOptions } = address as { host?: unknown; port: unknown; tls?: unknown };
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TypeError(`${fn}() port must be an integer from 0 to 65535, got ${describe(port)}`);
    }
    if (typeof host !== 'string') throw new TypeError(`${fn}() host must be a string, got ${describe(host)}`);
    if (tlsOptions !== undefined && (typeof tlsOptions !== 'object' || tlsOptions === null)) {
      throw new TypeError(`${fn}() tls must be an object of TLS options, got ${describe(tlsOptions)}`);
    }
    return tlsOptions ? { kind: 'tcp', host, port, tls: tlsOptions as TlsSettings } : { kind: 'tcp', host, port };
  }
  throw new TypeError(`${fn}() expects a Unix socket path or { host, port[, tls] }, got ${describe(address)}`);
}

/** The largest each limit may be: frame lengths are u32 on the wire, and timers fire at once past 2^31 - 1 ms. */
const LIMIT_MAX = {
  maxMessageSize: MAX_FRAME_SIZE,
  maxWriteBuffer: Number.MAX_SAFE_INTEGER,
  helloTimeout: MAX_TIMER_MS,
  maxInFlight: Number.MAX_SAFE_INTEGER,
  maxMessageItems: Number.MAX_SAFE_INTEGER,
};

/** The option names of StreamLimits, for entry points whose options extend it. */
export const STREAM_LIMIT_OPTIONS = {
  maxMessageSize: true,
  maxWriteBuffer: true,
  helloTimeout: true,
  maxInFlight: true,
  maxMessageItems: true,
} as const satisfies OptionNames<StreamLimits>;

export function checkLimits(fn: string, o: StreamLimits): void {
  for (const key of Object.keys(LIMIT_MAX) as Array<keyof typeof LIMIT_MAX>) {
    const v = o[key];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) {
      throw new TypeError(`${fn}() option ${key} must be a positive number, got ${describe(v)}`);
    }
    if (v !== undefined && v > LIMIT_MAX[key]) throw new TypeError(`${fn}() option ${key} must be at most ${LIMIT_MAX[key]}, got ${v}`);
  }
  for (const key of ['maxInFlight', 'maxMessageItems'] as const) {
    if (o[key] !== undefined && !Number.isInteger(o[key])) throw new TypeError(`${fn}() option ${key} must be a whole number, got ${o[key]}`);
  }
}

/** Opens a client socket and resolves once it is connected (and, for TLS, secured). */
export function dial(addr: ResolvedAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // TLS decrypts into memory of its own, so only plain sockets read in place.
    const socket =
      addr.kind === 'unix'
        ? inPlace(({ onread }) => net.connect({ path: addr.path, onread }))
        : addr.tls
          ? tls.connect({ servername: servername(addr.host), ...(addr.tls as tls.ConnectionOptions), host: addr.host, port: addr.port })
          : inPlace(({ onread }) => net.connect({ port: addr.port, host: addr.host, onread }));
    const ready = addr.kind === 'tcp' && addr.tls ? 'secureConnect' : 'connect';
    const onError = (err: Error): void => {
      socket.destroy();
      reject(nobodyThere(addr, err));
    };
    socket.once('error', onError);
    socket.once(ready, () => {
      socket.off('error', onError);
      socket.setNoDelay?.(true);
      resolve(socket);
    });
  });
}

/** A socket opened with reads the stream transport points into its frames (transport/socket-reads.ts). */
function inPlace(open: (reads: SocketReads) => net.Socket): net.Socket {
  const reads = new SocketReads();
  return reads.bind(open(reads));
}

/**
 * Says in words that no server listens at the address, for the two raw
 * errors that mean it; the error keeps its code, with the original as cause.
 */
function nobodyThere(addr: ResolvedAddress, err: NodeJS.ErrnoException): Error {
  const where = addr.kind === 'unix' ? addr.path : `${addr.host}:${addr.port}`;
  let why: string | undefined;
  if (err.code === 'ENOENT' && addr.kind === 'unix') why = 'there is no socket file there';
  else if (err.code === 'ECONNREFUSED') why = addr.kind === 'unix' ? 'a stale socket file is there, left by a server that is gone' : 'the connection was refused';
  if (why === undefined) return err;
  return Object.assign(new Error(`no server is listening at ${where} (${why}); start it with listen() first`, { cause: err }), { code: err.code });
}

/** SNI takes a host name, never an IP address. */
function servername(host: string): string | undefined {
  return net.isIP(host) ? undefined : host;
}

/**
 * Makes a socket path free to listen on: a stale socket file (no server
 * answers) is removed; a live server or a file that is not a socket is left
 * alone and reported.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw withCode(new Error(`listen(): ${path} exists and is not a socket; refusing to replace it`), 'EEXIST');
  // Only a refused connection proves nobody serves there; EACCES and the
  // like say nothing about that, so the file is left alone.
  const probe = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', resolve);
  });
  if (!probe) throw withCode(new Error(`listen(): a server is already listening on ${path}`), 'EADDRINUSE');
  if (probe.code !== 'ECONNREFUSED') {
    throw withCode(new Error(`listen(): cannot tell whether ${path} is in use (${probe.message}); refusing to replace it`, { cause: probe }), probe.code ?? 'EADDRINUSE');
  }
  await unlink(path);
}

function withCode(err: Error, code: string): Error {
  return Object.assign(err, { code });
}

export function listenOn(server: net.Server, addr: ResolvedAddress, mode: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (addr.kind === 'unix') withUmask(0o777 & ~mode, () => server.listen(addr.path, done));
    else server.listen(addr.port, addr.host, done);
  }).then(async () => {
    if (addr.kind === 'unix') await chmod(addr.path, mode);
  });
}

/**
 * Runs `fn` with the process umask set to `mask`. Binding a socket path is
 * synchronous inside `server.listen()`, so the file is born with no more
 * than its mode: no other user can connect in the moment before the chmod
 * that follows (which alone does the work in a worker thread, where the
 * umask cannot be set).
 */
function withUmask(mask: number, fn: () => void): void {
  let old: number;
  try {
    old = process.umask(mask);
  } catch {
    return fn();
  }
  try {
    fn();
  } finally {
    process.umask(old);
  }
}
