// Issue bars for the core: farcall over a worker beside raw postMessage, comlink and birpc.
// Run directly with `--pinned-part` it measures only the round trips and prints JSON
// (benchmarks/run.ts runs it that way under taskset -c 0).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createBirpc } from 'birpc';
import * as farcallSource from 'farcall';
import { latency, throughput, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { runPinned } from '../src/bench/pinned.ts';
import { startThread } from '../src/pool/thread.ts';
import { table, type Row } from './table.ts';

type AddApi = { add(a: number, b: number): number };
const RAW_CALL = 'raw postMessage, id + args';
const here = (p: string): URL => new URL(p, import.meta.url);

interface Subject {
  who: string;
  call: () => Promise<unknown>;
  stop(): Promise<unknown>;
}

/** Raw ping-pong: one message out, wait for the echo. */
function rawPingPong(): Subject {
  const w = new Worker(here('./workers/raw.mjs'));
  let resolve: (v: unknown) => void = () => {};
  w.on('message', (m) => resolve(m));
  let i = 0;
  return {
    who: 'raw postMessage',
    call: () =>
      new Promise((r) => {
        resolve = r;
        w.postMessage(i++);
      }),
    stop: () => w.terminate(),
  };
}

/** Raw with ids: one postMessage per call, replies matched by id, as a library without batching does. */
function rawWithIds(who = 'raw postMessage'): Subject {
  const w = new Worker(here('./workers/raw.mjs'));
  const pending = new Map<number, (v: unknown) => void>();
  w.on('message', (m: { i: number }) => {
    const r = pending.get(m.i)!;
    pending.delete(m.i);
    r(m);
  });
  let id = 0;
  return {
    who,
    call: () =>
      new Promise((r) => {
        const i = id++;
        pending.set(i, r);
        w.postMessage({ i, a: [1, 2] });
      }),
    stop: () => w.terminate(),
  };
}

/**
 * farcall from its build when there is one, as users run it: from the
 * TypeScript sources, tsx's transform adds helper calls of its own to every
 * closure farcall makes per call. The table says which was measured.
 */
const built = existsSync(fileURLToPath(here('../dist/index.js')));
const lib: typeof farcallSource = built ? await import(here('../dist/index.js').href) : farcallSource;
const farcallBuild = built ? 'the build in dist/' : 'the TypeScript sources under tsx (run npm run build to measure the build)';

function farcall(): Subject {
  const w = built ? new Worker(here('./workers/farcall-worker.mjs')) : startThread(here('./workers/farcall-worker.ts'));
  const api = lib.wrap<AddApi>(w);
  return { who: 'farcall', call: () => api.add(1, 2), stop: () => (api[lib.releaseProxy](), w.terminate()) };
}

function comlink(): Subject {
  const w = new Worker(here('./workers/comlink.mjs'));
  const api = Comlink.wrap<AddApi>(nodeEndpoint(w));
  return { who: 'comlink', call: () => api.add(1, 2), stop: () => w.terminate() };
}

function birpc(): Subject {
  const w = new Worker(here('./workers/birpc.mjs'));
  const api = createBirpc<AddApi>({}, { post: (d) => w.postMessage(d), on: (fn) => w.on('message', fn), serialize: (v) => v, deserialize: (v) => v });
  return { who: 'birpc', call: () => api.add(1, 2) as Promise<number>, stop: () => w.terminate() };
}

async function measure<T>(make: () => Subject, what: (s: Subject) => Promise<T>): Promise<[string, T]> {
  const s = make();
  await s.call(); // started and warm
  try {
    return [s.who, await what(s)];
  } finally {
    await s.stop();
  }
}

async function roundTrips(o: MeasureOptions): Promise<Record<string, Figure>> {
  const out: Record<string, Figure> = {};
  // The strict base carries a bare number; the second raw carries what a call must (an id and the arguments).
  for (const make of [rawPingPong, () => rawWithIds(RAW_CALL), farcall, comlink, birpc]) {
    const [who, l] = await measure(make, (s) => latency(s.call, o));
    out[who] = l.p50;
  }
  return out;
}

export async function core(o: MeasureOptions = {}): Promise<string> {
  const pinned = (await runPinned(fileURLToPath(import.meta.url), ['--pinned-part'])) as Record<string, Figure> | undefined;
  const unpinned = await roundTrips(o);
  const tput: Record<string, Figure> = {};
  for (const make of [rawWithIds, farcall, comlink, birpc]) {
    const [who, f] = await measure(make, (s) => throughput(s.call, 1000, o));
    tput[who] = f;
  }
  const rows: Row[] = [];
  if (pinned) {
    for (const [who, f] of Object.entries(pinned)) {
      rows.push({ what: 'round trip p50, pinned to 1 CPU', who, figure: f, base: who === 'raw postMessage' ? undefined : pinned['raw postMessage'], lowerIsBetter: true });
    }
  }
  for (const [who, f] of Object.entries(unpinned)) {
    rows.push({ what: 'round trip p50, unpinned', who, figure: f, base: who === 'raw postMessage' ? undefined : unpinned['raw postMessage'], lowerIsBetter: true });
  }
  for (const [who, f] of Object.entries(tput)) {
    rows.push({ what: 'throughput, 1,000 in flight', who, figure: f, base: who === 'raw postMessage' ? undefined : tput['raw postMessage'], lowerIsBetter: false });
  }
  const vsComlink = tput['farcall']!.median / tput['comlink']!.median;
  const vsCall = (r: Record<string, Figure>): string => (r['farcall']!.median / r[RAW_CALL]!.median).toFixed(2);
  return (
    table('Worker thread: farcall beside raw postMessage, comlink and birpc', rows) +
    `\nfarcall measured from ${farcallBuild}.\n` +
    `\nfarcall throughput is ${vsComlink.toFixed(1)}× comlink's.${pinned ? '' : ' (taskset not found: no pinned rows.)'}\n` +
    `\nRound trip beside a raw ping-pong that carries an id and the arguments: ${pinned ? `${vsCall(pinned)}× pinned, ` : ''}${vsCall(unpinned)}× unpinned.\n`
  );
}

if (process.argv.includes('--pinned-part')) {
  console.log(JSON.stringify(await roundTrips({})));
}
