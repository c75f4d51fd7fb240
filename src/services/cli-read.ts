/**
 * How `farcall stats` and `farcall top` read an instance: its `$farcall.info()`
 * over a connection of their own, and the words for why it could not be read.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../bench/command.ts';
import { AuthenticationError, CallTimeoutError, connect, ChannelClosedError, NoSuchMethodError, type ClientAuth, type Connection, type MetricsSnapshot, type ServiceInfo, type SideStats, type SocketAddress } from '../index.ts';

interface Builtins {
  $farcall: { info(): Promise<ServiceInfo> };
}

/** The instance's own answer. */
export const infoOf = (conn: Connection<unknown>): Promise<ServiceInfo> => (conn.api as unknown as Builtins).$farcall.info();

/** The options that give a command the secret of instances served with `auth`. */
export const AUTH_OPTIONS = { 'secret-file': { type: 'string' }, 'key-id': { type: 'string' } } as const;

export const AUTH_HELP = `  --secret-file FILE  the secret of instances served with auth, read from FILE
                      (a final newline is not part of it; never on the command
                      line, where ps shows it to every user)
  --key-id ID         which of the server's keys the secret is`;

/**
 * A connection of this command's own to an instance. The secret is for those
 * served with auth; one served without refuses a client offering it, so it
 * is dialled again without.
 */
export async function dial(address: SocketAddress, timeout: number, auth: ClientAuth | undefined): Promise<Connection<unknown>> {
  const options = { timeout, pingInterval: 0 };
  if (auth === undefined) return connect(address, options);
  try {
    return await connect(address, { ...options, auth });
  } catch (err) {
    if (!(err instanceof AuthenticationError)) throw err;
    return connect(address, options).catch(() => {
      throw err;
    });
  }
}

/** connect()'s auth option from --secret-file and --key-id; undefined without them. */
export function authOf(values: Record<string, string | boolean | undefined>): ClientAuth | undefined {
  const file = values['secret-file'] as string | undefined;
  const keyId = values['key-id'] as string | undefined;
  if (file === undefined) {
    if (keyId !== undefined) throw new UsageError('--key-id names the key of a secret: give the secret with --secret-file');
    return undefined;
  }
  let secret: Buffer;
  try {
    secret = readFileSync(file);
  } catch (err) {
    throw new UsageError(`--secret-file cannot be read: ${(err as Error).message}`);
  }
  // A file written with echo ends in a newline that is no part of the secret.
  if (secret.at(-1) === 0x0a) secret = secret.subarray(0, secret.at(-2) === 0x0d ? -2 : -1);
  return keyId === undefined ? { secret } : { secret, keyId };
}

/** Said of an instance served without metrics, instead of a table of zeros. */
export const METRICS_OFF = 'metrics are off: serve it with { metrics: true } to record them';

/** An address as the command line writes it. */
export const placeOf = (a: SocketAddress): string => (typeof a === 'string' ? a : 'path' in a ? a.path : `${a.host ?? 'localhost'}:${a.port}`);

/** A sentence for why the instance at `address` could not be read; `absent` when nothing listens there. */
export function problemOf(err: unknown, address: SocketAddress, timeout: number): { problem: string; absent: boolean } {
  const where = placeOf(address);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return { problem: `nothing is listening at ${where}`, absent: true };
  if (err instanceof NoSuchMethodError) return { problem: `the server at ${where} answers no $farcall.info(): it was started with listen(), not serve()`, absent: false };
  if (err instanceof AuthenticationError) return { problem: `refused: ${err.message} (its secret goes in --secret-file)`, absent: false };
  if (err instanceof CallTimeoutError) return { problem: `the server at ${where} did not answer within ${timeout} ms`, absent: false };
  if (err instanceof ChannelClosedError) return { problem: `the server at ${where} closed the connection (${err.message})`, absent: false };
  return { problem: `${where}: ${err instanceof Error ? err.message : String(err)}`, absent: false };
}

/**
 * The figures without the `$farcall.*` calls: those are this command's own
 * reading, not the service's work.
 */
export function withoutBuiltins(stats: MetricsSnapshot): MetricsSnapshot {
  const strip = (side: SideStats): SideStats => Object.fromEntries(Object.entries(side).filter(([method]) => !method.startsWith('$farcall.')));
  return { ...stats, client: strip(stats.client), server: strip(stats.server) };
}

/** Milliseconds as a table shows them, down to the microsecond the histograms keep; '-' when no call was timed. */
export function ms(v: number, timed: boolean): string {
  if (!timed) return '-';
  return v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** Rows as columns: numbers (`right[c]`) right-aligned, the last column not padded. */
export function table(rows: string[][], right: readonly boolean[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((v, c) => (right[c] ? v.padStart(widths[c]!) : c === r.length - 1 ? v : v.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}
