import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { describe } from './codec/marks.ts';
import { ChannelClosedError } from './errors.ts';
import { checkMs, checkOptionNames, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from './options.ts';
import { MsgType, type CallKind } from './protocol.ts';
import type { MetricsSnapshot } from './metrics/metrics.ts';
import { governedStats, peerGovernor, sideGovernor, type SideGovernor } from './rpc/govern.ts';
import { Peer, type CallOptions } from './rpc/peer.ts';
import { sendDrain } from './rpc/drain.ts';
import { connectService, isServiceRequest, type ServiceConnection, type ServiceConnectOptions } from './services/client.ts';
import { createRemote, type Remote, type RemoteTarget } from './rpc/remote.ts';
import { checkLimits, STREAM_LIMIT_OPTIONS, dial, resolveAddress, type ResolvedAddress, type SocketAddress } from './transport/socket.ts';
import { StreamTransport, type StreamLimits } from './transport/stream.ts';
import { checkAuth, Handshake, type ClientAuth } from './transport/auth.ts';

export interface ReconnectOptions {
  /** Attempts after a drop before giving up. Default: no limit. */
  retries?: number;
  /** First delay in milliseconds, doubled after each failed attempt. Default 100. */
  minDelay?: number;
  /** Longest delay in milliseconds. Default 5,000. */
  maxDelay?: number;
}

export interface ConnectOptions extends PeerSettings, StreamLimits {
  /** What this side serves to the server (callbacks passed with `proxy()` work without it). */
  expose?: object;
  /**
   * Dial again with exponential backoff when the connection drops. Calls in
   * flight at the drop reject; calls made while reconnecting wait for the
   * new connection (or reject when reconnecting gives up).
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Proves this client holds the server's secret, and checks the server
   * holds it too, before any call: `{ secret, keyId? }`. A wrong or missing
   * secret rejects connect() with AuthenticationError.
   */
  auth?: ClientAuth;
  /**
   * Milliseconds between keep-alive pings, so that a server's idleTimeout
   * does not close a connection that is only quiet. Sent only to a server
   * whose hello says it understands them. Default 10,000; 0 sends none.
   */
  pingInterval?: number;
}

/** Every option connect() takes: add a name here when you add one to ConnectOptions. */
const CONNECT_OPTIONS = { ...PEER_OPTIONS, ...STREAM_LIMIT_OPTIONS, expose: true, reconnect: true, auth: true, pingInterval: true } as const satisfies OptionNames<ConnectOptions>;

/** A client connection to a `listen()` server. */
export interface Connection<T> extends EventEmitter<ConnectionEvents> {
  /** The server's API; calls return promises. */
  readonly api: Remote<T>;
  /** True while a connection is up. */
  readonly connected: boolean;
  /** Closes the connection (and stops reconnecting); pending calls reject. */
  close(): Promise<void>;
  /** Per-method figures of the calls made, and bytes in and out, across reconnects (needs `metrics`). */
  stats(): MetricsSnapshot;
  /** The same in the Prometheus text exposition format, `labels` on every sample (needs `metrics`). */
  metrics(labels?: Readonly<Record<string, string>>): string;
}

export interface ConnectionEvents {
  /** The connection dropped; `cause` says why. With `reconnect`, a new attempt follows. */
  disconnect: [cause: Error];
  /** A new connection is up after a drop. */
  reconnect: [];
  /** The server is going offline (its calls in flight still finish); with `reconnect`, the next server is dialled when it closes. */
  drain: [];
}

/**
 * Connects to a server started with `listen()`: a Unix socket path, or TCP
 * `{ host, port }` (with `tls`, TLS). Resolves once the handshake is done.
 *
 * Or, given `{ service }`, to every live instance of a service started with
 * `serve()`, found by name: see ServiceConnectOptions.
 */
export function connect<T>(options: ServiceConnectOptions): Promise<ServiceConnection<T>>;
export function connect<T>(address: SocketAddress, options?: ConnectOptions): Promise<Connection<T>>;
export async function connect<T>(address: SocketAddress | ServiceConnectOptions, options: ConnectOptions = {}): Promise<Connection<T> | ServiceConnection<T>> {
  if (isServiceRequest(address)) {
    if (arguments.length > 1) throw new TypeError('connect({ service }) takes its options in the same object, not a second argument');
    return connectService<T>(address);
  }
  const addr = resolveAddress('connect', address);
  checkOptionNames('connect', options, CONNECT_OPTIONS);
  checkPeerSettings('connect', options);
  checkLimits('connect', options);
  if (options.expose !== undefined && (typeof options.expose !== 'object' || options.expose === null) && typeof options.expose !== 'function') {
    throw new TypeError(`connect() option expose must be an object or a function, got ${describe(options.expose)}`);
  }
  checkReconnect(options.reconnect);
  checkAuth('connect', 'client', options.auth);
  checkMs('connect', 'pingInterval', options.pingInterval);
  const client = new Client<T>(addr, options);
  await client.open();
  return client;
}

function checkReconnect(r: unknown): void {
  if (r === undefined || typeof r === 'boolean') return;
  if (typeof r !== 'object' || r === null) throw new TypeError(`connect() option reconnect must be true, false or { retries, minDelay, maxDelay }, got ${describe(r)}`);
  const { retries, minDelay, maxDelay } = r as ReconnectOptions;
  if (retries !== undefined && !(retries === Infinity || (Number.isInteger(retries) && retries >= 0))) {
    throw new TypeError(`connect() option reconnect.retries must be a whole number or Infinity, got ${describe(retries)}`);
  }
  checkMs('connect', 'reconnect.minDelay', minDelay);
  checkMs('connect', 'reconnect.maxDelay', maxDelay);
}

const where = (addr: ResolvedAddress): string => (addr.kind === 'unix' ? addr.path : `${addr.host}:${addr.port}`);

class Client<T> extends EventEmitter<ConnectionEvents> implements Connection<T>, RemoteTarget {
  readonly api: Remote<T>;
  private peer: Peer | undefined;
  private socket: net.Socket | undefined;
  private redialing: Promise<Peer> | undefined;
  private closed = false;
  /** Ends the wait before the next dial, so close() does not leave a timer behind. */
  private stopWaiting: (() => void) | undefined;
  private readonly backoff: Required<ReconnectOptions> | undefined;
  private readonly governor: SideGovernor | undefined;

  constructor(
    private readonly addr: ResolvedAddress,
    private readonly options: ConnectOptions,
  ) {
    super();
    const r = options.reconnect;
    this.backoff = r ? { retries: Infinity, minDelay: 100, maxDelay: 5000, ...(r === true ? {} : r) } : undefined;
    this.api = createRemote<T>(this, 0);
    this.governor = sideGovernor('connect', options);
  }

  stats(): MetricsSnapshot {
    return governedStats('connect', this.governor).stats();
  }

  metrics(labels?: Readonly<Record<string, string>>): string {
    return governedStats('connect', this.governor).metrics(labels);
  }

  get connected(): boolean {
    return this.peer !== undefined && !this.peer.isClosed;
  }

  async open(): Promise<Peer> {
    const socket = await dial(this.addr);
    const { expose, reconnect, timeout, transferHandlers, maxInFlight, streamWindow, use, metrics, auth, pingInterval = 10_000, ...limits } = this.options;
    const transport = new StreamTransport(socket, socket, { label: `server at ${where(this.addr)}`, ...limits, auth: auth && new Handshake('client', auth) });
    const peer = new Peer(transport, {
      timeout,
      transferHandlers,
      maxInFlight,
      streamWindow,
      governor: peerGovernor('client', this.governor),
      // This connection has nowhere else to send calls: say so at once rather than have the server wait.
      onDrain: () => {
        sendDrain(peer);
        this.emit('drain');
      },
    });
    const bytes = this.governor?.metrics?.countBytes(() => ({ bytesIn: socket.bytesRead, bytesOut: socket.bytesWritten }));
    if (bytes) peer.onClose(() => bytes.retire());
    if (expose !== undefined) peer.expose(expose);
    await transport.ready;
    if (this.closed) {
      peer.close();
      throw new ChannelClosedError('the connection was closed while connecting');
    }
    this.peer = peer;
    this.socket = socket;
    // A server from before Ping would drop the connection on the first one.
    if (pingInterval > 0 && transport.understands('ping')) {
      const pinger = setInterval(() => transport.send({ t: MsgType.Ping }, undefined, () => {}), pingInterval).unref();
      peer.onClose(() => clearInterval(pinger));
    }
    peer.onClose((cause) => this.dropped(peer, cause));
    return peer;
  }

  private dropped(peer: Peer, cause: Error): void {
    if (this.closed || peer !== this.peer) return;
    this.emit('disconnect', cause);
    if (this.backoff && !this.redialing) {
      this.redialing = this.redial(cause);
      // Calls made meanwhile hear the outcome; nobody else has to.
      this.redialing.catch(() => {});
    }
  }

  private async redial(cause: Error): Promise<Peer> {
    const { retries, minDelay, maxDelay } = this.backoff!;
    let delay = minDelay;
    let last = cause;
    for (let attempt = 0; attempt < retries && !this.closed; attempt++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.stopWaiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.stopWaiting = undefined;
      if (this.closed) break;
      try {
        const peer = await this.open();
        this.redialing = undefined;
        this.emit('reconnect');
        return peer;
      } catch (err) {
        last = err as Error;
        delay = Math.min(delay * 2, maxDelay);
      }
    }
    this.redialing = undefined;
    throw new ChannelClosedError(
      this.closed ? 'the connection was closed' : `could not reconnect to ${where(this.addr)} after ${retries} attempts: ${last.message}`,
      { cause: last },
    );
  }

  call(handle: number, kind: CallKind, path: string[], args?: unknown[], opts?: CallOptions): Promise<unknown> {
    const peer = this.peer;
    if (peer && !peer.isClosed) return peer.call(handle, kind, path, args, opts);
    if (this.redialing && !this.closed) return this.redialing.then((p) => p.call(handle, kind, path, args, opts));
    return peer ? peer.call(handle, kind, path, args, opts) : Promise.reject(new ChannelClosedError('not connected'));
  }

  release(handle: number): void {
    if (handle === 0) void this.close();
    else this.peer?.release(handle);
  }

  close(): Promise<void> {
    this.closed = true;
    this.stopWaiting?.();
    const socket = this.socket;
    this.peer?.close();
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => socket.once('close', () => resolve()));
  }
}
