import { CallAbortedError, NotCloneableError } from '../errors.ts';
import type { Describe } from '../codec/wire.ts';
import { isTooDeep, nestsTooDeep } from '../codec/depth.ts';
import { MAX_DEPTH } from '../codec/limits.ts';
import { formatPath } from './path.ts';

/** What a call's failures say: which value of which call, and why. */

/** Counts from 1, as people do: the second argument is argument 2. */
export const argumentName: Describe = (i, path) => `argument ${i + 1} of ${formatPath(path)}()`;
export const resultName: Describe = (_i, path) => `the result of ${formatPath(path)}()`;

export function aborted(path: string[], signal: AbortSignal): CallAbortedError {
  return new CallAbortedError(`${formatPath(path)}() was aborted`, { cause: signal.reason });
}

/** A message for any thrown value, even one whose message or toString throws. */
export function messageOf(thrown: unknown): string {
  try {
    return thrown instanceof Error ? String(thrown.message) : String(thrown);
  } catch {
    return 'a value that cannot be printed';
  }
}

/** Names the first value that cannot be cloned, on the error path only. */
export function notCloneable(values: unknown[], what: Describe, path: readonly string[], err: unknown): unknown {
  // Anything but a clone failure (a getter's own error) is the caller's to see as it was thrown, as
  // postMessage throws it; cloning again to find the culprit would also run the getter again.
  if (!(err instanceof Error) || err.name !== 'DataCloneError') return err;
  const reason = err.message;
  if (isTooDeep(err)) {
    // Cloning a value this deep to find it could overflow the stack; measuring it cannot.
    const i = Math.max(0, values.findIndex(nestsTooDeep));
    return new NotCloneableError(`${what(i, path)} is nested deeper than ${MAX_DEPTH} levels, too deep to send`, { cause: err });
  }
  for (let i = 0; i < values.length; i++) {
    try {
      structuredClone(values[i]);
    } catch (e) {
      return new NotCloneableError(
        `${what(i, path)} could not be cloned (${e instanceof Error ? e.message : String(e)}); ` +
          'pass functions and objects with methods by reference with proxy()',
        { cause: err },
      );
    }
  }
  return new NotCloneableError(`could not send ${what(0, path).replace(/^argument 1 of /, 'the call to ')}: ${reason}`, { cause: err });
}
