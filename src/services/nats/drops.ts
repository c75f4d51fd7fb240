/**
 * When a NATS connection loses its server. NATS core delivers at most once:
 * a message in flight while the client reconnects (to the same server or
 * another of the cluster) may be lost, and a lost call or reply would leave
 * its caller waiting though both ends live. So both ends end their sessions
 * on a drop, as a socket connection's calls reject when it drops: a client's
 * idempotent calls are then made again on a new session.
 */
import type { NatsConnection } from '@nats-io/transport-node';

/** Calls `onDrop` each time `nc` loses its server; returns what stops watching. */
export function watchDrops(nc: NatsConnection, onDrop: () => void): () => void {
  const statuses = nc.status();
  void (async () => {
    for await (const s of statuses) if (s.type === 'disconnect') onDrop();
  })().catch(() => {});
  // The library's iterator stops at once this way; return() would wait for the next status.
  return () => (statuses as Partial<{ stop(): void }>).stop?.();
}
