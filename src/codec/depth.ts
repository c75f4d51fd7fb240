/**
 * How deep a value nests, for channels whose codec is structured clone
 * itself (MessagePorts). postMessage may accept on one thread a value the
 * other cannot deserialize (its stack overflows somewhere past 1,000 levels
 * on Node 20), and then the receiver learns only that a batch was lost, not
 * which calls were in it: the whole channel had to close. Measured here,
 * before sending, a value too deep fails its own call instead.
 */
import { MAX_DEPTH, tooDeep } from './limits.ts';

/**
 * Objects visited before the walk starts to record what it saw. Without a
 * record, a small message costs no Set; but a shared object is walked once
 * per reference (a DAG can have exponentially many paths) and a cycle looks
 * infinitely deep. So past this many visits every object is recorded and
 * walked once, and an answer of "too deep" is checked by a walk that
 * records from the start.
 */
const CHEAP_VISITS = 1000;

let visits = 0;
let seen: Set<object> | undefined;

/** True when `value` nests objects deeper than MAX_DEPTH levels, as structured clone would write them. */
export function nestsTooDeep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  visits = 0;
  seen = undefined;
  try {
    if (!deeper(value, 1)) return false;
    seen = new Set();
    return deeper(value, 1);
  } finally {
    seen = undefined;
  }
}

/**
 * Each object counts at its first encounter in the order structured clone
 * writes them, where it is written whole; later ones are references. What
 * it writes inside: elements, entries, own enumerable values; nothing of
 * buffers and other leaves.
 */
function deeper(o: object, depth: number): boolean {
  if (depth > MAX_DEPTH) return true;
  if (seen !== undefined) {
    if (seen.has(o)) return false;
    seen.add(o);
  } else if (++visits > CHEAP_VISITS) seen = new Set([o]);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const c: unknown = o[i];
      if (typeof c === 'object' && c !== null && deeper(c, depth + 1)) return true;
    }
    return false;
  }
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) {
    if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || o instanceof Date || o instanceof RegExp) return false;
    if (o instanceof Map) {
      for (const [k, v] of o) {
        if (typeof k === 'object' && k !== null && deeper(k, depth + 1)) return true;
        if (typeof v === 'object' && v !== null && deeper(v, depth + 1)) return true;
      }
      return false;
    }
    if (o instanceof Set) {
      for (const v of o) if (typeof v === 'object' && v !== null && deeper(v, depth + 1)) return true;
      return false;
    }
  }
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const c: unknown = (o as Record<string, unknown>)[keys[i]!];
    if (typeof c === 'object' && c !== null && deeper(c, depth + 1)) return true;
  }
  return false;
}

/** The error a value too deep to send fails with: named as structured clone's own, so callers see one kind of clone failure. */
export function tooDeepToSend(): Error {
  const err = new Error(`${tooDeep()}; it cannot be sent`);
  err.name = 'DataCloneError';
  tooDeepErrors.add(err);
  return err;
}

const tooDeepErrors = new WeakSet<Error>();
export const isTooDeep = (err: unknown): boolean => err instanceof Error && tooDeepErrors.has(err);
