/**
 * What one subject of `farcall bench` is: the shape every list of subjects
 * (subjects.ts, and nats.ts which it includes) fills in, kept apart so those
 * lists import it rather than each other.
 */
import type { Payload } from './payloads.ts';

export type TransportId = 'worker' | 'child' | 'unix' | 'tcp' | 'pool' | 'sync' | 'streams' | 'nats';

export const TRANSPORTS: ReadonlyArray<{ id: TransportId; label: string; about: string; optIn?: true }> = [
  { id: 'worker', label: 'worker port', about: 'a worker thread over its MessagePort' },
  { id: 'child', label: 'child pipe', about: 'a child process over a pipe (farcall: spawn())' },
  { id: 'unix', label: 'Unix socket', about: 'another process over a Unix domain socket (farcall: listen()/connect())' },
  { id: 'tcp', label: 'TCP loopback', about: 'another process over TCP on 127.0.0.1 (farcall: listen()/connect())' },
  { id: 'pool', label: 'thread pool', about: 'a pool of worker threads, one per CPU (farcall: createPool())' },
  { id: 'sync', label: 'sync call', about: 'a synchronous call into a worker thread, the caller blocked until it answers (farcall: createSyncFn())' },
  { id: 'streams', label: 'streams', about: 'async iterables: small items over each transport and 64 KiB chunks over a Unix socket, beside the raw mechanism' },
  { id: 'nats', label: 'NATS', about: 'a service over a local nats-server, caller and instance on separate connections (farcall: serve()/connect() with nats); only when asked for', optIn: true },
];

/** raw: the mechanism farcall rides on; peer: another library doing farcall's job. */
export type Role = 'raw' | 'farcall' | 'peer';

/** A started subject. */
export interface Running {
  ping(): Promise<unknown>;
  echo(value: unknown): Promise<unknown>;
  /** Moves `buf` there and back; resolves with the buffer that came back. */
  echoMoved?(buf: ArrayBuffer): Promise<unknown>;
  stop(): Promise<void>;
}

export interface Context {
  /** A private directory for socket files. */
  dir: string;
  /** Threads of each pool. */
  threads: number;
}

export interface Subject {
  id: string;
  transport: TransportId;
  who: string;
  role: Role;
  /** The npm package this subject needs (loaded with import(); skipped with a note when missing). */
  needs?: string;
  /** Why this subject cannot carry `p`, or undefined when it can. */
  cannot(p: Payload): string | undefined;
  start(ctx: Context): Promise<Running>;
}
