import { AsyncLocalStorage } from 'node:async_hooks';
import { describe } from '../codec/marks.ts';
import { invalidMetadata } from '../protocol.ts';

/** String keys and values sent with a call: a trace context, a tenant, a request id. */
export type Metadata = Readonly<Record<string, string>>;

const NONE: Metadata = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * The metadata of the call being served, across its awaits. Entered only
 * for calls that carry metadata, so a process that never sends any never
 * pays for async context tracking.
 */
const store = new AsyncLocalStorage<Metadata>();

/** True once a served call carried metadata: until then no call looks for some to carry on. */
let inUse = false;

/**
 * The metadata the caller sent with the call now being served (an empty
 * object when it sent none). Works anywhere in the function's async
 * course, after awaits too. A call made from there carries it on, unless
 * it is given metadata of its own with `withOptions(api, { metadata })`.
 *
 * ```ts
 * expose({ whoami: () => currentMetadata().tenant ?? 'nobody' });
 * ```
 */
export function currentMetadata(): Metadata {
  return store.getStore() ?? NONE;
}

/** What a call made now carries on when it is given no metadata of its own. */
export function inheritedMetadata(): Metadata | undefined {
  return inUse ? store.getStore() : undefined;
}

/** Runs `fn` as the served call whose metadata arrived as `received` (already checked by invalidMessage). */
export function runWithMetadata<T>(received: Record<string, string>, fn: () => T): T {
  inUse = true;
  // A copy without a prototype: the callee reads plain keys, and a key named __proto__ stays a key.
  const own = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, received));
  return store.run(own, fn);
}

/** Throws naming the problem when `m` is not metadata a call may carry. */
export function checkMetadata(fn: string, m: unknown): void {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    throw new TypeError(`${fn}() option metadata must be an object of string keys and values, got ${describe(m)}`);
  }
  for (const [key, v] of Object.entries(m)) {
    if (typeof v !== 'string') throw new TypeError(`${fn}() option metadata.${key} must be a string, got ${describe(v)}`);
  }
  const bad = invalidMetadata(m);
  if (bad) throw new RangeError(`${fn}() option metadata is refused: ${bad}`);
}
