/**
 * Type-level tests, checked by `npm run typecheck` and never run. Each
 * `@ts-expect-error` line must fail to compile, or tsc reports it unused.
 */
import type { MessagePort } from 'node:worker_threads';
import { createEndpoint, proxy, releaseProxy, transfer, withOptions, wrap, type ProxyMarked, type Remote } from '../src/index.ts';
import type { Counter } from './conformance/api.ts';
import type { ConformanceApi } from './conformance/harness.ts';

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function expectType<T extends true>(): void {}

declare const api: Remote<ConformanceApi>;
declare const port: MessagePort;

async function functions(): Promise<void> {
  // Every function returns a promise of its result, never a promise of a promise.
  expectType<Equal<ReturnType<typeof api.add>, Promise<number>>>();
  expectType<Equal<ReturnType<typeof api.addLater>, Promise<number>>>();
  expectType<Equal<Parameters<typeof api.add>, [a: number, b: number]>>();
  expectType<Equal<ReturnType<typeof api.hang>, Promise<never>>>();
  expectType<Equal<ReturnType<typeof api.exit>, Promise<void>>>();
  expectType<Equal<Awaited<ReturnType<typeof api.errorsInside>>['typed'], TypeError>>();

  // @ts-expect-error: add takes numbers
  await api.add('1', 2);
  // @ts-expect-error: too few arguments
  await api.add(1);
  // @ts-expect-error: not part of the API
  await api.subtract(1, 2);
}

async function callbacks(): Promise<void> {
  const cb = (n: number): number => n;
  await api.watch(proxy(cb), 3);
  // @ts-expect-error: a bare function cannot be cloned; it must be passed with proxy()
  await api.watch(cb, 3);
  // @ts-expect-error: the callback's type is still checked
  await api.watch(proxy((s: string) => s.length), 3);

  interface Strict {
    run(cb: () => void): void;
    tag(s: symbol): void;
  }
  const strict = wrap<Strict>(port);
  // @ts-expect-error: a symbol cannot cross
  await strict.tag(Symbol('x'));
  await strict.run(proxy(() => {}));
}

async function proxies(): Promise<void> {
  // A call returning proxy(obj) gives a Remote of obj.
  const m = await api.makeCounter(1);
  expectType<Equal<ReturnType<typeof m.increment>, Promise<number>>>();
  expectType<Equal<typeof m.count, Promise<number>>>();
  const child = await m.child();
  expectType<Equal<typeof child, Remote<Counter & ProxyMarked>>>();
  const fork = await child.fork();
  expectType<Equal<ReturnType<typeof fork.increment>, Promise<number>>>();
  expectType<Equal<typeof fork.value, Promise<number>>>();
  fork[releaseProxy]();
  expectType<Equal<ReturnType<(typeof api)[typeof createEndpoint]>, Promise<MessagePort>>>();
}

async function classesAndProperties(): Promise<void> {
  const c = await new api.Counter(5);
  expectType<Equal<typeof c.value, Promise<number>>>();
  expectType<Equal<ReturnType<typeof c.increment>, Promise<number>>>();
  // @ts-expect-error: the constructor's argument types are kept
  await new api.Counter('5');
  // A plain object is data: read it whole with await.
  expectType<Equal<Awaited<typeof api.counter>, { value: number; label: string }>>();
  // Properties are read-only on the type; assignment goes through a setter method or a cast.
  // @ts-expect-error
  api.counter = { value: 1, label: '' };
}

function remoteFunction(): void {
  const fn = wrap<(a: number, b: string) => boolean>(port);
  expectType<Equal<ReturnType<typeof fn>, Promise<boolean>>>();
  const flags = wrap<{ on: boolean; get(): boolean | Promise<boolean> }>(port);
  expectType<Equal<typeof flags.on, Promise<boolean>>>();
  expectType<Equal<ReturnType<typeof flags.get>, Promise<boolean>>>();
  // @ts-expect-error: argument types are kept
  void fn('a', 1);
}

function marks(): void {
  const buf = new ArrayBuffer(8);
  expectType<Equal<ReturnType<typeof transfer<ArrayBuffer>>, ArrayBuffer>>();
  const view = transfer(new Uint8Array(buf), [buf]);
  expectType<Equal<typeof view, Uint8Array<ArrayBuffer>>>();
  const cb = proxy((): number => 1);
  expectType<Equal<typeof cb, (() => number) & ProxyMarked>>();
}

async function streams(): Promise<void> {
  // A function returning an async generator gives an async iterator of its items.
  const it = await api.count(3);
  expectType<Equal<typeof it, AsyncIterableIterator<number>>>();
  for await (const n of it) expectType<Equal<typeof n, number>>();
  for await (const r of await api.records(1)) expectType<Equal<typeof r.at, Date>>();
  // A ReadableStream stays one.
  expectType<Equal<Awaited<ReturnType<typeof api.readable>>, ReadableStream<number>>>();
  const gen = async function* (): AsyncGenerator<number> {
    yield 1;
  };
  const words = async function* (): AsyncGenerator<string> {
    yield 'one';
  };
  // An async iterable argument is checked against the parameter's item type.
  expectType<Equal<ReturnType<typeof api.sum>, Promise<number>>>();
  await api.sum(gen());
  await api.sum(new ReadableStream<number>());
  // @ts-expect-error: sum takes numbers
  await api.sum(words());
  // withOptions keeps the remote's type, nested paths included.
  const timed = withOptions(api, { timeout: 1 });
  expectType<Equal<typeof timed.count, typeof api.count>>();
  // @ts-expect-error: not a call option
  withOptions(api, { timeot: 1 });
}

export { functions, callbacks, proxies, classesAndProperties, remoteFunction, marks, streams };
