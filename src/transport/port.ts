import { MessagePort, Worker, parentPort } from 'node:worker_threads';
import { ChannelClosedError, ProtocolError } from '../errors.ts';
import { MsgType, isPlainCall, isPlainReturn, type Message } from '../protocol.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportCapabilities, TransportSink } from './types.ts';
import { TickFlush } from './tick-flush.ts';
import { nestsTooDeep, tooDeepToSend } from '../codec/depth.ts';

/**
 * comlink's endpoint shape: anything with postMessage and message events. A
 * DOM-typed MessagePort fits too (its transfer list has the DOM's types).
 */
export interface Endpoint {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void, options?: object): void;
  removeEventListener(type: 'message', listener: (ev: { data: unknown }) => void, options?: object): void;
  start?: () => void;
}

/** Node's emitter-style ports: Worker, MessagePort, parentPort. */
interface NodePortLike {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

export type PortLike = Worker | MessagePort | Endpoint | NodePortLike;

export function isPortLike(ep: unknown): ep is PortLike {
  if (typeof ep !== 'object' || ep === null) return false;
  const o = ep as Record<string, unknown>;
  if (typeof o.postMessage !== 'function') return false;
  return (
    (typeof o.on === 'function' && typeof o.off === 'function') ||
    (typeof o.addEventListener === 'function' && typeof o.removeEventListener === 'function')
  );
}

interface Queued {
  msg: Message;
  transfer: readonly Transferable[] | undefined;
  onError: SendErrorHandler;
}

/**
 * A MessagePort-shaped endpoint as a transport. The messages sent in one
 * tick leave in one postMessage (a packed array, see `pack`), which is what
 * makes many calls in flight cheap: the wake-up on the other side is paid
 * once per batch, and the common messages are cloned without their keys.
 */
export class PortTransport implements MessageTransport {
  readonly capabilities: TransportCapabilities;
  private sink: TransportSink | undefined;
  private queue: Queued[] = [];
  private readonly batch = new TickFlush(() => this.flush());
  private readonly detach: Array<() => void> = [];
  private closed = false;

  constructor(private readonly ep: PortLike) {
    const label = ep instanceof Worker ? 'worker' : ep === parentPort ? 'parent thread' : 'port';
    this.capabilities = { transfer: true, ports: true, label };
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    const onData = (data: unknown): void => {
      if (Array.isArray(data)) unpack(data, sink, this.flushIfSlow);
      else sink.message(data as Message);
    };
    const ep = this.ep;
    if ('on' in ep && typeof ep.on === 'function') {
      const node = ep as NodePortLike;
      this.listen(node, 'message', onData);
      this.listen(node, 'messageerror', (err: Error) =>
        this.fail(new ProtocolError(`a message from the ${this.capabilities.label} could not be deserialized`, { cause: err })),
      );
      if (ep instanceof Worker) {
        this.listen(node, 'error', (err: unknown) =>
          this.fail(
            new ChannelClosedError(`worker threw an uncaught error: ${err instanceof Error ? err.message : String(err)}`, {
              cause: err,
            }),
          ),
        );
        this.listen(node, 'exit', (code: number) => this.fail(new ChannelClosedError(`worker exited with code ${code}`)));
      } else {
        this.listen(node, 'close', () => this.fail(new ChannelClosedError(`${this.capabilities.label} closed`)));
      }
    } else {
      const et = ep as Endpoint;
      const listener = (ev: { data: unknown }): void => onData(ev.data);
      et.addEventListener('message', listener);
      et.start?.();
      this.detach.push(() => et.removeEventListener('message', listener));
    }
  }

  private listen(ep: NodePortLike, event: string, fn: (...args: any[]) => void): void {
    ep.on(event, fn);
    this.detach.push(() => ep.off(event, fn));
  }

  private fail(cause: Error): void {
    if (this.closed) return;
    this.shutdown();
    for (const q of this.queue.splice(0)) q.onError(cause, q.msg);
    this.sink?.close(cause);
  }

  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void {
    if (this.closed) {
      onError(new ChannelClosedError(`${this.capabilities.label} is closed`), msg);
      return;
    }
    try {
      if (carriesTooDeep(msg)) {
        onError(tooDeepToSend(), msg);
        return;
      }
    } catch (err) {
      // A getter of the value threw: postMessage would have thrown the same.
      onError(err, msg);
      return;
    }
    this.queue.push({ msg, transfer, onError });
    this.batch.schedule();
  }

  private readonly flush = (): void => {
    if (this.queue.length === 0) return;
    const queue = this.queue;
    this.queue = [];
    let transfer: Transferable[] | undefined;
    const packed: unknown[] = [];
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i]!;
      pack(q.msg, packed);
      if (q.transfer && q.transfer.length > 0) (transfer ??= []).push(...q.transfer);
    }
    try {
      this.ep.postMessage(packed, transfer && dedupe(transfer));
    } catch (err) {
      // One message of the batch could not be cloned; send them one by one so
      // that only the bad ones fail (a batch of one has already said which).
      if (queue.length === 1) queue[0]!.onError(err, queue[0]!.msg);
      else for (const q of queue) this.post(q);
    }
  };

  /**
   * Called between the messages of a batch being read. Replies normally wait
   * for the whole batch (one postMessage for all); but when the batch's calls
   * are slow (CPU-bound work served synchronously), each finished call's reply
   * leaves now rather than after the calls behind it.
   */
  private readonly flushIfSlow = (since: number): number => {
    if (this.queue.length === 0) return since;
    const now = performance.now();
    if (now - since <= SLOW_BATCH_MS) return since;
    // The replies so far leave together, and the next ones wait another interval: flushing
    // every reply from here on would split a long batch of quick calls into single messages.
    this.flush();
    return now;
  };

  private post(q: Queued): void {
    try {
      this.ep.postMessage(q.msg, q.transfer as Transferable[] | undefined);
    } catch (err) {
      q.onError(err, q.msg);
    }
  }

  /** Sends what is queued, then stops listening. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.shutdown();
  }

  private shutdown(): void {
    this.closed = true;
    for (const d of this.detach.splice(0)) d();
    if (this.ep instanceof MessagePort && this.ep !== parentPort) this.ep.close();
  }
}

/**
 * Whether a message's values nest too deep for the other thread to
 * deserialize: that would lose the whole batch there, and the channel with
 * it (see codec/depth.ts). Primitives, nearly every argument, cost a typeof.
 */
function carriesTooDeep(m: Message): boolean {
  if (m.t === MsgType.Return) return nestsTooDeep(m.v);
  if (m.t !== MsgType.Call && m.t !== MsgType.StreamData) return false;
  const values = m.t === MsgType.Call ? m.a : m.v;
  for (let i = 0; i < values.length; i++) if (nestsTooDeep(values[i])) return true;
  return false;
}

/** Milliseconds of reading one batch after which replies stop waiting for the rest of it. */
const SLOW_BATCH_MS = 1;

/**
 * How a batch travels: one flat array. Structured clone writes every key of
 * every object, and reading them back interns each one; a call and a return,
 * the messages of nearly every batch, go as their values alone behind a
 * negative tag (a message's `t` is never negative). Anything else goes as the
 * message object itself. Unpacked messages are checked by the peer as any
 * other, so a malformed batch fails there, never here.
 */
const PACKED_CALL = -1;
const PACKED_RETURN = -2;

function pack(m: Message, out: unknown[]): void {
  if (isPlainCall(m)) {
    out.push(PACKED_CALL, m.i, m.p, m.a);
  } else if (isPlainReturn(m)) {
    out.push(PACKED_RETURN, m.i, m.v);
  } else {
    out.push(m);
  }
}

const entriesOf = (tag: unknown): number => (tag === PACKED_CALL ? 4 : tag === PACKED_RETURN ? 3 : 1);

function unpack(data: unknown[], sink: TransportSink, between?: (since: number) => number): void {
  // A batch of one message has no reply to hurry: no clock read.
  let since = between && data.length > entriesOf(data[0]) ? performance.now() : 0;
  for (let j = 0; j < data.length; ) {
    if (j > 0 && between) since = between(since);
    const tag = data[j];
    if (tag === PACKED_CALL) {
      sink.message({ t: MsgType.Call, i: data[j + 1] as number, p: data[j + 2] as string[], a: data[j + 3] as unknown[] });
      j += 4;
    } else if (tag === PACKED_RETURN) {
      sink.message({ t: MsgType.Return, i: data[j + 1] as number, v: data[j + 2] });
      j += 3;
    } else {
      sink.message(tag as Message);
      j += 1;
    }
  }
}

/** The messages one postMessage of a PortTransport carries (for peers that speak the protocol by hand). */
export function unpackPortData(data: unknown): Message[] {
  if (!Array.isArray(data)) return [data as Message];
  const out: Message[] = [];
  unpack(data, { message: (m) => void out.push(m), close: () => {} });
  return out;
}

function dedupe(list: Transferable[]): Transferable[] {
  return list.length > 1 ? [...new Set(list)] : list;
}
