// Decode bombs against a listen() server at its default limits: `npx tsx benchmarks/bombs.ts [MiB]`
// (default 63, just under maxMessageSize). Each body is the cheapest bytes for the most heap;
// prints the server's peak heap and its longest event-loop block while it takes each one in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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
console.log('| bomb | body | reply | peak heap | longest event-loop block | CPU |\n| --- | --- | --- | --- | --- | --- |');
const kinds: Array<BombKind | 'v8 maps'> = ['map', 'set', 'object', 'array', 'int', 'v8 maps'];
for (const kind of kinds) {
  const body = kind === 'v8 maps' ? v8ArrayOfMaps(Math.floor((size - 16) / 3)) : compactBomb(kind, size, 1);
  const frame = encodeFrame(body, []);
  globalThis.gc?.();
  const client = await RawClient.open(server.address as string);
  await client.greet();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  let peak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
  delay.enable();
  const cpu = process.cpuUsage();
  for (const chunk of frame) client.write(chunk);
  const reply = await Promise.race([client.next(120_000).then((m) => JSON.stringify(m).slice(0, 60)), client.closed.then(() => `closed: ${errors.at(-1)?.slice(0, 60)}`)]);
  const used = process.cpuUsage(cpu);
  delay.disable();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  if ((await good.api.add(1, 2)) !== 3) throw new Error('the good client was not served');
  console.log(`| ${kind} | ${(body.length / MiB).toFixed(1)} MiB | ${reply} | ${(peak / MiB).toFixed(0)} MiB | ${(delay.max / 1e6).toFixed(0)} ms | ${((used.user + used.system) / 1000).toFixed(0)} ms |`);
  client.destroy();
}
await good.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
