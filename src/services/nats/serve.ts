/**
 * One instance of a service over NATS. It joins the service's queue group on
 * the hello subjects (NATS picks one instance per hello, on any server of the
 * cluster), and serves each client that picked it over a session: a peer per
 * client, fed from the instance's one session subscription and answering on
 * the client's own inbox. Callbacks, proxies and everything else the peer
 * does work there unchanged, pinned to this instance.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { describe } from '../../codec/marks.ts';
import { ChannelClosedError } from '../../errors.ts';
import { checkOptionNames, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from '../../options.ts';
import type { MetricsSnapshot } from '../../metrics/metrics.ts';
import { governedStats, peerGovernor, sideGovernor } from '../../rpc/govern.ts';
import { Peer } from '../../rpc/peer.ts';
import { BYE_HEADER, NatsTransport, PING_HEADER } from '../../transport/nats.ts';
import { loadNats, refuseUnsupported } from './client.ts';
import { watchDrops } from './drops.ts';
import { answerMicro, type MicroCounters } from './micro.ts';
import { announceSubject, checkServiceName, type Announcement, type Hello, checkVersion, directHelloSubject, helloSubject, helloSubjects, sessionSubject } from './subjects.ts';

export interface NatsServeOptions extends PeerSettings {
  /** The caller's own NATS connection (its servers, auth and TLS are theirs). */
  nats: NatsConnection;
  /** This instance's version, reported to discovery and matched by connect()'s version. Default '0.0.0'. */
  version?: string;
  /** Strings reported to discovery. */
  metadata?: Record<string, string>;
  /** Said in discovery's INFO. Default 'farcall service NAME'. */
  description?: string;
  /** Most clients served at once; a hello past it is refused. Default 10,000. */
  maxSessions?: number;
}

const NATS_SERVE_OPTIONS = {
  ...PEER_OPTIONS,
  nats: true,
  version: true,
  metadata: true,
  description: true,
  maxSessions: true,
} as const satisfies OptionNames<NatsServeOptions>;

/** A running instance. */
export interface NatsService {
  readonly name: string;
  /** This instance's id, as discovery reports it. */
  readonly id: string;
  /** Where this instance takes its sessions: `nats:SUBJECT`. */
  readonly address: string;
  /** Clients with a session on this instance now. */
  readonly sessions: number;
  /** Per-method figures of the calls served (and made back to clients), bytes in and out, over every session (needs `metrics`). */
  stats(): MetricsSnapshot;
  /** The same in the Prometheus text exposition format, `labels` on every sample (needs `metrics`). */
  metrics(labels?: Readonly<Record<string, string>>): string;
  /**
   * Leaves the queue group and discovery at once (no new session comes
   * here), asks every client to send no more calls, lets the calls they sent
   * finish, then ends each session. Resolves when all are over.
   */
  close(): Promise<void>;
}

/**
 * How often an instance announces itself again after the announcement it
 * makes on start: the bound on how late a running client that missed that
 * one (its connection was reconnecting) learns of the instance.
 */
export const ANNOUNCE_MS = 5_000;

/** How long a closing instance waits for a client to confirm it has stopped sending (a client that never does is gone). */
const DRAIN_WAIT_MS = 2_000;
/**
 * How often an instance looks for sessions whose client fell silent: a live
 * client sends a heartbeat every HEARTBEAT_MS, so a session that heard nothing
 * for a whole period (5 to 10 s) belongs to a client that is gone.
 */
export const SESSION_SWEEP_MS = 5_000;
/** What a client's inbox may look like (its hello names it; it becomes a subject we publish to). */
const INBOX = /^[A-Za-z0-9_$.-]{1,255}$/;

function isConnection(v: unknown): v is NatsServeOptions['nats'] {
  return typeof v === 'object' && v !== null && typeof (v as NatsServeOptions['nats']).subscribe === 'function' && typeof (v as NatsServeOptions['nats']).publish === 'function';
}

interface ServedSession {
  peer: Peer;
  transport: NatsTransport;
  /** Settles when the client confirms it sends no more calls. */
  stopped: Promise<void>;
  /** Nothing heard from the client since the last sweep. */
  quiet: boolean;
}

/** Serves `api` as one instance of `name` on the NATS connection in `options.nats`. */
export async function serveNats(name: string, api: unknown, options: NatsServeOptions): Promise<NatsService> {
  checkServiceName('serve', name);
  if ((typeof api !== 'object' && typeof api !== 'function') || api === null) {
    throw new TypeError(`serve() expects an object or a function to serve, got ${describe(api)}`);
  }
  checkOptionNames('serve', options, NATS_SERVE_OPTIONS);
  refuseUnsupported('serve', options);
  if (!isConnection(options?.nats)) throw new TypeError(`serve() option nats must be a NATS connection, got ${describe(options?.nats)}`);
  checkPeerSettings('serve', options);
  const { nats: nc, version = '0.0.0', metadata = {}, description = `farcall service ${name}`, maxSessions = 10_000, timeout, transferHandlers } = options;
  checkVersion('serve', version);
  if (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new TypeError(`serve() option metadata must be an object of strings, got ${describe(metadata)}`);
  }
  if (typeof description !== 'string') throw new TypeError(`serve() option description must be a string, got ${describe(description)}`);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new TypeError(`serve() option maxSessions must be a positive whole number, got ${describe(maxSessions)}`);
  const governor = sideGovernor('serve', options, undefined, api);
  const { headers, nuid } = await loadNats();
  const id = nuid.next();
  const mine = sessionSubject(name, id);
  const sessions = new Map<string, ServedSession>();
  const counters: MicroCounters = { requests: 0, errors: 0, lastError: '', processingNs: 0 };
  let closing: Promise<void> | undefined;

  const open = (inbox: string): void => {
    const transport = new NatsTransport(nc, headers, inbox, undefined, `client ${inbox}`);
    const peer = new Peer(transport, { timeout, transferHandlers, governor: peerGovernor('server', governor) });
    peer.expose(api);
    const bytes = governor?.metrics?.countBytes(() => ({ bytesIn: transport.bytesIn, bytesOut: transport.bytesOut }));
    peer.onClose(() => bytes?.retire());
    const stopped = new Promise<void>((resolve) => (transport.ondrain = () => resolve()));
    sessions.set(inbox, { peer, transport, stopped, quiet: false });
    peer.onClose(() => sessions.delete(inbox));
  };

  // The hello names the client's inbox: the session exists from then on, so a drain reaches it even before its first call.
  const answerHello = (_err: unknown, m: Msg): void => {
    const t0 = process.hrtime.bigint();
    counters.requests++;
    const inbox = m.string();
    const refused = closing ? 'closing' : !INBOX.test(inbox) ? 'malformed hello' : sessions.size >= maxSessions && !sessions.has(inbox) ? 'too many sessions' : undefined;
    if (refused) {
      counters.errors++;
      counters.lastError = refused;
      // Said, not left unanswered: the client's hello must not wait out its timeout.
      m.respond(JSON.stringify({ refused }));
      return;
    }
    if (!sessions.has(inbox)) open(inbox);
    const reply: Hello = { id, subject: mine };
    m.respond(JSON.stringify(reply));
    counters.processingNs += Number(process.hrtime.bigint() - t0);
  };
  const hellos = helloSubjects(name, version).map((subject) => nc.subscribe(subject, { queue: name, callback: answerHello }));
  hellos.push(nc.subscribe(directHelloSubject(name, id), { callback: answerHello }));

  const session = nc.subscribe(mine, {
    callback: (_err, m: Msg) => {
      if (m.headers?.has(PING_HEADER)) return heartbeat(m);
      // Every session message names the client's inbox as its reply subject; one without is not ours.
      const known = m.reply ? sessions.get(m.reply) : undefined;
      if (known) {
        counters.requests++;
        known.quiet = false;
        return known.transport.deliver(m);
      }
      // A session this instance does not know (expired, or never said hello): say so rather than leave its calls unanswered.
      if (m.reply && INBOX.test(m.reply)) new NatsTransport(nc, headers, m.reply, undefined, 'client').sayBye(`instance ${id} of ${name} has no such session`);
    },
  });

  const heartbeat = (m: Msg): void => {
    const known = sessions.get(m.headers!.get(PING_HEADER));
    if (known) {
      known.quiet = false;
      m.respond();
    } else {
      const h = headers();
      h.set(BYE_HEADER, `instance ${id} of ${name} has no such session`);
      m.respond(undefined, { headers: h });
    }
  };

  // Replies in flight at a drop may be lost: end every session (the goodbyes leave once reconnected) rather than leave a call unanswered.
  const stopWatching = watchDrops(nc, () => {
    for (const s of [...sessions.values()]) {
      s.transport.sayBye('the instance lost its NATS server');
      s.peer.close(new ChannelClosedError(`instance ${id} of ${name} lost its NATS server`));
    }
  });

  const sweep = setInterval(() => {
    for (const s of sessions.values()) {
      if (!s.quiet) s.quiet = true;
      else {
        s.transport.sayBye('no heartbeat');
        s.peer.close(new ChannelClosedError(`the client of instance ${id} of ${name} fell silent (no heartbeat for ${SESSION_SWEEP_MS} ms)`));
      }
    }
  }, SESSION_SWEEP_MS);
  sweep.unref();

  const identity = { name, id, version, metadata, description };
  const micro = answerMicro(nc, identity, { name: 'session', subject: helloSubject(name), queue_group: name }, counters, new Date());

  // Resolve once the server knows our subscriptions, so a hello sent next (from any connection) finds us.
  await nc.flush();
  // Clients already running learn of us this way (a hello to the queue group would reach us only by chance).
  const announcement = JSON.stringify({ id, version } satisfies Announcement);
  const announce = (): void => {
    if (!closing && !nc.isClosed()) nc.publish(announceSubject(name), announcement);
  };
  announce();
  const announcing = setInterval(announce, ANNOUNCE_MS);
  announcing.unref();
  return {
    name,
    id,
    address: `nats:${mine}`,
    get sessions() {
      return sessions.size;
    },
    stats: () => governedStats('serve', governor).stats(),
    metrics: (labels) => governedStats('serve', governor).metrics(labels),
    close() {
      closing ??= (async () => {
        clearInterval(announcing);
        for (const s of [...hellos, ...micro]) s.unsubscribe();
        await Promise.all([...sessions.values()].map((s) => drain(s, `instance ${id} of ${name} closed`)));
        clearInterval(sweep);
        stopWatching();
        session.unsubscribe();
        await nc.flush().catch(() => {});
      })();
      return closing;
    },
  };
}

/** Ends one session gracefully: no more calls, those sent answered, then goodbye. */
async function drain({ peer, transport, stopped }: ServedSession, reason: string): Promise<void> {
  transport.sayDrain(reason);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_WAIT_MS)))]);
  clearTimeout(timer);
  await peer.whenIdle();
  transport.sayBye(reason);
  peer.close(new ChannelClosedError(reason));
}
