// Run with: npx tsx examples/offload.ts
//
// Compresses and hashes a few MiB of generated logs twice: on the main thread, then on a
// pool of worker threads. A timer measures the event loop's lag during each run: on the
// main thread every chunk blocks it; through the pool it stays free to serve.
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createPool, transfer } from 'farcall';
import * as tasks from './offload-tasks.ts';

const CHUNKS = 16;
const CHUNK_BYTES = 1024 * 1024;
/** How often the lag monitor's timer wants to fire, in ms. */
const RESOLUTION = 5;

const encoder = new TextEncoder();

/** Log-like text: compressible, but not trivially. */
function generate(seed: number): Uint8Array<ArrayBuffer> {
  const words = ['GET', 'POST', '/api/users', '/api/orders', '200', '404', '503', 'ms', 'cache-hit', 'cache-miss', 'eu-west', 'us-east'];
  let x = seed * 2654435761 + 1;
  const rand = (n: number): number => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const out = new Uint8Array(CHUNK_BYTES);
  let at = 0;
  while (at < CHUNK_BYTES) {
    const line = `${1_700_000_000 + rand(1e6)} ${words[rand(2)]} ${words[2 + rand(2)]}/${rand(100000)} ${words[4 + rand(3)]} ${rand(900)}${words[7]} ${words[8 + rand(2)]} ${words[10 + rand(2)]}\n`;
    at += encoder.encodeInto(line, out.subarray(at)).written;
  }
  return out;
}

interface Run {
  ms: number;
  maxLagMs: number;
  results: tasks.Packed[];
}

/**
 * Runs `work` while a timer that wants to fire every RESOLUTION ms records how
 * long it really waited; the lag is the wait beyond RESOLUTION.
 */
async function measured(work: () => Promise<tasks.Packed[]>): Promise<Run> {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION });
  delay.enable();
  const t = performance.now();
  const results = await work();
  const ms = performance.now() - t;
  delay.disable();
  return { ms, maxLagMs: Math.max(0, delay.max / 1e6 - RESOLUTION), results };
}

const chunks = Array.from({ length: CHUNKS }, (_, i) => generate(i));
const mib = ((CHUNKS * CHUNK_BYTES) / 2 ** 20).toFixed(0);
// One CPU stays with this thread, so the OS never has to make it wait for one.
const threads = Math.max(1, availableParallelism() - 1);
const pool = createPool<typeof tasks>(new URL('./offload-tasks.ts', import.meta.url), { minThreads: threads, maxThreads: threads });
// Every thread is up before the clock starts.
await Promise.all(Array.from({ length: threads }, () => pool.api.pack(new Uint8Array(1))));

// 1. On the main thread, yielding between chunks as a careful server would: the loop still
//    stalls for as long as one chunk takes.
const onMain = await measured(async () => {
  const out: tasks.Packed[] = [];
  for (const chunk of chunks) {
    out.push(tasks.pack(chunk));
    await yieldToLoop();
  }
  return out;
});

// 2. On the pool: each chunk's memory moves to a thread (transfer, no copy); this thread only waits.
const onPool = await measured(() => Promise.all(chunks.map((c) => pool.api.pack(transfer(c, [c.buffer])))));
await pool.close();

const same = onMain.results.every((r, i) => r.sha256 === onPool.results[i]!.sha256);
const ratio = onMain.results.reduce((n, r) => n + r.bytes, 0) / (CHUNKS * CHUNK_BYTES);
const row = (label: string, r: Run): string =>
  `${label.padEnd(18)} ${r.ms.toFixed(0).padStart(5)} ms, max event-loop lag ${r.maxLagMs.toFixed(1).padStart(5)} ms`;

console.log(`gzip -9 + sha256 of ${mib} MiB in ${CHUNKS} chunks (compressed to ${(ratio * 100).toFixed(0)}%)\n`);
console.log(row('main thread:', onMain));
console.log(row(`pool (${threads} thread${threads === 1 ? '' : 's'}):`, onPool));
console.log(`\nsame results both ways: ${same ? 'yes' : 'NO'}`);
if (!same) process.exitCode = 1;
