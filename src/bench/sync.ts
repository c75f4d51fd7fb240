/**
 * Synchronous round trips (createSyncFn and its peers), timed one by one
 * with a plain loop, with the CPU time the process (caller and worker)
 * spends per 1,000 calls: a spinning side trades CPU for latency, so both
 * are shown.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { figure, type Figure, type MeasureOptions } from './measure.ts';

export interface SyncSubject {
  who: string;
  call(): unknown;
  stop(): Promise<unknown>;
}

export interface SyncFigures {
  p50: Figure;
  p99: Figure;
  /** Milliseconds of CPU (every thread of the process) per 1,000 calls. */
  cpu: Figure;
}

/** The bound farcall's createSyncFn spins for by default: the floor spins as long, so the two compare. */
export const floorSpinUs = (): number => (availableParallelism() > 1 ? 100 : 0);

/**
 * The floor: two threads passing a counter through a SharedArrayBuffer,
 * each spinning for `spinUs` before it sleeps in Atomics.wait (a spin of 0
 * is a plain wait/notify ping-pong, the floor on one CPU). No message, no
 * codec: what any synchronous call over threads costs at least.
 */
export function pingPong(spinUs: number = floorSpinUs()): SyncSubject {
  // Request, reply and the worker's parked flag, each in a cache line of its own.
  const s = new Int32Array(new SharedArrayBuffer(3 * 64));
  const [REQ, REP, PARKED] = [0, 16, 32];
  const worker = new Worker(
    `const { s, spinMs } = require('node:worker_threads').workerData;
    let seen = 0;
    for (;;) {
      const until = performance.now() + spinMs;
      let v;
      for (let n = 0; (v = Atomics.load(s, ${REQ})) === seen; n++) if ((n & 63) === 63 && performance.now() >= until) break;
      if (v === seen) {
        Atomics.store(s, ${PARKED}, 1);
        Atomics.wait(s, ${REQ}, seen);
        Atomics.store(s, ${PARKED}, 0);
        continue;
      }
      if (v < 0) break;
      seen = v;
      Atomics.store(s, ${REP}, v);
      Atomics.notify(s, ${REP});
    }`,
    { eval: true, workerData: { s, spinMs: spinUs / 1000 } },
  );
  worker.unref();
  const spinMs = spinUs / 1000;
  let n = 0;
  return {
    who: SYNC_WHO[2],
    call() {
      const v = ++n;
      Atomics.store(s, REQ, v);
      if (Atomics.load(s, PARKED) === 1) Atomics.notify(s, REQ);
      const until = performance.now() + spinMs;
      for (let i = 0; Atomics.load(s, REP) !== v; i++) {
        if ((i & 63) === 63 && performance.now() >= until) Atomics.wait(s, REP, v - 1, 1);
      }
      return v;
    },
    async stop() {
      Atomics.store(s, REQ, -1);
      Atomics.notify(s, REQ);
      await worker.terminate();
    },
  };
}

/** One round: every call timed for `time` ms. */
function round(call: () => unknown, time: number): { p50: number; p99: number; cpu: number } {
  const samples: number[] = [];
  const before = process.cpuUsage();
  const end = performance.now() + time;
  while (performance.now() < end) {
    const t = performance.now();
    call();
    samples.push(performance.now() - t);
  }
  const used = process.cpuUsage(before);
  samples.sort((a, b) => a - b);
  return {
    p50: samples[samples.length >> 1]! * 1000,
    p99: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))]! * 1000,
    cpu: (used.user + used.system) / 1000 / (samples.length / 1000),
  };
}

/**
 * p50, p99 and CPU per 1,000 calls of each subject. Other work on the
 * machine drifts between seconds, so every round measures each subject
 * once, in turn, and a figure is the median of its rounds.
 */
export function syncRoundTrips(subjects: SyncSubject[], o: MeasureOptions = {}): Record<string, SyncFigures> {
  const { rounds = 5, time = 300, warmup = 100 } = o;
  for (const s of subjects) round(s.call, warmup);
  const got: Record<string, { p50: number[]; p99: number[]; cpu: number[] }> = {};
  for (let r = 0; r < rounds; r++) {
    for (const s of subjects) {
      const one = round(s.call, time);
      const g = (got[s.who] ??= { p50: [], p99: [], cpu: [] });
      g.p50.push(one.p50);
      g.p99.push(one.p99);
      g.cpu.push(one.cpu);
    }
  }
  return Object.fromEntries(
    Object.entries(got).map(([who, g]) => [who, { p50: figure(g.p50, 'µs'), p99: figure(g.p99, 'µs'), cpu: figure(g.cpu, 'ms') }]),
  );
}

/** Who the bench's sync rows measure, in order. */
export const SYNC_WHO = ['farcall createSyncFn', 'synckit createSyncFn', 'SharedArrayBuffer ping-pong (floor)'] as const;

export interface SyncResults {
  figures: Record<string, SyncFigures>;
  /** synckit, when it is not installed. */
  missing: string[];
  /** The run failed (and how). */
  error?: string;
  /** Measured again with every thread on one CPU (`--pin`). */
  pinned?: Record<string, SyncFigures>;
}

/**
 * The sync rows of `farcall bench`: createSyncFn, synckit (when installed;
 * its worker module is written into `dir`, so it imports synckit from
 * wherever it is installed) and the floor, calling add(1, 2).
 */
export async function measureSync(o: MeasureOptions, dir: string): Promise<SyncResults> {
  const { createSyncFn } = await import('../index.ts');
  const here = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const ours = createSyncFn<(a: number, b: number) => number>(new URL(`./servers/sync-add${here}`, import.meta.url));
  const subjects: SyncSubject[] = [{ who: SYNC_WHO[0], call: () => ours(1, 2), stop: () => ours.close() }];
  const missing: string[] = [];
  let synckit: string | undefined;
  try {
    synckit = import.meta.resolve('synckit');
  } catch {
    missing.push(SYNC_WHO[1]);
  }
  if (synckit !== undefined) {
    const { createSyncFn: theirs } = (await import(synckit)) as typeof import('synckit');
    const worker = join(dir, 'synckit-worker.mjs');
    await writeFile(worker, `import { runAsWorker } from ${JSON.stringify(synckit)};\nrunAsWorker((a, b) => a + b);\n`);
    const add = theirs<(a: number, b: number) => number>(worker);
    // synckit's worker is unref'd and cannot be stopped; it ends with the process.
    subjects.push({ who: SYNC_WHO[1], call: () => add(1, 2), stop: async () => {} });
  }
  subjects.push(pingPong());
  try {
    for (const s of subjects) s.call(); // started and warm
    return { figures: syncRoundTrips(subjects, o), missing };
  } finally {
    await Promise.all(subjects.map((s) => s.stop()));
  }
}
