/**
 * The streaming, cancellation and deadline part of the conformance API
 * (re-exported by api.ts, so every transport serves it).
 */
import { currentDeadline, currentSignal, transfer } from '../../src/index.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { servingPeer } from '../../src/rpc/peer.ts';

let finallies = 0;
let produced = 0;

/** `n` numbers from `from`; counts its finally. */
export async function* count(n: number, from = 0): AsyncGenerator<number> {
  try {
    for (let i = from; i < from + n; i++) {
      produced++;
      yield i;
    }
  } finally {
    finallies++;
  }
}

/** How many count() generators have run their finally. */
export function finallyCount(): number {
  return finallies;
}

/** Items count() has pulled so far, all streams together. */
export function producedCount(): number {
  return produced;
}

/** `n` records of about 100 bytes each, as objects. */
export async function* records(n: number): AsyncGenerator<{ id: number; name: string; tags: string[]; at: Date }> {
  for (let i = 0; i < n; i++) yield { id: i, name: `record ${i}`.padEnd(60, '.'), tags: ['a', 'b'], at: new Date(i) };
}

/** `n` buffers of `size` bytes filled with their index, transferred. */
export async function* buffers(n: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(size).fill(i & 0xff);
    produced++;
    yield transfer(b, [b.buffer]);
  }
}

/** A web ReadableStream of 0..n-1. */
export function readable(n: number): ReadableStream<number> {
  let i = 0;
  return new ReadableStream({ pull: (c) => (i < n ? c.enqueue(i++) : c.close()) });
}

/** Yields `n` items, then throws an error with a code and a cause. */
export async function* failAfter(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
  throw Object.assign(new RangeError('the stream broke', { cause: new Error('underneath') }), { code: 'E_STREAM' });
}

/** Yields one item, then waits for ever: for close and crash cases. */
export async function* oneThenHang(): AsyncGenerator<number> {
  yield 1;
  await new Promise(() => {});
}

/** Sums an async iterable argument. */
export async function sum(items: AsyncIterable<number>): Promise<number> {
  let s = 0;
  for await (const x of items) s += x;
  return s;
}

/** Total bytes of an async iterable of buffers, and whether every one arrived as a Uint8Array. */
export async function measure(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: number; chunks: number; typed: boolean }> {
  let bytes = 0;
  let n = 0;
  let typed = true;
  for await (const c of chunks) {
    bytes += c.byteLength;
    n++;
    typed &&= c instanceof Uint8Array;
  }
  return { bytes, chunks: n, typed };
}

/** Takes `n` items of an argument stream, then stops it by throwing `message` into it. */
export async function takeThenThrow(items: AsyncIterable<number>, n: number, message: string): Promise<number[]> {
  const it = items[Symbol.asyncIterator]();
  const got: number[] = [];
  while (got.length < n) got.push((await it.next()).value as number);
  await it.throw!(new TypeError(message));
  return got;
}

/** How consuming an argument stream ended: 'done', or the error's name, message and code. */
export async function drain(items: AsyncIterable<unknown>): Promise<string> {
  try {
    for await (const _ of items);
    return 'done';
  } catch (e) {
    const err = e as Error & { code?: string };
    return `${err.name}: ${err.message} (${err.code})`;
  }
}

/** Consumes an argument stream until the connection closes. */
export async function consumeForever(items: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of items);
}

// ---- cancellation and deadlines -----------------------------------------------

let lastReason: string | undefined;

/** Waits until its caller aborts or its deadline passes; remembers the signal's reason. */
export function waitForAbort(): Promise<string> {
  const signal = currentSignal();
  lastReason = undefined;
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => {
      const r = signal.reason as Error;
      lastReason = `${r.name}: ${r.message}`;
      resolve(lastReason);
    }),
  );
}

/** The reason the last waitForAbort() signal fired with, if it has. */
export function lastAbortReason(): string | undefined {
  return lastReason;
}

/** currentDeadline() where the call is served, and where a callback it calls back is served. */
export async function deadlines(cb?: () => number | undefined | Promise<number | undefined>): Promise<{ here: number | undefined; onward: number | undefined }> {
  const here = currentDeadline();
  await new Promise<void>((resolve) => setImmediate(resolve));
  return { here, onward: cb ? await cb() : undefined };
}

let held: Array<() => void> = [];

/** Answers with `value` only once releaseHeld() is called. */
export async function heldEcho<T>(value: T): Promise<T> {
  await new Promise<void>((resolve) => held.push(resolve));
  return value;
}

/** A stream, returned only once releaseHeld() is called. */
export async function heldStream(): Promise<AsyncGenerator<number>> {
  await new Promise<void>((resolve) => held.push(resolve));
  return count(10);
}

/** Lets every held call answer. */
export function releaseHeld(): void {
  for (const r of held.splice(0)) r();
}

/** Collects garbage here, with or without --expose-gc, and lets finalizers run. */
export async function collectNow(): Promise<void> {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Takes an argument and never reads it. */
export function ignore(_items: AsyncIterable<unknown>): string {
  return 'ignored';
}

/** The serving connection's tables (pending calls, served calls, signals, handles, streams). */
export function tables(): Record<string, number> {
  return servingPeer()!.tables();
}
