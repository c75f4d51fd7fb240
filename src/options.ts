import type { TransferHandlerMap } from './codec/handlers.ts';
import { describe } from './codec/marks.ts';
import type { StreamWindow } from './rpc/streams.ts';
import type { GovernSettings } from './rpc/govern.ts';
import { suggestion } from './suggest.ts';

export { suggestion };

/** Options every connection takes, whatever carries it. */
export interface PeerSettings extends GovernSettings {
  /** Transfer handlers for this connection only, looked up before the global `transferHandlers`. */
  transferHandlers?: TransferHandlerMap;
  /** Default deadline for every call made on this connection, in milliseconds. */
  timeout?: number;
  /**
   * How far the producer of a stream this side reads may run ahead of it:
   * `{ items, bytes }`, default `{ items: 1000, bytes: 4 MiB }` (bytes of
   * strings and buffers among the items).
   */
  streamWindow?: StreamWindow;
}

/**
 * The names of every option an entry point takes, one `name: true` per
 * option of its options type `T`. Declared beside the entry point as
 * `const X_OPTIONS = { ...PEER_OPTIONS, mine: true } satisfies OptionNames<XOptions>`,
 * so an option added to the type but not to the list fails to compile
 * (and one in the list but not in the type does too).
 */
export type OptionNames<T> = { readonly [K in keyof Required<T>]: true };

/** The option names of PeerSettings, for entry points whose options extend it. */
export const PEER_OPTIONS = { transferHandlers: true, timeout: true, streamWindow: true, use: true, metrics: true } as const satisfies OptionNames<PeerSettings>;

/**
 * Throws a TypeError when `options` is not an object, or has an own key that
 * is not in `known`: a misspelt option would otherwise be ignored in silence.
 * The message says what to use `instead` of a name that is known elsewhere,
 * or else suggests the nearest known name.
 */
export function checkOptionNames(fn: string, options: unknown, known: object, instead: Readonly<Record<string, string>> = {}): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}() options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const hint = Object.hasOwn(instead, key) ? `; ${instead[key]}` : suggestion(key, Object.keys(known));
    throw new TypeError(`${fn}() has no option ${key}${hint}`);
  }
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
  checkStreamWindow(fn, o.streamWindow);
}

const STREAM_WINDOW = { items: true, bytes: true } as const satisfies OptionNames<StreamWindow>;

function checkStreamWindow(fn: string, w: unknown): void {
  if (w === undefined) return;
  if (typeof w !== 'object' || w === null) throw new TypeError(`${fn}() option streamWindow must be an object { items?, bytes? }, got ${describe(w)}`);
  for (const key of Object.keys(w)) {
    if (!Object.hasOwn(STREAM_WINDOW, key)) throw new TypeError(`${fn}() option streamWindow has no ${key}${suggestion(key, Object.keys(STREAM_WINDOW))}; it takes items and bytes`);
  }
  for (const [name, v] of Object.entries(w)) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 2 ** 32)) {
      throw new TypeError(`${fn}() option streamWindow.${name} must be a whole number from 1 to 2^32, got ${describe(v)}`);
    }
  }
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
