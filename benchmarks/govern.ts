// Issue bars for governance, farcall's build only: metrics on beside off, a tracing subscriber, and
// auth, over a worker and a Unix socket with 1,000 calls in flight; connect() with and without auth.
//
// Two figures per configuration. Throughput is what the bar names, but other processes share this
// machine and swing it by several times, which hides a 3 % difference; so the table also gives
// calls per CPU-second of both sides (this process, and the server process read from /proc), which
// a busy machine disturbs much less. Configurations run interleaved, three times, and each keeps
// its median run.
import { spawn as spawnProcess } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as farcallSource from 'farcall';
import { figure, latency, throughput, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { table, type Row } from './table.ts';

type Api = { add(a: number, b: number): number };
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const progress = (what: string): void => void process.stderr.write(`  measuring ${what}…\n`);
const RUNS = 3;

/** A run: calls per second of wall time, and per second of CPU on both sides. */
interface Run {
  wall: Figure;
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
  return { wall, cpu: n / cpu };
}

async function interleaved(configs: Record<string, () => Promise<Run>>): Promise<Record<string, { wall: Figure; cpu: Figure }>> {
  const runs: Record<string, Run[]> = {};
  for (let r = 0; r < RUNS; r++) {
    for (const [name, run] of Object.entries(configs)) {
      progress(`${name} (${r + 1} of ${RUNS})`);
      (runs[name] ??= []).push(await run());
    }
  }
  const out: Record<string, { wall: Figure; cpu: Figure }> = {};
  for (const [name, rs] of Object.entries(runs)) {
    const byWall = [...rs].sort((a, b) => a.wall.median - b.wall.median);
    out[name] = { wall: byWall[byWall.length >> 1]!.wall, cpu: figure(rs.map((r) => r.cpu), 'calls/s') };
  }
  return out;
}

export async function govern(o: MeasureOptions = {}): Promise<string> {
  if (!existsSync(here('../dist/index.js'))) return '### governance\n\nneeds the build: `npm run build` first.\n';
  const { wrap, connect, Metrics }: typeof farcallSource = await import(new URL('../dist/index.js', import.meta.url).href);
  const dir = mkdtempSync(join(tmpdir(), 'farcall-bench-'));
  const AUTH = { secret: 'a benchmark secret, 32 bytes long' };
  const rows: Row[] = [];
  try {
    const overWorker = async (metrics: boolean, traced: boolean): Promise<Run> => {
      const worker = new Worker(here('./workers/govern-worker.mjs'), { workerData: { metrics } });
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
    const startServer = async (mode: string): Promise<{ path: string; pid: number; stop(): void }> => {
      const path = join(dir, `g${Math.random().toString(36).slice(2)}.sock`);
      const server = spawnProcess(process.execPath, [here('./workers/govern-server.mjs'), path, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      await once(server.stdout!, 'data');
      return { path, pid: server.pid!, stop: () => server.kill() };
    };
    const options = (mode: string) => (mode === 'metrics' ? { metrics: true } : mode === 'auth' ? { auth: AUTH } : {});
    const overSocket = async (mode: '' | 'metrics' | 'auth'): Promise<Run> => {
      const server = await startServer(mode);
      try {
        const conn = await connect<Api>(server.path, options(mode));
        try {
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
          const c = await connect<Api>(server.path, options(mode));
          await c.close();
        };
        return (await latency(connectClose, o)).p50;
      } finally {
        server.stop();
      }
    };
    const w = await interleaved({
      'worker, metrics off': () => overWorker(false, false),
      'worker, metrics on': () => overWorker(true, false),
      'worker, traced': () => overWorker(false, true),
    });
    const s = await interleaved({
      'unix socket, plain': () => overSocket(''),
      'unix socket, metrics on': () => overSocket('metrics'),
      'unix socket, auth': () => overSocket('auth'),
    });
    progress('connect() without and with auth');
    const connectPlain = await connecting('');
    const connectAuth = await connecting('auth');

    const add = (where: string, who: string, r: { wall: Figure; cpu: Figure }, base?: { wall: Figure; cpu: Figure }): void => {
      rows.push({ what: `${where}: throughput, 1,000 in flight`, who, figure: r.wall, ...(base && { base: base.wall }), lowerIsBetter: false });
      rows.push({ what: `${where}: calls per CPU-second, both sides`, who, figure: r.cpu, ...(base && { base: base.cpu }), lowerIsBetter: false });
    };
    const wOff = w['worker, metrics off']!;
    add('worker', 'metrics off, no tracing subscriber', wOff);
    add('worker', 'metrics on (both sides)', w['worker, metrics on']!, wOff);
    add('worker', 'a tracing subscriber (client side)', w['worker, traced']!, wOff);
    const sOff = s['unix socket, plain']!;
    add('unix socket', 'metrics off, no auth', sOff);
    add('unix socket', 'metrics on (both sides)', s['unix socket, metrics on']!, sOff);
    add('unix socket', 'auth (shared secret), after connecting', s['unix socket, auth']!, sOff);
    rows.push({ what: 'unix socket: connect() and close(), p50', who: 'no auth', figure: connectPlain, lowerIsBetter: true });
    rows.push({ what: 'unix socket: connect() and close(), p50', who: 'auth (one more round trip, two HMACs a side)', figure: connectAuth, base: connectPlain, lowerIsBetter: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return table(`governance: metrics, tracing and auth (farcall build; median of ${RUNS} interleaved runs)`, rows);
}

/** A subscriber that does what the least APM agent does: looks at each event. */
function subscribe(): () => void {
  const channel = diagnosticsChannel.tracingChannel('farcall:client:call');
  let seen = 0;
  const handlers = { start: () => void seen++, end: () => {}, asyncStart: () => {}, asyncEnd: () => {}, error: () => {} };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
