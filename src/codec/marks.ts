import type { Transferable } from '../transport/types.ts';

/**
 * Marks the caller puts on values: "pass by reference" and "transfer these".
 * They live beside the value (a WeakSet and a WeakMap), not in it, so the
 * user's object is never mutated.
 */

/** Set `obj[proxyMarker] = true` to pass an object by reference (comlink-style); `proxy(obj)` does it without mutating. */
export const proxyMarker: unique symbol = Symbol.for('farcall.proxy') as any;
/** `remote[createEndpoint]()` returns a new MessagePort serving the same object (port transports only). */
export const createEndpoint: unique symbol = Symbol.for('farcall.createEndpoint') as any;
/** `remote[releaseProxy]()` releases the remote object; the proxy is unusable afterwards. */
export const releaseProxy: unique symbol = Symbol.for('farcall.releaseProxy') as any;
/** A method under this key on an exposed object is called when its last remote proxy is released. */
export const finalizer: unique symbol = Symbol.for('farcall.finalizer') as any;

export interface ProxyMarked {
  [proxyMarker]: true;
}

const proxied = new WeakSet<object>();
const transfers = new WeakMap<object, readonly Transferable[]>();

/**
 * Passes `value` by reference: the other side gets a proxy whose calls come
 * back here. Use it for callbacks and for objects that cannot be cloned.
 */
export function proxy<T extends object>(value: T): T & ProxyMarked {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new TypeError(`proxy() expects an object or a function, got ${describe(value)}`);
  }
  proxied.add(value);
  return value as T & ProxyMarked;
}

export function isProxied(value: object): boolean {
  return proxied.has(value) || (value as Partial<ProxyMarked>)[proxyMarker] === true;
}

/**
 * Sends `value` with `list` transferred rather than copied: the buffers move
 * to the other side and are detached here, as with `postMessage`.
 */
export function transfer<T>(value: T, list: readonly Transferable[]): T {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new TypeError(
      `transfer() expects the object being sent as its first argument, got ${describe(value)}; ` +
        'a primitive has nothing to transfer',
    );
  }
  if (!Array.isArray(list)) {
    throw new TypeError(`transfer() expects an array of transferables as its second argument, got ${describe(list)}`);
  }
  list.forEach(checkTransferable);
  transfers.set(value, list);
  return value;
}

/**
 * Catches the usual mistakes here, with the call site on the stack, rather
 * than as a DataCloneError when the message is sent. Which objects a channel
 * can really move is for postMessage (or the stream codec) to say.
 */
function checkTransferable(item: unknown, i: number): void {
  const bad = (hint: string): never => {
    throw new TypeError(`transfer() expects transferables (ArrayBuffer, MessagePort, ...) in its list; item ${i} is ${describe(item)}${hint}`);
  };
  if (typeof item !== 'object' || item === null) bad('');
  if (ArrayBuffer.isView(item)) bad(': transfer its .buffer instead');
  const proto = Object.getPrototypeOf(item);
  if (proto === Object.prototype || proto === null || Array.isArray(item)) bad('');
}

export function transfersOf(value: object): readonly Transferable[] | undefined {
  return transfers.get(value);
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  if (typeof value === 'string') return `a string`;
  return `${typeof value} ${String(value)}`;
}
