/**
 * Lists the services on a NATS cluster the way NATS's own tooling does: a
 * $SRV.INFO and a $SRV.STATS to everyone (or to one name), answers gathered
 * for a bounded time. farcall instances answer both; so does any service
 * speaking the NATS services ("micro") protocol, in any language.
 */
import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { describe } from '../../codec/marks.ts';
import { checkOptionNames, type OptionNames } from '../../options.ts';
import { loadNats } from './client.ts';
import { checkServiceName } from './subjects.ts';

/** One instance, as discovery describes it. */
export interface NatsServiceInfo {
  name: string;
  id: string;
  version: string;
  description: string;
  metadata: Record<string, string>;
  /** Requests its endpoints have taken (absent when it did not answer $SRV.STATS in time). */
  requests?: number;
  /** Of which failed. */
  errors?: number;
  /** When it started (ISO 8601), from $SRV.STATS. */
  started?: string;
}

export interface ListNatsOptions {
  /** Only instances of this service. */
  service?: string;
  /** Milliseconds to gather answers. Default 500. */
  wait?: number;
}

const LIST_OPTIONS = { service: true, wait: true } as const satisfies OptionNames<ListNatsOptions>;

/** Every service instance that answers on `nc` within `wait` ms, sorted by name, then id. */
export async function listNatsServices(nc: NatsConnection, options: ListNatsOptions = {}): Promise<NatsServiceInfo[]> {
  checkOptionNames('listNatsServices', options, LIST_OPTIONS);
  const { service, wait = 500 } = options;
  if (service !== undefined) checkServiceName('listNatsServices', service);
  if (!(typeof wait === 'number' && wait > 0 && wait <= 60_000)) {
    throw new TypeError(`listNatsServices() option wait must be a number of milliseconds from 1 to 60,000, got ${describe(wait)}`);
  }
  if (typeof nc?.requestMany !== 'function') throw new TypeError(`listNatsServices() expects a NATS connection, got ${describe(nc)}`);
  const suffix = service === undefined ? '' : `.${service}`;
  const gather = async (verb: string): Promise<Array<Record<string, unknown>>> => {
    const out: Array<Record<string, unknown>> = [];
    for await (const m of await nc.requestMany(`$SRV.${verb}${suffix}`, '', { maxWait: wait })) {
      try {
        const v: unknown = m.json();
        if (typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string') out.push(v as Record<string, unknown>);
      } catch {
        // Not a micro answer: whoever sent it is not listed.
      }
    }
    return out;
  };
  const [infos, stats] = await Promise.all([gather('INFO'), gather('STATS')]);
  const statsOf = new Map(stats.map((s) => [s.id as string, s]));
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const list = infos.map((i): NatsServiceInfo => {
    const info: NatsServiceInfo = {
      name: text(i.name),
      id: i.id as string,
      version: text(i.version),
      description: text(i.description),
      metadata: typeof i.metadata === 'object' && i.metadata !== null ? (i.metadata as Record<string, string>) : {},
    };
    const s = statsOf.get(info.id);
    const endpoints = Array.isArray(s?.endpoints) ? (s.endpoints as Array<Record<string, unknown>>) : undefined;
    if (s && endpoints) {
      info.requests = endpoints.reduce((n, e) => n + (Number(e.num_requests) || 0), 0);
      info.errors = endpoints.reduce((n, e) => n + (Number(e.num_errors) || 0), 0);
      info.started = text(s.started);
    }
    return info;
  });
  return list.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** The instances as a plain-text table, one line each. */
export function formatNatsServices(list: readonly NatsServiceInfo[]): string {
  if (list.length === 0) return 'no services answered\n';
  const rows = [['NAME', 'ID', 'VERSION', 'REQUESTS', 'DESCRIPTION'], ...list.map((s) => [s.name, s.id, s.version, s.requests === undefined ? '-' : String(s.requests), s.description])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

export const LS_NATS_USAGE = `Usage: farcall ls --nats URL [--service NAME] [--wait MS] [--json]

Lists the service instances on a NATS cluster: every farcall instance, and
any other service speaking the NATS services protocol ($SRV.INFO, $SRV.STATS).

Options:
  --nats URL        a NATS server to ask, e.g. nats://127.0.0.1:4222 (comma-separated for several)
  --service NAME    only the instances of this service
  --wait MS         milliseconds to gather answers (default 500)
  --json            print the list as JSON
  -h, --help        show this help`;

/**
 * `farcall ls --nats URL`: the NATS part of `farcall ls`. Returns the exit
 * code; a bad command line throws `usage(message)`.
 */
export async function lsNats(args: string[], usage: (message: string) => Error): Promise<number> {
  let values: { nats?: string; service?: string; wait?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { nats: { type: 'string' }, service: { type: 'string' }, wait: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    const first = (err as Error).message.split('. ')[0]!;
    throw usage(first.charAt(0).toLowerCase() + first.slice(1));
  }
  if (values.help) {
    process.stdout.write(LS_NATS_USAGE + '\n');
    return 0;
  }
  if (!values.nats) throw usage('--nats URL is needed: the NATS server to ask');
  const wait = values.wait === undefined ? 500 : Number(values.wait);
  if (!/^\d+$/.test(values.wait ?? '500') || !(wait >= 1 && wait <= 60_000)) throw usage(`--wait must be a whole number of milliseconds from 1 to 60,000, got '${values.wait}'`);
  if (values.service !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(values.service)) throw usage(`--service must be 1 to 128 letters, digits, '-' or '_', got '${values.service}'`);
  const { connect } = await loadNats();
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: values.nats.split(','), reconnect: false, name: 'farcall ls' });
  } catch (err) {
    process.stderr.write(`farcall ls: cannot reach a NATS server at ${values.nats}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  try {
    const list = await listNatsServices(nc, { wait, ...(values.service === undefined ? {} : { service: values.service }) });
    process.stdout.write(values.json ? JSON.stringify(list, null, 2) + '\n' : formatNatsServices(list));
    return 0;
  } finally {
    await nc.close();
  }
}
