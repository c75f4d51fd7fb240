import { NoSuchMethodError } from '../errors.ts';

/**
 * The path guard. A peer reaches only what was exposed: own properties, and
 * methods of class prototypes. Nothing inherited from Object.prototype or
 * Function.prototype, and never `__proto__`, `constructor` or `prototype`,
 * so no path leads to `Function`, `process`, or a prototype to pollute.
 */

const hasOwn = Object.prototype.hasOwnProperty;

/** Is `key` a member of `obj` that a peer may reach? */
export function reachable(obj: unknown, key: string): boolean {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
  if ((typeof obj !== 'object' && typeof obj !== 'function') || obj === null) return false;
  let o: object | null = obj;
  // Up the chain to the shared prototypes, whose members are never reachable.
  while (o !== null && o !== Object.prototype && o !== Function.prototype) {
    if (hasOwn.call(o, key)) return true;
    o = Object.getPrototypeOf(o);
  }
  return false;
}

export function formatPath(path: readonly string[]): string {
  return path.length === 0 ? '(the exposed value)' : path.join('.');
}

/**
 * Resolves `path` from `root`. Returns the value and its holder (the `this`
 * for a call). Throws NoSuchMethodError naming the path when a step is
 * missing or guarded.
 */
export function resolvePath(root: unknown, path: readonly string[]): { holder: unknown; value: unknown } {
  let holder: unknown = undefined;
  let value: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (!reachable(value, key)) {
      throw new NoSuchMethodError(
        `"${formatPath(path)}" is not exposed` +
          (path.length > 1 ? ` ("${key}" is not reachable on ${formatPath(path.slice(0, i))})` : ''),
      );
    }
    holder = value;
    value = (value as Record<string, unknown>)[key];
  }
  return { holder, value };
}

/**
 * Reads `path` (`await remote.a.b`). As in comlink, a property that is not
 * there at all reads as `undefined`; one that is there but guarded (a
 * prototype's member, `constructor`, ...) is still refused, and so is a
 * missing step before the last.
 */
export function readPath(root: unknown, path: readonly string[]): unknown {
  if (path.length === 0) return root;
  let parent: unknown;
  try {
    parent = resolvePath(root, path.slice(0, -1)).value;
  } catch {
    return resolvePath(root, path).value; // throws, naming the whole path
  }
  const key = path[path.length - 1]!;
  if (((typeof parent === 'object' && parent !== null) || typeof parent === 'function') && !(key in parent)) return undefined;
  return resolvePath(root, path).value;
}
