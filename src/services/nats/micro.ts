/**
 * Discovery compatible with the NATS services ("micro") protocol: every
 * instance answers $SRV.PING, $SRV.INFO and $SRV.STATS for all services, by
 * name, and by name and id, with the io.nats.micro.v1 shapes, so NATS's own
 * tooling (`nats micro ls`) lists farcall services.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/** What an instance says about itself. */
export interface MicroIdentity {
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
  description: string;
}

/** One endpoint as micro describes it (farcall has one: the session hello). */
export interface MicroEndpoint {
  name: string;
  subject: string;
  queue_group: string;
}

/** Counters the instance keeps for $SRV.STATS. */
export interface MicroCounters {
  requests: number;
  errors: number;
  lastError: string;
  /** Nanoseconds spent serving. */
  processingNs: number;
}

const VERBS = ['PING', 'INFO', 'STATS'] as const;

/** Subscribes the $SRV subjects for one instance; returns the subscriptions to drop on close. */
export function answerMicro(nc: NatsConnection, who: MicroIdentity, endpoint: MicroEndpoint, counters: MicroCounters, started: Date): Subscription[] {
  const base = { name: who.name, id: who.id, version: who.version, metadata: who.metadata };
  const body = (verb: (typeof VERBS)[number]): unknown => {
    if (verb === 'PING') return { type: 'io.nats.micro.v1.ping_response', ...base };
    if (verb === 'INFO') {
      return { type: 'io.nats.micro.v1.info_response', ...base, description: who.description, endpoints: [{ ...endpoint, metadata: null }] };
    }
    const avg = counters.requests > 0 ? Math.round(counters.processingNs / counters.requests) : 0;
    return {
      type: 'io.nats.micro.v1.stats_response',
      ...base,
      started: started.toISOString(),
      endpoints: [
        {
          ...endpoint,
          num_requests: counters.requests,
          num_errors: counters.errors,
          last_error: counters.lastError,
          processing_time: counters.processingNs,
          average_processing_time: avg,
          data: null,
        },
      ],
    };
  };
  const subs: Subscription[] = [];
  for (const verb of VERBS) {
    for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${who.name}`, `$SRV.${verb}.${who.name}.${who.id}`]) {
      subs.push(nc.subscribe(subject, { callback: (_err, m) => void m.respond(JSON.stringify(body(verb))) }));
    }
  }
  return subs;
}
