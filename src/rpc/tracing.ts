import diagnosticsChannel from 'node:diagnostics_channel';

/** Which way a call goes, seen from here: 'client' for calls this side makes, 'server' for calls it serves. */
export type CallSide = 'client' | 'server';

/** A call's kind by name, in the order of CallKind (protocol.ts). */
export type CallKindName = 'apply' | 'get' | 'set' | 'construct' | 'endpoint';

/** One call, as middleware and tracing subscribers see it. */
export interface CallContext {
  readonly side: CallSide;
  /**
   * The method as written ('add', 'math.add'). A call on an object passed
   * by reference (a callback, a proxy) reads '(ref).' and its path.
   */
  readonly method: string;
  readonly path: readonly string[];
  /** 'apply' for a method call; 'get', 'set', 'construct' for property reads, writes and `new`. */
  readonly kind: CallKindName;
  /** The arguments; a middleware may replace them before calling `next()`. */
  args: unknown[];
  /**
   * The call's metadata. On a client, entries a middleware (or a tracing
   * subscriber) adds here are sent; on a server it is what arrived, frozen.
   */
  readonly metadata: Record<string, string>;
  /** The other side, as errors name it: 'worker', 'child process', 'client', 'server at /tmp/app.sock'. */
  readonly transport: string;
  /** Who the other side proved to be: its auth key id or TLS certificate subject (see listen's `auth`). */
  readonly identity: string | undefined;
}

/**
 * Tracing hooks: every call a side makes, and every call it serves, runs
 * through a `TracingChannel` of `node:diagnostics_channel` when something
 * subscribes to it (an APM agent, OpenTelemetry, a test). Its context is
 * the call's {@link CallContext} (side, method, path, transport, metadata),
 * with `result` or `error` added as the channel defines. A client-side
 * `start` subscriber may add entries to `metadata` (a trace context) before
 * the call is sent. With no subscriber a call checks one flag and nothing
 * else.
 */
export const clientCalls = diagnosticsChannel.tracingChannel<string, CallContext>('farcall:client:call');

/** Calls this side serves; see {@link clientCalls}. `start.bindStore()` makes a span current in the served function. */
export const serverCalls = diagnosticsChannel.tracingChannel<string, CallContext>('farcall:server:call');
