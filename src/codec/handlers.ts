import type { Transferable } from '../transport/types.ts';
import { isProxied } from './marks.ts';

/**
 * Custom serialization for values the channel cannot carry as they are
 * (comlink's transfer handler shape). Only top-level arguments, results and
 * set values go through handlers.
 */
export interface TransferHandler<T, S> {
  canHandle(value: unknown): value is T;
  serialize(value: T): [S, Transferable[]];
  deserialize(value: S): T;
}

export type TransferHandlerMap = Map<string, TransferHandler<unknown, unknown>>;

const builtIn = (what: string): never => {
  throw new Error(`the built-in "${what}" handler is applied by each connection and cannot be called directly`);
};

/** Marks proxy() values; the connection turns them into handles. */
export const proxyTransferHandler: TransferHandler<object, number> = {
  canHandle: (v): v is object => ((typeof v === 'object' && v !== null) || typeof v === 'function') && isProxied(v),
  serialize: () => builtIn('proxy'),
  deserialize: () => builtIn('proxy'),
};

/** Errors thrown by an exposed function; the connection encodes them (see codec/error.ts). */
export const throwTransferHandler: TransferHandler<unknown, unknown> = {
  canHandle: (_v): _v is unknown => false,
  serialize: () => builtIn('throw'),
  deserialize: () => builtIn('throw'),
};

/**
 * The global handler map, for comlink compatibility: setting an entry here
 * changes every connection. Prefer the `transferHandlers` option of
 * `wrap`/`expose`, which applies to one connection.
 */
export const transferHandlers: TransferHandlerMap = new Map<string, TransferHandler<unknown, unknown>>([
  ['proxy', proxyTransferHandler as TransferHandler<unknown, unknown>],
  ['throw', throwTransferHandler],
]);
