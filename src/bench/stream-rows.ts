/**
 * The stream rows of `farcall bench`: a stream of small items over each
 * transport beside the raw mechanism sending one message per item (no flow
 * control), and 64 KiB chunks over a Unix socket beside a raw
 * stream.pipeline socket copy. Each round moves about `time` ms of data.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { connect, spawn, wrap } from '../index.ts';
import { startThread } from '../pool/thread.ts';
import { figure, type Figure, type MeasureOptions } from './measure.ts';
import { MAX_MESSAGE, ended, helper, serverProcess, type BenchApi } from './subjects.ts';

export interface StreamRow {
  /** What moves: "worker port: a number per item". */
  what: string;
  who: string;
  role: 'raw' | 'farcall';
  figure: Figure;
}

export interface StreamResults {
  rows: StreamRow[];
  /** The run failed (and how); rows measured before the failure are kept. */
  error?: string;
}

/** Rates the rows assume, to size a round to about `time` ms (a slower machine takes longer rounds). */
const ITEMS_PER_MS = 2000;
const CHUNKS_PER_MS = 8;
const CHUNK = 64 * 1024;
/** Node IPC moves a message per item some forty times slower than that: its rounds carry fewer. */
const IPC_SHARE = 40;

type Run = () => Promise<number>;

/**
 * Runs each of `runs` (which return the items or bytes they moved) once to
 * warm up, then `rounds` times, taking turns, so that other work on the
 * machine slows them alike; a figure of rates per run.
 */
async function rates(unit: 'items/s' | 'MiB/s', rounds: number, runs: Run[]): Promise<Figure[]> {
  const got = runs.map(() => [] as number[]);
  for (let r = -1; r < rounds; r++) {
    for (const [i, run] of runs.entries()) {
      const t = performance.now();
      const moved = await run();
      const s = (performance.now() - t) / 1000;
      if (r >= 0) got[i]!.push(unit === 'MiB/s' ? moved / (1 << 20) / s : moved / s);
    }
  }
  return got.map((g) => figure(g, unit));
}

/** How many items `it` yields, read to its end. */
export async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

/** How many bytes the chunks of `it` hold, read to its end. */
export async function drainBytes(it: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const c of it) bytes += c.byteLength;
  return bytes;
}

/** Resolves with `n` once `n` messages arrived from `from`. */
function counted(from: { on(e: 'message', f: () => void): unknown; off(e: 'message', f: () => void): unknown }, n: number, send: () => void): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const on = (): void => {
      if (++got < n) return;
      from.off('message', on);
      resolve(n);
    };
    from.on('message', on);
    send();
  });
}

/** Bytes read from the raw copy server at `address` for `request`. */
async function rawCopy(address: string | { host: string; port: number }, request: string): Promise<number> {
  const sock = typeof address === 'string' ? net.connect(address) : net.connect(address.port, address.host);
  await once(sock, 'connect');
  sock.write(request + '\n');
  let bytes = 0;
  for await (const c of sock) bytes += (c as Buffer).byteLength;
  return bytes;
}

export async function measureStreams(o: MeasureOptions, dir: string): Promise<StreamResults> {
  const { rounds = 5, time = 300 } = o;
  const items = Math.max(1000, Math.round(time * ITEMS_PER_MS));
  const chunks = Math.max(16, Math.round(time * CHUNKS_PER_MS));
  const rows: StreamRow[] = [];
  const stops: Array<() => Promise<unknown>> = [];
  const pair = (what: string, raw: string, figures: Figure[]): void => {
    rows.push({ what, who: raw, role: 'raw', figure: figures[0]! }, { what, who: 'farcall', role: 'farcall', figure: figures[1]! });
  };
  try {
    const raw = startThread(helper('raw-worker'));
    const w = startThread(helper('farcall-worker'));
    stops.push(() => raw.terminate(), () => w.terminate());
    const api = wrap<BenchApi>(w);
    pair(
      'worker port: a number per item',
      'one postMessage per item, no flow control',
      await rates('items/s', rounds, [() => counted(raw, items, () => raw.postMessage({ items })), async () => drain(await api.numbers(items))]),
    );

    const ipc = fork(helper('ipc-echo'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    stops.push(async () => (ipc.disconnect(), ended(ipc)));
    const child = await spawn<BenchApi>(helper('api'));
    stops.push(() => child.close());
    pair(
      'child pipe: a number per item',
      'Node IPC (advanced), one message per item',
      await rates('items/s', rounds, [
        () => counted(ipc, Math.ceil(items / IPC_SHARE), () => ipc.send({ items: Math.ceil(items / IPC_SHARE) })),
        async () => drain(await child.api.numbers(items)),
      ]),
    );

    for (const transport of ['unix', 'tcp'] as const) {
      const where = (name: string): string => (transport === 'tcp' ? 'tcp' : join(dir, `${name}.sock`));
      const copy = await serverProcess('copy', where('stream-copy'));
      stops.push(() => copy.stop());
      const server = await serverProcess('farcall', where('stream-farcall'));
      stops.push(() => server.stop());
      const conn = await connect<BenchApi>(server.address, { maxMessageSize: MAX_MESSAGE });
      stops.push(() => conn.close());
      const address = copy.address as string | { host: string; port: number };
      const label = transport === 'unix' ? 'Unix socket' : 'TCP loopback';
      // The raw copy moves lines of text: its rate is lines per second.
      const lines: Run = async () => ((await rawCopy(address, `items ${items}`)) > 0 ? items : 0);
      pair(`${label}: a number per item`, 'raw stream.pipeline of a line per item', await rates('items/s', rounds, [lines, async () => drain(await conn.api.numbers(items))]));
      if (transport === 'unix') {
        pair(
          'Unix socket: 64 KiB chunks',
          'raw stream.pipeline socket copy',
          await rates('MiB/s', rounds, [() => rawCopy(address, `chunks ${chunks} ${CHUNK}`), async () => drainBytes(await conn.api.chunks(chunks, CHUNK))]),
        );
      }
    }
    return { rows };
  } catch (err) {
    return { rows, error: (err instanceof Error ? err.message : String(err)).split('\n')[0]! };
  } finally {
    await Promise.all(stops.reverse().map((stop) => stop().catch(() => {})));
  }
}
