/**
 * Runs the bench matrix: every chosen subject × payload, latency and
 * throughput at several calls in flight, each figure the median of rounds.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { latency, throughput, type Figure, type MeasureOptions } from './measure.ts';
import { busyPercent, describeMachine, type Machine } from './machine.ts';
import { PAYLOADS, formatBytes, type Payload } from './payloads.ts';
import { measureStreams, type StreamResults } from './stream-rows.ts';
import { measureSync, type SyncResults } from './sync.ts';
import { SUBJECTS, TRANSPORTS, type Context, type Role, type Running, type Subject, type TransportId } from './subjects.ts';

export interface Settings {
  transports: TransportId[];
  /** Payload ids, in PAYLOADS order. */
  payloads: string[];
  rounds: number;
  /** Milliseconds each round measures. */
  time: number;
  /** Milliseconds of warm-up before each figure's rounds. */
  warmup: number;
  inFlight: number[];
  /** Most payload bytes held in flight at once; a throughput figure that would hold more is not run. */
  memoryBudget: number;
  quick: boolean;
  /** Threads of each pool. */
  threads: number;
  /** Round trips are also timed with every thread and process on one CPU (`taskset -c 0`). */
  pinned: boolean;
  /** Latency only (the pinned pass itself). */
  latencyOnly?: boolean;
}

export type Skipped = { skipped: string };

export interface Cell {
  subject: string;
  payload: string;
  /** The subject cannot carry this payload at all (and why); nothing was measured. */
  notRun?: string;
  /** The run failed (and how); figures measured before the failure are kept. */
  error?: string;
  latency?: { p50: Figure; p99: Figure; samples: number };
  /** The same, with every thread and process of the run on one CPU (`--pin`). */
  pinned?: { p50: Figure; p99: Figure; samples: number };
  /** Calls per second by calls in flight ("1", "16", "1000"). */
  throughput: Record<string, Figure | Skipped>;
  /** Milliseconds this case took, warm-up and checks included. */
  ms?: number;
}

export interface Results {
  tool: 'farcall bench';
  /** The command line that made these results. */
  command: string;
  version: string;
  date: string;
  durationMs: number;
  machine: Machine;
  settings: Omit<Settings, 'transports' | 'payloads'>;
  transports: Array<{ id: TransportId; label: string; about: string }>;
  payloads: Array<Omit<Payload, 'make'>>;
  subjects: Array<{ id: string; transport: TransportId; who: string; role: Role }>;
  /** Why the pinned figures asked for are missing, when they are. */
  pinNote?: string;
  /** Peers left out because their package is not installed. */
  missing: Array<{ subject: string; who: string; package: string }>;
  cells: Cell[];
  /** The sync rows (transport `sync`): they take no payload and block the caller, so they are not cells. */
  sync?: SyncResults;
  /** The stream rows (transport `streams`): items or bytes per second of a stream, not calls. */
  streams?: StreamResults;
}

export interface Progress {
  /** A cell starts: `done` of `total` cells are behind. */
  cell(done: number, total: number, what: string): void;
  /** A step inside the current cell ("latency", "16 in flight"). */
  step(what: string): void;
  /** The whole run is over. */
  end(): void;
}

/** Milliseconds a subject may take to start, and a cell to finish, before it counts as hung. */
const START_TIMEOUT = 30_000;
const CELL_TIMEOUT = 120_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function available(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

/** A full collection, so one case's garbage (a 64 MiB copy is a lot) is not collected during the next. */
const collectGarbage: () => void = (() => {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return gc as () => void;
  } catch {
    // Not available: cases simply follow each other.
  }
  return () => {};
})();

const describeError = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/**
 * The call one cell measures. Every call in flight carries its own value
 * (a library that batches calls into one message must not get to clone one
 * shared object once for all of them); a value is sent again once its call
 * is back, and a moved buffer is sent again as the buffer that came back.
 */
function callerFor(r: Running, p: Payload): () => Promise<unknown> {
  if (p.kind === 'empty') return () => r.ping();
  const spare: unknown[] = [];
  if (p.moved) {
    const echoMoved = r.echoMoved!;
    return () => echoMoved((spare.pop() ?? p.make()) as ArrayBuffer).then((back) => void spare.push(back));
  }
  return () => {
    const value = spare.pop() ?? p.make();
    return r.echo(value).then(() => void spare.push(value));
  };
}

/** One call, checked: the echo must be what was sent, and a moved buffer must have left this side. */
async function check(r: Running, p: Payload): Promise<void> {
  if (p.kind === 'empty') {
    await r.ping();
    return;
  }
  const sent = p.make();
  const back = p.moved ? await r.echoMoved!(sent as ArrayBuffer) : await r.echo(sent);
  if (p.kind === 'object') {
    if (JSON.stringify(back) !== JSON.stringify(p.make())) throw new Error('the echo differs from the object sent');
    return;
  }
  const bytes = back instanceof ArrayBuffer ? new Uint8Array(back) : back instanceof Uint8Array ? back : undefined;
  const want = new Uint8Array(p.make() as ArrayBuffer);
  if (!bytes || bytes.byteLength !== want.byteLength || bytes[want.byteLength - 1] !== want[want.byteLength - 1] || bytes[4096] !== want[4096]) {
    throw new Error(`the echo is not the ${formatBytes(p.bytes)} sent`);
  }
  if (p.moved && (sent as ArrayBuffer).byteLength !== 0) throw new Error('the buffer was copied, not moved (still attached after the call)');
}

async function measureCell(r: Running, p: Payload, s: Settings, progress: Progress, cell: Cell): Promise<void> {
  progress.step('checking the echo');
  await check(r, p);
  const call = callerFor(r, p);
  // Rounds are bounded by time; a call slower than a round still counts once.
  const o: MeasureOptions = { rounds: s.rounds, time: s.time, warmup: s.warmup, minSamples: 1 };
  progress.step('latency, one call at a time');
  const l = await latency(call, o);
  cell.latency = { p50: l.p50, p99: l.p99, samples: l.samples };
  if (s.latencyOnly) return;
  for (const n of s.inFlight) {
    const held = n * p.bytes;
    if (n > 1 && held > s.memoryBudget) {
      cell.throughput[n] = { skipped: `${n.toLocaleString('en-US')} × ${formatBytes(p.bytes)} in flight is over the ${formatBytes(s.memoryBudget)} budget` };
      continue;
    }
    if (n === 1) {
      // One call in flight is what the latency rounds did: their calls per second are this figure.
      cell.throughput[n] = l.rate;
      continue;
    }
    progress.step(`throughput, ${n.toLocaleString('en-US')} in flight`);
    cell.throughput[n] = await throughput(call, n, o);
  }
}

async function stopQuietly(r: Running | undefined): Promise<void> {
  if (!r) return;
  await withTimeout(r.stop(), 10_000, 'stopping').catch(() => {});
}

export async function runMatrix(s: Settings, progress: Progress, version: string, command: string): Promise<Results> {
  const started = performance.now();
  progress.step('checking that the machine is idle');
  const before = await busyPercent();
  const payloads = PAYLOADS.filter((p) => s.payloads.includes(p.id));
  const chosen = SUBJECTS.filter((x) => s.transports.includes(x.transport));
  const missing: Results['missing'] = [];
  const subjects: Subject[] = [];
  for (const x of chosen) {
    if (x.needs && !(await available(x.needs))) missing.push({ subject: x.id, who: x.who, package: x.needs });
    else subjects.push(x);
  }

  const cells: Cell[] = [];
  let sync: SyncResults | undefined;
  let streams: StreamResults | undefined;
  const streamRows = s.transports.includes('streams') && !s.latencyOnly;
  const total = subjects.length * payloads.length + (s.transports.includes('sync') ? 1 : 0) + (streamRows ? 1 : 0);
  const dir = await mkdtemp(join(tmpdir(), 'farcall-bench-'));
  const ctx: Context = { dir, threads: s.threads };
  // Interrupted: leave no socket files behind (the servers and children end with this process's pipes).
  const interrupted = (): void => {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write('\ninterrupted\n');
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    for (const subject of subjects) {
      const label = TRANSPORTS.find((t) => t.id === subject.transport)!.label;
      let running: Running | undefined;
      for (const p of payloads) {
        progress.cell(cells.length, total, `${label} · ${subject.who} · ${p.label}`);
        const cell: Cell = { subject: subject.id, payload: p.id, throughput: {} };
        cells.push(cell);
        const why = subject.cannot(p);
        if (why) {
          cell.notRun = why;
          continue;
        }
        collectGarbage();
        const t0 = performance.now();
        try {
          if (!running) {
            progress.step('starting');
            running = await withTimeout(subject.start(ctx), START_TIMEOUT, `starting ${subject.who}`);
          }
          await withTimeout(measureCell(running, p, s, progress, cell), CELL_TIMEOUT, 'the measurement');
        } catch (err) {
          cell.error = describeError(err);
          // Start afresh for the next payload: whatever broke stays broken.
          await stopQuietly(running);
          running = undefined;
        }
        cell.ms = Math.round(performance.now() - t0);
      }
      await stopQuietly(running);
    }
    if (s.transports.includes('sync')) {
      progress.cell(cells.length, total, 'sync call · createSyncFn, synckit, SharedArrayBuffer ping-pong');
      try {
        sync = await withTimeout(measureSync({ rounds: s.rounds, time: s.time, warmup: s.warmup }, dir), CELL_TIMEOUT, 'the sync calls');
      } catch (err) {
        sync = { figures: {}, missing: [], error: describeError(err) };
      }
    }
    if (streamRows) {
      progress.cell(cells.length + (sync ? 1 : 0), total, 'streams · small items over each transport, 64 KiB chunks over a Unix socket');
      collectGarbage();
      streams = await withTimeout(measureStreams({ rounds: s.rounds, time: s.time }, dir), CELL_TIMEOUT, 'the stream rows').catch((err: unknown) => ({
        rows: [],
        error: describeError(err),
      }));
    }
  } finally {
    process.off('SIGINT', interrupted);
    await rm(dir, { recursive: true, force: true });
  }
  const after = await busyPercent();

  const { transports: _t, payloads: _p, latencyOnly: _l, ...settings } = s;
  return {
    tool: 'farcall bench',
    command,
    version,
    date: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: describeMachine({ before, after }),
    settings,
    transports: TRANSPORTS.filter((t) => s.transports.includes(t.id)),
    payloads: payloads.map(({ make: _m, ...rest }) => rest),
    subjects: subjects.map(({ id, transport, who, role }) => ({ id, transport, who, role })),
    missing,
    cells,
    ...(sync ? { sync } : {}),
    ...(streams ? { streams } : {}),
  };
}
