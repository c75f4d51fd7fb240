import type { MessagePort } from 'node:worker_threads';
import { decodeThrown, encodeThrown } from '../codec/error.ts';
import type { TransferHandlerMap } from '../codec/handlers.ts';
import { finalizer, proxy, transfer } from '../codec/marks.ts';
import { WireCodec } from '../codec/wire.ts';
import {
  CallAbortedError,
  CallTimeoutError,
  ChannelClosedError,
  FarcallError,
  NoSuchMethodError,
  ProtocolError,
  ProxyReleasedError,
  QueueFullError,
  UnsupportedError,
} from '../errors.ts';
import { CallKind, MsgType, invalidMessage, type CallMsg, type Message, type Specials } from '../protocol.ts';
import type { MessageTransport } from '../transport/types.ts';
import { argumentName, aborted, messageOf, notCloneable, resultName } from './failures.ts';
import { formatPath, reachable, resolvePath } from './path.ts';
import { createRemote, isRemote } from './remote.ts';
import type { SetGuard } from './set-guard.ts';

export interface PeerOptions {
  /** Transfer handlers for this connection only (looked up before the global map). */
  transferHandlers?: TransferHandlerMap;
  /** Default deadline for every call, in milliseconds. */
  timeout?: number;
  /**
   * Most objects this side keeps alive for the other side (values it passed
   * by reference and has not seen released), and most proxies for the other
   * side's objects (callbacks it passed in) alive here. A limit for untrusted peers.
   */
  maxHandles?: number;
  /**
   * The exposed value is shared with other connections (a server's api):
   * the other side releasing it ends only this connection and never runs
   * its `[finalizer]`.
   */
  sharedRoot?: boolean;
  /**
   * Most calls from the other side served at once (results still pending).
   * One past it is answered at once with a QueueFullError rather than
   * queued: queuing would mean buffering or pausing the channel, and a
   * paused channel would also hold back the replies to this side's own
   * calls (a callee awaiting the caller's callback would deadlock).
   */
  maxInFlight?: number;
  /** Whether an error this side throws travels with its stack (default true). */
  errorStacks?: boolean;
  /** Serves `remote[createEndpoint]()`: a new port exposing `value`. */
  createEndpoint?: (value: unknown) => MessagePort;
  /** Checks each property set from the other side (see set-guard.ts); none means any set the path guard allows. */
  guardSet?: SetGuard;
}

/** Options one call may carry. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Milliseconds; 0 or undefined means no deadline. */
  timeout?: number | undefined;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  path: string[];
  args: unknown[];
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const NO_ARGS: unknown[] = [];

/** The call being dispatched, only while its function runs synchronously (two variables: no object per call). */
let dispatchingPeer: Peer | undefined;
let dispatchingId = 0;

/**
 * The AbortSignal of the call now being served: aborted when the caller's
 * AbortSignal fires, its deadline passes, or it gives up. Call it
 * synchronously at the start of an exposed function, before any `await`.
 */
export function currentSignal(): AbortSignal {
  if (!dispatchingPeer || dispatchingId === 0) {
    throw new Error('currentSignal() must be called synchronously at the start of a function farcall is calling, before any await');
  }
  return dispatchingPeer.signalFor(dispatchingId);
}
const noop = (): void => {};

/**
 * One end of a connection, symmetric: it calls and it serves. Knows nothing
 * of the transport beneath it beyond its capabilities.
 */
export class Peer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private nextHandle = 1;
  private readonly exported = new Map<number, object>();
  /** Proxies for the other side's handles made here and not yet released. */
  private imported = 0;
  private root: { value: unknown } | undefined;
  private closedBy: Error | undefined;
  private readonly closeListeners: Array<(cause: Error) => void> = [];
  /** Calls this side is serving whose results are still pending. */
  private serving = 0;
  private readonly idleWaiters: Array<() => void> = [];
  /** AbortControllers of served calls whose callee asked for `currentSignal()`. */
  private controllers: Map<number, AbortController> | undefined;
  readonly codec: WireCodec;

  constructor(
    readonly transport: MessageTransport,
    private readonly options: PeerOptions = {},
  ) {
    this.codec = new WireCodec(
      { exportValue: (v) => this.exportValue(v), importHandle: (id) => this.importHandle(id) },
      options.transferHandlers,
    );
    transport.start({ message: (m) => this.receive(m), close: (cause) => this.closed(cause) });
  }

  get isClosed(): boolean {
    return this.closedBy !== undefined;
  }

  get label(): string {
    return this.transport.capabilities.label;
  }

  /** A call either way is unanswered, or either side holds a handle of the other's: the connection is in use even if silent. */
  get isBusy(): boolean {
    return this.serving > 0 || this.pending.size > 0 || this.exported.size > 0 || this.imported > 0;
  }

  get isServing(): boolean {
    return this.root !== undefined;
  }

  /** Serves `value` as handle 0, the root the other side's `wrap` reaches. */
  expose(value: unknown): void {
    this.root = { value };
  }

  onClose(listener: (cause: Error) => void): void {
    if (this.closedBy) listener(this.closedBy);
    else this.closeListeners.push(listener);
  }

  // ---- calling ----------------------------------------------------------

  call(handle: number, kind: CallKind, path: string[], args: unknown[] = NO_ARGS, opts?: CallOptions): Promise<unknown> {
    if (this.closedBy) return Promise.reject(this.closedError());
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(aborted(path, signal));
    let enc;
    try {
      enc = this.codec.encode(args, argumentName, path);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.nextId++;
    const msg: CallMsg = { t: MsgType.Call, i: id, p: path, a: args };
    // The common call (apply on the root) leaves out h and k: less to clone per call.
    if (handle !== 0) msg.h = handle;
    if (kind !== CallKind.Apply) msg.k = kind;
    if (enc?.x) msg.x = enc.x;
    const timeout = opts?.timeout ?? this.options.timeout;
    if (timeout) msg.d = timeout;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, path, args };
      this.pending.set(id, p);
      if (timeout) {
        p.timer = setTimeout(() => this.abandon(id, new CallTimeoutError(`${formatPath(path)}() timed out after ${timeout} ms`)), timeout);
        p.timer.unref();
      }
      if (signal) {
        p.signal = signal;
        p.onAbort = () => this.abandon(id, aborted(path, signal));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.transport.send(msg, enc?.transfer, this.onSendError);
    });
  }

  /** Sends a call that wants no reply. */
  notify(handle: number, kind: CallKind, path: string[], args: unknown[]): void {
    if (this.closedBy) return;
    const enc = this.codec.encode(args, argumentName, path);
    const msg: CallMsg = { t: MsgType.Call, i: 0, p: path, a: args };
    if (handle !== 0) msg.h = handle;
    if (kind !== CallKind.Apply) msg.k = kind;
    if (enc?.x) msg.x = enc.x;
    this.transport.send(msg, enc?.transfer, noop);
  }

  /** Gives up on a pending call locally and tells the callee. */
  private abandon(id: number, err: Error): void {
    const p = this.settle(id);
    if (!p) return;
    p.reject(err);
    if (!this.closedBy) this.transport.send({ t: MsgType.Cancel, i: id }, undefined, noop);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    return p;
  }

  private readonly onSendError = (err: unknown, msg: Message): void => {
    if (msg.t !== MsgType.Call || msg.i === 0) return;
    const p = this.settle(msg.i);
    if (!p) return;
    if (err instanceof FarcallError) return p.reject(err);
    p.reject(notCloneable(p.args, argumentName, p.path, err));
  };

  // ---- handles ----------------------------------------------------------

  private exportValue(value: object): number {
    const max = this.options.maxHandles;
    if (max !== undefined && this.exported.size >= max) {
      throw new FarcallError('ERR_FARCALL_PROTOCOL', `too many objects passed by reference on this ${this.label} (maxHandles ${max})`);
    }
    const id = this.nextHandle++;
    this.exported.set(id, value);
    return id;
  }

  private importHandle(id: number): unknown {
    const max = this.options.maxHandles;
    if (max !== undefined && this.imported >= max) {
      // Refused, so never to be released by a collected proxy: the other side may free it now.
      this.transport.send({ t: MsgType.Release, h: id }, undefined, noop);
      throw new FarcallError('ERR_FARCALL_PROTOCOL', `too many callbacks and proxies from the ${this.label} are held here (maxHandles ${max})`);
    }
    this.imported++;
    return createRemote(this, id);
  }

  /** Tells the other side one of its handles is no longer used here. */
  release(handle: number): void {
    if (this.closedBy) return;
    if (handle !== 0) this.imported--;
    this.transport.send({ t: MsgType.Release, h: handle }, undefined, noop);
    if (handle === 0) this.close(new ChannelClosedError(`the connection to the ${this.label} was released`));
  }

  // ---- receiving --------------------------------------------------------

  private receive(m: Message): void {
    if (this.closedBy) return;
    const bad = invalidMessage(m);
    if (bad) {
      this.close(new ProtocolError(`the ${this.label} sent an invalid message: ${bad}`));
      return;
    }
    switch (m.t) {
      case MsgType.Call:
        return this.serve(m);
      case MsgType.Return: {
        const p = this.settle(m.i);
        if (!p) return;
        try {
          p.resolve(m.x ? this.codec.decode([m.v], m.x)[0] : m.v);
        } catch (err) {
          p.reject(err);
        }
        return;
      }
      case MsgType.Throw: {
        const p = this.settle(m.i);
        if (p) p.reject(this.decodeError(m.e));
        return;
      }
      case MsgType.Release:
        return this.released(m.h);
      case MsgType.Cancel:
        // The callee hears it only if it asked for currentSignal(); nothing is interrupted by force.
        this.controllers?.get(m.i)?.abort(new CallAbortedError('the caller aborted this call'));
        return;
    }
  }

  private serve(m: CallMsg): void {
    const max = this.options.maxInFlight;
    if (max !== undefined && this.serving >= max) {
      if (m.i !== 0) {
        this.replyThrow(m.i, new QueueFullError(`${formatPath(m.p)}() was refused: this ${this.label} is already serving ${max} calls (maxInFlight ${max}); retry once some finish`));
      }
      return;
    }
    let result: unknown;
    let later: Promise<unknown> | undefined;
    const outerPeer = dispatchingPeer;
    const outerId = dispatchingId;
    dispatchingPeer = this;
    dispatchingId = m.i;
    try {
      result = this.dispatch(m);
      // Promise.resolve turns a thenable whose `then` throws into a rejection
      // instead of an exception out of the message handler.
      if (isThenable(result)) later = Promise.resolve(result);
    } catch (err) {
      if (m.i !== 0) this.replyThrow(m.i, err);
      return;
    } finally {
      dispatchingPeer = outerPeer;
      dispatchingId = outerId;
    }
    if (later && m.i === 0) {
      // One-way calls count toward maxInFlight too, or they would be an unbounded way around it.
      this.serving++;
      later.then(this.served, this.served);
      return;
    }
    if (m.i === 0) return;
    if (later) {
      this.serving++;
      later.then(
        (v) => {
          this.reply(m.i, v, m.p);
          this.served();
        },
        (e) => {
          this.replyThrow(m.i, e);
          this.served();
        },
      );
    } else {
      this.reply(m.i, result, m.p);
    }
  }

  /** The AbortSignal of call `id` being served; aborted if the caller cancels it. */
  signalFor(id: number): AbortSignal {
    this.controllers ??= new Map();
    let c = this.controllers.get(id);
    if (!c) this.controllers.set(id, (c = new AbortController()));
    return c.signal;
  }

  private readonly served = (): void => {
    if (--this.serving === 0) for (const w of this.idleWaiters.splice(0)) w();
  };

  /** Resolves once no call this side serves is still running; their replies are sent. */
  whenIdle(): Promise<void> {
    if (this.serving === 0 || this.closedBy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private dispatch(m: CallMsg): unknown {
    const target = this.target(m.h ?? 0);
    const args = this.codec.decode(m.a, m.x);
    switch (m.k ?? CallKind.Apply) {
      case CallKind.Apply: {
        const { holder, value } = resolvePath(target, m.p);
        if (typeof value !== 'function') throw new NoSuchMethodError(`"${formatPath(m.p)}" is not a function`);
        return Reflect.apply(value, holder, args);
      }
      case CallKind.Get:
        return resolvePath(target, m.p).value;
      case CallKind.Set: {
        const key = m.p[m.p.length - 1];
        const parent = resolvePath(target, m.p.slice(0, -1)).value;
        if (key === undefined || !settable(parent, key)) throw new NoSuchMethodError(`"${formatPath(m.p)}" cannot be set`);
        this.options.guardSet?.(parent as object, key, args[0], m.p);
        (parent as Record<string, unknown>)[key] = args[0];
        return true;
      }
      case CallKind.Construct: {
        const { value } = resolvePath(target, m.p);
        if (typeof value !== 'function') throw new NoSuchMethodError(`"${formatPath(m.p)}" is not a constructor`);
        return proxy(Reflect.construct(value, args) as object);
      }
      case CallKind.Endpoint: {
        const make = this.options.createEndpoint;
        if (!make) throw new UnsupportedError(`createEndpoint needs a MessagePort channel; this ${this.label} cannot carry ports`);
        const port = make(resolvePath(target, m.p).value);
        return transfer(port, [port]);
      }
    }
  }

  private target(handle: number): unknown {
    if (handle === 0) {
      if (!this.root) throw new NoSuchMethodError(`nothing is exposed on this ${this.label}`);
      return this.root.value;
    }
    if (!this.exported.has(handle)) throw new ProxyReleasedError(`handle ${handle} is released or was never passed`);
    return this.exported.get(handle);
  }

  private reply(id: number, value: unknown, path: string[]): void {
    this.controllers?.delete(id);
    if (this.closedBy) return;
    if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) {
      // A primitive: nothing to mark or transfer, and it always clones.
      this.transport.send({ t: MsgType.Return, i: id, v: value }, undefined, noop);
      return;
    }
    const values = [value];
    let enc;
    try {
      enc = this.codec.encode(values, resultName, path);
    } catch (err) {
      return this.replyThrow(id, err);
    }
    const msg: Message = { t: MsgType.Return, i: id, v: values[0] };
    if (enc?.x) msg.x = enc.x;
    this.transport.send(msg, enc?.transfer, (err) => {
      // A closed channel has no one to tell; anything else (a result over
      // maxMessageSize, say) must still reach the caller, or its call hangs.
      if (err instanceof ChannelClosedError) return;
      this.replyThrow(id, err instanceof FarcallError ? err : notCloneable(values, resultName, path, err));
    });
  }

  private replyThrow(id: number, thrown: unknown): void {
    this.controllers?.delete(id);
    if (this.closedBy) return;
    const custom = this.codec.handlerFor('throw');
    let e: unknown;
    try {
      e = custom ? { k: 2, v: custom.serialize({ value: thrown })[0] } : encodeThrown(thrown, this.options.errorStacks !== false);
    } catch (err) {
      // A getter on the error that throws, say. Throwing here would leave the
      // call pending and escape the message handler.
      e = { k: 1, n: 'Error', m: `the call failed, and what it threw could not be encoded: ${messageOf(err)}` };
    }
    this.transport.send({ t: MsgType.Throw, i: id, e }, undefined, (err) => {
      if (err instanceof ChannelClosedError) return;
      // Over a size limit the message itself may be what is too big; then say why it could not be sent.
      const m = err instanceof FarcallError ? `the call failed, and what it threw could not be sent: ${err.message}` : messageOf(thrown);
      this.transport.send({ t: MsgType.Throw, i: id, e: { k: 1, n: 'Error', m } }, undefined, noop);
    });
  }

  private decodeError(e: unknown): unknown {
    const custom = (e as { k?: unknown } | null)?.k === 2 ? this.codec.handlerFor('throw') : undefined;
    if (!custom) return decodeThrown(e);
    try {
      return custom.deserialize((e as { v: unknown }).v);
    } catch (thrown) {
      return thrown;
    }
  }

  private released(handle: number): void {
    if (handle === 0) {
      if (!this.options.sharedRoot) callFinalizer(this.root?.value);
      this.root = undefined;
      this.close(new ChannelClosedError(`the other side released the connection to this ${this.label}`));
      return;
    }
    const value = this.exported.get(handle);
    if (value === undefined) return;
    this.exported.delete(handle);
    callFinalizer(value);
  }

  // ---- closing ----------------------------------------------------------

  /** Closes the connection; every pending call rejects with `cause`. */
  close(cause: Error = new ChannelClosedError(`the connection to the ${this.label} was closed`)): void {
    if (this.closedBy) return;
    this.transport.close();
    this.closed(cause);
  }

  private closed(cause: Error): void {
    if (this.closedBy) return;
    this.closedBy = cause;
    const err = this.closedError();
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(err);
    for (const value of this.exported.values()) callFinalizer(value);
    this.exported.clear();
    for (const w of this.idleWaiters.splice(0)) w();
    for (const l of this.closeListeners.splice(0)) l(cause);
  }

  private closedError(): Error {
    const cause = this.closedBy!;
    return cause instanceof ChannelClosedError
      ? cause
      : new ChannelClosedError(`the connection to the ${this.label} closed: ${cause.message}`, { cause });
  }
}

/**
 * A result to wait for. A `then` that is a proxy for the other side does not
 * count: otherwise a peer could set one on an exposed object and have this
 * side call it with resolving functions it cannot send, a rejection no one
 * handles, which ends the process.
 */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Promise) return true;
  const then = (v as { then?: unknown }).then;
  return typeof then === 'function' && !isRemote(then);
}

function settable(parent: unknown, key: string): boolean {
  if ((typeof parent !== 'object' && typeof parent !== 'function') || parent === null) return false;
  return key !== '__proto__' && key !== 'constructor' && key !== 'prototype' && (reachable(parent, key) || !(key in parent));
}

function callFinalizer(value: unknown): void {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return;
  const fin = (value as { [finalizer]?: unknown })[finalizer];
  if (typeof fin === 'function') {
    try {
      fin.call(value);
    } catch {
      // A finalizer's failure is the exposer's own business; the release stands.
    }
  }
}
