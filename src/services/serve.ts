/**
 * serve(): listen() under a name. The instance listens (a Unix socket in
 * the registry directory by default), answers a built-in introspection
 * call, and registers itself; close() drains it before it goes.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { describe } from '../codec/marks.ts';
import { LISTEN_OPTIONS, listen, type ListenOptions, type Server, type ServerEvents } from '../listen.ts';
import { checkMs, checkOptionNames, type OptionNames } from '../options.ts';
import { peerOf, type ClientInfo } from '../rpc/context.ts';
import { drainClient } from '../rpc/drain.ts';
import type { SocketAddress } from '../transport/socket.ts';
import { LocalRegistry, registryOf } from './local-registry.ts';
import { checkServiceName, registryDir } from './names.ts';
import type { InstanceInfo, Registry } from './registry.ts';
import { introspection, type ServiceInfo } from './introspect.ts';

export interface ServeOptions extends ListenOptions {
  /** This instance's version, for callers' version ranges. Default '0.0.0'. */
  version?: string;
  /** Strings callers and `farcall ls` can see. */
  metadata?: Record<string, string>;
  /**
   * The registry: a directory (default: FARCALL_REGISTRY_DIR, else
   * $XDG_RUNTIME_DIR/farcall, else a private directory under the temp dir),
   * or a Registry of your own.
   */
  registry?: string | Registry;
  /** Where to listen. Default: a Unix socket in the registry directory. */
  address?: SocketAddress;
  /** Milliseconds close() waits for clients to answer its drain notice. Default 2,000. */
  drainTimeout?: number;
  /** A NATS connection: serve over NATS instead (docs/nats.md); it takes the options below, and not registry, address or drainTimeout. */
  nats?: unknown;
  /** Over NATS only: what discovery's INFO says of this instance. */
  description?: string;
  /** Over NATS only: most clients served at once. Default 10,000. */
  maxSessions?: number;
}

/** Every option serve() takes: listen()'s, which it passes on, and its own. */
const SERVE_OPTIONS = {
  ...LISTEN_OPTIONS,
  version: true,
  metadata: true,
  registry: true,
  address: true,
  drainTimeout: true,
  nats: true,
  description: true,
  maxSessions: true,
} as const satisfies OptionNames<ServeOptions>;

/** What the NATS backend takes that serving on a socket does not. */
const NATS_ONLY = ['description', 'maxSessions'] as const;

/** A running instance of a service. */
export interface Service extends EventEmitter<ServerEvents> {
  readonly id: string;
  readonly name: string;
  /** The socket path, or the host and port bound. */
  readonly address: Server['address'];
  /** Clients connected now. */
  readonly connections: number;
  /**
   * Goes offline without callers noticing: deregisters, tells its clients
   * it is draining (they send new calls elsewhere), lets calls in flight
   * finish, then closes.
   */
  close(): Promise<void>;
}

/**
 * Serves `api` as one instance of the service `name`, found by callers with
 * `connect({ service: name })`. Start as many instances as you like, in any
 * processes, in any order.
 */
export async function serve(name: string, api: unknown, options: ServeOptions = {}): Promise<Service> {
  checkServiceName('serve', name);
  if ((typeof api !== 'object' && typeof api !== 'function') || api === null) {
    throw new TypeError(`serve() expects an object or a function to serve, got ${describe(api)}`);
  }
  // The NATS backend checks its own option names.
  if (options?.nats !== undefined) return serveOverNats(name, api, options);
  checkOptionNames('serve', options, SERVE_OPTIONS);
  for (const key of NATS_ONLY) if (options[key] !== undefined) throw new TypeError(`serve() option ${key} is only for serving over NATS (with nats)`);
  const { version = '0.0.0', metadata = {}, registry: where, address, drainTimeout = 2_000, nats: _, ...listenOptions } = options;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new TypeError(`serve() option version must be a version like '1.4.0', got ${typeof version === 'string' ? JSON.stringify(version) : describe(version)}`);
  }
  if (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new TypeError(`serve() option metadata must be an object of strings, got ${describe(metadata)}`);
  }
  checkMs('serve', 'drainTimeout', drainTimeout);
  const registry = registryOf(where);
  const id = randomBytes(5).toString('hex');
  const at = address ?? join(registry instanceof LocalRegistry ? registry.where : registryDir(undefined), `${id}.sock`);

  let server: Server;
  try {
    server = await listen(api, at, listenOptions);
  } catch (err) {
    // listen() names the option it refused; the caller called serve().
    if (err instanceof TypeError && err.message.startsWith('listen() ')) {
      throw new TypeError(`serve() ${err.message.slice('listen() '.length)}`, { cause: err });
    }
    throw err;
  }

  const clients = new Set<ClientInfo>();
  const answers: Array<Promise<void>> = [];
  let draining: number | undefined;
  const startedAt = Date.now();
  const metricsOn = listenOptions.metrics !== undefined && listenOptions.metrics !== false;
  const info: InstanceInfo = { id, name, version, metadata: { ...metadata }, address: wireAddress(server.address, at), pid: process.pid, startedAt };
  const builtins = introspection(
    (): ServiceInfo => ({
      ...info,
      methods: methodsOf(api),
      uptimeMs: Date.now() - startedAt,
      inFlight: [...clients].reduce((n, c) => n + (peerOf(c)?.servingCalls ?? 0), 0),
      connections: clients.size,
      stats: metricsOn ? server.stats() : null,
    }),
  );

  const handle = new EventEmitter<ServerEvents>();
  server.on('clientError', (err) => handle.emit('clientError', err));
  server.on('connection', (client) => {
    clients.add(client);
    const peer = peerOf(client)!;
    peer.exposeBuiltins(builtins);
    // Dialled before the entry went: it hears at once, and close() waits for its answer too.
    if (draining !== undefined) answers.push(drainClient(peer, Math.max(0, draining - Date.now())));
    handle.emit('connection', client);
  });
  server.on('disconnect', (client, cause) => {
    clients.delete(client);
    handle.emit('disconnect', client, cause);
  });

  let registration;
  try {
    registration = await registry.register(info);
  } catch (err) {
    await server.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    await registration.close();
    draining = Date.now() + drainTimeout;
    for (const client of clients) answers.push(drainClient(peerOf(client)!, drainTimeout));
    for (let waited = 0; waited < answers.length; ) {
      const batch = answers.slice(waited);
      waited = answers.length;
      await Promise.all(batch);
    }
    // Every client has answered (or had its time): what it sent has arrived; listen's close lets it finish.
    await server.close();
  };
  return Object.defineProperties(handle, {
    id: { value: id, enumerable: true },
    name: { value: name, enumerable: true },
    address: { value: server.address, enumerable: true },
    connections: { get: () => server.connections, enumerable: true },
    close: { value: () => (closing ??= shutdown()), enumerable: true },
  }) as Service;
}

/** The one place a backend is chosen by option: the NATS backend plugs in here, returning a Service. */
async function serveOverNats(name: string, api: unknown, options: ServeOptions): Promise<Service> {
  // Loaded on first use, with the NATS client it loads in turn: users who never use NATS load neither.
  const { serveNats } = await import('./nats/serve.ts');
  return (await serveNats(name, api, options as Parameters<typeof serveNats>[2])) as unknown as Service;
}

function wireAddress(bound: Server['address'], asked: SocketAddress): InstanceInfo['address'] {
  if (typeof bound === 'string') return bound;
  const tls = typeof asked === 'object' && 'tls' in asked && asked.tls !== undefined;
  return tls ? { ...bound, tls: true } : bound;
}

/** The callable members of `api`, as dotted paths, a level of nesting deep. */
function methodsOf(api: unknown, prefix = '', depth = 0): string[] {
  const out: string[] = [];
  if (typeof api === 'function' && depth === 0) out.push('(the exposed function)');
  const seen = new Set<string>();
  for (let o = api as object | null; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (seen.has(key) || key === 'constructor' || key === 'prototype' || key === '__proto__') continue;
      seen.add(key);
      const v = Object.getOwnPropertyDescriptor(o, key)?.value as unknown;
      if (typeof v === 'function') out.push(prefix + key);
      else if (depth < 1 && typeof v === 'object' && v !== null) out.push(...methodsOf(v, `${prefix}${key}.`, depth + 1));
    }
  }
  return out.sort();
}
