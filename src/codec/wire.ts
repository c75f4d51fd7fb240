import type { Transferable } from '../transport/types.ts';
import { NotCloneableError, ProtocolError } from '../errors.ts';
import type { Specials } from '../protocol.ts';
import { proxyTransferHandler, throwTransferHandler, transferHandlers, type TransferHandlerMap } from './handlers.ts';
import { isProxied, transfersOf } from './marks.ts';

/** Anything async iterable (not passed by reference) travels as a stream. */
const isStreamable = (v: object): boolean => typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';

/** The connection's handle table, as the wire layer sees it. */
export interface HandleTable {
  /** Registers a value passed by reference; returns its handle id. */
  exportValue(value: object): number;
  /** A proxy for a handle the other side exported. */
  importHandle(id: number): unknown;
  /** Registers an async iterable to be streamed; returns its stream id. */
  exportStream?(value: object): number;
  /** An async iterator (or a ReadableStream when `readable`) over the other side's stream `id`. */
  importStream?(id: number, readable: boolean): unknown;
  /** Ends the streams `x` registered: the message that carried them will not be sent. */
  unsent?(x: Specials): void;
}

/** Names value `i` of a call to `path` in an error message. */
export type Describe = (i: number, path: readonly string[]) => string;

/** What encoding found beside the values, which it rewrote in place. */
export interface Encoded {
  x: Specials | undefined;
  transfer: Transferable[] | undefined;
}

/**
 * Turns values into wire values and back: proxy marks become handles,
 * transfer marks become a transfer list, user handlers apply. Shared by
 * every transport; only top-level values are inspected (comlink's rule),
 * so large payloads are never walked.
 */
export class WireCodec {
  constructor(
    private readonly handles: HandleTable,
    private readonly local: TransferHandlerMap | undefined,
  ) {}

  /**
   * Encodes `values` in place (the array is the caller's own copy).
   * `what(i, path)` names value i in error messages (index 0 is "argument 1 of add()");
   * a function of the path rather than a closure, which each call would allocate.
   */
  encode(values: unknown[], what: Describe, path: readonly string[]): Encoded | undefined {
    let x: Specials | undefined;
    let transfer: Transferable[] | undefined;
    const userHandlers = this.local !== undefined || transferHandlers.size > 2;
    try {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if ((typeof v !== 'object' && typeof v !== 'function') || v === null) continue;
        if (isProxied(v)) {
          (x ??= []).push([i, 'proxy', this.handles.exportValue(v)]);
          values[i] = undefined;
          continue;
        }
        const t = transfersOf(v);
        if (t !== undefined) (transfer ??= []).push(...t);
        if (userHandlers) {
          const hit = this.applyHandlers(v);
          if (hit) {
            (x ??= []).push([i, hit[0], hit[1]]);
            if (hit[2].length) (transfer ??= []).push(...hit[2]);
            values[i] = undefined;
            continue;
          }
        }
        if (this.handles.exportStream && isStreamable(v)) {
          (x ??= []).push([i, v instanceof ReadableStream ? 'readable' : 'stream', this.handles.exportStream(v)]);
          values[i] = undefined;
          continue;
        }
        if (typeof v === 'function') {
          throw new NotCloneableError(
            `${what(i, path)} is a function, which cannot be cloned; pass it by reference with proxy(fn)`,
          );
        }
      }
    } catch (err) {
      // What was registered for this message will never be sent.
      if (x) this.handles.unsent?.(x);
      throw err;
    }
    // Nothing special, the usual case: no result object to allocate.
    return x === undefined && transfer === undefined ? undefined : { x, transfer };
  }

  private applyHandlers(v: object): [string, unknown, Transferable[]] | undefined {
    if (this.local) {
      for (const [name, h] of this.local) if (h.canHandle(v)) return [name, ...h.serialize(v)];
    }
    for (const [name, h] of transferHandlers) {
      if (h === proxyTransferHandler || h === throwTransferHandler || this.local?.has(name)) continue;
      if (h.canHandle(v)) return [name, ...h.serialize(v)];
    }
    return undefined;
  }

  /** Restores values encoded by `encode` on the other side, in place. */
  decode(raw: unknown[], x: Specials | undefined): unknown[] {
    if (x === undefined) return raw;
    for (const [i, name, payload] of x) {
      if (i >= raw.length) throw new ProtocolError(`a special value names position ${i} of ${raw.length}`);
      raw[i] = this.decodeOne(name, payload);
    }
    return raw;
  }

  private decodeOne(name: string, payload: unknown): unknown {
    if (name === 'proxy') {
      if (typeof payload !== 'number' || !Number.isInteger(payload) || payload < 0) {
        throw new ProtocolError('a proxy value arrived without a valid handle');
      }
      return this.handles.importHandle(payload);
    }
    if ((name === 'stream' || name === 'readable') && this.handles.importStream) {
      if (typeof payload !== 'number' || !Number.isInteger(payload) || payload < 1) {
        throw new ProtocolError('a stream arrived without a valid stream id');
      }
      return this.handles.importStream(payload, name === 'readable');
    }
    const h = this.handlerFor(name);
    if (!h) throw new ProtocolError(`a value arrived for transfer handler "${name}", which is not registered here`);
    return h.deserialize(payload);
  }

  /** A user handler by name: this connection's first, then the global map's. */
  handlerFor(name: string) {
    const h = this.local?.get(name) ?? transferHandlers.get(name);
    return h === proxyTransferHandler || h === throwTransferHandler ? undefined : h;
  }
}
