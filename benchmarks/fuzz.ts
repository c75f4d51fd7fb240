// The long fuzz run: `npx tsx --expose-gc benchmarks/fuzz.ts [frames] [seed]` (default 1,000,000
// frames). Random, mutated and crafted frames against a real listen() server while a well-behaved
// client calls it beside them; then the codecs alone. Prints progress and a summary; exits 1 on
// any crash or failed good call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzCodec, fuzzServer } from '../test/security/fuzz.ts';

const frames = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 20261204);
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'farcall-fuzz-'));
let last = 0;
const result = await fuzzServer(join(dir, 'fuzz.sock'), seed, frames, Infinity, (r) => {
  if (r.frames - last < 50_000) return;
  last = r.frames;
  console.log(`${r.frames} frames, ${r.connections} connections, ${(r.ms / 1000).toFixed(0)} s, good calls ${r.goodCalls} (${r.goodFailures.length} failed), heap ${(process.memoryUsage().heapUsed / MiB).toFixed(0)} MiB, rss ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`);
});
rmSync(dir, { recursive: true, force: true });
const codecCases = Math.min(frames, 200_000);
const codecStart = performance.now();
const odd = fuzzCodec(seed, codecCases);
console.log(`
| seed | frames to the server | connections | time | crashes | good calls | failed good calls | peak heap | codec cases | codec errors other than ProtocolError |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| ${seed} | ${result.frames} | ${result.connections} | ${(result.ms / 1000).toFixed(0)} s | ${result.crashes.length} | ${result.goodCalls} | ${result.goodFailures.length} | ${(result.peakHeap / MiB).toFixed(0)} MiB | ${codecCases} (${((performance.now() - codecStart) / 1000).toFixed(0)} s) | ${odd.length} |`);
for (const e of [...result.crashes, ...result.goodFailures, ...odd].slice(0, 10)) console.log(e);
process.exit(result.crashes.length + result.goodFailures.length + odd.length > 0 ? 1 : 0);
