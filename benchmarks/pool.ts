// Issue bars for the pool: farcall's createPool beside piscina and tinypool on the same task
// module and thread count, and createSyncFn beside synckit and a bare SharedArrayBuffer
// ping-pong (the floor of any synchronous call between threads). Run directly with `--pinned-part`
// it measures only the round trips and prints JSON (benchmarks/run.ts runs it that way under
// taskset -c 0).
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import { createSyncFn as synckitSyncFn } from 'synckit';
import { createPool, createSyncFn } from 'farcall';
import { figure, latency, type Figure, type Latency, type MeasureOptions } from '../src/bench/measure.ts';
import { runPinned } from '../src/bench/pinned.ts';
import { pingPong, syncRoundTrips, type SyncFigures, type SyncSubject } from '../src/bench/sync.ts';
import { table, type Row } from './table.ts';

/** benchmarks/workers/tasks.mjs, as farcall sees it. */
type Tasks = { tiny(x: number): number; hash(blocks: number): string; add(a: number, b: number): number };
type TaskName = 'tiny' | 'hash';

const TASKS = new URL('./workers/tasks.mjs', import.meta.url);
const THREADS = 2;
const TINY_BATCH = 10_000;
const CPU_TASK_MS = 5;
const log = (s: string): void => void process.stderr.write(`pool: ${s}\n`);

interface PoolSubject {
  who: string;
  run(name: TaskName, arg: number): Promise<unknown>;
  stop(): Promise<unknown>;
}

function farcall(threads: number): PoolSubject {
  const pool = createPool<Tasks>(TASKS, { minThreads: threads, maxThreads: threads });
  return { who: 'farcall', run: (name, arg) => pool.api[name](arg), stop: () => pool.destroy() };
}

function piscina(threads: number): PoolSubject {
  const pool = new Piscina({ filename: TASKS.href, minThreads: threads, maxThreads: threads });
  return { who: 'piscina', run: (name, arg) => pool.run(arg, { name }), stop: () => pool.destroy() };
}

function tinypool(threads: number): PoolSubject {
  const pool = new Tinypool({ filename: TASKS.href, minThreads: threads, maxThreads: threads });
  return { who: 'tinypool', run: (name, arg) => pool.run(arg, { name }), stop: () => pool.destroy() };
}

const POOLS = [farcall, piscina, tinypool];

/** A started pool whose threads have all answered once. */
async function started(make: (threads: number) => PoolSubject, threads: number): Promise<PoolSubject> {
  const s = make(threads);
  await Promise.all(Array.from({ length: threads * 4 }, (_, i) => s.run('tiny', i)));
  return s;
}

/**
 * Other work on the machine drifts between seconds; so every round measures
 * each subject once, in turn, and a figure is the median of its rounds.
 */
async function interleaved<S extends { who: string }>(subjects: S[], rounds: number, one: (s: S) => Promise<number>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) for (const s of subjects) (out[s.who] ??= []).push(await one(s));
  return out;
}

/** Sequential round trips: p50 and p99 of each subject, interleaved rounds. */
async function roundTripsOf<S extends { who: string }>(subjects: S[], call: (s: S) => () => Promise<unknown>, o: MeasureOptions): Promise<Record<string, Latency>> {
  const { rounds = 5, time = 300, warmup = 100 } = o;
  for (const s of subjects) await latency(call(s), { rounds: 1, time: warmup, warmup: 0 });
  const p99: Record<string, number[]> = {};
  const p50 = await interleaved(subjects, rounds, async (s) => {
    const l = await latency(call(s), { rounds: 1, time, warmup: 10 });
    (p99[s.who] ??= []).push(l.p99.median);
    return l.p50.median;
  });
  const out: Record<string, Latency> = {};
  for (const s of subjects) out[s.who] = { p50: figure(p50[s.who]!, 'µs'), p99: figure(p99[s.who]!, 'µs') };
  return out;
}

/** Tasks per second when `count` tasks are submitted at once and all awaited, interleaved rounds. */
async function batches(subjects: PoolSubject[], name: TaskName, arg: number, count: number, rounds: number): Promise<Record<string, Figure>> {
  const once = async (s: PoolSubject): Promise<number> => {
    const t = performance.now();
    const all: Promise<unknown>[] = new Array(count);
    for (let i = 0; i < count; i++) all[i] = s.run(name, arg);
    await Promise.all(all);
    return count / ((performance.now() - t) / 1000);
  };
  for (const s of subjects) await once(s); // warm-up
  const rates = await interleaved(subjects, rounds, once);
  return Object.fromEntries(Object.entries(rates).map(([who, r]) => [who, figure(r, 'tasks/s')]));
}

async function stopAll(subjects: Array<{ stop(): Promise<unknown> }>): Promise<void> {
  await Promise.all(subjects.map((s) => s.stop()));
}

interface RoundTrips {
  pool: Record<string, Latency>;
  sync: Record<string, SyncFigures>;
}

const OURS = 'farcall createSyncFn';
const SYNCKIT = 'synckit createSyncFn';
const FLOOR = 'SharedArrayBuffer ping-pong (floor)';

/** Sequential round trips of every pool (tiny task) and of both sync functions. */
async function roundTrips(o: MeasureOptions): Promise<RoundTrips> {
  const pools = await Promise.all(POOLS.map((make) => started(make, THREADS)));
  log('sequential latency: farcall, piscina, tinypool');
  const pool = await roundTripsOf(pools, (s) => () => s.run('tiny', 1), o);
  await stopAll(pools);

  const ours = createSyncFn<Tasks['add']>(TASKS, 'add');
  const theirs = synckitSyncFn<Tasks['add']>(fileURLToPath(new URL('./workers/synckit.mjs', import.meta.url)));
  const syncs: SyncSubject[] = [
    { who: OURS, call: () => ours(1, 2), stop: () => ours.close() },
    // synckit's worker is unref'd and cannot be stopped; it ends with the process.
    { who: SYNCKIT, call: () => theirs(1, 2), stop: async () => {} },
    pingPong(),
  ];
  for (const s of syncs) s.call(); // started and warm
  log('sync round trips: createSyncFn, synckit, SharedArrayBuffer ping-pong');
  const sync = syncRoundTrips(syncs, o);
  await stopAll(syncs);
  return { pool, sync };
}

/** How many 64 KiB sha256 blocks take about `ms` on this thread (the fastest of a few tries: other load only slows one down). */
async function calibrate(ms: number): Promise<number> {
  const { hash } = (await import(TASKS.href)) as Tasks;
  hash(64); // warm
  let perBlock = Infinity;
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    hash(128);
    perBlock = Math.min(perBlock, (performance.now() - t) / 128);
  }
  return Math.max(1, Math.round(ms / perBlock));
}

export async function pool(o: MeasureOptions = {}): Promise<string> {
  log('pinned round trips (taskset -c 0)');
  const pinned = (await runPinned(fileURLToPath(import.meta.url), ['--pinned-part'])) as RoundTrips | undefined;
  log('unpinned round trips');
  const unpinned = await roundTrips(o);

  const rounds = o.rounds ?? 5;
  let pools = await Promise.all(POOLS.map((make) => started(make, THREADS)));
  log(`${TINY_BATCH.toLocaleString('en-US')} tiny tasks at once: farcall, piscina, tinypool`);
  const tiny = await batches(pools, 'tiny', 1, TINY_BATCH, rounds);
  await stopAll(pools);

  const blocks = await calibrate(CPU_TASK_MS);
  const cpuTasks = 100;
  const cpu: Record<number, Record<string, Figure>> = {};
  for (const threads of [1, 2]) {
    pools = await Promise.all(POOLS.map((make) => started(make, threads)));
    log(`${cpuTasks} CPU-bound tasks at once on ${threads} thread(s): farcall, piscina, tinypool`);
    cpu[threads] = await batches(pools, 'hash', blocks, cpuTasks, rounds);
    await stopAll(pools);
  }

  const rows: Row[] = [];
  const latencyRows = (where: string, l: Record<string, Latency>, base: string, what: string): void => {
    for (const p of ['p50', 'p99'] as const) {
      for (const [who, f] of Object.entries(l)) {
        rows.push({ what: `${what} ${p}, ${where}`, who, figure: f[p], base: who === base ? undefined : l[base]![p], lowerIsBetter: true });
      }
    }
  };
  const rateRows = (what: string, r: Record<string, Figure>): void => {
    for (const [who, f] of Object.entries(r)) rows.push({ what, who, figure: f, base: who === 'piscina' ? undefined : r['piscina'], lowerIsBetter: false });
  };
  if (pinned) latencyRows('pinned to 1 CPU', pinned.pool, 'piscina', 'sequential latency');
  latencyRows('unpinned', unpinned.pool, 'piscina', 'sequential latency');
  rateRows(`throughput, ${TINY_BATCH.toLocaleString('en-US')} tiny tasks at once`, tiny);
  rateRows(`CPU-bound (~${CPU_TASK_MS} ms sha256), ${cpuTasks} at once, 1 thread`, cpu[1]!);
  rateRows(`CPU-bound (~${CPU_TASK_MS} ms sha256), ${cpuTasks} at once, 2 threads`, cpu[2]!);
  const syncRows = (where: string, l: Record<string, SyncFigures>): void => {
    for (const [p, what] of [['p50', 'sync round trip p50'], ['p99', 'sync round trip p99'], ['cpu', 'sync CPU ms per 1,000 calls']] as const) {
      for (const [who, f] of Object.entries(l)) {
        rows.push({ what: `${what}, ${where}`, who, figure: f[p], base: who === SYNCKIT ? undefined : l[SYNCKIT]![p], lowerIsBetter: true });
      }
    }
  };
  if (pinned) syncRows('pinned to 1 CPU', pinned.sync);
  syncRows('unpinned', unpinned.sync);

  const ratio = (a: Figure | undefined, b: Figure | undefined): string => (a && b ? `${(a.median / b.median).toFixed(2)}×` : 'n/a');
  const us = (f: Figure): string => `${f.median.toFixed(2)} µs`;
  const scaling = POOLS.map((make) => make.name)
    .map((who) => `${who} ${(cpu[2]![who]!.median / cpu[1]![who]!.median).toFixed(2)}×`)
    .join(', ');
  const bars = [
    `- tiny-task throughput: farcall ${ratio(tiny['farcall'], tiny['piscina'])} piscina (bar ≥ 5×)`,
    `- sequential latency p50: farcall ${ratio(pinned?.pool['farcall']?.p50, pinned?.pool['piscina']?.p50)} piscina pinned, ` +
      `${ratio(unpinned.pool['farcall']!.p50, unpinned.pool['piscina']!.p50)} unpinned (bar ≤ 1.0×)`,
    `- sync round trip p50, unpinned: createSyncFn ${us(unpinned.sync[OURS]!.p50)} (bar ≤ 2 µs), ${ratio(unpinned.sync[OURS]!.p50, unpinned.sync[SYNCKIT]!.p50)} synckit (bar ≤ 0.1×), ` +
      `${ratio(unpinned.sync[OURS]!.p50, unpinned.sync[FLOOR]!.p50)} the floor`,
    `- sync round trip p50, pinned: createSyncFn ${pinned ? us(pinned.sync[OURS]!.p50) : 'n/a'}, ${ratio(pinned?.sync[OURS]?.p50, pinned?.sync[SYNCKIT]?.p50)} synckit, ` +
      `${ratio(pinned?.sync[OURS]?.p50, pinned?.sync[FLOOR]?.p50)} the floor`,
    `- CPU-bound scaling from 1 to 2 threads: ${scaling}`,
  ];
  return (
    table(`Thread pool: farcall createPool beside piscina and tinypool (${THREADS} threads unless said), createSyncFn beside synckit and the floor`, rows) +
    `\nCPU-bound task: ${blocks} × 64 KiB sha256 (calibrated to ~${CPU_TASK_MS} ms on this machine).` +
    `${pinned ? '' : ' (taskset not found: no pinned rows.)'}\n\n${bars.join('\n')}\n`
  );
}

if (process.argv.includes('--pinned-part')) {
  console.log(JSON.stringify(await roundTrips({})));
}
