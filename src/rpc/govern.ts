import { describe } from '../codec/marks.ts';
import type { WireCodec } from '../codec/wire.ts';
import { UnsupportedError } from '../errors.ts';
import { metricsFrom, type Metrics } from '../metrics/metrics.ts';
import { CallKind, invalidMetadata, type CallMsg } from '../protocol.ts';
import { currentMetadata, inheritedMetadata, runWithMetadata } from './metadata.ts';
import { formatPath } from './path.ts';
import type { CallOptions } from './types.ts';
import { isRemote } from './remote.ts';
import { clientCalls, serverCalls, type CallContext, type CallKindName, type CallSide } from './tracing.ts';
import { checkSchemas, validateArgs, type Schemas, type StandardSchema } from './validation.ts';

export { clientCalls, serverCalls };
export type { CallContext, CallKindName, CallSide };

const KIND_NAMES: readonly CallKindName[] = ['apply', 'get', 'set', 'construct', 'endpoint'];

/**
 * A step around each call: `next()` runs the rest of the chain (on a client,
 * finally the call itself; on a server, argument validation and the method)
 * and returns its promise. Throwing (or rejecting) before `next()` refuses
 * the call: on a server the method never runs and the caller gets the error,
 * a `FarcallError` subclass keeping its class and code.
 *
 * Order: the first middleware of `use` runs first (outermost) and sees the
 * result last. Metrics and tracing wrap the whole chain, so a refused call
 * counts as a failed one.
 */
export type Middleware = (ctx: CallContext, next: () => Promise<unknown>) => unknown;

/** What wraps one side of a peer's calls. */
export interface SideGovernor {
  readonly use: readonly Middleware[];
  readonly metrics: Metrics | undefined;
  /** Server side only: the schema per method path. */
  readonly schemas: ReadonlyMap<string, StandardSchema> | undefined;
}

/**
 * What a peer runs around its calls: a chain around those it makes, one
 * around those it serves (each only when it has something to run), and
 * metrics, which the peer records itself (a chain costs a promise per call).
 */
export interface Governor {
  readonly client?: SideGovernor | undefined;
  readonly server?: SideGovernor | undefined;
  readonly metrics?: Metrics | undefined;
}

/** A peer's governor for an entry point's side governor: undefined when there is nothing to do. */
export function peerGovernor(side: CallSide, g: SideGovernor | undefined): Governor | undefined {
  if (g === undefined) return undefined;
  const chain = g.use.length > 0 || g.schemas !== undefined ? g : undefined;
  return side === 'client' ? { client: chain, metrics: g.metrics } : { server: chain, metrics: g.metrics };
}

/** Options every entry point takes to govern its calls. */
export interface GovernSettings {
  /**
   * Middleware around every call: on listen() and expose(), the calls
   * served; on connect(), wrap(), spawn() and createPool(), the calls made.
   * See {@link Middleware} for the order.
   */
  use?: readonly Middleware[];
  /**
   * Per-method metrics: true for this entry point's own (read them with
   * `stats()` / `metrics()` where it offers them), or a `Metrics` shared by
   * several. Default off, and off costs nothing.
   */
  metrics?: boolean | Metrics;
}

/** Builds the governor of one side from an entry point's options; undefined when they ask for nothing. */
export function sideGovernor(fn: string, settings: GovernSettings & { schemas?: Schemas }, metrics?: Metrics, api?: unknown): SideGovernor | undefined {
  const use = checkUse(fn, settings.use);
  const schemas = settings.schemas === undefined ? undefined : checkSchemas(fn, settings.schemas, api);
  const m = metrics ?? metricsFrom(fn, settings.metrics);
  if (use.length === 0 && !schemas?.size && m === undefined) return undefined;
  return { use, schemas: schemas?.size ? schemas : undefined, metrics: m };
}

/** The metrics of an entry point, for its stats() and metrics(); a clear error when they are off. */
export function governedStats(fn: string, g: SideGovernor | undefined): Metrics {
  if (g?.metrics === undefined) throw new UnsupportedError(`metrics are off: pass ${fn}() the option metrics: true to record them`);
  return g.metrics;
}

function checkUse(fn: string, use: unknown): readonly Middleware[] {
  if (use === undefined) return [];
  if (!Array.isArray(use)) throw new TypeError(`${fn}() option use must be a list of middleware functions (ctx, next) => ..., got ${describe(use)}`);
  use.forEach((m, i) => {
    if (typeof m !== 'function') throw new TypeError(`${fn}() option use[${i}] must be a middleware function (ctx, next) => ..., got ${describe(m)}`);
  });
  return [...use];
}

// ---- calls made -------------------------------------------------------------

/** What sends a call once its governor lets it: a peer, or a pool that queues it for a worker. */
export interface CallSender {
  readonly label: string;
  readonly transport?: { readonly identity?: string | undefined };
  callDirect(handle: number, kind: CallKind, path: string[], args: unknown[], opts: CallOptions | undefined, told?: number): Promise<unknown>;
}

/**
 * A call through the governor and tracing; the peer's hook when either is
 * on. `told` is the deadline a pool tells its worker (see Peer.call);
 * `traced` false for a pool, whose calls are traced on the worker's peer.
 */
export function governedCall(
  peer: CallSender,
  g: SideGovernor | undefined,
  handle: number,
  kind: CallKind,
  path: string[],
  args: unknown[],
  opts: CallOptions | undefined,
  told?: number,
  traced = clientCalls.start.hasSubscribers,
): Promise<unknown> {
  const given = opts?.metadata ?? inheritedMetadata();
  const ctx = context('client', peer.label, peer.transport?.identity, handle, kind, path, args, given ? { ...given } : {});
  const send = (): Promise<unknown> => {
    const bad = invalidMetadata(ctx.metadata);
    if (bad) return Promise.reject(new RangeError(`${ctx.method}() was not sent: ${bad}`));
    const metadata = hasKeys(ctx.metadata) ? ctx.metadata : given;
    return peer.callDirect(handle, kind, path, ctx.args, metadata === opts?.metadata ? opts : { ...opts, metadata }, told);
  };
  const run = g ? () => governed(g, ctx, send) : send;
  return traced ? clientCalls.tracePromise(run, ctx) : run();
}

// ---- calls served -------------------------------------------------------------

/** What runs a call once its governor lets it: the serving side of a peer (serving.ts). */
export interface CallServer {
  readonly label: string;
  readonly transport: { readonly identity?: string | undefined };
  readonly codec: Pick<WireCodec, 'decode'>;
  dispatchNow(m: CallMsg, args: unknown[]): unknown;
}

/**
 * A served call with metadata, a governor or tracing; the peer's hook. The
 * result is the method's, or a promise of it.
 */
export function governedServe(peer: CallServer, m: CallMsg, g: SideGovernor | undefined): unknown {
  return m.m !== undefined ? runWithMetadata(m.m, () => serveIn(peer, m, g)) : serveIn(peer, m, g);
}

function serveIn(peer: CallServer, m: CallMsg, g: SideGovernor | undefined): unknown {
  const traced = serverCalls.start.hasSubscribers;
  if (g === undefined && !traced) return peer.dispatchNow(m, peer.codec.decode(m.a, m.x));
  const handle = m.h ?? 0;
  const ctx = context('server', peer.label, peer.transport.identity, handle, m.k ?? CallKind.Apply, m.p, peer.codec.decode(m.a, m.x), currentMetadata() as Record<string, string>);
  const last = (): unknown => {
    const valid = g?.schemas && handle === 0 && m.k === undefined ? validateArgs(g.schemas, m.p, ctx.args) : undefined;
    if (valid === undefined) return settled(peer.dispatchNow(m, ctx.args));
    if (Array.isArray(valid)) return settled(peer.dispatchNow(m, (ctx.args = valid)));
    return valid.then((a) => settled(peer.dispatchNow(m, (ctx.args = a))));
  };
  const run = g ? () => governed(g, ctx, last) : () => promised(last);
  return traced ? serverCalls.tracePromise(run, ctx) : run();
}

/**
 * A result about to be awaited here. The peer does not wait on a `then`
 * that is a proxy for the other side (see isThenable in served-values.ts); awaiting
 * one would call it, so such a result is refused rather than awaited.
 */
function settled(result: unknown): unknown {
  if (isRemote(result)) throw new UnsupportedError('a governed call cannot return a proxy for the other side; return a value of your own');
  const then = typeof result === 'object' && result !== null ? (result as { then?: unknown }).then : undefined;
  if (then !== undefined && isRemote(then)) throw new UnsupportedError('the result has a then() from the other side, which is never awaited');
  return result;
}

// ---- both sides -------------------------------------------------------------

/** The middleware chain around `last`. */
function governed(g: SideGovernor, ctx: CallContext, last: () => unknown): Promise<unknown> {
  return g.use.length === 0 ? promised(last) : chain(g.use, ctx, last);
}

function chain(use: readonly Middleware[], ctx: CallContext, last: () => unknown): Promise<unknown> {
  const step = (i: number): Promise<unknown> => {
    if (i === use.length) return promised(last);
    let called = false;
    return promised(() =>
      use[i]!(ctx, () => {
        if (called) return Promise.reject(new Error(`a middleware called next() twice for ${ctx.method}()`));
        called = true;
        return step(i + 1);
      }),
    );
  };
  return step(0);
}

/** `fn()` as a promise, its throw a rejection. */
function promised(fn: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

function context(side: CallSide, transport: string, identity: string | undefined, handle: number, kind: CallKind, path: readonly string[], args: unknown[], metadata: Record<string, string>): CallContext {
  const method = handle === 0 ? formatPath(path) : `(ref).${path.join('.')}`;
  return { side, method, path, kind: KIND_NAMES[kind] ?? 'apply', args, metadata, transport, identity };
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
