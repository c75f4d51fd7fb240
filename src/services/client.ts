/**
 * connect({ service }): one Connection over every live instance of a
 * service. Each call is balanced on its own; whatever a call creates that
 * lives on (a proxy, a callback) belongs to the instance's own connection,
 * so it stays pinned there and fails with it.
 *
 * An instance is a Member: known from the registry, dialled when the
 * balancer first picks it (at most maxConnections at once), set aside
 * while draining or ejected. `ready` holds the members a call may go to
 * now; it is rebuilt when something changes, never per call.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type tls from 'node:tls';
import { describe } from '../codec/marks.ts';
import { ChannelClosedError, NoSuchServiceError } from '../errors.ts';
import { checkClientPeerSettings, CLIENT_PEER_OPTIONS, openClientPeer, type ClientPeerSettings } from '../client-peer.ts';
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import { checkMs, checkOptionNames, type OptionNames } from '../options.ts';
import type { CallKind } from '../protocol.ts';
import { sendDrain } from '../rpc/drain.ts';
import { governedStats, sideGovernor, type SideGovernor } from '../rpc/govern.ts';
import type { CallOptions, Peer } from '../rpc/peer.ts';
import { createRemote, type Remote, type RemoteTarget } from '../rpc/remote.ts';
import { dial, resolveAddress } from '../transport/socket.ts';
import { balancers, type Balancer, type BalancerName, type Candidate } from './balancer.ts';
import { checkServiceName } from './names.ts';
import type { InstanceInfo, Registry } from './registry.ts';
import { versionRange } from './semver.ts';
import { registryOf } from './local-registry.ts';

export interface ServiceConnectOptions extends ClientPeerSettings {
  /** The name the instances were started with by serve(). */
  service: string;
  /** A semver range instances must satisfy: '^1.4', '~1.4.2', '1.4.0', '>=1.2 <2'. */
  version?: string;
  /** The registry directory (default as serve()'s), or a Registry of your own. */
  registry?: string | Registry;
  /** How calls are spread: 'least-pending' (default), 'round-robin', or a Balancer. */
  balance?: BalancerName | Balancer;
  /** Methods (dotted paths) safe to call twice: retried on another instance when theirs dies mid-call. */
  idempotent?: readonly string[];
  /** Most instances connected at once. Default 16. */
  maxConnections?: number;
  /** Milliseconds a call (and connect itself) waits for an instance to appear when none is live. Default 0: fail at once. */
  waitForInstance?: number;
  /** TLS options for instances that listen with TLS. */
  tls?: tls.ConnectionOptions;
  /** A NATS connection: find the service over NATS instead (docs/nats.md); it takes the options below, and not registry, balance, maxConnections, waitForInstance, expose or tls. */
  nats?: unknown;
  /** Over NATS only: sessions kept open, each with the instance NATS picked for it. Default 3. */
  sessions?: number;
  /** Over NATS only: milliseconds a hello may take. Default 5,000. */
  connectTimeout?: number;
  /** Over NATS only: most instances this client keeps sessions with. Default 16. */
  maxInstances?: number;
}

const SERVICE_OPTIONS = {
  ...CLIENT_PEER_OPTIONS,
  service: true,
  version: true,
  registry: true,
  balance: true,
  idempotent: true,
  maxConnections: true,
  waitForInstance: true,
  tls: true,
  nats: true,
  sessions: true,
  connectTimeout: true,
  maxInstances: true,
} as const satisfies OptionNames<ServiceConnectOptions>;

/** What the NATS backend takes that connecting over sockets does not. */
const NATS_ONLY = ['sessions', 'connectTimeout', 'maxInstances'] as const;

export interface ServiceConnectionEvents {
  /** A connection to an instance dropped without draining; calls pending there rejected (idempotent ones went elsewhere). */
  disconnect: [cause: Error, instance: InstanceInfo];
  /** An instance said it is going offline; new calls go elsewhere. */
  drain: [instance: InstanceInfo];
  /** An instance (of a matching version) appeared in the registry. */
  instanceAdded: [instance: InstanceInfo];
  /** An instance left the registry or its connection failed. */
  instanceRemoved: [instance: InstanceInfo];
}

/** A connection to a service by name: like connect()'s, over every live instance. */
export interface ServiceConnection<T> extends EventEmitter<ServiceConnectionEvents> {
  readonly api: Remote<T>;
  /** True while a connection to some instance is up. */
  readonly connected: boolean;
  /** The instances calls may go to now (connected or not yet). */
  readonly instances: InstanceInfo[];
  /** Closes every connection and stops following the registry; pending calls reject. */
  close(): Promise<void>;
  /** Per-method figures of the calls made over every instance's connection, and bytes in and out (needs `metrics`). */
  stats(): MetricsSnapshot;
  /** The same in the Prometheus text exposition format, with `labels` on every sample. */
  metrics(labels?: Readonly<Record<string, string>>): string;
}

const DEFAULT_MAX_CONNECTIONS = 16;
/** The first ejection of a failing instance; each further failure in a row doubles it. */
const EJECT_MS = 500;
const MAX_EJECT_MS = 30_000;

class Member implements Candidate {
  peer: Peer | undefined;
  socket: net.Socket | undefined;
  dialing: Promise<Peer> | undefined;
  draining = false;
  gone = false;
  failures = 0;
  ejectedUntil = 0;
  /** Calls waiting for this member's connection to open: load as much as those sent. */
  waiting = 0;
  constructor(public info: InstanceInfo) {}
  get pending(): number {
    return (this.peer?.pendingCalls ?? 0) + this.waiting;
  }
  get label(): string {
    const a = this.info.address;
    return `instance ${this.info.id} of service '${this.info.name}' (pid ${this.info.pid}, ${typeof a === 'string' ? a : `${a.host}:${a.port}`})`;
  }
}

export function isServiceRequest(v: unknown): v is ServiceConnectOptions {
  return typeof v === 'object' && v !== null && 'service' in v;
}

/** connect({ service }): see ServiceConnectOptions. */
export async function connectService<T>(options: ServiceConnectOptions): Promise<ServiceConnection<T>> {
  // The NATS backend checks its own option names (sessions, maxInstances, ...; no registry, balance or tls).
  if (options?.nats !== undefined) return connectOverNats<T>(options);
  checkOptionNames('connect', options, SERVICE_OPTIONS);
  for (const key of NATS_ONLY) if (options[key] !== undefined) throw new TypeError(`connect() option ${key} is only for connecting over NATS (with nats)`);
  checkServiceName('connect', options.service);
  checkClientPeerSettings('connect', options);
  checkMs('connect', 'waitForInstance', options.waitForInstance);
  const { version, balance = 'least-pending', idempotent = [], maxConnections = DEFAULT_MAX_CONNECTIONS } = options;
  const inRange = version === undefined ? undefined : typeof version === 'string' ? versionRange(version) : undefined;
  if (version !== undefined && !inRange) throw new TypeError(`connect() option version must be a semver range like '^1.4', '~1.4.2' or '>=1.2 <2', got ${typeof version === 'string' ? JSON.stringify(version) : describe(version)}`);
  const balancer = typeof balance === 'string' && Object.hasOwn(balancers, balance) ? balancers[balance]() : (balance as Balancer);
  if (typeof balancer?.pick !== 'function') throw new TypeError(`connect() option balance must be 'least-pending', 'round-robin' or a Balancer, got ${describe(balance)}`);
  if (!Array.isArray(idempotent) || idempotent.some((m) => typeof m !== 'string')) {
    throw new TypeError(`connect() option idempotent must be a list of method names, got ${describe(idempotent)}`);
  }
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new TypeError(`connect() option maxConnections must be a positive whole number, got ${describe(maxConnections)}`);
  const conn = new ServiceClient<T>(options, registryOf(options.registry), balancer, inRange, new Set(idempotent));
  try {
    await conn.open();
  } catch (err) {
    await conn.close();
    throw err;
  }
  return conn;
}

/** The one place a backend is chosen by option: the NATS backend plugs in here, returning a ServiceConnection. */
async function connectOverNats<T>(options: ServiceConnectOptions): Promise<ServiceConnection<T>> {
  const { connectNats } = await import('./nats/connect.ts');
  return (await connectNats<T>(options as Parameters<typeof connectNats>[0])) as unknown as ServiceConnection<T>;
}

class ServiceClient<T> extends EventEmitter<ServiceConnectionEvents> implements ServiceConnection<T>, RemoteTarget {
  readonly api: Remote<T>;
  private readonly members = new Map<string, Member>();
  private ready: Member[] = [];
  private closed = false;
  private unwatch: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private readonly waiters = new Set<() => void>();
  private ejectTimer: NodeJS.Timeout | undefined;
  private readonly name: string;
  private readonly wait: number;
  /** Middleware and metrics, shared by the connections to every instance. */
  private readonly governor: SideGovernor | undefined;

  constructor(
    private readonly options: ServiceConnectOptions,
    private readonly registry: Registry,
    private readonly balancer: Balancer,
    private readonly inRange: ((v: string) => boolean) | undefined,
    private readonly idempotent: ReadonlySet<string>,
  ) {
    super();
    this.name = options.service;
    this.wait = options.waitForInstance ?? 0;
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
    for (const m of this.members.values()) if (m.peer && !m.peer.isClosed) return true;
    return false;
  }

  get instances(): InstanceInfo[] {
    return [...this.members.values()].filter((m) => !m.gone && !m.draining).map((m) => m.info);
  }

  /** Follows the registry, then dials one instance, so a bad setup fails here rather than at the first call. */
  async open(): Promise<void> {
    this.unwatch = this.registry.watch(this.name, () => void this.refresh());
    await this.refresh();
    for (let attempt = 0; ; attempt++) {
      const m = await this.choose();
      try {
        await this.dial(m);
        return;
      } catch (err) {
        if (attempt >= this.retries()) throw err;
      }
    }
  }

  // ---- following the registry --------------------------------------------

  /** Reads the registry again (one read at a time; changes during one cause another). */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        let found: InstanceInfo[];
        try {
          found = await this.registry.list(this.name);
        } catch {
          // An unreadable registry changes nothing we know; the next change or backstop looks again.
          break;
        }
        if (this.closed) break;
        this.update(found.filter((i) => !this.inRange || this.inRange(i.version)));
      } while (this.refreshAgain);
      this.refreshing = undefined;
    })();
    return this.refreshing;
  }

  private update(found: InstanceInfo[]): void {
    const ids = new Set(found.map((i) => i.id));
    for (const info of found) {
      const m = this.members.get(info.id);
      if (!m) {
        this.members.set(info.id, new Member(info));
        this.emit('instanceAdded', info);
      } else if (m.gone && !m.draining) {
        m.gone = false;
      }
    }
    for (const m of this.members.values()) {
      if (ids.has(m.info.id) || m.gone) continue;
      m.gone = true;
      // A connection still up serves what it pinned until its instance closes it.
      if (!m.peer && !m.dialing) this.members.delete(m.info.id);
      this.emit('instanceRemoved', m.info);
    }
    this.rebuild();
  }

  /** Recomputes the members a new call may go to, and wakes calls waiting for one. */
  private rebuild(): void {
    const now = Date.now();
    let connected = 0;
    for (const m of this.members.values()) if (m.peer || m.dialing) connected++;
    let nextExpiry = Infinity;
    const ready: Member[] = [];
    for (const m of this.members.values()) {
      if (m.gone || m.draining) continue;
      if (m.ejectedUntil > now) {
        nextExpiry = Math.min(nextExpiry, m.ejectedUntil);
        continue;
      }
      // Past the cap, only members already connected take calls.
      if (m.peer || m.dialing || connected < (this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS)) ready.push(m);
    }
    this.ready = ready;
    clearTimeout(this.ejectTimer);
    if (nextExpiry !== Infinity) this.ejectTimer = setTimeout(() => this.rebuild(), nextExpiry - now + 1).unref();
    if (ready.length > 0) for (const w of [...this.waiters]) w();
  }

  // ---- calling -----------------------------------------------------------

  call(handle: number, kind: CallKind, path: string[], args?: unknown[], opts?: CallOptions): Promise<unknown> {
    const retry = opts?.idempotent ?? (this.idempotent.size > 0 && this.idempotent.has(path.join('.')));
    const ready = this.ready;
    const m = ready.length > 0 ? this.balancer.pick(ready) : undefined;
    // The common case costs a pick: an open connection, a call that is not retried.
    if (m?.peer && !retry) return m.peer.call(handle, kind, path, args, opts);
    return this.callSlowly(m, handle, kind, path, args, opts, retry);
  }

  private async callSlowly(first: Member | undefined, handle: number, kind: CallKind, path: string[], args: unknown[] | undefined, opts: CallOptions | undefined, retry: boolean): Promise<unknown> {
    let m = first;
    for (let attempt = 0; ; attempt++) {
      m ??= await this.choose();
      let peer: Peer;
      try {
        if (m.peer) peer = m.peer;
        else {
          m.waiting++;
          peer = await this.dial(m).finally(() => m!.waiting--);
        }
      } catch (err) {
        // Nothing was sent: any call may go elsewhere.
        if (this.closed || attempt >= this.retries()) throw err;
        m = undefined;
        continue;
      }
      // It said it is draining while we dialled: nothing was sent, and nothing may be now.
      if (m.draining) {
        m = undefined;
        continue;
      }
      if (!retry && !peer.isClosed) return peer.call(handle, kind, path, args, opts);
      try {
        return await peer.call(handle, kind, path, args, opts);
      } catch (err) {
        // Retried only when the connection failed, not when the method threw a ChannelClosedError of its own.
        if (!(err instanceof ChannelClosedError) || !peer.isClosed || this.closed || attempt >= this.retries()) throw err;
        m = undefined;
      }
    }
  }

  private retries(): number {
    return Math.max(3, this.members.size);
  }

  /** A member for the next call: a ready one, else wait for one (up to waitForInstance), else NoSuchServiceError. */
  private async choose(): Promise<Member> {
    if (this.closed) throw new ChannelClosedError(`the connection to service '${this.name}' was closed`);
    if (this.ready.length > 0) return this.balancer.pick(this.ready);
    // Ejected members are tried rather than failing the call: the best left.
    const ejected = [...this.members.values()].filter((m) => !m.gone && !m.draining && m.ejectedUntil > 0);
    if (ejected.length > 0) return ejected.reduce((a, b) => (a.ejectedUntil <= b.ejectedUntil ? a : b));
    await this.refresh();
    if (this.ready.length === 0 && this.wait > 0) await this.waitForReady();
    if (this.closed) throw new ChannelClosedError(`the connection to service '${this.name}' was closed`);
    if (this.ready.length > 0) return this.balancer.pick(this.ready);
    throw new NoSuchServiceError(
      `no live instance of service '${this.name}'${this.options.version ? ` matching version ${this.options.version}` : ''} in the registry at ${this.registry.where}` +
        (this.wait > 0 ? ` (waited ${this.wait} ms)` : '') + ' (set FARCALL_REGISTRY_DIR or the registry option if its instances register elsewhere)',
    );
  }

  private waitForReady(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.wait);
      this.waiters.add(done);
    });
  }

  // ---- one instance's connection ---------------------------------------

  private dial(m: Member): Promise<Peer> {
    if (m.dialing) return m.dialing;
    const attempt = this.open1(m);
    m.dialing = attempt;
    this.rebuild();
    attempt.then(
      () => {
        m.dialing = undefined;
        m.failures = 0;
        m.ejectedUntil = 0;
        this.rebuild();
      },
      () => {
        m.dialing = undefined;
        this.failed(m);
        // Refused: a crashed instance whose pid lives on in another process; check() removes its entry.
        void this.registry.check(m.info).then(
          (alive) => {
            if (!alive) void this.refresh();
          },
          () => {},
        );
      },
    );
    return attempt;
  }

  private async open1(m: Member): Promise<Peer> {
    const a = m.info.address;
    const tlsOptions = this.options.tls;
    const addr = resolveAddress('connect', typeof a === 'string' ? a : a.tls ? { host: a.host, port: a.port, tls: tlsOptions ?? {} } : { host: a.host, port: a.port });
    const socket = await dial(addr);
    const peer = await openClientPeer(socket, this.options, { label: m.label, governor: this.governor, onDrain: (p) => this.drained(m, p) });
    if (this.closed) {
      peer.close();
      throw new ChannelClosedError(`the connection to service '${this.name}' was closed while connecting`);
    }
    m.peer = peer;
    m.socket = socket;
    peer.onClose((cause) => this.lost(m, peer, cause));
    return peer;
  }

  /** The instance is going offline: no new calls there; say so, so it knows nothing more is coming. */
  private drained(m: Member, peer: Peer): void {
    if (m.draining) return;
    m.draining = true;
    this.rebuild();
    sendDrain(peer);
    this.emit('drain', m.info);
    void this.refresh();
  }

  private lost(m: Member, peer: Peer, cause: Error): void {
    if (m.peer !== peer) return;
    m.peer = undefined;
    m.socket = undefined;
    if (this.closed) return;
    if (m.draining || m.gone) {
      this.members.delete(m.info.id);
      if (!m.gone) this.emit('instanceRemoved', m.info);
      this.rebuild();
      return;
    }
    this.failed(m);
    this.emit('disconnect', cause, m.info);
    // A crashed instance's entry stays until someone looks: look now.
    void this.refresh();
  }

  /** Outlier ejection: each failure in a row sets the instance aside twice as long. */
  private failed(m: Member): void {
    m.failures++;
    m.ejectedUntil = Date.now() + Math.min(MAX_EJECT_MS, EJECT_MS * 2 ** (m.failures - 1));
    this.rebuild();
  }

  release(handle: number): void {
    if (handle === 0) void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    clearTimeout(this.ejectTimer);
    for (const w of [...this.waiters]) w();
    const sockets: net.Socket[] = [];
    for (const m of this.members.values()) {
      if (m.socket && !m.socket.destroyed) sockets.push(m.socket);
      m.peer?.close(new ChannelClosedError(`the connection to service '${this.name}' was closed`));
    }
    this.ready = [];
    await Promise.all(sockets.map((s) => (s.destroyed ? undefined : new Promise((resolve) => s.once('close', resolve)))));
  }
}
