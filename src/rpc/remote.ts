import type { MessagePort } from 'node:worker_threads';
import { createEndpoint, releaseProxy, type ProxyMarked } from '../codec/marks.ts';
import { ProxyReleasedError } from '../errors.ts';
import { CallKind } from '../protocol.ts';
import type { CallOptions } from './types.ts';

/** What a proxy needs of the connection beneath it (a Peer); a reconnecting client swaps the peer behind it. */
export interface RemoteTarget {
  call(handle: number, kind: CallKind, path: string[], args?: unknown[], opts?: CallOptions): Promise<unknown>;
  release(handle: number): void;
}

// ---- types ----------------------------------------------------------------

/**
 * One promise of the settled value. Not a distributive conditional: that
 * would turn `never` into `never` (a function returning Promise<never> would
 * seem to return nothing awaitable) and `boolean` into
 * `Promise<true> | Promise<false>`.
 */
type Promisify<T> = Promise<Awaited<T>>;

/** What a value passed by reference becomes on the other side; a stream arrives as an async iterator (a ReadableStream stays one). */
export type ProxyOrClone<T> = T extends ProxyMarked ? Remote<T> : RemoteStream<T>;
export type RemoteStream<T> = T extends ReadableStream<infer X> ? ReadableStream<X> : T extends AsyncIterable<infer X> ? AsyncIterableIterator<X> : T;

/**
 * What an argument may be: a function must be marked with `proxy()` to
 * cross (TypeScript flags a bare one); a symbol cannot cross at all.
 */
export type LocalArg<T> = T extends ProxyMethods
  ? T | (Local<T> & ProxyMarked)
  : T extends (...args: any[]) => any
    ? T & ProxyMarked
    : T extends symbol
      ? never
      : T;

/** What stays a proxy on the other side: functions, classes and proxied objects. */
type Callable = ((...args: any[]) => any) | (abstract new (...args: any[]) => any) | ProxyMarked;

/**
 * Callables stay callable; anything else is data read with `await`, as one
 * promise (a `boolean` property reads as Promise<boolean>).
 */
type RemoteProperty<T> = RemoteCallable<Extract<T, Callable>> | RemoteData<Exclude<T, Callable>>;
type RemoteCallable<T> = T extends Callable ? Remote<T> : never;
type RemoteData<T> = [T] extends [never] ? never : Promisify<T>;

/** Every property of T, seen from the other side. */
export type RemoteObject<T> = { readonly [P in keyof T]: RemoteProperty<T[P]> };

/** The methods every remote proxy has. */
export interface ProxyMethods {
  [createEndpoint]: () => Promise<MessagePort>;
  [releaseProxy]: () => void;
}

/**
 * A remote T: every function returns a Promise of its result, properties
 * are read with `await remote.prop`, classes are constructed with
 * `await new remote.Class()`.
 */
export type Remote<T> = RemoteObject<T> &
  (T extends (...args: infer A) => infer R
    ? (...args: { [I in keyof A]: LocalArg<A[I]> }) => Promise<ProxyOrClone<Awaited<R>>>
    : unknown) &
  (T extends new (...args: infer A) => infer I ? { new (...args: { [K in keyof A]: LocalArg<A[K]> }): Promise<Remote<I>> } : unknown) &
  ProxyMethods;

// ---- comlink's names for the other direction: what a Remote stands for here ----

/** The local value a remote one stands for: what `proxy()` marks where a Remote is expected. */
export type UnproxyOrClone<T> = T extends RemoteObject<ProxyMarked> ? Local<T> : T;
/** Every property of a remote object, as the local object it stands for. */
export type LocalObject<T> = { [P in keyof T]: LocalProperty<T[P]> };
type LocalProperty<T> = T extends Function | ProxyMarked ? Local<T> : Awaited<T>;
type MaybePromise<T> = Promise<T> | T;
/** What implements a Remote<T> locally (comlink's `Local`): functions may answer with or without a promise. */
export type Local<T> = Omit<LocalObject<T>, keyof ProxyMethods> &
  (T extends (...args: infer A) => infer R ? (...args: { [I in keyof A]: ProxyOrClone<A[I]> }) => MaybePromise<UnproxyOrClone<Awaited<R>>> : unknown) &
  (T extends new (...args: infer A) => infer I ? { new (...args: { [K in keyof A]: ProxyOrClone<A[K]> }): MaybePromise<Local<Awaited<I>>> } : unknown);

// ---- the proxy ------------------------------------------------------------

interface HandleState {
  readonly peer: RemoteTarget;
  readonly handle: number;
  /** Shared by every proxy of the handle, those withOptions made included. */
  readonly lease: { released: boolean };
  /** Per-call options every call through this proxy carries (see withOptions). */
  readonly options: CallOptions | undefined;
}

/** When every proxy of a handle is collected, the other side may free it. */
const collected = new FinalizationRegistry<{ peer: RemoteTarget; handle: number }>(({ peer, handle }) => peer.release(handle));

/** A proxy for `handle` on the other side of `peer` (0 is the exposed root). */
export function createRemote<T>(peer: RemoteTarget, handle: number): Remote<T> {
  const state: HandleState = { peer, handle, lease: { released: false }, options: undefined };
  if (handle !== 0) collected.register(state.lease, { peer, handle }, state.lease);
  return makeProxy(state, []) as Remote<T>;
}

function release(state: HandleState): void {
  if (state.lease.released) return;
  state.lease.released = true;
  if (state.handle !== 0) collected.unregister(state.lease);
  state.peer.release(state.handle);
}

const ignore = (): void => {};

function toPrimitive(): never {
  throw new TypeError('a remote proxy cannot be converted to a string or number; call it, or await one of its properties');
}

/** Every proxy made here, with what it reaches, so the serving side can tell a remote function from a local one. */
const remotes = new WeakMap<object, { state: HandleState; path: string[] }>();

export function isRemote(value: unknown): boolean {
  return typeof value === 'function' && remotes.has(value);
}

/** What a remote's calls go through: its peer, or a connection that swaps peers (for tests that read its tables). */
export const targetOf = (value: unknown): RemoteTarget | undefined => (typeof value === 'function' ? remotes.get(value)?.state.peer : undefined);

/**
 * The same proxy (its path included) whose calls carry `options`, merged
 * over those it carried already; undefined when `value` is no proxy. It
 * borrows the handle: only the original releases it.
 */
export function remoteWithOptions(value: unknown, merge: (old: CallOptions | undefined) => CallOptions): unknown {
  const found = typeof value === 'function' ? remotes.get(value) : undefined;
  if (!found) return undefined;
  const { state, path } = found;
  // The copy holds the lease, so the handle stays alive while either proxy is in use.
  return makeProxy({ ...state, options: merge(state.options) }, path);
}

function makeProxy(state: HandleState, path: string[]): unknown {
  let children: Map<string, unknown> | undefined;
  // A function target, so that apply and construct traps fire.
  const proxy: unknown = new Proxy(function farcallRemote() {}, {
    get(_target, prop) {
      if (state.lease.released) throw new ProxyReleasedError();
      if (prop === releaseProxy) return () => release(state);
      if (prop === createEndpoint) return () => state.peer.call(state.handle, CallKind.Endpoint, path);
      if (prop === 'then') {
        // The root is not a thenable, so `await wrap(x)` gives the proxy.
        if (path.length === 0) return undefined;
        const read = state.peer.call(state.handle, CallKind.Get, path, undefined, state.options);
        return read.then.bind(read);
      }
      // Coercion (`${remote}`, remote + 1) would otherwise call valueOf and toString on the other side and drop their promises,
      // which reject unheard when the channel closes: a peer passing a proxy to code that coerces it could end the process.
      if (prop === Symbol.toPrimitive) return toPrimitive;
      if (typeof prop === 'symbol') return undefined;
      let child = children?.get(prop);
      if (child === undefined) {
        child = makeProxy(state, [...path, prop]);
        (children ??= new Map()).set(prop, child);
      }
      return child;
    },
    set(_target, prop, value) {
      if (state.lease.released) throw new ProxyReleasedError();
      if (typeof prop === 'symbol') return false;
      // Assignment cannot be awaited; a failed set is reported by no one,
      // as in comlink. Use a setter method to learn the outcome.
      state.peer.call(state.handle, CallKind.Set, [...path, prop], [value], state.options).catch(ignore);
      return true;
    },
    apply(_target, _this, args: unknown[]) {
      if (state.lease.released) throw new ProxyReleasedError();
      if (path[path.length - 1] === 'bind') return makeProxy(state, path.slice(0, -1));
      return state.peer.call(state.handle, CallKind.Apply, path, args, state.options);
    },
    construct(_target, args: unknown[]) {
      if (state.lease.released) throw new ProxyReleasedError();
      return state.peer.call(state.handle, CallKind.Construct, path, args, state.options) as unknown as object;
    },
  });
  remotes.set(proxy as object, { state, path });
  return proxy;
}
