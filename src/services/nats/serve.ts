/**
 * One instance of a service over NATS. It joins the service's queue group on
 * the hello subject (NATS picks one instance per hello, on any server of the
 * cluster), and serves each client that picked it over a session: a peer per
 * client, fed from the instance's one session subscription and answering on
 * the client's own inbox. Callbacks, proxies and everything else the peer
 * does work there unchanged, pinned to this instance.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { describe } from '../../codec/marks.ts';
import { ChannelClosedError } from '../../errors.ts';
import { Peer } from '../../rpc/peer.ts';
import { NatsTransport } from '../../transport/nats.ts';
import { loadNats } from './client.ts';
import { answerMicro, type MicroCounters } from './micro.ts';
import { checkServiceName, helloSubject, sessionSubject } from './subjects.ts';

export interface NatsServeOptions {
  /** The caller's own NATS connection (its servers, auth and TLS are theirs). */
  nats: NatsConnection;
  /** Semver reported to discovery. Default '0.0.0'. */
  version?: string;
  /** Strings reported to discovery. */
  metadata?: Record<string, string>;
  /** Most clients served at once; a hello past it is refused. Default 10,000. */
  maxSessions?: number;
}

/** A running instance. */
export interface NatsService {
  readonly name: string;
  readonly id: string;
  /** Clients with a session on this instance now. */
  readonly sessions: number;
  /** Leaves the queue group, tells every client the session is over, closes. */
  close(): Promise<void>;
}

/** What an instance answers a hello with. */
export interface Hello {
  id: string;
  subject: string;
}

function isConnection(v: unknown): v is NatsConnection {
  return typeof v === 'object' && v !== null && typeof (v as NatsConnection).subscribe === 'function' && typeof (v as NatsConnection).publish === 'function';
}

/** Serves `api` as one instance of `name` on the NATS connection in `options.nats`. */
export async function serveNats(name: string, api: unknown, options: NatsServeOptions): Promise<NatsService> {
  checkServiceName('serve', name);
  if ((typeof api !== 'object' && typeof api !== 'function') || api === null) {
    throw new TypeError(`serve() expects an object or a function to serve, got ${describe(api)}`);
  }
  if (!isConnection(options?.nats)) throw new TypeError(`serve() option nats must be a NATS connection, got ${describe(options?.nats)}`);
  const { nats: nc, version = '0.0.0', metadata = {}, maxSessions = 10_000 } = options;
  if (typeof version !== 'string') throw new TypeError(`serve() option version must be a string, got ${describe(version)}`);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new TypeError(`serve() option maxSessions must be a positive whole number, got ${describe(maxSessions)}`);
  const { headers, nuid } = await loadNats();
  const id = nuid.next();
  const mine = sessionSubject(name, id);
  const sessions = new Map<string, { peer: Peer; transport: NatsTransport }>();
  const counters: MicroCounters = { requests: 0, errors: 0, lastError: '', processingNs: 0 };
  let closing: Promise<void> | undefined;

  const open = (inbox: string): NatsTransport => {
    const transport = new NatsTransport(nc, headers, inbox, undefined, 'client');
    const peer = new Peer(transport);
    peer.expose(api);
    sessions.set(inbox, { peer, transport });
    peer.onClose(() => sessions.delete(inbox));
    return transport;
  };

  const hello = nc.subscribe(helloSubject(name), {
    queue: name,
    callback: (_err, m: Msg) => {
      const t0 = process.hrtime.bigint();
      counters.requests++;
      if (closing || sessions.size >= maxSessions) {
        counters.errors++;
        counters.lastError = closing ? 'closing' : 'too many sessions';
        // Said, not left unanswered: the client's hello must not wait out its timeout.
        m.respond(JSON.stringify({ refused: counters.lastError }));
        return;
      }
      const reply: Hello = { id, subject: mine };
      m.respond(JSON.stringify(reply));
      counters.processingNs += Number(process.hrtime.bigint() - t0);
    },
  });

  const session = nc.subscribe(mine, {
    callback: (_err, m: Msg) => {
      // Every session message names the client's inbox as its reply subject; one without is not ours.
      const from = m.reply;
      if (!from) return;
      (sessions.get(from)?.transport ?? (closing ? undefined : open(from)))?.deliver(m);
    },
  });

  const micro: Subscription[] = answerMicro(nc, { name, id, version, metadata, description: `farcall service ${name}` }, { name: 'session', subject: helloSubject(name), queue_group: name }, counters, new Date());

  // Resolve once the server knows our subscriptions, so a hello sent next (from any connection) finds us.
  await nc.flush();
  return {
    name,
    id,
    get sessions() {
      return sessions.size;
    },
    close() {
      closing ??= (async () => {
        hello.unsubscribe();
        for (const s of micro) s.unsubscribe();
        // In-flight calls finish; then each client hears the session is over.
        await Promise.all(
          [...sessions.values()].map(async ({ peer, transport }) => {
            await peer.whenIdle();
            transport.sayBye(`instance ${id} of ${name} closed`);
            peer.close(new ChannelClosedError(`instance ${id} of ${name} closed`));
          }),
        );
        session.unsubscribe();
        await nc.flush().catch(() => {});
      })();
      return closing;
    },
  };
}
