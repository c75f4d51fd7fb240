/**
 * The built-in call every instance answers, beside its api:
 * `$farcall.info()`. Served from an object of its own, so the user's api
 * never gains a member and a client reaches only `info` (the path guard
 * allows own members and nothing inherited).
 */
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import type { InstanceInfo } from './registry.ts';

/** The reserved first step of built-in paths. */
export const BUILTIN = '$farcall';

/** What `$farcall.info()` answers. */
export interface ServiceInfo extends InstanceInfo {
  /** Callable paths of the api. */
  methods: string[];
  uptimeMs: number;
  /** Calls being served now, over all clients. */
  inFlight: number;
  /** Clients connected now. */
  connections: number;
  /** What the instance's `stats()` returns; null when it was served without `metrics`. */
  stats: MetricsSnapshot | null;
}

export function introspection(info: () => ServiceInfo): object {
  const calls = Object.assign(Object.create(null) as object, { info });
  return Object.freeze({ [BUILTIN]: Object.freeze(calls) });
}
