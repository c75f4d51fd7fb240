import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { ChannelClosedError } from './errors.ts';
import { checkMs, checkOptionNames, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from './options.ts';
import type { MetricsSnapshot } from './metrics/metrics.ts';
import { governedStats, peerGovernor, sideGovernor } from './rpc/govern.ts';
import { Peer } from './rpc/peer.ts';
import type { Schemas } from './rpc/validation.ts';
import { checkLimits, STREAM_LIMIT_OPTIONS, claimSocketPath, listenOn, resolveAddress, type SocketAddress } from './transport/socket.ts';
import { StreamTransport, failedHello, isPeerFault, type StreamLimits } from './transport/stream.ts';
import { checkAuth, Handshake, type ServerAuth } from './transport/auth.ts';
import { Connections, defaultMaxConnections } from './connections.ts';
import { describe } from './codec/marks.ts';
import { clientOf, type ClientInfo } from './rpc/context.ts';
import { drainAnswered } from './rpc/drain.ts';
import { socketSetGuard } from './rpc/set-guard.ts';
import { WriteBudget } from './transport/write-budget.ts';

const DEFAULT_MAX_SERVER_WRITE_BUFFER = 512 * 1024 * 1024;

export interface ListenOptions extends PeerSettings, StreamLimits {
  /** File mode of a Unix socket, so other users cannot connect. Default 0o600. */
  mode?: number;
  /** Milliseconds `close()` lets calls in flight finish before it cuts them off. Default 10,000. */
  closeTimeout?: number;
  /** Most objects one client may hold by reference (callbacks, proxies). Default 10,000. */
  maxHandles?: number;
  /**
   * Whether errors the api throws reach clients with their stacks. Default
   * false: a server's clients may not be trusted, and a stack names your
   * files and the shape of your code (true gives what every other
   * transport gives). Name, message, cause, code and own properties travel either way.
   */
  errorStacks?: boolean;
  /** A Standard Schema (zod, valibot, arktype...) per method, checking its arguments before it runs. */
  schemas?: Schemas;
  /**
   * Clients must prove they hold a secret before any call: `{ secret }`
   * shared by all, or `{ keys: { keyId: secret } }`, one per client (its key
   * id is then its identity). Off by default: then a Unix socket's file
   * mode (0o600) is what keeps other users out, and TCP is open to anyone
   * who reaches the port.
   */
  auth?: ServerAuth;
  /**
   * Whether clients may set properties on what the server exposes
   * (`remote.config.level = 3`). Default false: every client reaches the
   * same objects, so a set changes them for all. When true, a client may
   * store data only and never replace a function (see SECURITY.md).
   */
  allowPropertySets?: boolean;
  /**
   * Most bytes all clients together may leave unread in the server's write
   * buffers. Past it the client with the most waiting, the slowest reader,
   * is disconnected first. Default 512 MiB.
   */
  maxServerWriteBuffer?: number;
  /**
   * Milliseconds a connection may stay with nothing received, no call in
   * flight and no handle held before the server closes it; connect()
   * pings to stay longer. Default 30,000; 0 keeps idle connections forever.
   */
  idleTimeout?: number;
  /**
   * Most connections at once. When full (or out of descriptors), the
   * connection idle longest is closed to let a new one in; when none is
   * idle, the new one is refused. Default three quarters of the process's
   * descriptor limit (`ulimit -n`).
   */
  maxConnections?: number;
}

/** Every option listen() takes: add a name here when you add one to ListenOptions. */
export const LISTEN_OPTIONS = {
  ...PEER_OPTIONS,
  ...STREAM_LIMIT_OPTIONS,
  mode: true,
  closeTimeout: true,
  maxHandles: true,
  errorStacks: true,
  schemas: true,
  auth: true,
  allowPropertySets: true,
  maxServerWriteBuffer: true,
  idleTimeout: true,
  maxConnections: true,
} as const satisfies OptionNames<ListenOptions>;

/** A running server; each client is its own connection, served the same `api`. */
export interface Server extends EventEmitter<ServerEvents> {
  /** The socket path, or the host and the port actually bound (useful with port 0). */
  readonly address: string | { host: string; port: number };
  /** Clients connected now. */
  readonly connections: number;
  /** Stops accepting, lets calls in flight finish, then closes every connection. */
  close(): Promise<void>;
  /** Per-method figures of the calls served, and bytes in and out (needs `metrics`). */
  stats(): MetricsSnapshot;
  /** The same in the Prometheus text exposition format, `labels` on every sample (needs `metrics`). */
  metrics(labels?: Readonly<Record<string, string>>): string;
}

export interface ServerEvents {
  /**
   * A client broke the protocol, sent an oversized frame, sent no hello in
   * time, stopped reading, failed its TLS handshake, or could not be
   * accepted; only its connection closed.
   */
  clientError: [err: Error];
  /** A client connected (before its first call is served). The same object is `currentCall().client` in its calls. */
  connection: [client: ClientInfo];
  /** A client's connection closed; `cause` says why. Drop whatever you kept for it (its callbacks, say). */
  disconnect: [client: ClientInfo, cause: Error];
}

/**
 * Serves `api` on a Unix socket path, or on TCP `{ host, port }` (with
 * `tls` options, TLS). A stale socket file from a dead server is replaced;
 * a live server's is not.
 */
export async function listen(api: unknown, address: SocketAddress, options: ListenOptions = {}): Promise<Server> {
  if ((typeof api !== 'object' && typeof api !== 'function') || api === null) {
    throw new TypeError(`listen() expects an object or a function to serve, got ${describe(api)}`);
  }
  const addr = resolveAddress('listen', address);
  checkOptionNames('listen', options, LISTEN_OPTIONS);
  checkPeerSettings('listen', options);
  checkLimits('listen', options);
  checkMs('listen', 'closeTimeout', options.closeTimeout);
  const { mode = 0o600, closeTimeout = 10_000, maxHandles = 10_000, maxInFlight = 10_000, timeout, transferHandlers, errorStacks = false, streamWindow, use, metrics, schemas, auth, allowPropertySets = false, maxServerWriteBuffer = DEFAULT_MAX_SERVER_WRITE_BUFFER, idleTimeout = 30_000, maxConnections, ...limits } = options;
  checkAuth('listen', 'server', auth);
  const governor = sideGovernor('listen', { use, metrics, schemas }, undefined, api);
  if (typeof errorStacks !== 'boolean') throw new TypeError(`listen() option errorStacks must be true or false, got ${describe(errorStacks)}`);
  if (typeof allowPropertySets !== 'boolean') throw new TypeError(`listen() option allowPropertySets must be true or false, got ${describe(allowPropertySets)}`);
  const guardSet = socketSetGuard(allowPropertySets);
  if (!(typeof maxServerWriteBuffer === 'number' && maxServerWriteBuffer > 0 && maxServerWriteBuffer <= Number.MAX_SAFE_INTEGER)) {
    throw new TypeError(`listen() option maxServerWriteBuffer must be a positive number of bytes, got ${describe(maxServerWriteBuffer)}`);
  }
  const writeBudget = new WriteBudget(maxServerWriteBuffer);
  checkMs('listen', 'idleTimeout', idleTimeout);
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections > 0)) {
    throw new TypeError(`listen() option maxConnections must be a positive whole number, got ${describe(maxConnections)}`);
  }
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new TypeError(`listen() option mode must be a file mode like 0o600, got ${describe(mode)}`);
  if (!Number.isInteger(maxHandles) || maxHandles < 0) throw new TypeError(`listen() option maxHandles must be a whole number, got ${describe(maxHandles)}`);

  const events = new EventEmitter<ServerEvents>();
  const peers = new Set<Peer>();
  const connections = new Connections(maxConnections ?? defaultMaxConnections(), idleTimeout);
  let closing: Promise<void> | undefined;

  const accept = (socket: net.Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    if (!connections.makeRoom()) {
      const max = connections.maxConnections;
      socket.on('error', () => {});
      // Destroyed once the words are out: nothing reads it, so it would never hear the other side close.
      socket.end(failedHello(new Error(`the server is full: all of its ${max} connections are in use (maxConnections ${max}); try again later`)), () => socket.destroy());
      events.emit('clientError', new ChannelClosedError(`a client was refused: all ${max} connections are in use (maxConnections ${max})`));
      return;
    }
    socket.setNoDelay?.(true);
    const transport = new StreamTransport(socket, socket, { label: 'client', ...limits, writeBudget, auth: auth && new Handshake('server', auth), identity: certificateSubject(socket) });
    const peer = new Peer(transport, {
      timeout,
      transferHandlers,
      maxHandles,
      maxInFlight,
      errorStacks,
      streamWindow,
      guardSet,
      sharedRoot: true,
      governor: peerGovernor('server', governor),
      onDrain: () => drainAnswered(peer),
    });
    peer.expose(api);
    peers.add(peer);
    connections.add(peer, transport);
    const client = clientOf(peer, addr.kind === 'unix' ? addr.path : `${socket.remoteAddress}:${socket.remotePort}`);
    const bytes = governor?.metrics?.countBytes(() => ({ bytesIn: socket.bytesRead, bytesOut: socket.bytesWritten }));
    peer.onClose((cause) => {
      bytes?.retire();
      peers.delete(peer);
      connections.remove(peer);
      if (isPeerFault(cause) || !(cause instanceof ChannelClosedError)) events.emit('clientError', cause);
      events.emit('disconnect', client, cause);
    });
    events.emit('connection', client);
  };

  let server: net.Server;
  if (addr.kind === 'tcp' && addr.tls) {
    // A client silent before its TLS handshake is as silent as one without a
    // hello: the same limit applies, not TLS's own two minutes.
    server = tls.createServer({ handshakeTimeout: limits.helloTimeout ?? 10_000, ...(addr.tls as tls.TlsOptions) }, accept);
    // With a listener here, Node leaves the failed socket open: close it, or each bad handshake holds a descriptor.
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      socket.destroy();
      events.emit('clientError', err);
    });
  } else {
    server = net.createServer(accept);
  }
  if (addr.kind === 'unix') await claimSocketPath(addr.path);
  await listenOn(server, addr, mode);
  // Accepting can fail (ENFILE, ENOMEM; libuv absorbs most EMFILE itself):
  // that costs the one client, never the server, which an unheard 'error' would end.
  server.on('error', (err: NodeJS.ErrnoException) => {
    // Out of descriptors: an idle connection gives its one up so that the next client gets in.
    if (err.code === 'EMFILE' || err.code === 'ENFILE') connections.shedOne('the server ran out of file descriptors and this connection was the longest idle');
    events.emit('clientError', err);
  });
  const bound = server.address();
  const where = addr.kind === 'unix' ? addr.path : { host: addr.host, port: (bound as net.AddressInfo).port };

  async function shutdown(): Promise<void> {
    connections.stop();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...peers].map((p) => p.whenIdle())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, closeTimeout))),
    ]);
    clearTimeout(timer);
    // Each transport ends its socket, then destroys it (at once if its client stopped reading).
    for (const peer of peers) peer.close(new ChannelClosedError('the server closed'));
    await stopped;
  }

  // Object.assign would copy the getter's value once; the count must stay live.
  return Object.defineProperties(events, {
    address: { value: where, enumerable: true },
    connections: { get: () => peers.size, enumerable: true },
    close: { value: () => (closing ??= shutdown()), enumerable: true },
    stats: { value: () => governedStats('listen', governor).stats(), enumerable: true },
    metrics: { value: (labels?: Readonly<Record<string, string>>) => governedStats('listen', governor).metrics(labels), enumerable: true },
  }) as Server;
}

/**
 * A TLS client's identity: its certificate's subject, when the server asked
 * for one (`requestCert`) and it verified against the server's `ca`.
 */
function certificateSubject(socket: net.Socket): string | undefined {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return undefined;
  return socket.getPeerX509Certificate()?.subject.replace(/\n/g, ', ');
}
