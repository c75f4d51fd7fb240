import { writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { decodeMessage, encodeMessage } from '../codec/binary.ts';
import { ChannelClosedError, ProtocolError } from '../errors.ts';
import { DEFAULT_MAX_MESSAGE_SIZE, FrameDecoder, encodeFrames, frameSize, type Frame } from '../framing.ts';
import { PROTOCOL_VERSION, type Message } from '../protocol.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportCapabilities, TransportSink } from './types.ts';

/** Limits for one stream connection; the defaults suit a trusted peer and bound an untrusted one. */
export interface StreamLimits {
  /** Largest frame (body plus transferred buffers) accepted or sent, in bytes. Default 64 MiB. */
  maxMessageSize?: number;
  /**
   * Most bytes that may wait unwritten because the other side is not
   * reading. Past it the connection closes with an error rather than grow
   * without bound. Default 256 MiB.
   */
  maxWriteBuffer?: number;
  /** Milliseconds to wait for the other side's hello. Default 10,000. */
  helloTimeout?: number;
}

export interface StreamTransportOptions extends StreamLimits {
  /** Names the other side in errors: "child process", "socket", ... */
  label: string;
}

const DEFAULT_MAX_WRITE_BUFFER = 256 * 1024 * 1024;
const DEFAULT_HELLO_TIMEOUT = 10_000;

/** The first frame each side sends; `features` lets later versions negotiate. */
interface Hello {
  farcall: number;
  features: string[];
}

function helloProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || typeof (v as Hello).farcall !== 'number') {
    return 'the other side did not start with a farcall hello (is it a farcall peer?)';
  }
  const version = (v as Hello).farcall;
  if (version !== PROTOCOL_VERSION) {
    return `protocol version mismatch: this side speaks farcall protocol ${PROTOCOL_VERSION}, the other side ${version}`;
  }
  return undefined;
}

/**
 * A byte stream (socket, pipe) as a message transport: length-prefixed
 * frames, a hello handshake first, the frames of one tick written together
 * with one `writev`, and transferred ArrayBuffers out of band.
 */
export class StreamTransport implements MessageTransport {
  readonly capabilities: TransportCapabilities;
  /** Settles when the other side's hello arrived (or the connection failed first). */
  readonly ready: Promise<void>;
  private sink: TransportSink | undefined;
  private readonly decoder: FrameDecoder;
  private readonly maxMessageSize: number;
  private readonly maxWriteBuffer: number;
  private pending: Frame[] = [];
  private flushScheduled = false;
  private greeted = false;
  private closed = false;
  private helloTimer: NodeJS.Timeout | undefined;
  private settleReady!: (err?: Error) => void;
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly readable: Readable,
    private readonly writable: Writable,
    private readonly options: StreamTransportOptions,
  ) {
    this.capabilities = { transfer: true, ports: false, label: options.label };
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.maxWriteBuffer = options.maxWriteBuffer ?? DEFAULT_MAX_WRITE_BUFFER;
    this.decoder = new FrameDecoder((f) => this.frame(f), this.maxMessageSize);
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    // Whoever needs the handshake awaits `ready`; a failure is also reported through the sink.
    this.ready.catch(() => {});
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    const { readable, writable, options } = this;
    const label = options.label;
    this.on(readable, 'data', (chunk: Uint8Array) => {
      if (this.closed) return;
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.fail(err instanceof ProtocolError ? err : new ProtocolError(`bad data from the ${label}`, { cause: err }));
      }
    });
    const ended = (): void =>
      this.fail(new ChannelClosedError(this.decoder.idle ? `the ${label} closed the connection` : `the ${label} closed the connection in the middle of a frame`));
    this.on(readable, 'end', ended);
    this.on(readable, 'close', ended);
    const broken = (err: Error): void => this.fail(new ChannelClosedError(`the connection to the ${label} failed: ${err.message}`, { cause: err }));
    this.on(readable, 'error', broken);
    if ((writable as unknown) !== readable) {
      this.on(writable, 'error', broken);
      this.on(writable, 'close', ended);
    }
    const timeout = options.helloTimeout ?? DEFAULT_HELLO_TIMEOUT;
    this.helloTimer = setTimeout(() => this.fail(new ProtocolError(`the ${label} sent no hello within ${timeout} ms`)), timeout);
    this.helloTimer.unref();
    this.write(encodeMessage({ farcall: PROTOCOL_VERSION, features: [] } satisfies Hello, undefined));
  }

  private on(emitter: Readable | Writable, event: string, fn: (...args: any[]) => void): void {
    emitter.on(event, fn);
    this.detach.push(() => emitter.off(event, fn));
  }

  private frame({ body, buffers }: Frame): void {
    const value = decodeMessage(body, buffers);
    if (!this.greeted) {
      const problem = helloProblem(value);
      if (problem) throw new ProtocolError(problem);
      this.greeted = true;
      clearTimeout(this.helloTimer);
      this.settleReady();
      return;
    }
    this.sink!.message(value as Message);
  }

  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void {
    if (this.closed) {
      onError(new ChannelClosedError(`the connection to the ${this.options.label} is closed`), msg);
      return;
    }
    let encoded;
    try {
      encoded = encodeMessage(msg, transfer);
    } catch (err) {
      onError(err, msg);
      return;
    }
    if (frameSize(encoded.body, encoded.buffers) > this.maxMessageSize) {
      onError(
        new ProtocolError(`a message of ${frameSize(encoded.body, encoded.buffers)} bytes exceeds maxMessageSize (${this.maxMessageSize} bytes)`),
        msg,
      );
      return;
    }
    this.write(encoded);
  }

  private write(frame: Frame): void {
    this.pending.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** One tick's frames leave in one writev. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const chunks = encodeFrames(this.pending);
    this.pending = [];
    const w = this.writable;
    if (chunks.length === 1) {
      w.write(chunks[0]);
    } else {
      w.cork();
      for (const c of chunks) w.write(c);
      w.uncork();
    }
    if (w.writableLength > this.maxWriteBuffer) {
      this.fail(
        new ChannelClosedError(
          `the ${this.options.label} is not reading: ${w.writableLength} bytes are waiting to be written (maxWriteBuffer ${this.maxWriteBuffer})`,
        ),
      );
    }
  };

  /**
   * Writes `msg` synchronously to `fd`, the descriptor beneath this stream,
   * for a process about to die. Skipped when an earlier frame is still
   * partly in the stream's buffer, since writing past it would corrupt both.
   */
  sayLastWords(fd: number, msg: unknown): void {
    if (this.closed || this.writable.writableLength > 0) return;
    const frames = this.pending;
    this.pending = [];
    frames.push(encodeMessage(msg, undefined));
    for (const chunk of encodeFrames(frames)) writeSync(fd, chunk);
  }

  /** Sends what is queued, then ends the stream; the other side sees a clean close. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.shutdown();
    this.settleReady(new ChannelClosedError(`the connection to the ${this.options.label} was closed before the handshake`));
    this.writable.end();
    // Keep draining so the other side's end arrives and the socket can close.
    if ((this.readable as unknown) !== this.writable) this.readable.destroy();
    else this.readable.resume();
  }

  private fail(cause: Error): void {
    if (this.closed) return;
    this.shutdown();
    this.readable.destroy();
    this.writable.destroy();
    this.settleReady(cause);
    this.sink?.close(cause);
  }

  private shutdown(): void {
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.pending = [];
    for (const d of this.detach.splice(0)) d();
    // A stream with no listener would stop at 'error' with an uncaught exception.
    this.readable.on('error', ignore);
    this.writable.on('error', ignore);
  }
}

const ignore = (): void => {};
