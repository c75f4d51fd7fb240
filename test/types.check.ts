/**
 * Type-level tests, checked by `npm run typecheck` and never run. Each
 * `@ts-expect-error` line must fail to compile, or tsc reports it unused.
 */
import type { MessagePort } from 'node:worker_threads';
import {
  connect,
  createEndpoint,
  expose,
  proxy,
  releaseProxy,
  serve,
  transfer,
  withOptions,
  wrap,
  type Local,
  type LocalObject,
  type ProxyMarked,
  type ProxyOrClone,
  type Remote,
  type UnproxyOrClone,
  type Endpoint,
  type Connection,
  type ServiceConnection,
} from '../src/index.ts';
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

// ---- comlink users: their code compiles after changing the import ----------------

/** lib.dom's MessagePort, as a comlink user's code types it (this project compiles without the DOM lib). */
interface DomMessageEvent extends Event {
  readonly data: any;
}
interface DomAddOptions extends EventListenerOptions {
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}
type DomListener = ((evt: Event) => void) | { handleEvent(object: Event): void };
interface DomMessagePortEventMap {
  message: DomMessageEvent;
  messageerror: DomMessageEvent;
}
type DomTransferable = ArrayBuffer | DomMessagePort | { readonly width: number; readonly height: number; close(): void };
interface DomMessagePort extends EventTarget {
  onmessage: ((this: DomMessagePort, ev: DomMessageEvent) => any) | null;
  onmessageerror: ((this: DomMessagePort, ev: DomMessageEvent) => any) | null;
  close(): void;
  postMessage(message: any, transfer: DomTransferable[]): void;
  postMessage(message: any, options?: { transfer?: DomTransferable[] }): void;
  start(): void;
  addEventListener<K extends keyof DomMessagePortEventMap>(
    type: K,
    listener: (this: DomMessagePort, ev: DomMessagePortEventMap[K]) => any,
    options?: boolean | DomAddOptions,
  ): void;
  addEventListener(type: string, listener: DomListener, options?: boolean | DomAddOptions): void;
  removeEventListener<K extends keyof DomMessagePortEventMap>(
    type: K,
    listener: (this: DomMessagePort, ev: DomMessagePortEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: DomListener, options?: boolean | EventListenerOptions): void;
}

async function comlinkMigration(): Promise<void> {
  // A DOM-typed MessagePort is an endpoint, as in comlink.
  const domPort = null as unknown as DomMessagePort;
  const asEndpoint: Endpoint = domPort;
  void asEndpoint;
  const overDom = wrap<{ add(a: number, b: number): number }>(domPort);
  expectType<Equal<ReturnType<typeof overDom.add>, Promise<number>>>();
  expose({ add: (a: number, b: number) => a + b }, domPort);

  // A proxy()-marked local object stands where a Remote is expected.
  interface Counter {
    inc(by: number): number;
    value: number;
  }
  const registry = wrap<{ register(c: Remote<Counter>): Promise<number> }>(port);
  await registry.register(proxy({ inc: (by: number) => by, value: 1 }));
  await registry.register(proxy({ inc: async (by: number) => by, value: 1 }));
  // @ts-expect-error: an unmarked object would be cloned, not passed by reference
  await registry.register({ inc: (by: number) => by, value: 1 });
  // @ts-expect-error: its shape is still checked
  await registry.register(proxy({ inc: (by: string) => by, value: 1 }));

  // comlink's public types, under their names.
  expectType<Equal<ProxyOrClone<Counter & ProxyMarked>, Remote<Counter & ProxyMarked>>>();
  expectType<Equal<ProxyOrClone<number>, number>>();
  expectType<Equal<UnproxyOrClone<string>, string>>();
  const local: Local<Remote<Counter>> = { inc: (by) => by, value: 1 };
  const object: LocalObject<{ n: Promise<number> }> = { n: 1 };
  void [local, object];
}

export { functions, callbacks, proxies, classesAndProperties, remoteFunction, marks, comlinkMigration, services };

async function services(): Promise<void> {
  const thumbs = { resize: (w: number): { w: number } => ({ w }) };
  const svc = await serve('thumbs', thumbs, { version: '1.4.0', maxMessageSize: 1024 });
  expectType<Equal<typeof svc.id, string>>();
  // By name: a service connection, the api typed as by address.
  const byName = await connect<typeof thumbs>({ service: 'thumbs', version: '^1.4', idempotent: ['resize'] });
  expectType<Equal<typeof byName, ServiceConnection<typeof thumbs>>>();
  expectType<Equal<ReturnType<typeof byName.api.resize>, Promise<{ w: number }>>>();
  // By address: the plain connection, as before.
  const direct = await connect<typeof thumbs>('/tmp/thumbs.sock');
  expectType<Equal<typeof direct, Connection<typeof thumbs>>>();
  // @ts-expect-error: a service connection takes its options in the one object
  await connect<typeof thumbs>({ service: 'thumbs' }, { reconnect: true });
  // @ts-expect-error: balance is a name or a Balancer
  await connect({ service: 'thumbs', balance: 'random' });
}
