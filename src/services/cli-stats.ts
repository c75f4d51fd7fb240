/** `farcall stats`: what each method of a service's instances did, as tables, JSON or Prometheus text. */
import { connect, listServices, type ClientAuth, renderPrometheus, type InstanceInfo, type MetricsSnapshot, type ServiceInfo, type SideStats, type SocketAddress } from '../index.ts';
import { UsageError } from '../bench/command.ts';
import { AUTH_HELP, AUTH_OPTIONS, authOf, dial, infoOf, METRICS_OFF, ms, placeOf, problemOf, table, withoutBuiltins } from './cli-read.ts';
import { parse, targetOf, uptime } from './cli-services.ts';
import { registryDir } from './names.ts';

export const STATS_SUMMARY = "print each method's calls, errors and latency for a service (or a server at an address)";

const STATS_HELP = `Usage: farcall stats <service|address> [options]

Prints what each method served: calls finished, errors (and their codes),
calls in flight, and latency percentiles in milliseconds (p50, p90, p99, max),
one table per instance. Instances are not merged: percentiles of several
instances cannot be added up, and one slow instance should stand out.
<service> is a name registered with serve() (all its live instances); an
address is a socket path (anything with a /) or host:port of one instance.

Figures come from the instance's $farcall.info(), so the instance must be
served with { metrics: true }; one that is not is named, not shown as zeros.
Latency is timed on one call in 16 by default ('-': no call timed yet).
This command's own $farcall calls are left out.

Options:
  --json              print a JSON array, one object per instance: its info and
                      stats (the shape of server.stats()), or null and an error
  --prometheus        print the Prometheus text exposition format, each sample
                      labelled with service and instance (its id)
  --registry DIR      the registry directory (as for farcall ls)
  --timeout MS        give up on an instance after MS milliseconds (default 5000)
${AUTH_HELP}
  -h, --help          show this help

Exit codes: 0 every instance's figures were printed, 1 some could not be read
(metrics off, no answer), 2 usage, 3 no such service (or nothing listening at
the address).

Example: farcall stats thumbs --prometheus > thumbs.prom`;

/** One instance as read: its answer, or why there is none. */
interface Read {
  address: SocketAddress;
  listed?: InstanceInfo;
  info?: ServiceInfo;
  problem?: string;
  absent?: boolean;
}

async function read(address: SocketAddress, timeout: number, auth: ClientAuth | undefined, listed?: InstanceInfo): Promise<Read> {
  let conn;
  try {
    conn = await dial(address, timeout, auth);
    const info = await infoOf(conn);
    return { address, listed, info, problem: info.stats ? undefined : METRICS_OFF };
  } catch (err) {
    return { address, listed, ...problemOf(err, address, timeout) };
  } finally {
    await conn?.close();
  }
}

/** Where a listed instance is dialled; a TLS one needs certificates this command does not have. */
function dialOf(i: InstanceInfo): SocketAddress | undefined {
  if (typeof i.address === 'string') return i.address;
  return i.address.tls ? undefined : { host: i.address.host, port: i.address.port };
}

export async function stats(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { registry: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' }, prometheus: { type: 'boolean' }, ...AUTH_OPTIONS });
  if (values.help) {
    process.stdout.write(STATS_HELP + '\n');
    return 0;
  }
  const [target, ...extra] = positionals;
  if (target === undefined) throw new UsageError('stats needs a service (or an address)');
  if (extra.length > 0) throw new UsageError(`stats takes one service or address, got also '${extra[0]}'`);
  if (values.json && values.prometheus) throw new UsageError('--json and --prometheus are two formats: choose one');
  const timeout = values.timeout === undefined ? 5_000 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive whole number of milliseconds, got '${String(values.timeout)}'`);
  const registry = values.registry as string | undefined;
  const auth = authOf(values);

  const to = targetOf(target);
  let reads: Read[];
  if ('address' in to) {
    reads = [await read(to.address, timeout, auth)];
    if (reads[0]!.absent) {
      process.stderr.write(`farcall stats: ${reads[0]!.problem}\n`);
      return 3;
    }
  } else {
    const found = await listServices({ service: to.service, registry });
    if (found.length === 0) {
      process.stderr.write(`farcall stats: no live instance of service '${to.service}' in the registry at ${registryDir(registry)}\n`);
      return 3;
    }
    reads = await Promise.all(
      found.map((i) => {
        const at = dialOf(i);
        return at ? read(at, timeout, auth, i) : { address: i.address as SocketAddress, listed: i, problem: 'it is served over TLS, which this command does not dial' };
      }),
    );
  }

  if (values.json) process.stdout.write(JSON.stringify(reads.map(asJson)) + '\n');
  else if (values.prometheus) process.stdout.write(prometheus(reads));
  else process.stdout.write(reads.map(text).join('\n'));
  if (values.prometheus || values.json) for (const r of reads) if (r.problem) process.stderr.write(`farcall stats: ${label(r)}: ${r.problem}\n`);
  return reads.every((r) => r.problem === undefined) ? 0 : 1;
}

/** Clients connected, less the connection this command reads over. */
export function clients(i: ServiceInfo): string {
  const n = Math.max(0, i.connections - 1);
  return `${n} client${n === 1 ? '' : 's'}`;
}

const label = (r: Read): string => {
  const who = r.info ?? r.listed;
  return who ? `${who.name} ${who.id}` : placeOf(r.address);
};

function asJson(r: Read): object {
  const { stats: s, ...info } = r.info ?? ({ stats: null } as Partial<ServiceInfo> & { stats: null });
  return { ...(r.listed ?? {}), address: r.info?.address ?? r.listed?.address ?? r.address, ...info, stats: s ? withoutBuiltins(s) : null, ...(r.problem ? { error: r.problem } : {}) };
}

/** One instance: a heading, then a table of the calls it served and one of the calls it made, if any. */
function text(r: Read): string {
  const i = r.info;
  const heading = i
    ? `${i.name}  ${i.id}  pid ${i.pid}  v${i.version}  ${placeOf(i.address as SocketAddress)}  up ${uptime(i.uptimeMs)}  ${clients(i)}  ${i.inFlight} in flight`
    : r.listed
      ? `${r.listed.name}  ${r.listed.id}  pid ${r.listed.pid}  v${r.listed.version}`
      : placeOf(r.address);
  const lines = [heading];
  if (r.problem || !i?.stats) {
    lines.push(`  ${r.problem ?? METRICS_OFF}`);
    return lines.join('\n') + '\n';
  }
  const s = withoutBuiltins(i.stats);
  lines.push('', ...methodTable('SERVED', s.server));
  if (Object.keys(s.client).length > 0) lines.push('', ...methodTable('MADE', s.client));
  if (s.bytesIn !== undefined) lines.push('', `bytes in ${s.bytesIn}, out ${s.bytesOut ?? 0}`);
  return lines.join('\n') + '\n';
}

function methodTable(title: string, side: SideStats): string[] {
  const names = Object.keys(side).sort();
  if (names.length === 0) return [`${title}: no calls yet`];
  const rows = [[title, 'CALLS', 'ERRORS', 'IN FLIGHT', 'P50 MS', 'P90 MS', 'P99 MS', 'MAX MS', 'ERROR CODES']];
  for (const name of names) {
    const m = side[name]!;
    const l = m.latencyMs;
    const timed = l.max > 0;
    const codes = Object.entries(m.errorsByCode)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    rows.push([name, String(m.calls), String(m.errors), String(m.inFlight), ms(l.p50, timed), ms(l.p90, timed), ms(l.p99, timed), ms(l.max, timed), codes]);
  }
  return table(rows, [false, true, true, true, true, true, true, true, false]);
}

/**
 * One exposition for every instance: each family's HELP and TYPE once, its
 * samples from all of them after (the format allows a family only once).
 */
function prometheus(reads: Read[]): string {
  const families = new Map<string, string[]>();
  for (const r of reads) {
    if (!r.info?.stats) continue;
    const snap: MetricsSnapshot = withoutBuiltins(r.info.stats);
    let current: string[] | undefined;
    for (const line of renderPrometheus(snap, { service: r.info.name, instance: r.info.id }).split('\n')) {
      const help = /^# HELP (\S+)/.exec(line);
      if (help) {
        current = families.get(help[1]!);
        if (current === undefined) families.set(help[1]!, (current = [line]));
        continue;
      }
      if (line === '' || current === undefined) continue;
      if (line.startsWith('# TYPE ')) {
        if (current.length === 1) current.push(line);
        continue;
      }
      current.push(line);
    }
  }
  return [...families.values()].map((lines) => lines.join('\n') + '\n').join('');
}
