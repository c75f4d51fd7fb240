import type { ChildProcess } from 'node:child_process';
import { decodeThrown } from '../codec/error.ts';
import { ChannelClosedError } from '../errors.ts';
import { MsgType, type ByeMsg, type Message } from '../protocol.ts';
import { StreamTransport, isStartFailure, type StreamLimits } from './stream.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportSink } from './types.ts';

/** How long a closed pipe waits for the 'exit' event, to name the exit code rather than a bare close. */
const EXIT_GRACE_MS = 50;

/**
 * The parent's side of a child process's channel: a stream transport on
 * the child's extra pipe, whose close is explained by the child's exit code,
 * signal or uncaught error.
 */
export class ChildTransport implements MessageTransport {
  readonly capabilities;
  readonly stream: StreamTransport;
  private lastWords: Error | undefined;

  constructor(
    private readonly child: ChildProcess,
    limits: StreamLimits,
  ) {
    const pipe = child.stdio[3] as NodeJS.ReadWriteStream & import('node:stream').Duplex;
    this.stream = new StreamTransport(pipe, pipe, { label: 'child process', ...limits });
    this.capabilities = this.stream.capabilities;
  }

  start(sink: TransportSink): void {
    let exited: Error | undefined;
    let closed = false;
    const close = (cause: Error): void => {
      if (closed) return;
      closed = true;
      sink.close(cause);
    };
    this.child.once('exit', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      exited = this.lastWords
        ? new ChannelClosedError(`child process threw an uncaught error: ${this.lastWords.message}`, { cause: this.lastWords })
        : new ChannelClosedError(`child process ${how}`);
      close(exited);
    });
    this.stream.start({
      message: (m) => {
        if ((m as Message | ByeMsg).t === MsgType.Bye) this.lastWords = toError(decodeThrown((m as unknown as ByeMsg).e));
        else sink.message(m);
      },
      close: (cause) => {
        if (exited) return close(exited);
        // The child said why it could not start; its exit code would say less.
        if (isStartFailure(cause)) return close(cause);
        // The pipe usually closes a moment before 'exit' is reported.
        setTimeout(() => close(cause), EXIT_GRACE_MS).unref();
      },
    });
  }

  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void {
    this.stream.send(msg, transfer, onError);
  }

  close(): void {
    this.stream.close();
  }
}

function toError(v: unknown): Error {
  return v instanceof Error ? v : new Error(String(v));
}

/** How spawn() hands the child its end's stream limits; the child removes it from its environment. */
export const CHILD_LIMITS_ENV = 'FARCALL_CHILD_LIMITS';
