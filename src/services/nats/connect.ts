/**
 * A client of a service over NATS. Each session starts with a hello to the
 * service's queue group (NATS picks an instance, on any server of the
 * cluster) and then runs pinned to that instance, on this client's own
 * inbox. A client keeps a few sessions and gives each call to the live one
 * with the fewest calls out, so one client's calls spread over instances;
 * whatever a call creates that lives on (a proxy, a callback) belongs to its
 * session's peer and stays with that instance.
 *
 * No instance: a NoSuchServiceError at once (NATS says "no responders"). An
 * instance that dies is noticed by the session's heartbeat, a request to the
 * instance's session subject, which NATS answers "no responders" as soon as
 * the instance's connection is gone: the session's pending calls then reject
 * with ChannelClosedError within HEARTBEAT_MS (plus a round trip) of its death
 * reaching the NATS servers, at worst DEAD_INSTANCE_MS when the instance was
 * cut off without a word, and calls to methods named idempotent are made
 * again on another session. The heartbeat also tells the instance this client
 * lives (see SESSION_SWEEP_MS).
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Connection, ConnectionEvents } from '../../connection.ts';
import { describe } from '../../codec/marks.ts';
import { CallTimeoutError, ChannelClosedError, NoSuchServiceError } from '../../errors.ts';
import { checkMs, checkOptionNames, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from '../../options.ts';
import type { CallKind } from '../../protocol.ts';
import { governedStats, peerGovernor, sideGovernor, type SideGovernor } from '../../rpc/govern.ts';
import { Peer, type CallOptions } from '../../rpc/peer.ts';
import type { MetricsSnapshot } from '../../metrics/metrics.ts';
import { createRemote, type Remote, type RemoteTarget } from '../../rpc/remote.ts';
import { BYE_HEADER, NatsTransport, PING_HEADER } from '../../transport/nats.ts';
import { loadNats, refuseUnsupported, type NatsModule } from './client.ts';
import { watchDrops } from './drops.ts';
import { announceSubject, checkServiceName, type Announcement, type Hello, checkVersion, directHelloSubject, helloSubject, versionMatches } from './subjects.ts';

/** How often a session checks that its instance is alive. */
export const HEARTBEAT_MS = 500;
/**
 * How long a heartbeat waits for its answer before the instance counts as
 * gone, when nothing else came from it meanwhile either. An instance whose
 * process or connection died is known at once (NATS answers "no
 * responders"); this bound is for one cut off without a word (its server
 * unreachable) or frozen: a method that blocks its instance's event loop
 * this long makes the instance look dead.
 */
export const PING_TIMEOUT_MS = 2_000;
/** Longest a non-idempotent call waits after its instance died: the heartbeat's period plus its wait. */
export const DEAD_INSTANCE_MS = HEARTBEAT_MS + PING_TIMEOUT_MS;

export interface NatsConnectOptions extends PeerSettings {
  /** The name given to serve(). */
  service: string;
  /** The caller's own NATS connection (its servers, auth and TLS are theirs). */
  nats: NatsConnection;
  /** Only instances whose version is this or starts with it, by whole parts: '2' takes 2.x.y, '2.1' takes 2.1.z. */
  version?: string;
  /** Methods safe to call twice: when their instance dies mid-call they are made again on another. */
  idempotent?: readonly string[];
  /** Sessions kept open, each with the instance NATS picked for it; calls go to the least busy. Default 3. */
  sessions?: number;
  /** Milliseconds a hello may take. Default 5,000. */
  connectTimeout?: number;
  /**
   * Most instances this client keeps sessions with. When an instance it has
   * no session with announces itself, the client opens one with it (moving a
   * session off an instance that has two, else adding one) until it holds
   * sessions with this many. Default 16.
   */
  maxInstances?: number;
}

const NATS_CONNECT_OPTIONS = {
  ...PEER_OPTIONS,
  service: true,
  nats: true,
  version: true,
  idempotent: true,
  sessions: true,
  connectTimeout: true,
  maxInstances: true,
} as const satisfies OptionNames<NatsConnectOptions>;

/**
 * A client connection to a service over NATS: the same shape as connect()'s
 * Connection. `disconnect` is emitted when a session's instance goes away,
 * `reconnect` when a session with another instance replaces it.
 */
export interface NatsServiceConnection<T> extends Connection<T> {
  /** The instances the live sessions are pinned to (one entry per session). */
  readonly instances: readonly string[];
}

function isNoResponders(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; message?: string } | undefined;
  return e?.name === 'NoRespondersError' || e?.code === '503' || e?.code === 503 || /no responders/i.test(String(e?.message));
}

interface Session {
  readonly peer: Peer;
  readonly id: string;
  /** Ends the session: its instance is gone. */
  fail(cause: Error): void;
  close(): Promise<void>;
}

/** How long one hello waits before the next is sent. */
const HELLO_ATTEMPT_MS = 1_000;

/** How often one idempotent call is made again after its instance died. */
const RETRIES = 3;

/**
 * Connects to the service `options.service` over the NATS connection
 * `options.nats`. Resolves once its sessions are open; rejects with
 * NoSuchServiceError when no instance (of the version asked for) answers.
 */
export async function connectNats<T>(options: NatsConnectOptions): Promise<NatsServiceConnection<T>> {
  checkOptionNames('connect', options, NATS_CONNECT_OPTIONS);
  refuseUnsupported('connect', options);
  checkServiceName('connect', options?.service);
  checkPeerSettings('connect', options);
  const { nats: nc, version, idempotent = [], sessions = 3, connectTimeout = 5_000, maxInstances = 16 } = options;
  if (typeof nc?.request !== 'function' || typeof nc?.subscribe !== 'function') {
    throw new TypeError(`connect() option nats must be a NATS connection, got ${describe(nc)}`);
  }
  checkVersion('connect', version);
  checkMs('connect', 'connectTimeout', connectTimeout);
  if (!(connectTimeout > 0)) throw new TypeError(`connect() option connectTimeout must be a positive number of milliseconds, got ${connectTimeout}`);
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 64) throw new TypeError(`connect() option sessions must be a whole number from 1 to 64, got ${describe(sessions)}`);
  if (!Number.isInteger(maxInstances) || maxInstances < 1 || maxInstances > 256) {
    throw new TypeError(`connect() option maxInstances must be a whole number from 1 to 256, got ${describe(maxInstances)}`);
  }
  if (!Array.isArray(idempotent) || idempotent.some((m) => typeof m !== 'string')) {
    throw new TypeError(`connect() option idempotent must be an array of method names, got ${describe(idempotent)}`);
  }
  const client = new NatsClient<T>(options, await loadNats(), sideGovernor('connect', options));
  try {
    await client.open(sessions);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

class NatsClient<T> extends EventEmitter<ConnectionEvents> implements NatsServiceConnection<T>, RemoteTarget {
  readonly api: Remote<T>;
  private readonly live: Session[] = [];
  private opening: Promise<Session> | undefined;
  /** No top-up hello before this time: one that failed is not repeated on every call. */
  private quietUntil = 0;
  private closing = false;
  private readonly stopWatching: () => void;
  private readonly retried: ReadonlySet<string>;
  private readonly wanted: number;
  /** Instances announcing themselves: one this client has no session with gets one. */
  private readonly announcements: Subscription;
  /** A session is being opened with an instance that announced itself (one at a time). */
  private moving = false;
  /** Sessions moved off an instance, closing once nothing uses them. */
  private readonly shedding = new Set<Session>();

  constructor(
    private readonly options: NatsConnectOptions,
    private readonly nats: NatsModule,
    /** Middleware and metrics around the calls of every session. */
    private readonly governor: SideGovernor | undefined,
  ) {
    super();
    this.retried = new Set(options.idempotent ?? []);
    this.wanted = options.sessions ?? 3;
    this.api = createRemote<T>(this, 0);
    this.announcements = options.nats.subscribe(announceSubject(options.service), { callback: (_err, m) => this.found(m.string()) });
    this.stopWatching = watchDrops(options.nats, () => {
      const cause = new ChannelClosedError(`the NATS connection lost its server: calls in flight to service '${options.service}' may be lost`);
      for (const s of [...this.live]) s.fail(cause);
    });
  }

  get connected(): boolean {
    return !this.closing && this.live.length > 0;
  }

  get instances(): readonly string[] {
    return this.live.map((s) => s.id);
  }

  /** The first session, then the rest (each its own hello, so NATS may pick another instance). */
  async open(count: number): Promise<void> {
    this.adopt(await this.hello());
    const rest = await Promise.allSettled(Array.from({ length: count - 1 }, () => this.hello()));
    for (const r of rest) if (r.status === 'fulfilled') this.adopt(r.value);
  }

  /** Puts a new session into rotation, unless it ended while others were opening. */
  private adopt(s: Session): boolean {
    if (s.peer.isClosed) return false;
    this.live.push(s);
    return true;
  }

  /**
   * The live session with the fewest calls out, or (none left) a promise of
   * a new one: one hello however many calls ask. Synchronous when it can be,
   * so a session that starts draining is never picked after it said so.
   */
  private pick(): Session | Promise<Session> {
    if (this.closing) return Promise.reject(new ChannelClosedError(`the connection to service '${this.options.service}' was closed`));
    if (this.live.length < this.wanted && !this.opening && performance.now() >= this.quietUntil) this.replace();
    let best: Session | undefined;
    for (const s of this.live) if (!best || s.peer.pendingCalls < best.peer.pendingCalls) best = s;
    return best ?? this.opening ?? this.replace();
  }

  /** Takes a session out of rotation; its calls out still get their answers. */
  private retire(session: Session): boolean {
    const at = this.live.indexOf(session);
    if (at >= 0) this.live.splice(at, 1);
    return at >= 0;
  }

  /** Opens a session in place of one that was lost. */
  private replace(): Promise<Session> {
    const opening = (this.opening = this.hello().then(
      (s) => {
        if (this.closing) {
          void s.close();
          throw new ChannelClosedError(`the connection to service '${this.options.service}' was closed`);
        }
        if (!this.adopt(s)) throw new ChannelClosedError(`the new session with instance ${s.id} of '${this.options.service}' ended at once`);
        this.emit('reconnect');
        return s;
      },
      (err: unknown) => {
        this.quietUntil = performance.now() + HEARTBEAT_MS;
        throw err;
      },
    ));
    opening.finally(() => (this.opening = undefined)).catch(() => {});
    return opening;
  }

  /**
   * An instance announced itself. One this client has no session with gets
   * one, hello'd directly: a session moves to it off an instance holding two
   * or more, or is added while the client holds sessions with fewer than
   * maxInstances. So a running client uses an instance that starts within a
   * round trip of its announcement (at worst ANNOUNCE_MS, when it missed it).
   */
  private found(text: string): void {
    if (this.closing || this.moving || this.live.length === 0) return;
    let a: Partial<Announcement>;
    try {
      a = JSON.parse(text) as Partial<Announcement>;
    } catch {
      return;
    }
    if (typeof a?.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(a.id) || typeof a.version !== 'string' || !versionMatches(a.version, this.options.version)) return;
    const held = new Set(this.live.map((s) => s.id));
    if (held.has(a.id) || held.size >= (this.options.maxInstances ?? 16)) return;
    this.moving = true;
    this.hello(a.id)
      .then((s) => {
        if (this.closing) return void s.close();
        if (this.adopt(s) && this.live.length > this.wanted) this.shed();
      })
      // An instance that went again, refused us, or an announcement no instance made: the sessions we have go on.
      .catch(() => {})
      .finally(() => (this.moving = false));
  }

  /** Takes the least busy session of the instance holding the most out of rotation, and closes it once nothing uses it. */
  private shed(): void {
    const count = new Map<string, number>();
    for (const s of this.live) count.set(s.id, (count.get(s.id) ?? 0) + 1);
    let victim: Session | undefined;
    for (const s of this.live) {
      if (count.get(s.id)! < 2) continue;
      const better = !victim || count.get(s.id)! > count.get(victim.id)! || (count.get(s.id) === count.get(victim.id) && s.peer.pendingCalls < victim.peer.pendingCalls);
      if (better) victim = s;
    }
    if (!victim || !this.retire(victim)) return;
    // Its calls out are answered first; a proxy or callback still in use keeps it open (and heartbeating) until released.
    const s = victim;
    this.shedding.add(s);
    s.peer.onClose(() => this.shedding.delete(s));
    const closeIfIdle = (): void => void (!s.peer.isBusy && s.close());
    s.peer.onActivity(closeIfIdle);
    closeIfIdle();
  }

  call(handle: number, kind: CallKind, path: string[], args?: unknown[], opts?: CallOptions): Promise<unknown> {
    const picked = this.pick();
    // The common call costs no promise of its own: only one that may be made again needs the loop.
    if (!(picked instanceof Promise) && !this.retried.has(path[0] ?? '')) return picked.peer.call(handle, kind, path, args, opts);
    return this.callAgainAndAgain(picked, handle, kind, path, args, opts);
  }

  private async callAgainAndAgain(picked: Session | Promise<Session>, handle: number, kind: CallKind, path: string[], args?: unknown[], opts?: CallOptions): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const s = picked instanceof Promise ? await picked : picked;
      try {
        return await s.peer.call(handle, kind, path, args, opts);
      } catch (err) {
        const again = err instanceof ChannelClosedError && !this.closing && this.retried.has(path[0] ?? '') && attempt < RETRIES;
        if (!again) throw err;
      }
      picked = this.pick();
    }
  }

  release(handle: number): void {
    // Only the root comes here: a proxy a call returned belongs to its session's peer.
    if (handle === 0) void this.close();
  }

  stats(): MetricsSnapshot {
    return governedStats('connect', this.governor).stats();
  }

  metrics(labels?: Readonly<Record<string, string>>): string {
    return governedStats('connect', this.governor).metrics(labels);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopWatching();
    this.announcements.unsubscribe();
    await Promise.all([...this.live.splice(0), ...this.shedding].map((s) => s.close()));
    await this.opening?.catch(() => {});
  }

  /**
   * The hello's answer. A hello written as the connection drops is lost
   * without a word, so each attempt waits HELLO_ATTEMPT_MS and the next
   * follows, until `within` ms have passed; a second hello reaching an
   * instance is harmless (an instance never hearing from the client again
   * ends that session).
   */
  private async ask(subject: string, inbox: string, within: number): Promise<Hello & { refused?: string }> {
    const { nats: nc, service } = this.options;
    const end = performance.now() + within;
    for (;;) {
      const left = end - performance.now();
      try {
        return (await nc.request(subject, inbox, { timeout: Math.max(1, Math.min(HELLO_ATTEMPT_MS, left)) })).json();
      } catch (err) {
        if (isNoResponders(err) || this.closing || nc.isClosed()) throw err;
        if (performance.now() >= end) throw new CallTimeoutError(`no instance of service '${service}' answered a hello within ${within} ms (subject ${subject}): ${String(err)}`);
      }
    }
  }

  /** A hello to the queue group (or to instance `to` alone), then a session with the instance that answered. */
  private async hello(to?: string): Promise<Session> {
    const { nats: nc, service, version, connectTimeout = 5_000, timeout, transferHandlers } = this.options;
    const subject = to === undefined ? helloSubject(service, version) : directHelloSubject(service, to);
    const which = version === undefined ? '' : ` of version ${version}`;
    // Subscribed before the hello: the instance may speak (a drain) as soon as it has answered.
    const inbox = this.nats.createInbox();
    let transport: NatsTransport | undefined;
    /** Messages heard from the instance: a heartbeat that times out while they keep coming was only queued behind them. */
    let heard = 0;
    const sub = nc.subscribe(inbox, {
      callback: (_err, m) => {
        heard++;
        transport?.deliver(m);
      },
    });
    let hello: Hello & { refused?: string };
    try {
      hello = await this.ask(subject, inbox, connectTimeout);
      if (hello.refused !== undefined || typeof hello.subject !== 'string' || typeof hello.id !== 'string') {
        throw new NoSuchServiceError(`the instance of service '${service}' NATS picked refused a session: ${hello.refused ?? 'malformed answer'}`);
      }
    } catch (err) {
      sub.unsubscribe();
      if (isNoResponders(err)) throw new NoSuchServiceError(`no instance of service '${service}'${which} answered on NATS (subject ${subject})`);
      throw err;
    }
    const label = `instance ${hello.id} of ${service}`;
    const channel = (transport = new NatsTransport(nc, this.nats.headers, hello.subject, inbox, label));
    const peer = new Peer(channel, { timeout, transferHandlers, governor: peerGovernor('client', this.governor) });
    const bytes = this.governor?.metrics?.countBytes(() => ({ bytesIn: channel.bytesIn, bytesOut: channel.bytesOut }));
    const ping = this.nats.headers();
    ping.set(PING_HEADER, inbox);
    const heartbeat = setInterval(() => {
      const before = heard;
      nc.request(hello.subject, undefined, { headers: ping, timeout: PING_TIMEOUT_MS }).then(
        (m) => {
          if (m.headers?.has(BYE_HEADER)) channel.fail(new ChannelClosedError(`${label} ended the session: ${m.headers.get(BYE_HEADER)}`));
        },
        (err: unknown) => {
          if (nc.isClosed()) return channel.fail(new ChannelClosedError(`the NATS connection to ${label} closed`));
          if (isNoResponders(err)) return channel.fail(new ChannelClosedError(`${label} is gone (no responders)`));
          // Silent for a whole wait: a dead instance on a far server, or one whose event loop is blocked; either way its calls cannot be answered now.
          if (heard === before) channel.fail(new ChannelClosedError(`${label} is gone (no heartbeat within ${PING_TIMEOUT_MS} ms)`));
        },
      );
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const session: Session = {
      peer,
      id: hello.id,
      fail: (cause) => channel.fail(cause),
      async close() {
        if (peer.isClosed) return;
        channel.sayBye('client closed');
        peer.close(new ChannelClosedError(`the session with ${label} was closed`));
        await nc.flush().catch(() => {});
      },
    };
    // The instance is closing: pick others from now on, and say so, so it knows every call we sent has reached it.
    channel.ondrain = () => {
      this.retire(session);
      channel.sayDrain('stopped');
    };
    peer.onClose((cause) => {
      bytes?.retire();
      clearInterval(heartbeat);
      sub.unsubscribe();
      if (!this.retire(session) || this.closing) return;
      this.emit('disconnect', cause);
      // Other sessions with the same instance are gone too: no call should wait for their heartbeats to find out.
      for (const other of [...this.live]) if (other.id === session.id) other.fail(cause);
    });
    return session;
  }
}
