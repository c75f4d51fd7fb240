/**
 * The API every transport serves in the conformance suite. Its top-level
 * exports ARE the API, so a transport that exposes a module's exports
 * (spawn, pools) serves this file as it is. Importing it has no side effects.
 */
import { getHeapStatistics } from 'node:v8';
import { currentMetadata, finalizer, proxy, transfer } from '../../src/index.ts';

// ---- values -----------------------------------------------------------------

export function echo<T>(value: T): T {
  return value;
}

/** Echoes several values at once, so shared references across arguments can be checked. */
export function echoAll<T extends unknown[]>(...values: T): T {
  return values;
}

export function add(a: number, b: number): number {
  return a + b;
}

export async function addLater(a: number, b: number): Promise<number> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return a + b;
}

/** True when `a` and `b` arrived as one object (identity kept within a message). */
export function same(a: unknown, b: unknown): boolean {
  return a === b;
}

export function byteLength(buf: ArrayBuffer | ArrayBufferView): number {
  return buf.byteLength;
}

let lastSent: ArrayBuffer | undefined;

/** Returns `size` bytes of `fill`, transferred: this side's buffer is detached afterwards. */
export function makeBuffer(size: number, fill: number): ArrayBuffer {
  const buf = new Uint8Array(size).fill(fill).buffer;
  lastSent = buf;
  return transfer(buf, [buf]);
}

/** byteLength of the buffer `makeBuffer` last sent, read on this side (0 once detached). */
export function lastSentByteLength(): number | undefined {
  return lastSent?.byteLength;
}

/** An object nested `levels` deep ({ a: { a: ... 1 } }). */
export function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** How deep `v` nests. */
export function depthOf(v: unknown): number {
  let d = 0;
  while (typeof v === 'object' && v !== null) [v, d] = [(v as { a: unknown }).a, d + 1];
  return d;
}

/** A function as a result: cannot be cloned. */
export function makeFunction(): () => number {
  return () => 1;
}

// ---- errors -----------------------------------------------------------------

export function throwError(): never {
  const err = new Error('it broke', { cause: new RangeError('the root cause') });
  Object.assign(err, { code: 'E_BROKE', detail: { attempts: 3 }, count: 7 });
  throw err;
}

export function throwTypeError(): never {
  throw new TypeError('wrong type');
}

export async function rejectAggregate(): Promise<never> {
  await null;
  throw new AggregateError([new Error('first'), new TypeError('second'), 'third'], 'several things failed');
}

export class CustomError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'CustomError';
    this.status = status;
  }
}

export function throwCustom(): never {
  throw new CustomError('custom failure', 418);
}

/** Throws `value` as it is: a string, a number, undefined, null, a plain object. */
export function throwValue(value: unknown): never {
  throw value;
}

export async function rejectValue(value: unknown): Promise<never> {
  await null;
  throw value;
}

/** Throws an error one of whose properties throws when read: the call must still reject. */
export function throwUnencodable(): never {
  const err = new Error('unencodable');
  Object.defineProperty(err, 'trap', {
    enumerable: true,
    get() {
      throw new Error('a getter that throws');
    },
  });
  throw err;
}

/** Returns errors inside a value (not thrown): they travel as values do. */
export function errorsInside(): { plain: Error; typed: TypeError; withCause: Error } {
  return {
    plain: new Error('plain'),
    typed: new TypeError('typed'),
    withCause: new Error('outer', { cause: new Error('inner') }),
  };
}

// ---- callbacks and proxies --------------------------------------------------

/** Calls `cb` `times` times, one after the other, and collects what it returned. */
export async function watch(cb: (n: number) => number | Promise<number>, times: number): Promise<number[]> {
  const results: number[] = [];
  for (let n = 1; n <= times; n++) results.push(await cb(n));
  return results;
}

/** Calls `cb` once with an object of this side, passed by reference. */
export async function lend(cb: (counter: Counter) => Promise<number>): Promise<number> {
  const counter = new Counter(10);
  const seen = await cb(proxy(counter));
  return seen + counter.value;
}

export class Counter {
  #count: number;
  constructor(start = 0) {
    this.#count = start;
  }
  increment(by = 1): number {
    this.#count += by;
    return this.#count;
  }
  get value(): number {
    return this.#count;
  }
  /** A second counter, by reference: a proxy returned from a proxy. */
  fork() {
    return proxy(new Counter(this.#count));
  }
}

/** An object by reference, with methods, state and a nested plain object. */
export function makeCounter(start = 0) {
  const state = { calls: 0 };
  return proxy({
    count: start,
    nested: { label: 'nested', double: (n: number) => n * 2 },
    increment() {
      state.calls++;
      return ++this.count;
    },
    calls: () => state.calls,
    child: () => proxy(new Counter(start * 10)),
  });
}

let releases = 0;

/** An object by reference whose release this side observes (see `releaseCount`). */
export function makeTracked() {
  return proxy({
    ping: () => 'pong',
    [finalizer]() {
      releases++;
    },
  });
}

/** How many `makeTracked` objects the other side has released so far. */
export function releaseCount(): number {
  return releases;
}

/** A plain object whose properties the other side reads and writes. */
export const counter = { value: 0, label: 'counter' };

// ---- lifecycle --------------------------------------------------------------

/** Never settles: for close and crash cases. */
export function hang(): Promise<never> {
  return new Promise<never>(() => {});
}

/** Exits the serving process (or thread) with `code` just after replying. */
export function exit(code: number): void {
  setImmediate(() => process.exit(code));
}

/** Throws `message` as an uncaught error just after replying. */
export function throwUncaught(message: string): void {
  setImmediate(() => {
    throw new Error(message);
  });
}

/** Collects garbage here (when run with --expose-gc) and returns this side's heap in use, in bytes. */
export function collectGarbage(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return getHeapStatistics().used_heap_size;
}

export function pid(): number {
  return process.pid;
}

export * from './api-streams.ts';
// ---- metadata -----------------------------------------------------------------

/** The metadata this call carried, as a plain object. */
export function metadata(): Record<string, string> {
  return { ...currentMetadata() };
}

/** The same, read after an await. */
export async function metadataLater(): Promise<Record<string, string>> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return { ...currentMetadata() };
}

/** Calls the caller back after an await: the metadata this call carried goes on with it. */
export async function callBack(cb: () => Record<string, string> | Promise<Record<string, string>>): Promise<Record<string, string>> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  return cb();
}
