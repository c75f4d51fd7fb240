// Run with: npx tsx examples/worker/main.ts
import { randomBytes } from 'node:crypto';
import { proxy, releaseProxy, startWorker, transfer, wrap } from 'farcall';
import type { math } from './math.ts';

const worker = startWorker(new URL('./math.worker.js', import.meta.url));
const remote = wrap<typeof math>(worker);

console.log('add(1, 2) =', await remote.add(1, 2));

const buf = randomBytes(1 << 20).buffer;
const hex = await remote.digest(transfer(buf, [buf]));
console.log(`digest = ${hex.slice(0, 16)}…; the buffer moved, so here it is ${buf.byteLength} bytes`);

await remote.watch(proxy((n: number) => console.log('tick', n)), 3);

try {
  await remote.divide(1, 0);
} catch (err) {
  const e = err as RangeError & { code: string };
  console.log(`caught ${e.name} (${e.code}): ${e.message}`);
}

remote[releaseProxy]();
await worker.terminate();
