/**
 * Where instances of services are found. The embedded default keeps them as
 * files in a directory (local-registry.ts); another backend (NATS, say)
 * implements the same few methods.
 */

/** One running instance of a service, as registered. */
export interface InstanceInfo {
  /** Unique per instance; a restarted process gets a new one. */
  id: string;
  name: string;
  version: string;
  metadata: Record<string, string>;
  /** A Unix socket path, or TCP host and port. */
  address: string | { host: string; port: number; tls?: boolean };
  pid: number;
  /** Milliseconds since the epoch. */
  startedAt: number;
}

/** An instance's place in the registry while it runs. */
export interface Registration {
  /** Takes the instance out of the registry; calling it again does nothing. */
  close(): Promise<void>;
}

export interface Registry {
  /** Where it looks, for error messages (a directory, a server URL). */
  readonly where: string;
  register(info: InstanceInfo): Promise<Registration>;
  /**
   * The live instances of `name` (of every service when undefined). An entry
   * left by an instance that is gone is removed by whoever sees it first.
   */
  list(name?: string): Promise<InstanceInfo[]>;
  /**
   * Checks that `info`'s instance still answers, removing its entry when it
   * does not (a caller whose connection failed asks). Resolves to whether it lives.
   */
  check(info: InstanceInfo): Promise<boolean>;
  /** Calls `changed` soon after instances of `name` come or go; returns the function that stops watching. */
  watch(name: string, changed: () => void): () => void;
}
