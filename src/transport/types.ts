import type { TransferListItem } from 'node:worker_threads';
import type { Message } from '../protocol.ts';

/** What a message can move rather than copy: ArrayBuffers, MessagePorts, ... */
export type Transferable = TransferListItem;

/** What the layer above hears from a transport. */
export interface TransportSink {
  message(msg: Message): void;
  /** The channel is gone; called at most once. */
  close(cause: Error): void;
}

/** What a transport can carry, so the layers above adapt instead of guessing. */
export interface TransportCapabilities {
  /** Transferables (ArrayBuffers) move without a copy and detach on the sender. */
  readonly transfer: boolean;
  /** MessagePorts can be sent (needed for `createEndpoint`). */
  readonly ports: boolean;
  /** Human name used in error messages: "worker", "child process", "socket". */
  readonly label: string;
}

/** Told when `msg` could not be sent; one handler serves every message. */
export type SendErrorHandler = (err: unknown, msg: Message) => void;

/**
 * Moves one message plus its transfer list. Knows nothing of what a message
 * means. `send` may batch; a message that cannot be carried is reported to
 * `onError` (never thrown), so the caller can reject just that call.
 */
export interface MessageTransport {
  readonly capabilities: TransportCapabilities;
  start(sink: TransportSink): void;
  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void;
  /** Stop listening and free the channel. Does not call `sink.close`. */
  close(): void;
  /** Who the other side proved to be (an auth key id, a TLS certificate's subject), where the transport knows. */
  readonly identity?: string | undefined;
}
