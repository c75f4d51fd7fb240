// The tour `npm start` runs: one call over every boundary farcall spans,
// a callback, a transfer and an error crossing, and what each call cost.
import { spawn as startProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createPool, proxy, spawn, startWorker, transfer, wrap, type Remote } from 'farcall';
import type { math } from './worker/math.ts';

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

const mathModule = new URL('./worker/math.worker.ts', import.meta.url);

async function workerThread(): Promise<void> {
  const worker = startWorker(mathModule);
  const api = wrap<MathApi>(worker);
  await show('worker thread (wrap a Worker)', api);
  await cost('worker thread', api);
  await worker.terminate();
}

async function pool(): Promise<void> {
  const pool = createPool<MathApi>(mathModule, { maxThreads: 2 });
  await show('worker pool (createPool, 2 threads)', pool.api);
  await cost('worker pool, 2 threads', pool.api);
  await pool.close();
}

async function childProcess(): Promise<void> {
  const child = await spawn<MathApi>(mathModule);
  await show('child process (spawn)', child.api);
  await cost('child process', child.api);
  await child.close();
}

async function socketServer(): Promise<void> {
  const path = join(mkdtempSync(join(tmpdir(), 'farcall-tour-')), 'math.sock');
  // The server is another process, as a daemon would be.
  const server = startProcess(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./worker/serve-math.ts', import.meta.url)), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(server.stdout!, 'data');
  const conn = await connect<MathApi>(path);
  await show('unix socket (listen in another process, connect here)', conn.api);
  await cost('unix socket', conn.api);
  await conn.close();
  server.kill('SIGTERM');
  await once(server, 'exit');
}

console.log(`farcall tour — Node ${process.version}, ${availableParallelism()} CPUs`);
await workerThread();
await pool();
await childProcess();
await socketServer();

console.log('\nwhat a call cost (add(i, 1); round trip is the median of 500 sequential calls)\n');
console.log('| boundary | round trip | calls/s with 1,000 in flight |');
console.log('| --- | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.boundary} | ${r.roundTripUs.toFixed(1)} µs | ${Math.round(r.callsPerSec).toLocaleString('en-US')} |`);
}
