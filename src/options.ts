import type { TransferHandlerMap } from './codec/handlers.ts';
import { describe } from './codec/marks.ts';

/** Options every connection takes, whatever carries it. */
export interface PeerSettings {
  /** Transfer handlers for this connection only, looked up before the global `transferHandlers`. */
  transferHandlers?: TransferHandlerMap;
  /** Default deadline for every call made on this connection, in milliseconds. */
  timeout?: number;
}

/** Throws a TypeError naming the option when `options` is not a valid PeerSettings. */
export function checkPeerSettings(fn: string, options: unknown): asserts options is PeerSettings | undefined {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}() options must be an object, got ${describe(options)}`);
  const o = options as PeerSettings;
  if (o.transferHandlers !== undefined && !(o.transferHandlers instanceof Map)) {
    throw new TypeError(`${fn}() option transferHandlers must be a Map of name to handler`);
  }
  checkMs(fn, 'timeout', o.timeout);
}

/** The longest delay setTimeout honours; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration option: a non-negative number of milliseconds a timer can wait. */
export function checkMs(fn: string, name: string, v: unknown): void {
  if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
    throw new TypeError(`${fn}() option ${name} must be a non-negative number of milliseconds, got ${describe(v)}`);
  }
  if (v !== undefined && v > MAX_TIMER_MS) {
    throw new TypeError(`${fn}() option ${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${v}`);
  }
}
