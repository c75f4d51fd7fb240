import { describe } from '../codec/marks.ts';
import { checkMs, checkOptionNames, type OptionNames } from '../options.ts';
import type { CallOptions } from './types.ts';
import { checkMetadata } from './metadata.ts';
import { remoteWithOptions } from './remote.ts';

/** Every option withOptions() takes: add a name here when you add one to CallOptions. */
const CALL_OPTIONS = { signal: true, timeout: true, idempotent: true, metadata: true } as const satisfies OptionNames<CallOptions>;

/**
 * `remote`, typed the same, whose calls carry `options`: works on any
 * remote — wrap()'s, `child.api`, `conn.api`, `pool.api`, a nested path, a
 * proxy received from the other side. Applied to a remote that already
 * carries options, the new ones win, and both signals abort the call.
 *
 * ```ts
 * await withOptions(api, { timeout: 50 }).slow(1_000); // CallTimeoutError
 * await withOptions(api, { metadata: { tenant: 'acme' } }).whoami(); // the callee reads currentMetadata()
 * ```
 */
export function withOptions<R>(remote: R, options: CallOptions): R {
  const opts = checkCallOptions('withOptions', options);
  const derived = remoteWithOptions(remote, (old) => merge(old, opts));
  if (derived === undefined) {
    throw new TypeError(`withOptions() expects a remote (an api from wrap(), spawn(), connect() or createPool(), or a proxy from a call), got ${describe(remote)}`);
  }
  return derived as R;
}

/** Throws a TypeError naming the option when `o` is not valid CallOptions. */
export function checkCallOptions(fn: string, o: unknown): CallOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError(`${fn}() expects options { signal?, timeout?, idempotent?, metadata? }, got ${describe(o)}`);
  checkOptionNames(fn, o, CALL_OPTIONS);
  const opts = o as CallOptions;
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new TypeError(`${fn}() option signal must be an AbortSignal, got ${describe(opts.signal)}`);
  }
  checkMs(fn, 'timeout', opts.timeout);
  if (opts.idempotent !== undefined && typeof opts.idempotent !== 'boolean') {
    throw new TypeError(`${fn}() option idempotent must be true or false, got ${describe(opts.idempotent)}`);
  }
  if (opts.metadata !== undefined) checkMetadata(fn, opts.metadata);
  return opts;
}

function merge(old: CallOptions | undefined, next: CallOptions): CallOptions {
  if (!old) return { ...next };
  const signal = old.signal && next.signal ? AbortSignal.any([old.signal, next.signal]) : (next.signal ?? old.signal);
  const merged: CallOptions = { ...old, ...next, signal };
  if (old.metadata && next.metadata) {
    merged.metadata = { ...old.metadata, ...next.metadata };
    checkMetadata('withOptions', merged.metadata);
  }
  return merged;
}
