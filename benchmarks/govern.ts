// Issue bars for governance, farcall's build only: metrics on beside off, no tracing subscriber
// beside a build with the tracing checks taken out, and auth, over a worker and a Unix socket
// with 1,000 calls in flight; connect() with and without auth.
//
// Two figures per configuration. Throughput is what the bars name, but other processes share
// this machine and swing it by several times, which hides a 3 % difference; so the table also
// gives calls per CPU-second of both sides (this process, and the server process read from
// /proc), which a busy machine disturbs much less. Every configuration runs once per round, the
// order reversed every other round, and each bar's ratio is also taken per round (the two
// configurations it compares ran next to each other) to show its spread.
//
// "No subscriber" is compared with a copy of the build in which every `hasSubscribers` check of
// the tracing channels is replaced by `false`: the calls then cost what they would if farcall
// had no tracing hooks at all, in the same run.
import { spawn as spawnProcess } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as farcallSource from 'farcall';
import { figure, latency, throughput, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { table, type Row } from './table.ts';

type Api = { add(a: number, b: number): number };
type Farcall = typeof farcallSource;
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const progress = (what: string): void => void process.stderr.write(`  measuring ${what}…\n`);
const RUNS = 5;

/** A run: calls per second of wall time (median of its rounds), and per second of CPU on both sides. */
interface Run {
  wall: number;
  cpu: number;
}

/** CPU seconds a process has used, from /proc (Linux); 0 where there is no /proc. */
function processCpu(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function measured(call: () => Promise<unknown>, o: MeasureOptions, serverPid?: number): Promise<Run> {
  let n = 0;
  const cpu0 = ownCpu() + (serverPid ? processCpu(serverPid) : 0);
  const wall = await throughput(() => (n++, call()), 1000, o);
  const cpu = ownCpu() + (serverPid ? processCpu(serverPid) : 0) - cpu0;
  return { wall: wall.median, cpu: n / cpu };
}

/**
 * Every configuration once per round, in alternating order, after a short
 * round not counted (the first configurations would otherwise pay for
 * compiling what all share); the runs of each, in round order.
 */
async function interleaved(configs: Record<string, (o: MeasureOptions) => Promise<Run>>, o: MeasureOptions): Promise<Record<string, Run[]>> {
  const runs: Record<string, Run[]> = {};
  const names = Object.keys(configs);
  progress('every configuration once, to warm up');
  for (const name of names) await configs[name]!({ rounds: 1, time: 100, warmup: 50 });
  for (let r = 0; r < RUNS; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      progress(`${name} (${r + 1} of ${RUNS})`);
      (runs[name] ??= []).push(await configs[name]!(o));
    }
  }
  return runs;
}

/**
 * Metrics on ÷ off with both sides in this thread, over a MessageChannel,
 * 1,000 calls in flight: calls per CPU-second, the median of per-round
 * ratios of rounds taking turns. Nothing here waits on another CPU, so the
 * machine's swings that blur the worker and socket figures mostly cancel;
 * it is the cost of metrics on a call with both its sides counted.
 */
async function inThreadMetrics(farcall: Farcall, rounds = 21, ms = 250): Promise<{ ratio: number; q1: number; q3: number }> {
  const { MessageChannel } = await import('node:worker_threads');
  const run = async (metrics: boolean): Promise<number> => {
    const { port1, port2 } = new MessageChannel();
    farcall.expose({ add: (a: number, b: number) => a + b }, port2, metrics ? { metrics: new farcall.Metrics() } : undefined);
    const api = farcall.wrap<Api>(port1, metrics ? { metrics: new farcall.Metrics() } : undefined);
    try {
      await api.add(1, 2);
      let n = 0;
      const cpu0 = ownCpu();
      await throughput(() => (n++, api.add(1, 2)), 1000, { rounds: 1, time: ms, warmup: 50 });
      return n / (ownCpu() - cpu0);
    } finally {
      port1.close();
      port2.close();
    }
  };
  await run(false);
  await run(true);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let off: number;
    let on: number;
    if (r % 2 === 0) {
      off = await run(false);
      on = await run(true);
    } else {
      on = await run(true);
      off = await run(false);
    }
    ratios.push(on / off);
  }
  ratios.sort((x, y) => x - y);
  const at = (f: number): number => ratios[Math.min(ratios.length - 1, Math.floor(f * ratios.length))]!;
  return { ratio: at(0.5), q1: at(0.25), q3: at(0.75) };
}

/**
 * A copy of the build with the tracing checks replaced by `false`, beside
 * the build so that it resolves what the build resolves; undefined when
 * the checks are not found (the build changed: this bench must follow).
 */
function withoutTracingHooks(): { href: string; checks: number } | undefined {
  const root = here('../node_modules/.cache/farcall-bench/no-tracing-hooks');
  rmSync(root, { recursive: true, force: true });
  cpSync(here('../dist'), root, { recursive: true });
  let checks = 0;
  for (const file of ['rpc/peer.js', 'rpc/serving.js', 'rpc/govern.js']) {
    const path = join(root, file);
    const text = readFileSync(path, 'utf8').replace(/\b(client|server)Calls\.start\.hasSubscribers\b/g, () => (checks++, 'false'));
    writeFileSync(path, text);
  }
  return checks > 0 ? { href: pathToFileURL(join(root, 'index.js')).href, checks } : undefined;
}

export async function govern(o: MeasureOptions = {}): Promise<string> {
  if (!existsSync(here('../dist/index.js'))) return '### governance\n\nneeds the build: `npm run build` first.\n';
  const built = new URL('../dist/index.js', import.meta.url).href;
  const bare = withoutTracingHooks();
  const builds: Record<string, Farcall> = { [built]: await import(built) };
  if (bare) builds[bare.href] = await import(bare.href);
  const dir = mkdtempSync(join(tmpdir(), 'farcall-bench-'));
  const AUTH = { secret: 'a benchmark secret, 32 bytes long' };
  const rows: Row[] = [];
  const bars: string[] = [];
  try {
    const overWorker = async (o: MeasureOptions, metrics: boolean, traced: boolean, build = built): Promise<Run> => {
      const { wrap, Metrics } = builds[build]!;
      const worker = new Worker(here('./workers/govern-worker.mjs'), { workerData: { metrics, build } });
      const api = wrap<Api>(worker, metrics ? { metrics: new Metrics() } : undefined);
      const unsubscribe = traced ? subscribe() : () => {};
      try {
        await api.add(1, 2);
        return await measured(() => api.add(1, 2), o);
      } finally {
        unsubscribe();
        await worker.terminate();
      }
    };
    const startServer = async (mode: string, build = built): Promise<{ path: string; pid: number; stop(): void }> => {
      const path = join(dir, `g${Math.random().toString(36).slice(2)}.sock`);
      const server = spawnProcess(process.execPath, [here('./workers/govern-server.mjs'), path, mode, build], { stdio: ['ignore', 'pipe', 'inherit'] });
      await once(server.stdout!, 'data');
      return { path, pid: server.pid!, stop: () => server.kill() };
    };
    const options = (mode: string) => (mode === 'metrics' ? { metrics: true } : mode === 'auth' ? { auth: AUTH } : {});
    const overSocket = async (o: MeasureOptions, mode: '' | 'metrics' | 'auth', build = built): Promise<Run> => {
      const server = await startServer(mode, build);
      try {
        const conn = await builds[build]!.connect<Api>(server.path, options(mode));
        try {
          await conn.api.add(1, 2);
          return await measured(() => conn.api.add(1, 2), o, server.pid);
        } finally {
          await conn.close();
        }
      } finally {
        server.stop();
      }
    };
    const connecting = async (mode: '' | 'auth'): Promise<Figure> => {
      const server = await startServer(mode);
      try {
        const connectClose = async () => {
          const c = await builds[built]!.connect<Api>(server.path, options(mode));
          await c.close();
        };
        return (await latency(connectClose, o)).p50;
      } finally {
        server.stop();
      }
    };
    const configs: Record<string, (o: MeasureOptions) => Promise<Run>> = {
      'worker, metrics off': (o) => overWorker(o, false, false),
      'worker, metrics on': (o) => overWorker(o, true, false),
      'unix socket, plain': (o) => overSocket(o, ''),
      'unix socket, metrics on': (o) => overSocket(o, 'metrics'),
      'unix socket, auth': (o) => overSocket(o, 'auth'),
    };
    if (bare) {
      configs['worker, no tracing hooks'] = (o) => overWorker(o, false, false, bare.href);
      configs['unix socket, no tracing hooks'] = (o) => overSocket(o, '', bare.href);
    }
    const runs = await interleaved(configs, o);
    progress('metrics on and off with both sides in this thread');
    const witness = await inThreadMetrics(builds[built]!);
    // A subscriber changes its channel's prototype when it comes and goes, which makes V8 drop the
    // code it optimised for the checks: run it after the others, as an agent that stays subscribed.
    for (let r = 0; r < RUNS; r++) {
      progress(`worker, traced (${r + 1} of ${RUNS})`);
      (runs['worker, traced'] ??= []).push(await overWorker(o, false, true));
    }
    progress('connect() without and with auth');
    const connectPlain = await connecting('');
    const connectAuth = await connecting('auth');

    const wallOf = (name: string): Figure => figure(runs[name]!.map((r) => r.wall), 'calls/s');
    const cpuOf = (name: string): Figure => figure(runs[name]!.map((r) => r.cpu), 'calls/s');
    const add = (where: string, who: string, name: string, base?: string): void => {
      rows.push({ what: `${where}: throughput, 1,000 in flight`, who, figure: wallOf(name), ...(base && { base: wallOf(base) }), lowerIsBetter: false });
      rows.push({ what: `${where}: calls per CPU-second, both sides`, who, figure: cpuOf(name), ...(base && { base: cpuOf(base) }), lowerIsBetter: false });
    };
    add('worker', 'metrics off, no tracing subscriber', 'worker, metrics off');
    add('worker', 'metrics on (both sides)', 'worker, metrics on', 'worker, metrics off');
    add('worker', 'a tracing subscriber (client side)', 'worker, traced', 'worker, metrics off');
    if (bare) add('worker', 'build without tracing hooks', 'worker, no tracing hooks', 'worker, metrics off');
    add('unix socket', 'metrics off, no auth', 'unix socket, plain');
    add('unix socket', 'metrics on (both sides)', 'unix socket, metrics on', 'unix socket, plain');
    add('unix socket', 'auth (shared secret), after connecting', 'unix socket, auth', 'unix socket, plain');
    if (bare) add('unix socket', 'build without tracing hooks', 'unix socket, no tracing hooks', 'unix socket, plain');
    rows.push({ what: 'unix socket: connect() and close(), p50', who: 'no auth', figure: connectPlain, lowerIsBetter: true });
    rows.push({ what: 'unix socket: connect() and close(), p50', who: 'auth (one more round trip, two HMACs a side)', figure: connectAuth, base: connectPlain, lowerIsBetter: true });

    // Each bar as ratios: of the medians over the runs, and per round (min–max) for the spread.
    const ratio = (a: string, b: string, of: 'wall' | 'cpu'): string => {
      const per = runs[a]!.map((r, i) => r[of] / runs[b]![i]![of]).sort((x, y) => x - y);
      const med = figure(runs[a]!.map((r) => r[of]), 'calls/s').median / figure(runs[b]!.map((r) => r[of]), 'calls/s').median;
      return `${med.toFixed(3)} (${per[0]!.toFixed(2)}–${per[per.length - 1]!.toFixed(2)})`;
    };
    const bar = (what: string, a: string, b: string): void => {
      bars.push(`| ${what} | ${ratio(a, b, 'wall')} | ${ratio(a, b, 'cpu')} |`);
    };
    bars.push(
      '',
      `Bars: ratio of the medians of ${RUNS} rounds (min–max of the per-round ratios). Throughput is the bar; calls per CPU-second is the steadier witness on a shared machine.`,
      '',
      '| bar | throughput | calls per CPU-second |',
      '| --- | ---: | ---: |',
    );
    bar('worker: metrics on ÷ off (≥ 0.97)', 'worker, metrics on', 'worker, metrics off');
    bar('unix socket: metrics on ÷ off (≥ 0.97)', 'unix socket, metrics on', 'unix socket, plain');
    if (bare) {
      bar('worker: no subscriber ÷ no tracing hooks (≥ 0.99)', 'worker, metrics off', 'worker, no tracing hooks');
      bar('unix socket: no subscriber ÷ no tracing hooks (≥ 0.99)', 'unix socket, plain', 'unix socket, no tracing hooks');
    } else {
      bars.push('| no subscriber ÷ no tracing hooks | (the build has no tracing checks this bench knows how to take out) | |');
    }
    bar('unix socket: auth ÷ no auth, calls after connecting (≥ 1 ÷ 1.02 = 0.98)', 'unix socket, auth', 'unix socket, plain');
    bars.push(
      '',
      `Witness, steadier on this machine: metrics on ÷ off with both sides of the call in one thread (a MessageChannel), calls per CPU-second, median of 21 per-round ratios: **${witness.ratio.toFixed(3)}** (middle half ${witness.q1.toFixed(3)}–${witness.q3.toFixed(3)}): what metrics cost a call, both of its sides counted on one CPU.`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const title = `governance: metrics, tracing and auth (farcall build; ${RUNS} interleaved rounds${bare ? `; ${bare.checks} tracing checks taken out of the copy without hooks` : ''})`;
  return table(title, rows) + bars.join('\n') + '\n';
}

/** A subscriber that does what the least APM agent does: looks at each event. */
function subscribe(): () => void {
  const channel = diagnosticsChannel.tracingChannel('farcall:client:call');
  let seen = 0;
  const handlers = { start: () => void seen++, end: () => {}, asyncStart: () => {}, asyncEnd: () => {}, error: () => {} };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
