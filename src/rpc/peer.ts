import { decodeThrown } from '../codec/error.ts';
import { WireCodec } from '../codec/wire.ts';
import { CallAbortedError, CallTimeoutError, ChannelClosedError, FarcallError, ProtocolError } from '../errors.ts';
import { CallKind, MsgType, invalidMessage, type CallMsg, type Message } from '../protocol.ts';
import type { MessageTransport } from '../transport/types.ts';
import { pendingChanged } from './exit-guard.ts';
import { argumentName, aborted, notCloneable } from './failures.ts';
import { clientCalls, governedCall } from './govern.ts';
import { inheritedMetadata } from './metadata.ts';
import { formatPath } from './path.ts';
import { Pending } from './pending.ts';
import { createRemote } from './remote.ts';
import { callFinalizer } from './served-values.ts';
import type { CallOptions, PeerOptions } from './peer-options.ts';
import { deadlineReason, inheritedTimeout } from './deadline.ts';
import { StreamTable } from './streams.ts';
import { ServingSide, servingSide } from './serving.ts';

export type { CallOptions, PeerOptions } from './peer-options.ts';
export { currentIdentity, currentSignal } from './serving.ts';

const NO_ARGS: unknown[] = [];

/** The peer whose call (one-way ones too) is being dispatched now, if any (for rpc/context.ts, and tests that read its tables). */
export const servingPeer = (): Peer | undefined => servingSide() as Peer | undefined; // Peer is the only ServingSide

const noop = (): void => {};

/**
 * One end of a connection, symmetric: it calls and it serves (the serving
 * half is ServingSide, serving.ts). Knows nothing of the transport beneath
 * it beyond its capabilities.
 */
export class Peer extends ServingSide {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private nextHandle = 1;
  protected readonly exported = new Map<number, object>();
  protected closedBy: Error | undefined;
  private readonly closeListeners: Array<(cause: Error) => void> = [];
  /** Proxies this side holds to the other side's objects (handles imported, not yet released). */
  private held = 0;
  private activityListener: (() => void) | undefined;
  /** Open streams both ways, made on first use (see streams.ts). */
  protected streams: StreamTable | undefined;
  readonly codec: WireCodec;

  constructor(
    readonly transport: MessageTransport,
    protected readonly options: PeerOptions = {},
  ) {
    super();
    this.codec = new WireCodec(
      {
        exportValue: (v) => this.exportValue(v),
        importHandle: (id) => this.importHandle(id),
        exportStream: (v) => this.streamTable().exportStream(v),
        importStream: (id, readable) => this.streamTable().importStream(id, readable),
        unsent: (x) => this.streams?.unsent(x),
      },
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
    const streams = this.streams !== undefined && (this.streams.producing.size > 0 || this.streams.consuming.size > 0);
    return this.serving > 0 || this.pending.size > 0 || this.exported.size > 0 || this.held > 0 || streams;
  }

  /** Calls this side made that await their answer and streams whose next item it awaits (a balancer's load measure; a pool keeps such a worker referenced). */
  get pendingCalls(): number {
    return this.pending.size + (this.streams?.waiting ?? 0);
  }

  /**
   * `listener` runs when this side starts or stops waiting on the other
   * (its first call goes out, its last answer comes) and when it takes or
   * releases a proxy to an object of the other side. A pool keeps a worker
   * referenced while waiting on it, and running while its objects are held.
   */
  onActivity(listener: () => void): void {
    this.activityListener = listener;
  }

  get heldHandles(): number {
    return this.held;
  }

  onClose(listener: (cause: Error) => void): void {
    if (this.closedBy) listener(this.closedBy);
    else this.closeListeners.push(listener);
  }

  // ---- calling ----------------------------------------------------------

  /**
   * `told`: milliseconds the callee is told it has, for a caller that keeps
   * the deadline's timer itself (a pool, whose deadline counts queue time).
   */
  call(handle: number, kind: CallKind, path: string[], args: unknown[] = NO_ARGS, opts?: CallOptions, told?: number): Promise<unknown> {
    if (this.options.governor?.client !== undefined || clientCalls.start.hasSubscribers) {
      return governedCall(this, this.options.governor?.client, handle, kind, path, args, opts, told);
    }
    return this.callDirect(handle, kind, path, args, opts, told);
  }

  /** A call as it leaves, past any governor (which calls it last). */
  callDirect(handle: number, kind: CallKind, path: string[], args: unknown[], opts: CallOptions | undefined, told?: number): Promise<unknown> {
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
    let timeout = opts?.timeout ?? this.options.timeout;
    // Inside a served call with a deadline, a call onward gets no more than the time left.
    const left = inheritedTimeout();
    if (left !== undefined && !(timeout && timeout < left)) timeout = left;
    if (timeout) msg.d = timeout;
    else if (told) msg.d = told;
    const metadata = opts?.metadata ?? inheritedMetadata();
    if (metadata !== undefined) msg.m = metadata;
    return new Promise((resolve, reject) => {
      const p = new Pending(resolve, reject, path, args, this.options.governor?.metrics, handle);
      this.pending.set(id, p);
      if (this.pending.size === 1) this.pendingChanged();
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
    if (this.closedBy) return;
    // A signal aborted for a deadline (a pool's) counts as one.
    const late = err instanceof CallTimeoutError || err.cause instanceof CallTimeoutError;
    this.transport.send(late ? { t: MsgType.Cancel, i: id, r: 1 } : { t: MsgType.Cancel, i: id }, undefined, noop);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    if (this.pending.size === 0) this.pendingChanged();
    if (p.timer) clearTimeout(p.timer);
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    return p;
  }

  private readonly onSendError = (err: unknown, msg: Message): void => {
    if (msg.t !== MsgType.Call) return;
    this.streams?.unsent(msg.x);
    if (msg.i === 0) return;
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

  private pendingChanged(): void {
    pendingChanged(this);
    this.activityListener?.();
  }

  private importHandle(id: number): unknown {
    const max = this.options.maxHandles;
    if (max !== undefined && this.held >= max) {
      // Refused, so never to be released by a collected proxy: the other side may free it now.
      this.transport.send({ t: MsgType.Release, h: id }, undefined, noop);
      throw new FarcallError('ERR_FARCALL_PROTOCOL', `too many callbacks and proxies from the ${this.label} are held here (maxHandles ${max})`);
    }
    this.held++;
    this.activityListener?.();
    return createRemote(this, id);
  }

  /** Tells the other side one of its handles is no longer used here. */
  release(handle: number): void {
    if (handle !== 0) {
      this.held--;
      this.activityListener?.();
    }
    if (this.closedBy) return;
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
        // A late reply to a call given up on: the streams it carries would wait for a consumer forever.
        if (!p) return this.streams?.drop(m.x);
        try {
          p.resolve(m.x ? this.codec.decode([m.v], m.x)[0] : m.v);
          // The call's signal goes on aborting the streams it returned.
          if (p.signal && m.x) this.streams?.abortWith(m.x, p.signal, p.path);
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
      case MsgType.Cancel: {
        // The callee hears it only if it asked for currentSignal(); nothing is interrupted by force.
        const c = this.controllers?.get(m.i);
        if (!c) return;
        this.controllers!.delete(m.i);
        c.abort(m.r === 1 ? deadlineReason() : new CallAbortedError('the caller aborted this call'));
        return;
      }
      case MsgType.Drain:
        this.options.onDrain?.();
        return;
      case MsgType.Ping:
        // A keep-alive: its arrival was all it had to say (the transport noted it).
        return;
      default:
        return this.streamTable().receive(m);
    }
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
    this.streams?.close(err);
    for (const c of this.controllers?.values() ?? []) c.abort(err);
    this.controllers?.clear();
    for (const w of this.idleWaiters.splice(0)) w();
    for (const l of this.closeListeners.splice(0)) l(cause);
  }

  private streamTable(): StreamTable {
    return (this.streams ??= new StreamTable(
      {
        codec: this.codec,
        send: (msg, transfer, onError) => (this.closedBy ? undefined : this.transport.send(msg, transfer, onError)),
        encodeError: (thrown) => this.encodeError(thrown),
        decodeError: (e) => this.decodeError(e),
        fail: (err) => this.close(err),
        waitingChanged: () => this.pendingChanged(),
      },
      this.options.streamWindow,
      this.options.maxHandles,
    ));
  }

  /** How many entries each table holds (for tests): calls awaited and served, signals, objects lent, streams both ways. */
  tables(): Record<string, number> {
    const [pending, serving, signals, handles] = [this.pending.size, this.serving, this.controllers?.size ?? 0, this.exported.size];
    return { pending, serving, signals, handles, producing: this.streams?.producing.size ?? 0, consuming: this.streams?.consuming.size ?? 0 };
  }

  private closedError(): Error {
    const cause = this.closedBy!;
    return cause instanceof ChannelClosedError
      ? cause
      : new ChannelClosedError(`the connection to the ${this.label} closed: ${cause.message}`, { cause });
  }
}
