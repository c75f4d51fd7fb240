/** The shapes stats() returns: plain data, beneath the recorder and the Prometheus renderer. */

/** Latency percentiles of one method, in milliseconds. */
export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** What one method saw on one side. */
export interface MethodStats {
  /** Calls that finished, failed ones included. */
  calls: number;
  errors: number;
  /** Failed calls by error code ('ERR_FARCALL_TIMEOUT', a user error's own code, or 'ERR_UNKNOWN'). */
  errorsByCode: Record<string, number>;
  inFlight: number;
  /** From the call to its settling: on a client, the round trip; on a server, middleware and the method. */
  latencyMs: LatencyMs;
}

/** A side's methods, by path as written ('add', 'math.add'). */
export type SideStats = Record<string, MethodStats>;

/** What `stats()` returns: per side and method, plus the bytes its sockets carried where that is known. */
export interface MetricsSnapshot {
  /** Calls this side made. */
  client: SideStats;
  /** Calls this side served. */
  server: SideStats;
  /** Bytes received and sent by socket connections (absent over workers and processes, which do not count bytes). */
  bytesIn?: number;
  bytesOut?: number;
}
