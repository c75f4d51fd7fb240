// The tour `npm start` runs: one call over every boundary farcall spans,
// a callback, a transfer and an error crossing, and what each call cost.
import { availableParallelism } from 'node:os';
import { proxy, transfer, wrap, type Remote } from 'farcall';
import { startWorker } from './start-worker.ts';
import type { math } from './worker/math.worker.ts';

type MathApi = typeof math;

interface Row {
  boundary: string;
  roundTripUs: number;
  callsPerSec: number;
}

const rows: Row[] = [];

/** Median of sequential round trips, then throughput with many calls in flight. */
async function cost(boundary: string, api: Remote<MathApi>): Promise<void> {
  for (let i = 0; i < 200; i++) await api.add(i, 1); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    await api.add(i, 1);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const total = 20_000;
  const t = performance.now();
  const inFlight: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    inFlight.push(api.add(i, 1));
    if (inFlight.length === 1000) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  rows.push({ boundary, roundTripUs: times[times.length >> 1]! * 1000, callsPerSec: total / ((performance.now() - t) / 1000) });
}

/** The same three things crossing each boundary: a callback, a transfer and an error. */
async function show(boundary: string, api: Remote<MathApi>): Promise<void> {
  console.log(`\n${boundary}`);
  console.log(`  add(1, 2)            → ${await api.add(1, 2)}`);
  const ticks: number[] = [];
  await api.watch(proxy((n: number) => void ticks.push(n)), 3);
  console.log(`  watch(callback)      → the callback ran for ticks ${ticks.join(', ')}`);
  const buf = new ArrayBuffer(1 << 20);
  const hex = await api.digest(transfer(buf, [buf]));
  console.log(`  digest(1 MiB moved)  → ${hex.slice(0, 12)}…, and here the buffer is now ${buf.byteLength} bytes`);
  try {
    await api.divide(1, 0);
  } catch (err) {
    const e = err as RangeError & { code?: string };
    console.log(`  divide(1, 0)         → threw ${e.name} (${e.code}): ${e.message}`);
  }
}

async function workerThread(): Promise<void> {
  const worker = startWorker(new URL('./worker/math.worker.ts', import.meta.url));
  const api = wrap<MathApi>(worker);
  await show('worker thread', api);
  await cost('worker thread', api);
  await worker.terminate();
}

console.log(`farcall tour — Node ${process.version}, ${availableParallelism()} CPUs`);
await workerThread();

console.log('\nwhat a call cost (add(i, 1); round trip is the median of 500 sequential calls)\n');
console.log('| boundary | round trip | calls/s with 1,000 in flight |');
console.log('| --- | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.boundary} | ${r.roundTripUs.toFixed(1)} µs | ${Math.round(r.callsPerSec).toLocaleString('en-US')} |`);
}
