/**
 * What connect() resolves to, in a module of its own: the NATS backend's
 * client has the same shape, and takes it from here rather than from
 * connect.ts, which loads that backend.
 */
import type { EventEmitter } from 'node:events';
import type { MetricsSnapshot } from './metrics/metrics.ts';
import type { Remote } from './rpc/remote.ts';

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
