// Issue bars for governance, farcall's build only: metrics on beside off, no tracing subscriber
// beside a build with the tracing checks taken out, and auth, over a worker and a Unix socket
// with 1,000 calls in flight; connect() with and without auth.
//
// This machine's throughput swings by more than the 1–3 % these bars allow. A slice of 300 ms can
// run 20 % faster or slower than the next; so every configuration stays open (warmed up once)
// and they take turns in short slices, a round being one slice of each, the order rotating, and
// a bar is the median of its per-round ratios, each taken between slices that ran close
// together. Two instances of one configuration (two workers, or two server processes, each
// compiled by V8 on its own) also differ by several percent over a whole run; so every
// configuration runs as two instances, created in alternating order, and a round's ratio is of
// their geometric means. The A/A lines put one instance of a configuration against the other:
// what this run cannot tell apart.
//
// Two figures per slice. Throughput is what the bars name; the table also gives calls per
// CPU-second of both sides (this process, whose threads include the worker, plus the server
// process read from /proc), which other processes on the machine do not take from; in seven runs
// it swung about as much as throughput did, so it is a second view, not a steadier one.
//
// "No subscriber" is a copy of the build beside a second copy in which every `hasSubscribers`
// check of the tracing channels is replaced by `false`: the calls of the second cost what they
// would if farcall had no tracing hooks at all, in the same run.
import { spawn as spawnProcess } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
/** Rounds of slices, instances per configuration, and a slice's length. */
const ROUNDS = 30;
const INSTANCES = 2;
const SLICE_MS = 300;

/** One slice: calls per second of wall time, and per second of CPU on both sides. */
interface Slice {
  wall: number;
  cpu: number;
}

/** One instance of a configuration, kept open while the rounds run. */
interface Subject {
  slice(ms: number): Promise<Slice>;
  close(): Promise<unknown>;
}

/** CPU seconds a process's threads have run, from /proc (Linux, nanoseconds); 0 where there is no /proc. */
function processCpu(pid: number): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e9;
  } catch {
    return 0;
  }
}
const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** `call` with 1,000 in flight for `ms`; the calls of both sides per CPU-second too (the server in `serverPid` when it is another process). */
async function slice(call: () => Promise<unknown>, ms: number, serverPid?: number): Promise<Slice> {
  let n = 0;
  const cpu0 = ownCpu() + (serverPid ? processCpu(serverPid) : 0);
  const wall = await throughput(() => (n++, call()), 1000, { rounds: 1, time: ms, warmup: 0 });
  const cpu = ownCpu() + (serverPid ? processCpu(serverPid) : 0) - cpu0;
  return { wall: wall.median, cpu: n / cpu };
}

/**
 * Opens INSTANCES of every configuration, warms each up, then runs ROUNDS
 * rounds of one slice per instance, the order rotating and reversed every
 * other round. The slices of each configuration's instances, per round.
 */
async function rounds(transport: string, configs: Record<string, () => Promise<Subject>>): Promise<Record<string, Slice[][]>> {
  const subjects: { name: string; subject: Subject }[] = [];
  try {
    progress(`${transport}: opening ${INSTANCES} instances of each configuration`);
    for (let i = 0; i < INSTANCES; i++) {
      // Earlier instances may differ from later ones: each configuration is made first as often as last.
      const made = i % 2 === 0 ? Object.entries(configs) : Object.entries(configs).reverse();
      for (const [name, open] of made) subjects.push({ name, subject: await open() });
    }
    for (const { subject } of subjects) await subject.slice(1000);
    const out: Record<string, Slice[][]> = {};
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 10 === 0) progress(`${transport}: rounds ${r + 1}–${Math.min(ROUNDS, r + 10)} of ${ROUNDS}`);
      const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]!);
      if (r % 2 === 1) order.reverse();
      const got = new Map<Subject, Slice>();
      for (const { subject } of order) got.set(subject, await subject.slice(SLICE_MS));
      for (const name of Object.keys(configs)) (out[name] ??= []).push(subjects.filter((s) => s.name === name).map((s) => got.get(s.subject)!));
    }
    return out;
  } finally {
    for (const { subject } of subjects) await subject.close();
  }
}

const geoMean = (xs: number[]): number => Math.exp(xs.reduce((sum, x) => sum + Math.log(x), 0) / xs.length);
const quantile = (sorted: number[], f: number): number => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!;

/** Per-round ratios of `a` to `b` (geometric means of their instances), sorted. */
function perRound(a: Slice[][], b: Slice[][], of: keyof Slice): number[] {
  return a.map((slices, r) => geoMean(slices.map((s) => s[of])) / geoMean(b[r]!.map((s) => s[of]))).sort((x, y) => x - y);
}

/** A bar's cell: the median per-round ratio and the middle half of them. */
function ratioCell(ratios: number[]): string {
  return `**${quantile(ratios, 0.5).toFixed(3)}** (${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)})`;
}

/**
 * Metrics on ÷ off with both sides in this thread, over a MessageChannel,
 * 1,000 calls in flight: calls per CPU-second, the median of per-round
 * ratios of rounds taking turns. Nothing here waits on another CPU, so the
 * cost of waking one is out of it, though the machine's own swings are not
 * (0.93–0.99 over seven runs); it is the cost of metrics on a call with
 * both its sides counted.
 */
async function inThreadMetrics(farcall: Farcall, count = 21, ms = 250): Promise<{ ratio: number; q1: number; q3: number }> {
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
  for (let r = 0; r < count; r++) {
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
 * Two copies of the build side by side, so that they resolve what the
 * build resolves: one as it is, and one with the tracing checks replaced by
 * `false`. The bar compares the two copies, not the build with a copy: a
 * second copy of the same code, loaded beside the first, has measured 2–6 %
 * apart from it on its own, and that is not what the checks cost. Undefined
 * when the checks are not found (the build changed: this bench must follow).
 */
function tracingHookCopies(): { withHooks: string; withoutHooks: string; checks: number } | undefined {
  const copy = (name: string): string => {
    const root = here(`../node_modules/.cache/farcall-bench/${name}`);
    rmSync(root, { recursive: true, force: true });
    cpSync(here('../dist'), root, { recursive: true });
    return root;
  };
  const withHooks = copy('with-tracing-hooks');
  const withoutHooks = copy('no-tracing-hooks');
  let checks = 0;
  for (const file of ['rpc/peer.js', 'rpc/serving.js', 'rpc/govern.js']) {
    const path = join(withoutHooks, file);
    const text = readFileSync(path, 'utf8').replace(/\b(client|server)Calls\.start\.hasSubscribers\b/g, () => (checks++, 'false'));
    writeFileSync(path, text);
  }
  const href = (root: string): string => pathToFileURL(join(root, 'index.js')).href;
  return checks > 0 ? { withHooks: href(withHooks), withoutHooks: href(withoutHooks), checks } : undefined;
}

export async function govern(o: MeasureOptions = {}): Promise<string> {
  if (!existsSync(here('../dist/index.js'))) return '### governance\n\nneeds the build: `npm run build` first.\n';
  const built = new URL('../dist/index.js', import.meta.url).href;
  const bare = tracingHookCopies();
  const builds: Record<string, Farcall> = { [built]: await import(built) };
  if (bare) for (const href of [bare.withHooks, bare.withoutHooks]) builds[href] = await import(href);
  const dir = mkdtempSync(join(tmpdir(), 'farcall-bench-'));
  const AUTH = { secret: 'a benchmark secret, 32 bytes long' };
  const rows: Row[] = [];
  const bars: string[] = [];
  try {
    const overWorker = async (metrics: boolean, build = built): Promise<Subject> => {
      const { wrap, Metrics } = builds[build]!;
      const worker = new Worker(here('./workers/govern-worker.mjs'), { workerData: { metrics, build } });
      const api = wrap<Api>(worker, metrics ? { metrics: new Metrics() } : undefined);
      await api.add(1, 2).catch(async (err: unknown) => {
        await worker.terminate();
        throw err;
      });
      return { slice: (ms) => slice(() => api.add(1, 2), ms), close: () => worker.terminate() };
    };
    const startServer = async (mode: string, build = built): Promise<{ path: string; pid: number; stop(): void }> => {
      const path = join(dir, `g${Math.random().toString(36).slice(2)}.sock`);
      const server = spawnProcess(process.execPath, [here('./workers/govern-server.mjs'), path, mode, build], { stdio: ['ignore', 'pipe', 'inherit'] });
      // A server that dies before it is ready says so here, rather than leaving the bench waiting.
      const exited = once(server, 'exit').then(([code]) => Promise.reject(new Error(`the bench's server exited (${String(code)}) before it was ready`)));
      await Promise.race([once(server.stdout!, 'data'), exited]);
      exited.catch(() => {});
      return { path, pid: server.pid!, stop: () => server.kill() };
    };
    const options = (mode: string) => (mode === 'metrics' ? { metrics: true } : mode === 'auth' ? { auth: AUTH } : {});
    const overSocket = async (mode: '' | 'metrics' | 'auth', build = built): Promise<Subject> => {
      const server = await startServer(mode, build);
      let conn;
      try {
        conn = await builds[build]!.connect<Api>(server.path, options(mode));
        await conn.api.add(1, 2);
      } catch (err) {
        await conn?.close();
        server.stop();
        throw err;
      }
      return {
        slice: (ms) => slice(() => conn.api.add(1, 2), ms, server.pid),
        close: async () => {
          await conn.close();
          server.stop();
        },
      };
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
    const worker = await rounds('worker', {
      'metrics off': () => overWorker(false),
      'metrics on': () => overWorker(true),
      ...(bare && { 'copy with tracing hooks': () => overWorker(false, bare.withHooks), 'copy without tracing hooks': () => overWorker(false, bare.withoutHooks) }),
    });
    const socket = await rounds('unix socket', {
      plain: () => overSocket(''),
      'metrics on': () => overSocket('metrics'),
      auth: () => overSocket('auth'),
      ...(bare && { 'copy with tracing hooks': () => overSocket('', bare.withHooks), 'copy without tracing hooks': () => overSocket('', bare.withoutHooks) }),
    });
    progress('metrics on and off with both sides in this thread');
    const witness = await inThreadMetrics(builds[built]!);
    // A subscriber changes its channel's prototype when it comes and goes, which makes V8 drop the
    // code it optimised for the checks: run it after the others, as an agent that stays subscribed.
    const unsubscribe = subscribe();
    const traced = await rounds('worker, traced', { traced: () => overWorker(false) }).finally(unsubscribe);
    progress('connect() without and with auth');
    const connectPlain = await connecting('');
    const connectAuth = await connecting('auth');

    const all = (runs: Slice[][], of: keyof Slice): Figure => figure(runs.flat().map((s) => s[of]), 'calls/s');
    const add = (where: string, who: string, runs: Slice[][], base?: Slice[][]): void => {
      rows.push({ what: `${where}: throughput, 1,000 in flight`, who, figure: all(runs, 'wall'), ...(base && { base: all(base, 'wall') }), lowerIsBetter: false });
      rows.push({ what: `${where}: calls per CPU-second, both sides`, who, figure: all(runs, 'cpu'), ...(base && { base: all(base, 'cpu') }), lowerIsBetter: false });
    };
    add('worker', 'metrics off, no tracing subscriber', worker['metrics off']!);
    add('worker', 'metrics on (both sides)', worker['metrics on']!, worker['metrics off']);
    add('worker', 'a tracing subscriber (client side; slices after the others)', traced.traced!, worker['metrics off']);
    if (bare) {
      add('worker', 'a copy of the build', worker['copy with tracing hooks']!, worker['metrics off']);
      add('worker', 'a copy without tracing hooks', worker['copy without tracing hooks']!, worker['copy with tracing hooks']);
    }
    add('unix socket', 'metrics off, no auth', socket.plain!);
    add('unix socket', 'metrics on (both sides)', socket['metrics on']!, socket.plain);
    add('unix socket', 'auth (shared secret), after connecting', socket.auth!, socket.plain);
    if (bare) {
      add('unix socket', 'a copy of the build', socket['copy with tracing hooks']!, socket.plain);
      add('unix socket', 'a copy without tracing hooks', socket['copy without tracing hooks']!, socket['copy with tracing hooks']);
    }
    rows.push({ what: 'unix socket: connect() and close(), p50', who: 'no auth', figure: connectPlain, lowerIsBetter: true });
    rows.push({ what: 'unix socket: connect() and close(), p50', who: 'auth (one more round trip, two HMACs a side)', figure: connectAuth, base: connectPlain, lowerIsBetter: true });

    const bar = (what: string, a: Slice[][], b: Slice[][]): void => {
      bars.push(`| ${what} | ${ratioCell(perRound(a, b, 'wall'))} | ${ratioCell(perRound(a, b, 'cpu'))} |`);
    };
    // The two instances of the base configuration against each other: what this run cannot tell apart.
    const aa = (runs: Slice[][]): [Slice[][], Slice[][]] => [runs.map((r) => [r[1]!]), runs.map((r) => [r[0]!])];
    bars.push(
      '',
      `Bars: the median of ${ROUNDS} per-round ratios (the middle half of them), each between slices of ${SLICE_MS} ms that ran in the same round, ${INSTANCES} instances a configuration.`,
      '',
      '| bar | throughput | calls per CPU-second |',
      '| --- | ---: | ---: |',
    );
    bar('worker: metrics on ÷ off (≥ 0.97)', worker['metrics on']!, worker['metrics off']!);
    bar('unix socket: metrics on ÷ off (≥ 0.97)', socket['metrics on']!, socket.plain!);
    if (bare) {
      bar('worker: no subscriber ÷ no tracing hooks, two copies of the build (≥ 0.99)', worker['copy with tracing hooks']!, worker['copy without tracing hooks']!);
      bar('unix socket: no subscriber ÷ no tracing hooks, two copies of the build (≥ 0.99)', socket['copy with tracing hooks']!, socket['copy without tracing hooks']!);
    } else {
      bars.push('| no subscriber ÷ no tracing hooks | (the build has no tracing checks this bench knows how to take out) | |');
    }
    bar('unix socket: auth ÷ no auth, calls after connecting (≥ 1 ÷ 1.02 = 0.98)', socket.auth!, socket.plain!);
    bar('A/A, worker: one instance of metrics off ÷ the other (noise: no bar)', ...aa(worker['metrics off']!));
    bar('A/A, unix socket: one instance of plain ÷ the other (noise: no bar)', ...aa(socket.plain!));
    bars.push(
      '',
      `The A/A lines compare two instances of one configuration, so a single one of them carries this run's whole difference between instances; a bar's ratio, of two instances a side, carries less of it. Witness: metrics on ÷ off with both sides of the call in one thread (a MessageChannel), calls per CPU-second, median of 21 per-round ratios: **${witness.ratio.toFixed(3)}** (middle half ${witness.q1.toFixed(3)}–${witness.q3.toFixed(3)}): what metrics cost a call, both of its sides counted on one CPU.`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const title = `governance: metrics, tracing and auth (farcall build; ${ROUNDS} rounds of ${SLICE_MS} ms slices, ${INSTANCES} instances a configuration${bare ? `; ${bare.checks} tracing checks taken out of the copy without hooks` : ''})`;
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
