/**
 * `farcall top`: every service instance on this host, sampled over a
 * connection of its own, with calls per second from successive samples.
 */
import { performance } from 'node:perf_hooks';
import type { ReadStream, WriteStream } from 'node:tty';
import { AuthenticationError, connect, NoSuchMethodError, type ClientAuth, type Connection, type InstanceInfo, type ServiceInfo, type SideStats, type SocketAddress } from '../index.ts';
import { UsageError } from '../bench/command.ts';
import { checkServiceName } from './names.ts';
import { registryOf } from './local-registry.ts';
import type { Registry } from './registry.ts';
import { AUTH_HELP, AUTH_OPTIONS, authOf, dial, infoOf, METRICS_OFF, ms, problemOf, table, withoutBuiltins } from './cli-read.ts';
import { plainScreen, terminalScreen, type Screen } from './cli-screen.ts';
import { parse, uptime } from './cli-services.ts';
import { clients } from './cli-stats.ts';

export const TOP_SUMMARY = 'a live view of the calls of every service on this host (q quits)';

const TOP_HELP = `Usage: farcall top [options]

Shows every service instance registered on this host, refreshed every
interval: per method, calls per second and errors per second (from the last
two samples), errors since the instance started, p99 latency in milliseconds
(since the instance started) and calls in flight. Instances that start are
picked up, instances that go away are dropped. Per-method figures need the
instance served with { metrics: true }; one served without says so.

In a terminal the view is redrawn in place; q or Ctrl-C quits. Otherwise
(a pipe, a file) each sample is printed as plain lines followed by a blank
line, until --count samples or a signal.

Options:
  --interval MS       milliseconds between samples (default 1000, at least 100)
  --count N           stop after N samples (the first has no rates yet)
  --once              one sample, then stop (--count 1)
  --service NAME      only this service's instances
  --registry DIR      the registry directory (as for farcall ls)
${AUTH_HELP}
  -h, --help          show this help

Example: farcall top --interval 500`;

/** One method of one instance in a frame; rates are undefined on an instance's first sample. */
interface MethodRow {
  method: string;
  callsPerS: number | undefined;
  errorsPerS: number | undefined;
  errors: number;
  p99: string;
  inFlight: number;
}

interface InstanceView {
  listed: InstanceInfo;
  info?: ServiceInfo;
  problem?: string;
  rows: MethodRow[];
}

interface Tracked {
  conn?: Connection<unknown>;
  /** The previous sample's served figures and when they were read, for rates. */
  last?: { at: number; server: SideStats };
  /** Why it cannot be read, when trying again would not change it. */
  lasting?: string;
}

const TLS = 'served over TLS, which this command does not dial';

class Sampler {
  private readonly tracked = new Map<string, Tracked>();
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly service: string | undefined,
    private readonly timeout: number,
    private readonly auth: ClientAuth | undefined,
  ) {}

  async sample(): Promise<InstanceView[]> {
    // The registry's list, not listServices(): that one also dials every socket to see it answers,
    // which would show each instance a client coming and going every interval. A connection held here says as much.
    const listed = await this.registry.list(this.service);
    const ids = new Set(listed.map((i) => i.id));
    for (const [id, t] of this.tracked) {
      if (ids.has(id)) continue;
      this.tracked.delete(id);
      void t.conn?.close();
    }
    return Promise.all(listed.map((i) => this.read(i)));
  }

  private async read(i: InstanceInfo): Promise<InstanceView> {
    let t = this.tracked.get(i.id);
    if (t === undefined) this.tracked.set(i.id, (t = {}));
    const at: SocketAddress | undefined = typeof i.address === 'string' ? i.address : i.address.tls ? undefined : { host: i.address.host, port: i.address.port };
    if (at === undefined) return { listed: i, problem: TLS, rows: [] };
    if (t.lasting !== undefined) return { listed: i, problem: t.lasting, rows: [] };
    const held = t.conn !== undefined;
    try {
      return await this.readOver(t, i, at);
    } catch (err) {
      this.drop(t);
      // A connection held from an earlier sample may have been closed since (an idle timeout): one fresh try.
      if (!held) return this.failed(t, i, at, err);
    }
    try {
      return await this.readOver(t, i, at);
    } catch (err) {
      this.drop(t);
      return this.failed(t, i, at, err);
    }
  }

  private failed(t: Tracked, i: InstanceInfo, at: SocketAddress, err: unknown): InstanceView {
    const { problem } = problemOf(err, at, this.timeout);
    // Asking again would fail the same way, and cost the instance a refused client each interval.
    if (err instanceof AuthenticationError || err instanceof NoSuchMethodError) t.lasting = problem;
    return { listed: i, problem, rows: [] };
  }

  private async readOver(t: Tracked, i: InstanceInfo, at: SocketAddress): Promise<InstanceView> {
    t.conn ??= await this.open(t, at);
    const info = await infoOf(t.conn);
    return { listed: i, info, problem: info.stats ? undefined : METRICS_OFF, rows: this.rows(t, info) };
  }

  private drop(t: Tracked): void {
    void t.conn?.close();
    t.conn = undefined;
    t.last = undefined;
  }

  private async open(t: Tracked, at: SocketAddress): Promise<Connection<unknown>> {
    const conn = await dial(at, this.timeout, this.auth);
    if (this.closed) {
      // A sample still under way when top stopped: it must not leave a connection holding the process open.
      await conn.close();
      throw new Error('top has stopped');
    }
    // Going offline: let it go at once rather than hold its close up.
    conn.once('drain', () => {
      if (t.conn === conn) t.conn = undefined;
      void conn.close();
    });
    return conn;
  }

  private rows(t: Tracked, info: ServiceInfo): MethodRow[] {
    if (!info.stats) {
      t.last = undefined;
      return [];
    }
    const now = performance.now();
    const server = withoutBuiltins(info.stats).server;
    const before = t.last;
    const seconds = before ? (now - before.at) / 1000 : 0;
    t.last = { at: now, server };
    return Object.keys(server)
      .sort()
      .map((method) => {
        const m = server[method]!;
        const was = before?.server[method];
        const rate = (n: number, prev: number): number | undefined => (before && seconds > 0 ? Math.max(0, n - prev) / seconds : undefined);
        return {
          method,
          callsPerS: rate(m.calls, was?.calls ?? 0),
          errorsPerS: rate(m.errors, was?.errors ?? 0),
          errors: m.errors,
          p99: ms(m.latencyMs.p99, m.latencyMs.max > 0),
          inFlight: m.inFlight,
        };
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    const open = [...this.tracked.values()].map((t) => t.conn?.close());
    this.tracked.clear();
    await Promise.all(open);
  }
}

const perSecond = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? v.toFixed(1) : String(Math.round(v)));

/** A frame as lines: a heading, then per instance a line about it and a table of its methods. */
function render(views: InstanceView[], intervalMs: number, at: Date, terminal: boolean): string[] {
  const services = new Set(views.map((v) => v.listed.name)).size;
  const time = terminal ? at.toTimeString().slice(0, 8) : at.toISOString();
  const lines = [
    `farcall top  ${time}  every ${(intervalMs / 1000).toFixed(1)} s  ${services} service${services === 1 ? '' : 's'}, ${views.length} instance${views.length === 1 ? '' : 's'}${terminal ? '  (q quits)' : ''}`,
  ];
  if (views.length === 0) lines.push('', 'no service instances are registered on this host');
  const sorted = [...views].sort((a, b) => a.listed.name.localeCompare(b.listed.name) || a.listed.startedAt - b.listed.startedAt);
  for (const v of sorted) {
    const i = v.info;
    lines.push(
      '',
      `${v.listed.name}  ${v.listed.id}  pid ${v.listed.pid}  v${v.listed.version}${i ? `  up ${uptime(i.uptimeMs)}  ${clients(i)}  ${i.inFlight} in flight` : ''}`,
    );
    if (v.problem) {
      lines.push(`  ${v.problem}`);
      continue;
    }
    if (v.rows.length === 0) {
      lines.push('  no calls yet');
      continue;
    }
    const rows = [['METHOD', 'CALLS/S', 'ERR/S', 'ERRORS', 'P99 MS', 'IN FLIGHT'], ...v.rows.map((r) => [r.method, perSecond(r.callsPerS), perSecond(r.errorsPerS), String(r.errors), r.p99, String(r.inFlight)])];
    lines.push(...table(rows, [false, true, true, true, true, true]).map((l) => `  ${l}`));
  }
  return lines;
}

function whole(option: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${option} must be a whole number of at least ${min}, got '${String(value)}'`);
  return n;
}

export async function top(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    interval: { type: 'string' },
    count: { type: 'string' },
    once: { type: 'boolean' },
    service: { type: 'string' },
    registry: { type: 'string' },
    ...AUTH_OPTIONS,
  });
  if (values.help) {
    process.stdout.write(TOP_HELP + '\n');
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`top takes no arguments, got '${positionals[0]}' (for one service: --service ${positionals[0]})`);
  const interval = whole('interval', values.interval, 100) ?? 1_000;
  let count = whole('count', values.count, 1);
  if (values.once) {
    if (count !== undefined && count !== 1) throw new UsageError(`--once is --count 1; it cannot go with --count ${count}`);
    count = 1;
  }
  const service = values.service as string | undefined;
  if (service !== undefined) {
    try {
      checkServiceName('top', service);
    } catch (err) {
      throw new UsageError(`--service: ${(err as Error).message}`);
    }
  }
  const sampler = new Sampler(registryOf(values.registry), service, Math.min(5_000, Math.max(1_000, interval)), authOf(values));

  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  let stopped = false;
  void quitting.then(() => (stopped = true));
  const onSignal = (): void => quit();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const out = process.stdout as WriteStream;
  const terminal = out.isTTY === true;
  // A reader that went away (| head): stop, as the command before a closed pipe should.
  const onOutError = (): void => quit();
  out.on('error', onOutError);
  const input = terminal && process.stdin.isTTY ? (process.stdin as ReadStream) : undefined;
  let screen: Screen | undefined;
  try {
    screen = terminal ? terminalScreen(out, input, quit) : plainScreen(out);
    if (terminal) screen.show(['farcall top: reading the registry…']);
    for (let n = 1; !stopped; n++) {
      const started = performance.now();
      const sample = sampler.sample();
      // Left behind when a quit wins the race: its failure no longer matters.
      sample.catch(() => {});
      const views = await Promise.race([sample, quitting]);
      if (views === undefined || stopped) break;
      screen.show(render(views, interval, new Date(), terminal));
      if (n === count) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([quitting, new Promise((r) => (timer = setTimeout(r, Math.max(0, interval - (performance.now() - started)))))]);
      clearTimeout(timer);
    }
    return 0;
  } finally {
    screen?.restore();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    out.off('error', onOutError);
    await sampler.close();
  }
}
