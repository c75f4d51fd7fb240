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
 * Objects visited before the cheap walk gives up on its answer. It keeps no
 * record of what it saw, so a shared object is walked once per reference
 * and a cycle looks infinitely deep; past this many visits, or at the depth
 * limit, the sound walk decides.
 */
const CHEAP_VISITS = 2000;

let visits = 0;

/** True when `value` nests objects deeper than MAX_DEPTH levels, as structured clone would write them. */
export function nestsTooDeep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  visits = 0;
  if (!cheapTooDeep(value, 1)) return false;
  return soundTooDeep(value, 1, new Set());
}

/** False when the walk ended within its visits and depth; true when unsure. */
function cheapTooDeep(o: object, depth: number): boolean {
  if (depth > MAX_DEPTH || ++visits > CHEAP_VISITS) return true;
  for (const child of childrenOf(o)) {
    if (typeof child === 'object' && child !== null && cheapTooDeep(child, depth + 1)) return true;
  }
  return false;
}

/**
 * Each object counts at its first encounter in the order structured clone
 * writes them, where it is written whole; later ones are references.
 */
function soundTooDeep(o: object, depth: number, seen: Set<object>): boolean {
  if (depth > MAX_DEPTH) return true;
  seen.add(o);
  for (const child of childrenOf(o)) {
    if (typeof child === 'object' && child !== null && !seen.has(child) && soundTooDeep(child, depth + 1, seen)) return true;
  }
  return false;
}

const NONE: readonly unknown[] = [];

/** What structured clone writes inside `o`: elements, entries, own enumerable values; nothing of buffers and other leaves. */
function childrenOf(o: object): Iterable<unknown> {
  if (Array.isArray(o)) return o;
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer || o instanceof Date || o instanceof RegExp) return NONE;
  if (o instanceof Map) return mapChildren(o);
  if (o instanceof Set) return o.values();
  return Object.values(o);
}

function* mapChildren(m: Map<unknown, unknown>): Iterable<unknown> {
  for (const [k, v] of m) {
    yield k;
    yield v;
  }
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
