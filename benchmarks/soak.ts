// The long soak: `npx tsx --expose-gc benchmarks/soak.ts [minutes] [warm-up minutes]` (default 10, 5).
// Mixed load on a worker, a child process, a Unix socket and TCP (with clients coming and going),
// sampling heap after GC, RSS and open descriptors every 5 s; prints the first minute, the first
// minute after the warm-up and the last minute side by side. The encoder's trie of key sequences
// fills with the soak's random keys and starts over at 4,096 nodes (every minute or two here), so
// the heap saws up and down by a MiB or two around a flat line; with a cap of 16,384 it climbed for
// the first 5-8 minutes before it did.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mean, soak } from '../test/security/soak.ts';

const minutes = Number(process.argv[2] ?? 10);
const warmup = Math.min(Number(process.argv[3] ?? 5), minutes - 1);
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'farcall-soak-'));
const r = await soak(dir, minutes * 60, 5, (s) =>
  console.log(`${s.s} s: heap after GC ${(s.heap / MiB).toFixed(1)} MiB, rss ${(s.rss / MiB).toFixed(0)} MiB, ${s.fds} open descriptors`),
);
rmSync(dir, { recursive: true, force: true });
const end = r.samples.at(-1)!.s;
const change = (from: number, to: number): string => `${(((to - from) / from) * 100).toFixed(1)} %`;
const row = (name: string, key: 'heap' | 'rss' | 'fds', unit: number, digits: number): string => {
  const first = mean(r.samples, key, 0, 60) / unit;
  const warm = mean(r.samples, key, warmup * 60, warmup * 60 + 60) / unit;
  const last = mean(r.samples, key, end - 60, end) / unit;
  return `| ${name} | ${first.toFixed(digits)} | ${warm.toFixed(digits)} | ${last.toFixed(digits)} | ${change(first, last)} | ${change(warm, last)} |`;
};
console.log(`
${r.calls} calls in ${minutes} min, ${r.failures.length} failed

| | first minute | minute ${warmup + 1} | last minute | change | change after warm-up |
| --- | --- | --- | --- | --- | --- |
${row('heap after GC (MiB)', 'heap', MiB, 1)}
${row('RSS (MiB)', 'rss', MiB, 0)}
${row('open descriptors', 'fds', 1, 1)}`);
for (const e of r.failures.slice(0, 5)) console.log(e);
process.exit(r.failures.length > 0 ? 1 : 0);
