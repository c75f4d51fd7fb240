import { AsyncLocalStorage } from 'node:async_hooks';
import { CallTimeoutError } from '../errors.ts';

/**
 * The deadline of the call being served travels with everything its
 * function does, awaits included, so that a call it makes onward (to
 * another worker, child or server) gets the time that is left without any
 * code saying so. Only calls that came with a deadline enter the storage:
 * a process that never sees one pays nothing on any call.
 */
const storage = new AsyncLocalStorage<number>();
let inUse = false;

/** Runs `fn` as the call with `deadline` (a Date.now()-scale timestamp). */
export function withDeadline<T>(deadline: number, fn: () => T): T {
  inUse = true;
  return storage.run(deadline, fn);
}

/**
 * The deadline of the call now being served, as a `Date.now()`-scale
 * timestamp, or `undefined` when its caller set none. Works anywhere in the
 * call's function, after an `await` too.
 */
export function currentDeadline(): number | undefined {
  return inUse ? storage.getStore() : undefined;
}

/**
 * The milliseconds a call made now may take: what is left of the deadline
 * of the call being served (never 0, which means none: at least 1).
 */
export function inheritedTimeout(): number | undefined {
  const deadline = currentDeadline();
  return deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
}

/** The reason a served call's signal fires with when its deadline passes. */
export function deadlineReason(): CallTimeoutError {
  return new CallTimeoutError("the caller's deadline passed");
}
