import diagnosticsChannel from 'node:diagnostics_channel';
import type { CallContext } from './govern.ts';

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
