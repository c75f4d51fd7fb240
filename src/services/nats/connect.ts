/**
 * A client of a service over NATS: a hello to the service's queue group
 * (NATS picks an instance, on any server of the cluster), then a session
 * pinned to that instance, on this client's own inbox. No instance: a
 * NoSuchServiceError at once (NATS says "no responders"). An instance that
 * dies is noticed by a heartbeat, a $SRV.PING to that very instance, which
 * NATS answers "no responders" as soon as the instance's connection is gone:
 * its pending calls then reject with ChannelClosedError within
 * HEARTBEAT_MS + PING_TIMEOUT_MS of its death reaching the NATS servers.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { describe } from '../../codec/marks.ts';
import { ChannelClosedError, NoSuchServiceError } from '../../errors.ts';
import { Peer } from '../../rpc/peer.ts';
import { createRemote, type Remote, type RemoteTarget } from '../../rpc/remote.ts';
import { NatsTransport } from '../../transport/nats.ts';
import { loadNats, type NatsModule } from './client.ts';
import type { Hello } from './serve.ts';
import { checkServiceName, helloSubject } from './subjects.ts';

/** How often a session checks that its instance is alive. */
export const HEARTBEAT_MS = 500;
/** How long a heartbeat waits for its answer before the instance counts as gone. */
export const PING_TIMEOUT_MS = 1_000;

export interface NatsConnectOptions {
  /** The name given to serve(). */
  service: string;
  /** The caller's own NATS connection. */
  nats: NatsConnection;
  /** Milliseconds the hello may take. Default 5,000. */
  timeout?: number;
  /** Methods safe to call twice: when their instance dies mid-call they are retried on another. */
  idempotent?: readonly string[];
}

/** A session with one instance of a service. */
export interface NatsSession<T> {
  readonly api: Remote<T>;
  /** The instance the current session is pinned to. */
  readonly instance: string;
  /** Settles once the current session is over, with why. */
  readonly closed: Promise<Error>;
  close(): Promise<void>;
}

function isNoResponders(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; message?: string } | undefined;
  return e?.name === 'NoRespondersError' || e?.code === '503' || e?.code === 503 || /no responders/i.test(String(e?.message));
}

interface Session {
  readonly peer: Peer;
  readonly id: string;
  readonly closed: Promise<Error>;
  close(): Promise<void>;
}

/** How often one idempotent call is tried again after its instance died. */
const RETRIES = 3;

/**
 * Opens a session with one live instance of `options.service`. Calls to the
 * methods named in `idempotent` that fail because their instance died are
 * made again, over a new session with whichever instance NATS picks then;
 * other calls reject with ChannelClosedError naming the instance, and the
 * next call opens a new session.
 */
export async function connectNats<T>(options: NatsConnectOptions): Promise<NatsSession<T>> {
  checkServiceName('connect', options?.service);
  const { service, nats: nc, timeout = 5_000, idempotent = [] } = options;
  if (typeof nc?.request !== 'function') throw new TypeError(`connect() option nats must be a NATS connection, got ${describe(nc)}`);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new TypeError(`connect() option timeout must be a positive number of milliseconds, got ${describe(timeout)}`);
  if (!Array.isArray(idempotent) || idempotent.some((m) => typeof m !== 'string')) {
    throw new TypeError(`connect() option idempotent must be an array of method names, got ${describe(idempotent)}`);
  }
  const retried = new Set(idempotent);
  const nats = await loadNats();
  let live = await openSession(nc, nats, service, timeout);
  let reopening: Promise<Session> | undefined;
  let closing = false;

  /** The live session, or a new one (one hello however many calls ask at once). */
  const session = async (): Promise<Session> => {
    if (closing) throw new ChannelClosedError(`the connection to service '${service}' was closed`);
    if (!live.peer.isClosed) return live;
    reopening ??= openSession(nc, nats, service, timeout)
      .then((s) => (live = s))
      .finally(() => (reopening = undefined));
    return reopening;
  };

  const target: RemoteTarget = {
    async call(handle, kind, path, args, opts) {
      for (let attempt = 0; ; attempt++) {
        const s = handle === 0 ? await session() : live;
        try {
          return await s.peer.call(handle, kind, path, args, opts);
        } catch (err) {
          const again = err instanceof ChannelClosedError && !closing && handle === 0 && retried.has(path[0] ?? '') && attempt < RETRIES;
          if (!again) throw err;
        }
      }
    },
    release: (handle) => live.peer.release(handle),
  };

  return {
    api: createRemote<T>(target, 0),
    get instance() {
      return live.id;
    },
    get closed() {
      return live.closed;
    },
    async close() {
      closing = true;
      await live.close();
    },
  };
}

/** A hello to the queue group, then a session with the instance that answered. */
async function openSession(nc: NatsConnection, nats: NatsModule, service: string, timeout: number): Promise<Session> {
  let hello: Hello & { refused?: string };
  try {
    hello = (await nc.request(helloSubject(service), '', { timeout })).json();
  } catch (err) {
    if (isNoResponders(err)) throw new NoSuchServiceError(`no instance of service '${service}' answered on NATS (subject ${helloSubject(service)})`);
    throw err;
  }
  if (hello.refused !== undefined || typeof hello.subject !== 'string') {
    throw new NoSuchServiceError(`the instance of service '${service}' NATS picked refused a session: ${hello.refused ?? 'malformed answer'}`);
  }
  const inbox = nats.createInbox();
  const label = `instance ${hello.id} of ${service}`;
  const transport = new NatsTransport(nc, nats.headers, hello.subject, inbox, label);
  const peer = new Peer(transport);
  const sub = nc.subscribe(inbox, { callback: (_err, m) => transport.deliver(m) });
  let settle!: (cause: Error) => void;
  const closed = new Promise<Error>((r) => (settle = r));

  const heartbeat = setInterval(() => {
    nc.request(`$SRV.PING.${service}.${hello.id}`, '', { timeout: PING_TIMEOUT_MS }).then(
      () => {},
      (err: unknown) => {
        if (nc.isClosed()) return transport.fail(new ChannelClosedError(`the NATS connection to ${label} closed`));
        // A timeout may be a reconnecting client, or a dead instance on a far server; either way its calls cannot be answered now.
        transport.fail(new ChannelClosedError(`${label} is gone (${isNoResponders(err) ? 'no responders' : `no heartbeat within ${PING_TIMEOUT_MS} ms`})`));
      },
    );
  }, HEARTBEAT_MS);
  heartbeat.unref();
  peer.onClose((cause) => {
    clearInterval(heartbeat);
    sub.unsubscribe();
    settle(cause);
  });
  return {
    peer,
    id: hello.id,
    closed,
    async close() {
      if (peer.isClosed) return;
      transport.sayBye('client closed');
      peer.close(new ChannelClosedError(`the session with ${label} was closed`));
      await nc.flush().catch(() => {});
    },
  };
}
