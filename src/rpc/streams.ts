import type { WireCodec } from '../codec/wire.ts';
import { ChannelClosedError, FarcallError, NotCloneableError, ProtocolError } from '../errors.ts';
import { MsgType, type Message, type Specials, type StreamMsg } from '../protocol.ts';
import type { SendErrorHandler, Transferable } from '../transport/types.ts';
import { aborted, messageOf } from './failures.ts';

/**
 * Async iterables across a connection (DESIGN.md, "streams"). A value with
 * `Symbol.asyncIterator` sent as an argument or a result stays with its
 * sender, the producer; the other side, the consumer, gets an async
 * iterator numbered like a handle. The producer runs only on credit: the
 * consumer grants a window of items and bytes when it starts pulling, and
 * more as it consumes, so a slow consumer bounds memory on both sides and
 * one that stops pulling stops the producer. Items pulled in one tick
 * travel as one message.
 */

/** How far a producer may run ahead of its consumer. */
export interface StreamWindow {
  /** Items. Default 1,000. */
  items?: number;
  /** Bytes of strings and buffers among the items (other items count as none). Default 4 MiB. */
  bytes?: number;
}

const DEFAULT_STREAM_WINDOW = { items: 1000, bytes: 4 * 1024 * 1024 } as const;

/** Items pulled in one tick go together, up to this many (or BATCH_BYTES); then they leave at once. */
const BATCH_ITEMS = 256;
const BATCH_BYTES = 64 * 1024;

/** What the stream table needs of its peer. */
export interface StreamHost {
  readonly codec: WireCodec;
  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void;
  /** A thrown value as the peer sends it (its shape kept). */
  encodeError(thrown: unknown): unknown;
  decodeError(e: unknown): unknown;
  /** Closes the connection: the other side broke the protocol. */
  fail(err: Error): void;
  /** A consumer started or stopped waiting for items: this side waits on the other, as for a call's answer. */
  waitingChanged(): void;
}

interface Producer {
  readonly id: number;
  readonly source: object;
  it: AsyncIterator<unknown> | undefined;
  /** Credit: items and bytes the consumer will still take. */
  items: number;
  bytes: number;
  pumping: boolean;
  ended: boolean;
  batch: unknown[];
  batchBytes: number;
  timer: NodeJS.Immediate | undefined;
}

const settled = Promise.resolve();
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const noop = (): void => {};
const itemName = (): string => 'an item of a stream';

/** Bytes an item counts for in the window: strings and buffers; anything else counts as none. */
function sizeOf(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (typeof v !== 'object' || v === null) return 0;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return v.byteLength;
  return 0;
}

/** The stream ids a message's special values carry. */
function streamIds(x: Specials | undefined): number[] {
  const ids: number[] = [];
  for (const [, name, payload] of x ?? []) if ((name === 'stream' || name === 'readable') && typeof payload === 'number') ids.push(payload);
  return ids;
}

/** Every consumer whose iterator was collected before it ended tells its producer to stop. */
const collected = new FinalizationRegistry<Consumer>((c) => c.cancel());

/** The open streams of one connection, both ways. */
export class StreamTable {
  private nextId = 1;
  readonly producing = new Map<number, Producer>();
  readonly consuming = new Map<number, Consumer>();
  /** Producers done whose last batch is not yet known to have been sent: why it was not, once known. */
  private readonly ending = new Map<number, { failure: unknown }>();
  readonly window: Required<StreamWindow>;
  /** Consumers with a next() awaiting items. */
  waiting = 0;

  constructor(
    readonly host: StreamHost,
    window: StreamWindow | undefined,
    /** Most streams this side produces at once (maxHandles): a limit for untrusted peers. */
    private readonly max: number | undefined,
  ) {
    this.window = { items: window?.items ?? DEFAULT_STREAM_WINDOW.items, bytes: window?.bytes ?? DEFAULT_STREAM_WINDOW.bytes };
  }

  /** Registers `source` to be produced for the other side; returns its stream id. */
  exportStream(source: object): number {
    if (this.max !== undefined && this.producing.size >= this.max) {
      throw new FarcallError('ERR_FARCALL_PROTOCOL', `too many open streams on this connection (maxHandles ${this.max})`);
    }
    const id = this.nextId++;
    this.producing.set(id, { id, source, it: undefined, items: 0, bytes: 0, pumping: false, ended: false, batch: [], batchBytes: 0, timer: undefined });
    return id;
  }

  /** The iterator for stream `id` of the other side (a ReadableStream over it when `readable`). */
  importStream(id: number, readable: boolean): unknown {
    if (this.consuming.has(id)) throw new ProtocolError(`stream ${id} arrived twice`);
    const c = new Consumer(this, id);
    this.consuming.set(id, c);
    const it = new RemoteStream(c);
    collected.register(it, c, c);
    return readable ? ReadableStream.from(it) : it;
  }

  /** Stops the other side's streams carried by a reply no one waits for any more. */
  drop(x: Specials | undefined): void {
    for (const id of streamIds(x)) this.host.send({ t: MsgType.StreamCancel, s: id }, undefined, noop);
  }

  /** Ends the streams `x` brought from the other side with a CallAbortedError when `signal` aborts. */
  abortWith(x: Specials, signal: AbortSignal, path: string[]): void {
    for (const id of streamIds(x)) this.consuming.get(id)?.abortWith(signal, path);
  }

  /** Ends this side's streams a message that could not be sent carried: no one will ever read them. */
  unsent(x: Specials | undefined): void {
    for (const id of streamIds(x)) {
      const p = this.producing.get(id);
      if (p) this.stop(p, undefined);
    }
  }

  receive(m: StreamMsg): void {
    switch (m.t) {
      case MsgType.StreamData:
        return this.consuming.get(m.s)?.data(m.v, m.x);
      case MsgType.StreamEnd:
        return this.consuming.get(m.s)?.end(m.e === undefined ? undefined : { e: this.host.decodeError(m.e) });
      case MsgType.StreamCredit: {
        const p = this.producing.get(m.s);
        if (!p) return;
        p.items += m.n;
        p.bytes += m.b;
        if (p.it === undefined) this.start(p);
        if (!p.pumping && !p.ended) void this.pump(p);
        return;
      }
      case MsgType.StreamCancel: {
        const p = this.producing.get(m.s);
        if (p) this.stop(p, m.e === undefined ? undefined : this.host.decodeError(m.e));
        return;
      }
    }
  }

  /** The connection closed: every stream ends, on this side with `err`. */
  close(err: Error): void {
    for (const p of [...this.producing.values()]) this.stop(p, err);
    for (const c of [...this.consuming.values()]) c.end({ e: err });
  }

  // ---- producing ------------------------------------------------------------

  private start(p: Producer): void {
    try {
      p.it = (p.source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    } catch (err) {
      p.it = { next: () => Promise.reject(err) };
    }
  }

  private async pump(p: Producer): Promise<void> {
    p.pumping = true;
    const it = p.it!;
    try {
      while (p.items > 0 && p.bytes > 0) {
        const r = await it.next();
        if (p.ended) return;
        if (r.done) return this.finish(p, undefined);
        const size = sizeOf(r.value);
        p.items--;
        p.bytes -= size;
        p.batch.push(r.value);
        p.batchBytes += size;
        if (p.batch.length >= BATCH_ITEMS || p.batchBytes >= BATCH_BYTES) this.flush(p);
        else p.timer ??= setImmediate(this.flushLater, p);
      }
      // Out of credit: what was pulled goes now, for the consumer to make more.
      this.flush(p);
    } catch (err) {
      if (!p.ended) this.finish(p, { e: err });
    } finally {
      p.pumping = false;
    }
  }

  private readonly flushLater = (p: Producer): void => {
    p.timer = undefined;
    if (!p.ended) this.flush(p);
  };

  private flush(p: Producer): void {
    if (p.timer) {
      clearImmediate(p.timer);
      p.timer = undefined;
    }
    if (p.batch.length === 0) return;
    const items = p.batch;
    p.batch = [];
    p.batchBytes = 0;
    let enc;
    try {
      enc = this.host.codec.encode(items, itemName, []);
    } catch (err) {
      return this.fault(p, err);
    }
    const msg: Message = { t: MsgType.StreamData, s: p.id, v: items };
    if (enc?.x) msg.x = enc.x;
    this.host.send(msg, enc?.transfer, this.onDataError);
  }

  private readonly onDataError = (err: unknown, msg: Message): void => {
    if (err instanceof ChannelClosedError || msg.t !== MsgType.StreamData) return;
    const failure = err instanceof FarcallError ? err : new NotCloneableError(`an item of a stream could not be sent: ${messageOf(err)}`, { cause: err });
    const ending = this.ending.get(msg.s);
    if (ending) ending.failure = failure;
    const p = this.producing.get(msg.s);
    if (p) this.fault(p, failure);
  };

  /** An item could not be sent: the consumer hears why, and the producer is stopped. */
  private fault(p: Producer, err: unknown): void {
    this.finish(p, { e: err });
    void p.it?.return?.().catch(noop);
  }

  /** The producer is done (or threw): what it made goes, then its end. */
  private finish(p: Producer, thrown: { e: unknown } | undefined): void {
    const last = p.batch.length > 0;
    // An item of the last batch that a transport refuses at once faults the producer here, which ends the stream with why.
    this.flush(p);
    if (p.ended) return;
    p.ended = true;
    this.producing.delete(p.id);
    if (!last || thrown) return this.sendEnd(p.id, thrown);
    // A port refuses an item only when its batch is posted, at the end of this tick: the end waits to say so if it does.
    const ending = { failure: undefined as unknown };
    this.ending.set(p.id, ending);
    void settled.then(() => {
      this.ending.delete(p.id);
      this.sendEnd(p.id, ending.failure === undefined ? undefined : { e: ending.failure });
    });
  }

  private sendEnd(id: number, thrown: { e: unknown } | undefined): void {
    const msg: Message = { t: MsgType.StreamEnd, s: id };
    if (thrown) msg.e = this.host.encodeError(thrown.e);
    this.host.send(msg, undefined, noop);
  }

  /** The consumer stopped (or the connection closed): the producer's finally runs; `err` is thrown into it when it can take one. */
  private stop(p: Producer, err: unknown): void {
    p.ended = true;
    this.producing.delete(p.id);
    if (p.timer) clearImmediate(p.timer);
    p.batch = [];
    try {
      // One never started is ended too: a generator's finally runs, a ReadableStream is cancelled.
      const it = p.it ?? (p.source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      const r = err !== undefined && it.throw ? it.throw(err) : it.return?.();
      void r?.then(noop, noop);
    } catch {
      // The producer's own cleanup failed; there is no one left to tell.
    }
  }
}

/** The consuming end of one stream: what has arrived and who waits for it. */
class Consumer {
  private batches: unknown[][] = [];
  private head = 0;
  private waiters: Array<{ resolve(r: IteratorResult<unknown>): void; reject(e: unknown): void }> = [];
  private started = false;
  ended = false;
  private failure: { e: unknown } | undefined;
  private unwatch: (() => void) | undefined;
  /** Items and bytes consumed since credit was last granted. */
  private usedItems = 0;
  private usedBytes = 0;
  /** Items granted and not yet received: a producer that sends more breaks the protocol. */
  private granted = 0;
  /**
   * Bytes granted and not yet received. A producer may overrun it by one
   * item (it pulls while any credit is left), never send an item once it is
   * spent: one that does breaks the protocol.
   */
  private grantedBytes = 0;

  constructor(
    private readonly table: StreamTable,
    readonly id: number,
  ) {}

  next(): Promise<IteratorResult<unknown>> {
    if (this.batches.length > 0) return Promise.resolve({ value: this.take(), done: false });
    if (this.failure) {
      const { e } = this.failure;
      this.failure = undefined;
      return Promise.reject(e);
    }
    if (this.ended) return Promise.resolve(DONE);
    if (!this.started) {
      this.started = true;
      const { items, bytes } = this.table.window;
      this.grant(items, bytes);
    }
    if (this.waiters.length === 0) this.waitsChanged(1);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private waitsChanged(by: 1 | -1): void {
    this.table.waiting += by;
    this.table.host.waitingChanged();
  }

  private take(): unknown {
    const batch = this.batches[0]!;
    const v = batch[this.head++];
    if (this.head === batch.length) {
      this.batches.shift();
      this.head = 0;
    }
    this.usedItems++;
    this.usedBytes += sizeOf(v);
    const w = this.table.window;
    // Credit goes back a quarter of the window at a time: the producer keeps going while this side works through the rest.
    if (!this.ended && (this.usedItems * 4 >= w.items || this.usedBytes * 4 >= w.bytes)) {
      this.grant(this.usedItems, this.usedBytes);
      this.usedItems = 0;
      this.usedBytes = 0;
    }
    return v;
  }

  private grant(items: number, bytes: number): void {
    this.granted += items;
    this.grantedBytes += bytes;
    this.table.host.send({ t: MsgType.StreamCredit, s: this.id, n: items, b: bytes }, undefined, noop);
  }

  data(raw: unknown[], x: Specials | undefined): void {
    if (this.ended) return;
    if (raw.length > this.granted || raw.length === 0) {
      this.table.host.fail(new ProtocolError(`stream ${this.id} sent ${raw.length} items with credit for ${this.granted}`));
      return;
    }
    this.granted -= raw.length;
    // Counted before decoding: a special value (a proxy, a handler's) is undefined here and counts as none, never more than the producer counted.
    for (const v of raw) {
      if (this.grantedBytes <= 0) {
        const { bytes } = this.table.window;
        this.table.host.fail(new ProtocolError(`stream ${this.id} sent an item with its byte credit spent (streamWindow.bytes ${bytes})`));
        return;
      }
      this.grantedBytes -= sizeOf(v);
    }
    let items: unknown[];
    try {
      items = this.table.host.codec.decode(raw, x);
    } catch (err) {
      this.table.host.fail(err instanceof ProtocolError ? err : new ProtocolError(`a stream item could not be decoded: ${messageOf(err)}`));
      return;
    }
    this.batches.push(items);
    if (this.waiters.length === 0) return;
    while (this.waiters.length > 0 && this.batches.length > 0) this.waiters.shift()!.resolve({ value: this.take(), done: false });
    if (this.waiters.length === 0) this.waitsChanged(-1);
  }

  abortWith(signal: AbortSignal, path: string[]): void {
    const onAbort = (): void => this.cancel(undefined, { e: aborted(path, signal) });
    signal.addEventListener('abort', onAbort, { once: true });
    this.unwatch = () => signal.removeEventListener('abort', onAbort);
  }

  /** The producer finished, threw, or the connection closed. */
  end(failure: { e: unknown } | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.unwatch?.();
    this.table.consuming.delete(this.id);
    collected.unregister(this);
    const waiters = this.waiters.splice(0);
    if (waiters.length > 0) this.waitsChanged(-1);
    if (failure && waiters.length > 0) waiters.shift()!.reject(failure.e);
    else this.failure = failure;
    for (const w of waiters) w.resolve(DONE);
  }

  /** The consumer stops early: the producer is told (`thrown` is thrown into it); here the stream ends, with `failure` if given. */
  cancel(thrown?: { e: unknown }, failure?: { e: unknown }): void {
    if (this.ended) return;
    const msg: Message = { t: MsgType.StreamCancel, s: this.id };
    if (thrown) msg.e = this.table.host.encodeError(thrown.e);
    this.table.host.send(msg, undefined, noop);
    this.batches = [];
    this.end(failure);
  }
}

/**
 * What the consumer holds. Kept apart from the table's Consumer so that
 * an iterator dropped unfinished can be collected, which stops its producer.
 */
class RemoteStream implements AsyncIterableIterator<unknown> {
  constructor(private readonly c: Consumer) {}

  next(): Promise<IteratorResult<unknown>> {
    return this.c.next();
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    this.c.cancel();
    return Promise.resolve({ value, done: true });
  }

  throw(e?: unknown): Promise<IteratorResult<unknown>> {
    this.c.cancel({ e });
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
