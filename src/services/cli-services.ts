/** `farcall ls` and `farcall call`: services on this host, from the command line, over the public API. */
import { parseArgs } from 'node:util';
import { connect, listServices, NoSuchServiceError, type InstanceInfo } from '../index.ts';
import { UsageError } from '../bench/command.ts';
import { suggestion } from '../options.ts';
import type { SocketAddress } from '../transport/socket.ts';

export const LS_SUMMARY = 'list the services running on this host';
export const CALL_SUMMARY = 'call a method of a service (or of a server at an address) and print the result as JSON';

const LS_HELP = `Usage: farcall ls [options]

Lists the live instances of every service registered on this host: name,
id, pid, address, version and uptime. Entries left by instances that died
are removed as they are found.

Options:
  --registry DIR  the registry directory (default: $FARCALL_REGISTRY_DIR, else
                  $XDG_RUNTIME_DIR/farcall, else farcall-<user> under the temp dir)
  --json          print a JSON array, one object per instance (uptimeMs in milliseconds)
  --nats URL      list the instances on a NATS cluster instead (farcall ls --nats URL --help)
  -h, --help      show this help`;

const CALL_HELP = `Usage: farcall call <service|address> <method> [json args...]

Calls <method> (a dotted path for a nested one: jobs.add) with each argument
read as JSON, and prints the result as JSON. <service> is a name registered
with serve(); an address is a socket path (anything with a /) or host:port.

Options:
  --registry DIR  the registry directory (as for farcall ls)
  --timeout MS    give up after MS milliseconds (default 10000)
  -h, --help      show this help

Exit codes: 0 the call returned, 1 it threw (the error is printed on stderr),
2 usage, 3 no such service (or nothing listening at the address).

Example: farcall call thumbs resize '{"w":200}' 150`;

/** Reads a command's line (with -h/--help); an unknown option is a UsageError naming the nearest known one. */
export function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /^Unknown option '(--?)([^'=]+)'/.exec(message);
    if (unknown) throw new UsageError(`unknown option '${unknown[1]}${unknown[2]}'${suggestion(unknown[2]!, Object.keys(options)).replace(/mean (\S+)\?/, 'mean --$1?')}`);
    // Node's messages go on about positionals; keep the first sentence.
    const first = message.split('. ')[0]!.replace(/\.$/, '');
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
  }
}

/** What a command line names: a service, or an address as `connect()` takes it (a socket path has a '/', TCP is host:port). */
export function targetOf(target: string): { service: string } | { address: SocketAddress } {
  if (target.includes('/')) return { address: target };
  const tcp = /^(.*):(\d+)$/.exec(target);
  return tcp ? { address: { host: tcp[1] || 'localhost', port: Number(tcp[2]) } } : { service: target };
}

export function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

export const addressText = (a: InstanceInfo['address']): string => (typeof a === 'string' ? a : `${a.host}:${a.port}${a.tls ? ' (tls)' : ''}`);

export async function ls(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { registry: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(LS_HELP + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`ls takes no arguments, got '${positionals[0]}'`);
  const now = Date.now();
  const found = await listServices({ registry: values.registry as string | undefined });
  if (values.json) {
    process.stdout.write(JSON.stringify(found.map((i) => ({ ...i, uptimeMs: now - i.startedAt }))) + '\n');
    return 0;
  }
  const rows = [['NAME', 'ID', 'PID', 'ADDRESS', 'VERSION', 'UPTIME'], ...found.map((i) => [i.name, i.id, String(i.pid), addressText(i.address), i.version, uptime(now - i.startedAt)])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  process.stdout.write(rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 2))).join('').trimEnd()).join('\n') + '\n');
  return 0;
}

export async function call(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { registry: { type: 'string' }, timeout: { type: 'string' } });
  if (values.help) {
    process.stdout.write(CALL_HELP + '\n');
    return 0;
  }
  const [target, method, ...rawArgs] = positionals;
  if (target === undefined || method === undefined) throw new UsageError('call needs a service (or an address) and a method');
  const timeout = values.timeout === undefined ? 10_000 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive whole number of milliseconds, got '${String(values.timeout)}'`);
  const callArgs = rawArgs.map((text, i) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UsageError(`argument ${i + 1} is not JSON: ${text} (quote a string: '"text"')`);
    }
  });
  const path = method.split('.');
  if (path.some((p) => p === '')) throw new UsageError(`method '${method}' has an empty step`);
  const to = targetOf(target);
  let conn;
  try {
    conn = 'address' in to ? await connect(to.address, { timeout }) : await connect({ service: to.service, timeout, registry: values.registry as string | undefined });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof NoSuchServiceError || code === 'ENOENT' || code === 'ECONNREFUSED') {
      process.stderr.write(`farcall call: ${(err as Error).message}\n`);
      return 3;
    }
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
  try {
    let fn: unknown = conn.api;
    for (const step of path) fn = (fn as Record<string, unknown>)[step];
    const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...callArgs);
    process.stdout.write(JSON.stringify(result ?? null) + '\n');
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`farcall call: ${method}() threw ${e?.name ?? 'Error'}${(e as NodeJS.ErrnoException)?.code ? ` (${(e as NodeJS.ErrnoException).code})` : ''}: ${e?.message ?? String(err)}\n`);
    return 1;
  } finally {
    await conn.close();
  }
}
