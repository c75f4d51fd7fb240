// Run with: npx tsx examples/tracing/main.ts
// One trace across three places: this caller, a server it connects to over a
// Unix socket, and a worker thread the server calls. Each records spans from
// farcall's tracing channels (see otel.ts); the trace context rides in the
// call metadata, so the three sets of spans join into one tree.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, listen, startWorker, wrap } from 'farcall';
import { installTracing, type SpanRecord } from './otel.ts';

type WorkerApi = { double(n: number): number; spans(): SpanRecord[] };

// The caller and the server share this process here, so one tracer records both;
// in production each is its own service with its own exporter.
const tracing = installTracing('this process');

const worker = startWorker(new URL('./worker.ts', import.meta.url));
const inWorker = wrap<WorkerApi>(worker);

const dir = mkdtempSync(join(tmpdir(), 'farcall-tracing-'));
const server = await listen(
  {
    // The server calls on: that call is a child of the server span, and carries the trace on.
    async quadruple(n: number) {
      return 2 * (await inWorker.double(n));
    },
  },
  join(dir, 'app.sock'),
);
const conn = await connect<{ quadruple(n: number): number }>(server.address as string);

console.log('quadruple(5) =', await conn.api.quadruple(5));

const workerSpans = await inWorker.spans();
const all = [...tracing.spans(), ...workerSpans].filter((s) => !s.name.endsWith(' spans'));
const traces = new Set(all.map((s) => s.traceId));
console.log(`${all.length} spans in ${traces.size} trace${traces.size === 1 ? '' : 's'}:`);
const print = (parent: string | undefined, depth: number): void => {
  for (const s of all.filter((x) => x.parentSpanId === parent)) {
    console.log(`${'  '.repeat(depth)}${s.name} (${s.where})`);
    print(s.spanId, depth + 1);
  }
};
print(undefined, 1);

await conn.close();
await server.close();
await worker.terminate();
rmSync(dir, { recursive: true, force: true });
