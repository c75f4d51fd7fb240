import { encodeThrown } from '../codec/error.ts';
import { proxy, transfer } from '../codec/marks.ts';
import type { WireCodec } from '../codec/wire.ts';
import { ChannelClosedError, FarcallError, NoSuchMethodError, ProxyReleasedError, QueueFullError, UnsupportedError } from '../errors.ts';
import { CallKind, MsgType, type CallMsg, type Message } from '../protocol.ts';
import type { MessageTransport } from '../transport/types.ts';
import { messageOf, notCloneable, resultName } from './failures.ts';
import { governedServe, serverCalls } from './govern.ts';
import { formatPath, reachable, readPath, resolvePath } from './path.ts';
import { isThenable, settable } from './served-values.ts';
import type { PeerOptions } from './peer-options.ts';
import { withDeadline } from './deadline.ts';
import type { StreamTable } from './streams.ts';

/** The call being dispatched, only while its function runs synchronously (two variables: no object per call). */
let dispatchingPeer: ServingSide | undefined;
let dispatchingId = 0;

/** The peer whose call (one-way ones too) is being dispatched now, if any (peer.ts's servingPeer). */
export const servingSide = (): ServingSide | undefined => dispatchingPeer;

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

/**
 * Who the caller of the call now being served proved to be: its auth key
 * id, or its TLS client certificate's subject; undefined when its
 * connection did not authenticate. Like currentSignal(), call it
 * synchronously at the start of an exposed function.
 */
export function currentIdentity(): string | undefined {
  if (!dispatchingPeer || dispatchingId === 0) {
    throw new Error('currentIdentity() must be called synchronously at the start of a function farcall is calling, before any await');
  }
  return dispatchingPeer.transport.identity;
}

const noop = (): void => {};

/**
 * The serving half of a peer: it runs the calls the other side makes and
 * answers them. Peer (peer.ts), the core, extends it with calling, handles
 * and closing, and gives it what it declares abstract here.
 */
export abstract class ServingSide {
  protected root: { value: unknown } | undefined;
  private builtins: object | undefined;
  /** Calls this side is serving whose results are still pending. */
  protected serving = 0;
  protected readonly idleWaiters: Array<() => void> = [];
  /** AbortControllers of served calls whose callee asked for `currentSignal()`. */
  protected controllers: Map<number, AbortController> | undefined;

  abstract readonly transport: MessageTransport;
  abstract readonly codec: WireCodec;
  protected abstract readonly options: PeerOptions;
  protected abstract closedBy: Error | undefined;
  protected abstract readonly exported: Map<number, object>;
  protected abstract streams: StreamTable | undefined;
  abstract get label(): string;
  abstract close(cause?: Error): void;

  get isServing(): boolean {
    return this.root !== undefined;
  }

  /** Calls this side is serving whose results are still pending. */
  get servingCalls(): number {
    return this.serving;
  }

  /** Serves `value` as handle 0, the root the other side's `wrap` reaches. */
  expose(value: unknown): void {
    this.root = { value };
  }

  /** Serves the own members of `value` beside the root, ahead of its same-named ones (a service's built-in calls). */
  exposeBuiltins(value: object): void {
    this.builtins = value;
  }

  protected serve(m: CallMsg): void {
    const max = this.options.maxInFlight;
    if (max !== undefined && this.serving >= max) {
      this.streams?.drop(m.x);
      if (m.i !== 0) {
        this.replyThrow(m.i, new QueueFullError(`${formatPath(m.p)}() was refused: this ${this.label} is already serving ${max} calls (maxInFlight ${max}); retry once some finish`));
      }
      return;
    }
    let result: unknown;
    let later: Promise<unknown> | undefined;
    const rec = m.i !== 0 ? this.options.governor?.metrics?.method('server', m.h ?? 0, m.p) : undefined;
    const timing = rec ? rec.begin() : -1;
    const outerPeer = dispatchingPeer;
    const outerId = dispatchingId;
    dispatchingPeer = this;
    dispatchingId = m.i;
    try {
      const governed = m.m !== undefined || this.options.governor?.server !== undefined || serverCalls.start.hasSubscribers;
      if (m.d !== undefined) result = withDeadline(Date.now() + m.d, () => (governed ? governedServe(this, m, this.options.governor?.server) : this.dispatch(m)));
      else result = governed ? governedServe(this, m, this.options.governor?.server) : this.dispatch(m);
      // Promise.resolve turns a thenable whose `then` throws into a rejection
      // instead of an exception out of the message handler.
      if (isThenable(result)) later = Promise.resolve(result);
    } catch (err) {
      rec?.fail(timing, err);
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
          rec?.ok(timing);
          this.reply(m.i, v, m.p);
          this.served();
        },
        (e) => {
          rec?.fail(timing, e);
          this.replyThrow(m.i, e);
          this.served();
        },
      );
    } else {
      rec?.ok(timing);
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

  /** Runs call `m` as the call being dispatched (currentSignal() works in it): a governed call's last step. */
  dispatchNow(m: CallMsg, args: unknown[]): unknown {
    const outerPeer = dispatchingPeer;
    const outerId = dispatchingId;
    dispatchingPeer = this;
    dispatchingId = m.i;
    try {
      return this.dispatch(m, args);
    } finally {
      dispatchingPeer = outerPeer;
      dispatchingId = outerId;
    }
  }

  // Arguments first (the default runs before the body): a stream among them is then the callee's to drop, even when the target is not there.
  private dispatch(m: CallMsg, args = this.codec.decode(m.a, m.x)): unknown {
    const target = this.builtins && m.h === undefined && reachable(this.builtins, m.p[0] ?? '') ? this.builtins : this.target(m.h ?? 0);
    switch (m.k ?? CallKind.Apply) {
      case CallKind.Apply: {
        const { holder, value } = resolvePath(target, m.p);
        if (typeof value !== 'function') throw new NoSuchMethodError(`"${formatPath(m.p)}" is not a function`);
        return Reflect.apply(value, holder, args);
      }
      case CallKind.Get:
        return readPath(target, m.p);
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
      this.streams?.unsent(msg.x);
      // A closed channel has no one to tell; anything else (a result over
      // maxMessageSize, say) must still reach the caller, or its call hangs.
      if (err instanceof ChannelClosedError) return;
      this.replyThrow(id, err instanceof FarcallError ? err : notCloneable(values, resultName, path, err));
    });
  }

  private replyThrow(id: number, thrown: unknown): void {
    this.controllers?.delete(id);
    if (this.closedBy) return;
    const e = this.encodeError(thrown);
    this.transport.send({ t: MsgType.Throw, i: id, e }, undefined, (err) => {
      if (err instanceof ChannelClosedError) return;
      // Over a size limit the message itself may be what is too big; then say why it could not be sent.
      const m = err instanceof FarcallError ? `the call failed, and what it threw could not be sent: ${err.message}` : messageOf(thrown);
      this.transport.send({ t: MsgType.Throw, i: id, e: { k: 1, n: 'Error', m } }, undefined, noop);
    });
  }

  protected encodeError(thrown: unknown): unknown {
    const custom = this.codec.handlerFor('throw');
    try {
      return custom ? { k: 2, v: custom.serialize({ value: thrown })[0] } : encodeThrown(thrown, this.options.errorStacks !== false);
    } catch (err) {
      // A getter on the error that throws, say. Throwing here would leave the
      // call pending and escape the message handler.
      return { k: 1, n: 'Error', m: `it failed, and what it threw could not be encoded: ${messageOf(err)}` };
    }
  }
}
