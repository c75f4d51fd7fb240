/** `farcall bench`: options, the run, and where its results go. */
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chart } from './chart.ts';
import { compare } from './compare.ts';
import { busyWarning } from './machine.ts';
import { markdown } from './markdown.ts';
import { runMatrix, type Settings } from './matrix.ts';
import { PAYLOADS } from './payloads.ts';
import { pinnedPass } from './pin.ts';
import { progressOn } from './progress.ts';
import { SUBJECTS, TRANSPORTS, type TransportId } from './subjects.ts';
import { SYNC_WHO } from './sync.ts';

/** A mistake in the command line: reported with a hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const MiB = 1024 * 1024;
/** Where a run's files go without --out: a run is too long to keep only on a scrolled-away terminal. */
export const DEFAULT_OUT = 'farcall-bench';
const FULL = { rounds: 5, time: 300, warmup: 100, budget: 256 * MiB };
/** Sized so the default --quick matrix takes under 30 s on a 2-CPU machine. */
const QUICK = { rounds: 3, time: 25, warmup: 15, budget: 16 * MiB, largest: MiB };

function whoOn(t: TransportId): string {
  if (t === 'sync') return SYNC_WHO.join(', ');
  if (t === 'streams') return 'farcall, one message per item, stream.pipeline copy';
  return SUBJECTS.filter((s) => s.transport === t)
    .map((s) => s.who)
    .join(', ');
}

export const BENCH_SUMMARY = 'compare same-host transports: farcall beside the raw mechanism and its peers';

export function benchHelp(): string {
  const pad = (s: string, n: number): string => s.padEnd(n);
  return `Usage: farcall bench [options]

Measures farcall over every same-host transport beside the raw mechanism it
rides on and the libraries people otherwise use, for payloads from an empty
call to 64 MiB, and prints a markdown table of medians with their spread and
ratios to the raw mechanism and the best peer, all from the same run.

Options:
  --transports LIST  transports to measure, comma-separated, or all (default: all but nats)
  --payloads LIST    payloads to send, comma-separated (default: all)
  --quick            the whole matrix in under 30 s: ${QUICK.rounds} rounds of ${QUICK.time} ms per figure, at most
                     ${QUICK.budget / MiB} MiB in flight, and payloads up to ${QUICK.largest / MiB} MiB unless --payloads names more
  --json             print the results as JSON on stdout instead of markdown
  --out DIR          where results.json, results.md and chart.svg are written (default: ${DEFAULT_OUT}
                     in the current directory; no chart for sync or streams alone)
  --rounds N         rounds per figure (default ${FULL.rounds}; --quick ${QUICK.rounds})
  --time MS          milliseconds each round measures (default ${FULL.time}; --quick ${QUICK.time})
  --warmup MS        milliseconds of warm-up before each figure (default ${FULL.warmup}; --quick ${QUICK.warmup})
  --pin              also time the round trips with everything on one CPU (taskset -c 0, Linux);
                     takes about a third longer (not counted in --quick's 30 s)
  -h, --help         show this help

Transports (each measured with its raw mechanism and peers):
${TRANSPORTS.map((t) => `  ${pad(t.id, 8)}${pad(t.label, 14)}${whoOn(t.id)}`).join('\n')}

Payloads (echoed back: copied both ways, or moved both ways with a transfer list):
${PAYLOADS.map((p) => `  ${pad(p.id, 15)}${p.label}`).join('\n')}

How it measures:
  Latency is p50 and p99 of round trips timed one by one with a plain loop
  (tinybench 6 reported impossible figures for cross-thread ping-pong).
  Throughput keeps 1, 16 or 1,000 calls in flight; a case that would hold
  more than ${FULL.budget / MiB} MiB of payload in flight is not run. Every figure is the
  median of several rounds after a warm-up, shown with the slowest and
  fastest round. On a machine with few CPUs an unpinned round trip is
  mostly the cost of waking a thread on another CPU (tens of µs), which
  the scheduler may or may not pay per row: --pin adds a p50 with every
  thread and process on one CPU, which measures the library instead. comlink, birpc and piscina are measured when installed and
  left out with a note when not. The sync rows (transport sync) time a
  blocking createSyncFn call beside synckit and a bare SharedArrayBuffer
  ping-pong (the floor), with the CPU time of all threads per 1,000 calls.
  The stream rows (transport streams) time a stream of numbers over each
  transport beside one message per item, and 64 KiB chunks over a Unix
  socket beside a stream.pipeline socket copy, in items or MiB per second.
  Progress goes to stderr.

Exit status: 0 when the run finished (a failed case is reported in the
output), 2 for a bad option.`;
}

function list<T extends string>(option: string, value: string | undefined, known: readonly T[], byDefault: readonly T[] = known): T[] {
  if (value === undefined) return [...byDefault];
  if (value === 'all') return [...known];
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${option} got an empty item in '${value}'; expected a comma-separated list of: ${known.join(', ')}`);
  for (const item of items) {
    if (!known.includes(item as T)) throw new UsageError(`--${option}: unknown ${option.replace(/s$/, '')} '${item}'; expected one or more of: ${known.join(', ')}`);
  }
  return known.filter((k) => items.includes(k));
}

function integer(option: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${option} must be a whole number from ${min} to ${max.toLocaleString('en-US')}, got '${value}'`);
  }
  return n;
}

export interface BenchArgs {
  settings: Settings;
  json: boolean;
  out: string;
  help: boolean;
}

/** Reads the command line after `bench`; throws UsageError for anything it does not understand. */
export function parseBenchArgs(args: string[]): BenchArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        transports: { type: 'string' },
        payloads: { type: 'string' },
        quick: { type: 'boolean' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        rounds: { type: 'string' },
        time: { type: 'string' },
        warmup: { type: 'string' },
        pin: { type: 'boolean' },
        // The pinned pass (--pin runs the command again under taskset with it): latency only.
        'latency-only': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // Node's messages go on about positionals; keep the first sentence.
    const first = (err as Error).message.split('. ')[0]!.replace(/\.$/, '');
    throw new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const quick = values.quick === true;
  const base = quick ? QUICK : FULL;
  const time = integer('time', str('time'), 1, 600_000) ?? base.time;
  const settings: Settings = {
    transports: list('transports', str('transports'), TRANSPORTS.map((t) => t.id), TRANSPORTS.filter((t) => !t.optIn).map((t) => t.id)),
    payloads:
      str('payloads') === undefined && quick
        ? PAYLOADS.filter((p) => p.bytes <= QUICK.largest).map((p) => p.id)
        : list('payloads', str('payloads'), PAYLOADS.map((p) => p.id)),
    rounds: integer('rounds', str('rounds'), 1, 1000) ?? base.rounds,
    time,
    warmup: integer('warmup', str('warmup'), 0, 600_000) ?? Math.min(base.warmup, time),
    inFlight: [1, 16, 1000],
    memoryBudget: quick ? QUICK.budget : FULL.budget,
    quick,
    threads: availableParallelism(),
    pinned: values.pin === true,
    latencyOnly: values['latency-only'] === true,
  };
  const out = str('out') ?? DEFAULT_OUT;
  if (out.trim() === '') throw new UsageError('--out needs a directory');
  return { settings, json: values.json === true, out, help: values.help === true };
}

export async function bench(args: string[], version: string): Promise<number> {
  const a = parseBenchArgs(args);
  if (a.help) {
    process.stdout.write(benchHelp() + '\n');
    return 0;
  }
  // The pinned pass (--latency-only) hands its figures to the run that started it, which writes them.
  const writes = !a.settings.latencyOnly;
  if (writes) {
    // Before the run, not after it: a run is too long to lose to a bad path.
    try {
      await mkdir(a.out, { recursive: true });
      await access(a.out, constants.W_OK);
    } catch (err) {
      throw new UsageError(`--out cannot write to ${a.out}: ${(err as Error).message}`);
    }
  }
  const pin = a.settings.pinned && !a.settings.latencyOnly;
  const progress = progressOn(process.stderr, true);
  const results = await runMatrix(a.settings, progress, version, ['farcall', 'bench', ...args].join(' ')).finally(() => pin || progress.end());
  if (pin) {
    const pinned = await pinnedPass(a.settings, progress).finally(() => progress.end());
    if ('note' in pinned) {
      results.pinNote = pinned.note;
      process.stderr.write(`--pin: ${pinned.note}\n`);
    } else {
      for (const cell of results.cells) {
        const p = pinned.cells.find((c) => c.subject === cell.subject && c.payload === cell.payload)?.latency;
        if (p) cell.pinned = p;
      }
      if (results.sync && pinned.sync) results.sync.pinned = pinned.sync.figures;
    }
  }
  const json = JSON.stringify({ ...results, comparisons: compare(results) }, null, 2) + '\n';
  const md = markdown(results);
  if (writes) {
    await writeFile(join(a.out, 'results.json'), json);
    await writeFile(join(a.out, 'results.md'), md);
    // The chart draws the payload cells; the sync and stream rows alone have none.
    const files = results.cells.length > 0 ? ['results.json', 'results.md', 'chart.svg'] : ['results.json', 'results.md'];
    if (results.cells.length > 0) await writeFile(join(a.out, 'chart.svg'), chart(results));
    process.stderr.write(`wrote ${files.map((f) => join(a.out, f)).join(', ')}\n`);
  }
  process.stdout.write(a.json ? json : md);
  const busy = busyWarning(results.machine);
  if (busy) process.stderr.write(`warning: ${busy}\n`);
  const failed = results.cells.filter((c) => c.error).length;
  if (failed > 0) process.stderr.write(`${failed} case${failed === 1 ? '' : 's'} failed; the output says which and why\n`);
  return 0;
}
