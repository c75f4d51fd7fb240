// Services by name, in one command: npx tsx examples/services/demo.ts
// Starts the 'thumbs' service twice, and a client that keeps calling it by name while
// one instance is killed (SIGKILL: no goodbye) and the other is restarted gracefully.
// It prints what the client saw: which instances served, and no failed call.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'farcall';
import type { thumbs } from './thumbs.ts';

// A registry of our own, so the demo does not meet thumbs instances you started yourself.
const registry = mkdtempSync(join(tmpdir(), 'farcall-demo-'));
process.env.FARCALL_REGISTRY_DIR = registry;

async function start(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./thumbs.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  console.log(`started: ${line.toString().trim()}`);
  return child;
}

async function stop(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
  console.log(`${signal === 'SIGKILL' ? 'killed' : 'stopped'}: pid ${child.pid}`);
}

let a = await start();
const b = await start();

// resize may safely run twice: if its instance dies mid-call, it is retried on another.
const conn = await connect<typeof thumbs>({ service: 'thumbs', version: '^1.4', idempotent: ['resize'] });
console.log(`client: found ${conn.instances.length} instances of thumbs`);
conn.on('instanceAdded', (i) => console.log(`client: instance ${i.id} (pid ${i.pid}) joined`));
conn.on('drain', (i) => console.log(`client: instance ${i.id} (pid ${i.pid}) is draining`));
conn.on('disconnect', (_cause, i) => console.log(`client: lost instance ${i.id} (pid ${i.pid})`));

const servedBy = new Map<number, number>();
let calls = 0;
let failed = 0;
let running = true;
const caller = async (): Promise<void> => {
  while (running) {
    try {
      const { by } = await conn.api.resize(200);
      servedBy.set(by, (servedBy.get(by) ?? 0) + 1);
      calls++;
    } catch (err) {
      failed++;
      console.log(`client: a call failed: ${(err as Error).message}`);
    }
  }
};
const callers = Array.from({ length: 20 }, caller);
const callsReach = async (n: number): Promise<void> => {
  while (calls < n) await new Promise((r) => setTimeout(r, 10));
};

await callsReach(200);
await stop(b, 'SIGKILL');
const c = await start();
await callsReach(calls + 200);
await stop(a, 'SIGTERM');
a = await start();
await callsReach(calls + 200);

running = false;
await Promise.all(callers);
await conn.close();
console.log(`\n${calls} calls, ${failed} failed; served by:`);
for (const [pid, n] of servedBy) console.log(`  pid ${pid}: ${n} calls`);
await Promise.all([stop(a, 'SIGTERM'), stop(c, 'SIGTERM')]);
rmSync(registry, { recursive: true, force: true });
