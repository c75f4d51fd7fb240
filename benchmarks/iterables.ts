// Issue bars for streams (async iterables): small items over a worker beside the raw mechanisms Node
// gives (a ReadableStream transferred over a MessagePort, one postMessage per item with no flow
// control), and over a Unix socket; 64 KiB chunks over a Unix socket beside a raw stream.pipeline copy.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as farcallSource from 'farcall';
import { figure, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { drain, drainBytes } from '../src/bench/stream-rows.ts';
import { startThread } from '../src/pool/thread.ts';
import { table, type Row } from './table.ts';

type Api = typeof import('./workers/api.ts');

/** farcall from its build when there is one, as users run it (see core.ts). */
const here = (p: string): URL => new URL(p, import.meta.url);
const built = existsSync(fileURLToPath(here('../dist/index.js')));
const { connect, wrap }: typeof farcallSource = built ? await import(here('../dist/index.js').href) : farcallSource;
const progress = (what: string): void => void process.stderr.write(`  measuring ${what}…\n`);
const dir = mkdtempSync(join(tmpdir(), 'farcall-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs each of `runs` (which return the items or bytes they moved)
 * `warmups` times to warm up, then `rounds` times, taking turns, so that a
 * machine busy with something else slows all of them alike; a figure of
 * rates per run.
 */
async function rates<K extends string>(unit: 'items/s' | 'MiB/s', rounds: number, runs: Record<K, () => Promise<number>>, warmups = 1): Promise<Record<K, Figure>> {
  const names = Object.keys(runs) as K[];
  const got = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = -warmups; r < rounds; r++) {
    for (const k of names) {
      const t = performance.now();
      const moved = await runs[k]();
      const s = (performance.now() - t) / 1000;
      if (r >= 0) got[k].push(unit === 'MiB/s' ? moved / (1 << 20) / s : moved / s);
    }
  }
  return Object.fromEntries(names.map((k) => [k, figure(got[k], unit)])) as Record<K, Figure>;
}

/** The raw worker: `n` items posted one by one, or sent as a transferred ReadableStream. */
function rawWorker(): { run(mode: 'post' | 'stream', kind: 'number' | 'record', n: number): Promise<number>; stop(): Promise<number> } {
  const w = new Worker(here('./workers/iterables-raw.mjs'));
  let onMessage: ((data: unknown) => void) | undefined;
  w.on('message', (d) => onMessage!(d));
  return {
    run: (mode, kind, n) =>
      new Promise((resolve) => {
        let got = 0;
        onMessage =
          mode === 'post'
            ? () => {
                if (++got === n) resolve(n);
              }
            : (rs) => void drain(rs as ReadableStream).then(resolve);
        w.postMessage({ mode, kind, n });
      }),
    stop: () => w.terminate(),
  };
}

async function startServer(args: string[], path: string): Promise<ChildProcess> {
  const child = spawnProcess(process.execPath, [...args, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

/** Bytes read from the raw pipeline server for `n` chunks of `size`. */
async function rawCopy(path: string, n: number, size: number): Promise<number> {
  const sock = net.connect(path);
  await once(sock, 'connect');
  sock.write(`${n} ${size}\n`);
  let bytes = 0;
  for await (const c of sock) bytes += (c as Buffer).byteLength;
  return bytes;
}

export async function iterables(o: MeasureOptions = {}): Promise<string> {
  const rounds = o.rounds ?? 5;
  const rows: Row[] = [];
  const N = 1_000_000;

  progress('streams over a worker');
  const raw = rawWorker();
  const w = built ? new Worker(here('./workers/farcall-streams-worker.mjs')) : startThread(here('./workers/farcall-worker.ts'));
  const api = wrap<Api>(w);
  for (const kind of ['number', 'record'] as const) {
    const what = `worker: stream of small items (${kind === 'number' ? 'a number' : 'a 100-byte object'})`;
    const { stream, post, fc } = await rates('items/s', rounds, {
      stream: () => raw.run('stream', kind, 5000),
      post: () => raw.run('post', kind, 200_000),
      fc: async () => drain(await (kind === 'number' ? api.numbers(N) : api.records(N))),
    });
    rows.push({ what, who: 'ReadableStream transferred over a MessagePort', figure: stream, lowerIsBetter: false });
    rows.push({ what, who: 'one postMessage per item, no flow control', figure: post, lowerIsBetter: false });
    rows.push({ what, who: 'farcall, window 1,000', figure: fc, base: post, lowerIsBetter: false });
  }
  await Promise.all([w.terminate(), raw.stop()]);

  progress('streams over a unix socket');
  const pipePath = join(dir, 'pipe.sock');
  const pipeServer = await startServer([fileURLToPath(here('./workers/pipe-server.mjs'))], pipePath);
  const CHUNKS = 4096;
  const SIZE = 64 * 1024;
  const fcPath = join(dir, 'fc.sock');
  const serverArgs = built
    ? [fileURLToPath(here('./workers/farcall-server.mjs'))]
    : ['--import', 'tsx', fileURLToPath(here('./workers/farcall-server.ts'))];
  const fcServer = await startServer(serverArgs, fcPath);
  const conn = await connect<Api>(fcPath);
  // Four rounds to warm up: farcall's stream of fresh 64 KiB buffers kept speeding up over its first
  // gigabyte or so between two long-lived processes (540 -> 1,640 MiB/s over six rounds of 256 MiB);
  // the raw copy gets as many.
  const { copy, fcChunks } = await rates(
    'MiB/s',
    rounds,
    {
      copy: () => rawCopy(pipePath, CHUNKS, SIZE),
      fcChunks: async () => drainBytes(await conn.api.chunks(CHUNKS, SIZE)),
    },
    4,
  );
  const { fcNumbers, fcRecords } = await rates('items/s', rounds, {
    fcNumbers: async () => drain(await conn.api.numbers(N)),
    fcRecords: async () => drain(await conn.api.records(N / 2)),
  });
  await conn.close();
  fcServer.kill();
  pipeServer.kill();
  const chunkWhat = 'unix socket: stream of 64 KiB chunks';
  rows.push({ what: chunkWhat, who: 'raw stream.pipeline socket copy', figure: copy, lowerIsBetter: false });
  rows.push({ what: chunkWhat, who: 'farcall, transferred chunks', figure: fcChunks, base: copy, lowerIsBetter: false });
  rows.push({ what: 'unix socket: stream of small items (a number)', who: 'farcall, window 1,000', figure: fcNumbers, lowerIsBetter: false });
  rows.push({ what: 'unix socket: stream of small items (a 100-byte object)', who: 'farcall, window 1,000', figure: fcRecords, lowerIsBetter: false });

  return (
    table('Streams (async iterables): farcall beside the raw mechanisms', rows) +
    `\nfarcall from ${built ? 'the build in dist/' : 'the TypeScript sources under tsx'}; each figure the median of ${rounds} rounds after a warm-up (four rounds for the 64 KiB chunks), the rounds of the figures compared taking turns.\n`
  );
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await iterables());
