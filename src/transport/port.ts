import { MessagePort, Worker, parentPort } from 'node:worker_threads';
import { ChannelClosedError, ProtocolError } from '../errors.ts';
import type { Message } from '../protocol.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportCapabilities, TransportSink } from './types.ts';

/** comlink's endpoint shape: anything with postMessage and message events. */
export interface Endpoint {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
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
 * tick leave in one postMessage (an array), which is what makes many calls
 * in flight cheap: the wake-up on the other side is paid once per batch.
 */
export class PortTransport implements MessageTransport {
  readonly capabilities: TransportCapabilities;
  private sink: TransportSink | undefined;
  private queue: Queued[] = [];
  private flushScheduled = false;
  private readonly detach: Array<() => void> = [];
  private closed = false;

  constructor(private readonly ep: PortLike) {
    const label = ep instanceof Worker ? 'worker' : ep === parentPort ? 'parent thread' : 'port';
    this.capabilities = { transfer: true, ports: true, label };
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    const onData = (data: unknown): void => {
      if (Array.isArray(data)) for (const m of data) sink.message(m as Message);
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
    this.queue.push({ msg, transfer, onError });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const queue = this.queue;
    this.queue = [];
    if (queue.length === 1) {
      this.post(queue[0]!);
      return;
    }
    let transfer: Transferable[] | undefined;
    const msgs = new Array<Message>(queue.length);
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i]!;
      msgs[i] = q.msg;
      if (q.transfer && q.transfer.length > 0) (transfer ??= []).push(...q.transfer);
    }
    try {
      this.ep.postMessage(msgs, transfer && dedupe(transfer));
    } catch {
      // One message of the batch could not be cloned; send them one by one so
      // that only the bad ones fail.
      for (const q of queue) this.post(q);
    }
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

function dedupe(list: Transferable[]): Transferable[] {
  return list.length > 1 ? [...new Set(list)] : list;
}
