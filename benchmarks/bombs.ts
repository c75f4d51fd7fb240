// Decode bombs against a listen() server at its default limits: `npx tsx benchmarks/bombs.ts [MiB]`
// (default 63, just under maxMessageSize). Each body is the cheapest bytes for the most heap;
// prints the server's peak heap and its longest event-loop block while it takes each one in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { encodeFrame } from '../src/framing.ts';
import { connect, listen } from '../src/index.ts';
import { compactBomb, type BombKind } from '../test/security/bombs.ts';
import { v8ArrayOfMaps } from '../test/security/fuzz.ts';
import { RawClient } from '../test/streams/helpers.ts';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 63) * MiB;
const dir = mkdtempSync(join(tmpdir(), 'farcall-bombs-'));
const server = await listen({ f: (a: unknown) => (Array.isArray(a) ? a.length : 0), add: (a: number, b: number) => a + b }, join(dir, 'b.sock'));
const errors: string[] = [];
server.on('clientError', (e) => errors.push(e.message));
const good = await connect<{ add(a: number, b: number): number }>(server.address);
console.log('| bomb | body | reply | peak heap | longest event-loop block | most CPU between ticks | CPU |\n| --- | --- | --- | --- | --- | --- | --- |');
const all: Array<BombKind | 'v8 maps'> = ['map', 'set', 'object', 'array', 'int', 'v8 maps'];
const kinds = process.argv[3] ? all.filter((k) => process.argv[3]!.split(',').includes(k)) : all;
for (const kind of kinds) {
  const body = kind === 'v8 maps' ? v8ArrayOfMaps(Math.floor((size - 16) / 3)) : compactBomb(kind, size, 1);
  const frame = encodeFrame(body, []);
  globalThis.gc?.();
  const client = await RawClient.open(server.address as string);
  await client.greet();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  // Not process.memoryUsage(), which also reads the RSS: sampled every 5 ms, that cost ~1 ms a time.
  const heap = (): number => getHeapStatistics().used_heap_size;
  let peak = heap();
  const sampler = setInterval(() => (peak = Math.max(peak, heap())), 5);
  delay.enable();
  const cpu = process.cpuUsage();
  // Under load from other processes a timer is also late while this one waits for a CPU; the CPU
  // this process used between two 1 ms ticks is what the loop itself spent.
  let lastCpu = process.cpuUsage();
  let worstCpu = 0;
  const ticker = setInterval(() => {
    const c = process.cpuUsage(lastCpu);
    worstCpu = Math.max(worstCpu, c.user + c.system);
    lastCpu = process.cpuUsage();
  }, 1);
  for (const chunk of frame) client.write(chunk);
  const reply = await Promise.race([client.next(120_000).then((m) => JSON.stringify(m).slice(0, 60)), client.closed.then(() => `closed: ${errors.at(-1)?.slice(0, 60)}`)]);
  const used = process.cpuUsage(cpu);
  delay.disable();
  clearInterval(sampler);
  clearInterval(ticker);
  peak = Math.max(peak, heap());
  if ((await good.api.add(1, 2)) !== 3) throw new Error('the good client was not served');
  console.log(`| ${kind} | ${(body.length / MiB).toFixed(1)} MiB | ${reply} | ${(peak / MiB).toFixed(0)} MiB | ${(delay.max / 1e6).toFixed(0)} ms | ${(worstCpu / 1000).toFixed(0)} ms | ${((used.user + used.system) / 1000).toFixed(0)} ms |`);
  client.destroy();
}
await good.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
// A refused call's reply wait (client.next) holds a timer; the run is over.
process.exit(0);
