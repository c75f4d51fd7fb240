/**
 * What decoding one message may build. A body's bytes bound its size on
 * the wire, not what it becomes: an empty Map is three bytes and some
 * hundred bytes of heap, so a body under maxMessageSize could take
 * gigabytes and stall the event loop for seconds. Both codecs count what
 * they build against these limits, before they build it.
 */
import { ProtocolError } from '../errors.ts';

/**
 * Deepest nesting of objects and arrays a message may hold. structuredClone
 * itself gives up between 1,000 and 2,000 levels on Node 20, and a decoder
 * that recursed deeper would overflow its stack.
 */
export const MAX_DEPTH = 1000;

/**
 * Default most items one message may decode into: every object, array,
 * Map, Set and every member of one counts. Decoding grows faster than the
 * count (the collector joins in): a body refused at 200,000 items of the
 * costliest kinds (empty Maps, objects) blocked the event loop for under
 * 100 ms, at 500,000 for 220-350 ms.
 */
export const DEFAULT_MAX_ITEMS = 200_000;

/**
 * A message refused for what decoding it would build (too many items, too
 * deep). The frame itself was whole, so the stream is still in step:
 * `partial` is its outer value as far as it was read, enough to tell which
 * call to fail rather than the whole connection.
 */
export class DecodeRefused extends ProtocolError {
  partial: unknown;
  constructor(message: string, partial?: unknown) {
    super(message);
    this.partial = partial;
  }
}

export const tooDeep = (): string => `a message is nested deeper than ${MAX_DEPTH} levels`;
export const tooMany = (max: number): string => `a message holds more than ${max} items (objects, arrays and their members; maxMessageItems ${max})`;
