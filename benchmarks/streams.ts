// Issue bars for byte streams: a child process beside Node's IPC channel, a Unix
// socket beside a raw framed echo, big payloads, and the codec beside v8.serialize.
import { fork, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { Packr } from 'msgpackr';
import * as farcallSource from 'farcall';
import * as codecSource from '../src/codec/binary.ts';
import { figure, latency, throughput, type Figure, type MeasureOptions } from '../src/bench/measure.ts';
import { runPinned } from '../src/bench/pinned.ts';
import { table, type Row } from './table.ts';

type Api = typeof import('./workers/api.ts');

/** farcall from its build when there is one, as users run it (see core.ts); the table says which. */
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
const { connect, spawn, transfer }: typeof farcallSource = built ? await import(new URL('../dist/index.js', import.meta.url).href) : farcallSource;
const { decodeMessage, encodeMessage }: typeof codecSource = built ? await import(new URL('../dist/codec/binary.js', import.meta.url).href) : codecSource;
const apiModule = new URL(built ? './workers/api.mjs' : './workers/api.ts', import.meta.url);
const serverCommand = (): string[] =>
  built ? [fileURLToPath(new URL('./workers/farcall-server.mjs', import.meta.url))] : ['--import', 'tsx', fileURLToPath(new URL('./workers/farcall-server.ts', import.meta.url))];
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
/** Progress on stderr, so stdout stays the tables. */
const progress = (what: string): void => void process.stderr.write(`  measuring ${what}…\n`);
const dir = mkdtempSync(join(tmpdir(), 'farcall-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function ipcEcho(serialization: 'json' | 'advanced'): { call: () => Promise<unknown>; stop(): void } {
  const child = fork(here('./workers/ipc-child.mjs'), { serialization, execArgv: [] });
  const pending = new Map<number, (v: unknown) => void>();
  child.on('message', (m: { i: number }) => {
    const r = pending.get(m.i)!;
    pending.delete(m.i);
    r(m);
  });
  let id = 0;
  return {
    call: () =>
      new Promise((r) => {
        const i = id++;
        pending.set(i, r);
        child.send({ i, a: [1, 2] });
      }),
    stop: () => child.kill(),
  };
}

async function startServer(cmd: string[], path: string): Promise<ChildProcess> {
  const child = spawnProcess(process.execPath, [...cmd, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

/** A raw client for the framed echo: 4-byte length + body, replies matched in order, one writev per tick. */
async function rawFramedClient(path: string): Promise<{ call: (body: Uint8Array) => Promise<unknown>; stop(): void }> {
  const sock = net.connect(path);
  await once(sock, 'connect');
  sock.setNoDelay(true);
  const waiting: Array<(v: unknown) => void> = [];
  // Chunks are kept until a whole frame is there, so a 64 MiB reply is joined once, not per chunk.
  let chunks: Buffer[] = [];
  let have = 0;
  let need = -1;
  sock.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need < 0 && have >= 4) need = 4 + (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).readUInt32LE(0);
      if (need < 0 || have < need) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      waiting.shift()!(all.subarray(4, need));
      const rest = all.subarray(need);
      chunks = rest.length ? [rest] : [];
      have = rest.length;
      need = -1;
    }
  });
  let queued: Uint8Array[] = [];
  const flush = (): void => {
    const q = queued;
    queued = [];
    sock.cork();
    for (const c of q) sock.write(c);
    sock.uncork();
  };
  return {
    call: (body) =>
      new Promise((r) => {
        waiting.push(r);
        const head = Buffer.allocUnsafe(4);
        head.writeUInt32LE(body.byteLength, 0);
        if (queued.length === 0) queueMicrotask(flush);
        queued.push(head, body);
      }),
    stop: () => sock.destroy(),
  };
}

const small = serialize({ i: 1, a: [1, 2] });

async function socketRoundTrips(o: MeasureOptions): Promise<Record<string, Figure>> {
  const rawServer = await startServer([here('./workers/raw-echo-server.mjs')], join(dir, `raw-${process.pid}.sock`));
  const raw = await rawFramedClient(join(dir, `raw-${process.pid}.sock`));
  const rawL = (await latency(() => raw.call(small), o)).p50;
  raw.stop();
  rawServer.kill();
  const fcPath = join(dir, `fc-${process.pid}.sock`);
  const fcServer = await startServer(serverCommand(), fcPath);
  const conn = await connect<Api>(fcPath, { maxMessageSize: 128 << 20 });
  const fcL = (await latency(() => conn.api.add(1, 2), o)).p50;
  await conn.close();
  fcServer.kill();
  return { 'raw framed echo': rawL, farcall: fcL };
}

function codecRows(o: MeasureOptions): Row[] {
  const bytes = new Uint8Array(4096).fill(7);
  const value = {
    t: 0,
    i: 12345,
    p: ['store', 'put'],
    a: [
      'a representative message',
      42.5,
      Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}`, ok: i % 2 === 0 })),
      new Map([['k1', 1], ['k2', 2]]),
      new Date(0),
      bytes,
    ],
  };
  const time = o.time ?? 300;
  const rate = (fn: () => void): Figure => {
    const rates: number[] = [];
    for (let r = 0; r < (o.rounds ?? 5); r++) {
      let n = 0;
      const end = performance.now() + time;
      const t = performance.now();
      while (performance.now() < end) {
        for (let k = 0; k < 20; k++) fn();
        n += 20;
      }
      rates.push(n / ((performance.now() - t) / 1000));
    }
    return figure(rates, 'calls/s');
  };
  const v8 = rate(() => deserialize(serialize(value)));
  const ours = rate(() => {
    const e = encodeMessage(value, undefined);
    decodeMessage(e.body, e.buffers);
  });
  // The same message with one value only ValueSerializer reproduces (a boxed number), to price that path.
  const withBoxed = { ...value, boxed: new Number(1) };
  const fallback = rate(() => {
    const e = encodeMessage(withBoxed, undefined);
    decodeMessage(e.body, e.buffers);
  });
  const packr = new Packr({ structuredClone: true, useRecords: false });
  const msgpack = rate(() => packr.unpack(packr.pack(value)));
  const what = 'codec: encode+decode of a representative message';
  return [
    { what, who: 'v8.serialize + v8.deserialize', figure: v8, lowerIsBetter: false },
    { what, who: 'msgpackr (structuredClone: true)', figure: msgpack, base: v8, lowerIsBetter: false },
    { what, who: 'farcall codec (compact path)', figure: ours, base: v8, lowerIsBetter: false },
    { what, who: 'farcall codec (ValueSerializer path)', figure: fallback, base: v8, lowerIsBetter: false },
  ];
}

export async function streams(o: MeasureOptions = {}): Promise<string> {
  const rows: Row[] = [];
  // Child process vs Node's IPC channel.
  const child = await spawn<Api>(apiModule, built ? { execArgv: [] } : {});
  progress('child process');
  const childT = await throughput(() => child.api.add(1, 2), 1000, o);
  const childL = (await latency(() => child.api.add(1, 2), o)).p50;
  await child.close();
  for (const ser of ['json', 'advanced'] as const) {
    progress(`Node IPC ${ser}`);
    const ipc = ipcEcho(ser);
    await ipc.call();
    const t = await throughput(ipc.call, 1000, o);
    const l = (await latency(ipc.call, o)).p50;
    ipc.stop();
    rows.push({ what: 'child: throughput, 1,000 in flight', who: `Node IPC ${ser}`, figure: t, lowerIsBetter: false });
    rows.push({ what: 'child: throughput, 1,000 in flight', who: 'farcall spawn()', figure: childT, base: t, lowerIsBetter: false });
    rows.push({ what: 'child: round trip p50', who: `Node IPC ${ser}`, figure: l, lowerIsBetter: true });
    rows.push({ what: 'child: round trip p50', who: 'farcall spawn()', figure: childL, base: l, lowerIsBetter: true });
  }

  // Unix socket vs a raw framed echo.
  progress('unix socket, pinned');
  const pinned = (await runPinned(fileURLToPath(import.meta.url), ['--pinned-part'])) as Record<string, Figure> | undefined;
  if (pinned) {
    rows.push({ what: 'unix socket: round trip p50, pinned', who: 'raw framed echo', figure: pinned['raw framed echo']!, lowerIsBetter: true });
    rows.push({ what: 'unix socket: round trip p50, pinned', who: 'farcall', figure: pinned['farcall']!, base: pinned['raw framed echo'], lowerIsBetter: true });
  }
  progress('raw framed echo');
  const rawPath = join(dir, 'raw.sock');
  const rawServer = await startServer([here('./workers/raw-echo-server.mjs')], rawPath);
  const raw = await rawFramedClient(rawPath);
  const rawL = (await latency(() => raw.call(small), o)).p50;
  const rawT = await throughput(() => raw.call(small), 1000, o);
  const mib = new Uint8Array(1 << 20);
  const rawMiB = (await latency(() => raw.call(mib), { ...o, rounds: 3 })).p50;
  const big = new Uint8Array(64 << 20);
  const rawBig = (await latency(() => raw.call(big), { rounds: 3, time: 1, warmup: 1 })).p50;
  raw.stop();
  rawServer.kill();
  progress('farcall socket');
  const fcPath = join(dir, 'fc.sock');
  const fcServer = await startServer(serverCommand(), fcPath);
  const conn = await connect<Api>(fcPath, { maxMessageSize: 128 << 20 });
  const fcL = (await latency(() => conn.api.add(1, 2), o)).p50;
  const fcT = await throughput(() => conn.api.add(1, 2), 1000, o);
  const fcMiB = (await latency(() => conn.api.echo(mib), { ...o, rounds: 3 })).p50;
  const fcBig = (await latency(() => conn.api.echo(big), { rounds: 3, time: 1, warmup: 1 })).p50;
  // The buffer goes back and forth, as a user moving one buffer through a service would do: each call
  // sends the buffer the last one returned, so no call pays for allocating (and zeroing) 64 MiB.
  let moving = new ArrayBuffer(64 << 20);
  const fcBigT = (
    await latency(
      async () => {
        moving = await conn.api.echoMoved(transfer(moving, [moving]));
      },
      { rounds: 3, time: 1, warmup: 1 },
    )
  ).p50;
  await conn.close();
  fcServer.kill();
  rows.push({ what: 'unix socket: round trip p50, unpinned', who: 'raw framed echo', figure: rawL, lowerIsBetter: true });
  rows.push({ what: 'unix socket: round trip p50, unpinned', who: 'farcall', figure: fcL, base: rawL, lowerIsBetter: true });
  rows.push({ what: 'unix socket: throughput, 1,000 in flight', who: 'raw framed echo (writev per tick)', figure: rawT, lowerIsBetter: false });
  rows.push({ what: 'unix socket: throughput, 1,000 in flight', who: 'farcall', figure: fcT, base: rawT, lowerIsBetter: false });
  rows.push({ what: 'unix socket: 1 MiB round trip', who: 'raw framed echo', figure: rawMiB, lowerIsBetter: true });
  rows.push({ what: 'unix socket: 1 MiB round trip', who: 'farcall (copied)', figure: fcMiB, base: rawMiB, lowerIsBetter: true });
  rows.push({ what: 'unix socket: 64 MiB round trip', who: 'raw framed echo', figure: rawBig, lowerIsBetter: true });
  rows.push({ what: 'unix socket: 64 MiB round trip', who: 'farcall (copied)', figure: fcBig, base: rawBig, lowerIsBetter: true });
  rows.push({ what: 'unix socket: 64 MiB round trip', who: 'farcall (transferred, out of band)', figure: fcBigT, base: rawBig, lowerIsBetter: true });
  progress('codec');
  rows.push(...codecRows(o));
  return (
    table('Byte streams: child process, Unix socket, codec (ratio = row ÷ base; below 1 is faster for round trips)', rows) +
    `\nfarcall measured from ${built ? 'the build in dist/' : 'the TypeScript sources under tsx (run npm run build to measure the build)'}.\n`
  );
}

if (process.argv.includes('--pinned-part')) {
  console.log(JSON.stringify(await socketRoundTrips({})));
}
