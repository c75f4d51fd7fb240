import { finalizer } from '../codec/marks.ts';
import { reachable } from './path.ts';
import { isRemote } from './remote.ts';

/** What the peer asks of the values it serves: awaitable, settable, finalizable. */

/**
 * A result to wait for. A `then` that is a proxy for the other side does not
 * count: otherwise a peer could set one on an exposed object and have this
 * side call it with resolving functions it cannot send, a rejection no one
 * handles, which ends the process.
 */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Promise) return true;
  const then = (v as { then?: unknown }).then;
  return typeof then === 'function' && !isRemote(then);
}

export function settable(parent: unknown, key: string): boolean {
  if ((typeof parent !== 'object' && typeof parent !== 'function') || parent === null) return false;
  return key !== '__proto__' && key !== 'constructor' && key !== 'prototype' && (reachable(parent, key) || !(key in parent));
}

export function callFinalizer(value: unknown): void {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return;
  const fin = (value as { [finalizer]?: unknown })[finalizer];
  if (typeof fin === 'function') {
    try {
      fin.call(value);
    } catch {
      // A finalizer's failure is the exposer's own business; the release stands.
    }
  }
}
