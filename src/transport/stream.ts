import { writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { decodeMessage, encodeMessage } from '../codec/binary.ts';
import { appendCompact } from '../codec/compact-encode.ts';
import { encodeThrown } from '../codec/error.ts';
import { ChannelClosedError, ProtocolError } from '../errors.ts';
import { DEFAULT_MAX_MESSAGE_SIZE, FrameDecoder, FrameQueue, frameSize, type Frame } from '../framing.ts';
import { DEFAULT_MAX_ITEMS, DecodeRefused } from '../codec/limits.ts';
import { MsgType, fromTuple, ownLists, toTuple, type Message } from '../protocol.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportCapabilities, TransportSink } from './types.ts';
import { TickFlush } from './tick-flush.ts';
import type { Handshake } from './auth.ts';
import { Greeting, type Feature } from './handshake.ts';
import { readsOf } from './socket-reads.ts';
import type { BudgetMember, WriteBudget } from './write-budget.ts';

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
  /**
   * Most items one message may decode into: every object, array and member
   * of one counts, a Map or Set and each entry four (they cost more heap).
   * A message past it, or nested deeper than 1,000 levels, fails its own
   * call with a ProtocolError; the connection stays. Default 200,000.
   */
  maxMessageItems?: number;
  /** Milliseconds to wait for the other side's hello. Default 10,000. */
  helloTimeout?: number;
  /**
   * Most calls from the other side this side serves at once (those whose
   * result is still pending). A call past it is not queued: it is answered
   * at once with a QueueFullError, so a flood costs the flooder, and a
   * callee waiting on the caller's callbacks cannot deadlock behind a
   * paused stream. Default 10,000 on a server, no limit elsewhere.
   */
  maxInFlight?: number;
}

export interface StreamTransportOptions extends StreamLimits {
  /** Names the other side in errors: "child process", "socket", ... */
  label: string;
  /** Challenge–response in the handshake (transport/auth.ts); the connection opens only once both sides proved the secret. */
  auth?: Handshake | undefined;
  /** Who the other side is, known before the handshake (a TLS client certificate's subject). */
  identity?: string | undefined;
  /** Shared with the other connections of a server: bounds their unwritten bytes together. */
  writeBudget?: WriteBudget;
}

/**
 * A batch this many frames long is written at once rather than at the end
 * of the tick. When a chunk brings a thousand calls, the first replies then
 * reach the other side while the rest are still being served, so both
 * sides work at the same time instead of taking turns with one huge batch
 * each (measured: 580k -> about 1M calls/s over a Unix socket with 1,000 in
 * flight; 32 to 128 all do about as well).
 */
const FLUSH_FRAMES = 64;
/**
 * After reading a chunk of n frames (n at least twice this), batches are
 * written n/2 frames at a time: the next chunk, likely as big, is then
 * answered in two halves, and the other side starts on the first while
 * this side works on the second, instead of the two taking turns with one
 * batch each. That keeps a few dozen calls in flight flowing (64 in flight
 * over a Unix socket: about 420k -> 700k calls/s; 16: 165k -> 190k). A
 * chunk of fewer frames restores FLUSH_FRAMES, so a burst of calls made
 * after one reply still leaves in big batches.
 */
const MIN_SPLIT = 4;
const DEFAULT_MAX_WRITE_BUFFER = 256 * 1024 * 1024;
/**
 * The first frame may be no larger than this: a hello is tens of bytes, and
 * bytes from something that is not a farcall peer (an HTTP request, a TLS
 * hello) read as a huge length, which should be named for what it is.
 */
const MAX_HELLO_SIZE = 64 * 1024;
/** How long a closed stream waits for the other side to take its last bytes. */
const CLOSE_LINGER_MS = 1000;

export { failedHello, isStartFailure } from './handshake.ts';

/** Closes the other side caused (bad bytes, no hello, not reading), as opposed to a plain disconnect. */
const faults = new WeakSet<Error>();
const blame = <E extends Error>(err: E): E => (faults.add(err), err);
/** True when `err` closed a stream because the other side broke the protocol or its limits. */
export const isPeerFault = (err: Error): boolean => faults.has(err) || err instanceof ProtocolError;

/**
 * A byte stream (socket, pipe) as a message transport: length-prefixed
 * frames, a hello handshake first, the frames of one tick written together
 * with one `writev`, and transferred ArrayBuffers out of band.
 */
export class StreamTransport implements MessageTransport, BudgetMember {
  readonly capabilities: TransportCapabilities;
  /** Settles when the other side's hello arrived (or the connection failed first). */
  readonly ready: Promise<void>;
  private sink: TransportSink | undefined;
  private readonly decoder: FrameDecoder;
  private readonly maxMessageSize: number;
  private readonly maxWriteBuffer: number;
  private readonly maxItems: number;
  /** Frames waiting for this tick's flush. */
  private readonly queue = new FrameQueue();
  private queuedFrames = 0;
  /** Frames in the chunk being read. */
  private framesRead = 0;
  /** A batch this long is written at once: FLUSH_FRAMES, or half the last chunk read (see MIN_SPLIT). */
  private flushAt = FLUSH_FRAMES;
  private sending = false;
  private reentered: Array<{ msg: Message; transfer: readonly Transferable[] | undefined; onError: SendErrorHandler }> | undefined;
  private readonly batch = new TickFlush(() => this.flush());
  private readonly greeting: Greeting;
  /** Bytes read so far: a server tells a silent connection by it. */
  received = 0;
  private closed = false;
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
    this.maxItems = options.maxMessageItems ?? DEFAULT_MAX_ITEMS;
    this.decoder = new FrameDecoder((f) => this.frame(f.body, 0, f.body.byteLength, f.buffers), Math.min(MAX_HELLO_SIZE, this.maxMessageSize));
    this.decoder.onBody = (chunk, start, end) => this.frame(chunk, start, end, NO_BUFFERS);
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    // Whoever needs the handshake awaits `ready`; a failure is also reported through the sink.
    this.ready.catch(() => {});
    this.greeting = new Greeting(
      {
        write: (frame) => this.write(frame),
        fail: (err) => this.fail(err),
        refused: (err) => {
          this.settleReady(err);
          const sink = this.sink;
          this.close();
          sink?.close(err);
        },
        opened: () => {
          this.decoder.limit = this.maxMessageSize;
          this.settleReady();
        },
      },
      options.label,
      options.auth,
    );
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    const { readable, writable, options } = this;
    const label = options.label;
    let sawEnd = false;
    const ended = (): void => {
      if (this.decoder.idle) this.fail(new ChannelClosedError(`the ${label} closed the connection`));
      else this.fail(blame(new ChannelClosedError(`the ${label} closed the connection in the middle of a frame`)));
    };
    this.on(readable, 'end', () => {
      sawEnd = true;
      ended();
    });
    // A socket that closes with neither an end from the other side nor an error was destroyed here, by code of this process.
    this.on(readable, 'close', () => (sawEnd || (readable as unknown) !== writable ? ended() : this.fail(this.destroyedHere())));
    const broken = (err: Error): void => this.fail(new ChannelClosedError(`the connection to the ${label} failed: ${err.message}`, { cause: err }));
    this.on(readable, 'error', broken);
    if ((writable as unknown) !== readable) {
      this.on(writable, 'error', broken);
      this.on(writable, 'close', ended);
    }
    this.greeting.start(options.helloTimeout);
    // Last: a socket read through SocketReads hands over at once what it read before, which must find this side's hello sent.
    const reads = readsOf(readable);
    if (reads === undefined) {
      this.on(readable, 'data', (chunk: Uint8Array) => this.read(chunk));
      return;
    }
    const decoder = this.decoder;
    reads.attach({
      // Not before the hello: its first bytes are kept to describe a peer that is not farcall.
      room: () => (this.greeting.done ? decoder.room() : undefined),
      get keepsChunks() {
        return decoder.keepsChunks;
      },
      filled: (n) => this.read(n),
      chunk: (bytes) => this.read(bytes),
    });
    // Such a socket may also have ended or closed before now, saying so to no one.
    if (readable.readableEnded) ended();
    else if (readable.destroyed) this.fail(new ChannelClosedError(`the connection to the ${label} closed before it was used`));
  }

  /** Takes a chunk read, or the number of bytes read in place into the decoder's room. */
  private read(chunk: Uint8Array | number): void {
    if (this.closed) return;
    const inPlace = typeof chunk === 'number';
    this.received += inPlace ? chunk : chunk.byteLength;
    if (!inPlace && !this.greeting.done) this.greeting.received(chunk);
    try {
      this.framesRead = 0;
      if (inPlace) this.decoder.filledInPlace(chunk);
      else this.decoder.push(chunk);
      this.flushAt = this.framesRead >= 2 * MIN_SPLIT ? Math.min(FLUSH_FRAMES, this.framesRead >> 1) : FLUSH_FRAMES;
    } catch (err) {
      const problem = err instanceof ProtocolError ? err : new ProtocolError(`bad data from the ${this.options.label}`, { cause: err });
      this.fail(this.greeting.done ? problem : this.greeting.notFarcall(problem));
    }
  }

  /** True when the other side's hello said it understands `feature`. */
  understands(feature: Feature): boolean {
    return this.greeting.understands(feature);
  }

  /** Who the other side proved to be: its key id, or its TLS certificate's subject. */
  get identity(): string | undefined {
    return this.options.identity ?? this.options.auth?.identity;
  }

  private destroyedHere(): ChannelClosedError {
    return new ChannelClosedError(`the connection to the ${this.options.label} was destroyed on this side: its socket was destroyed by code in this process`);
  }

  private on(emitter: Readable | Writable, event: string, fn: (...args: any[]) => void): void {
    emitter.on(event, fn);
    this.detach.push(() => emitter.off(event, fn));
  }

  private frame(bytes: Uint8Array, start: number, end: number, buffers: readonly ArrayBuffer[]): void {
    if (this.closed) return;
    this.framesRead++;
    let value;
    try {
      value = decodeMessage(bytes, buffers, start, end, this.maxItems);
    } catch (err) {
      if (err instanceof DecodeRefused && this.greeting.done && this.refuse(err)) return;
      throw err;
    }
    if (!this.greeting.done) return this.greeting.receive(value);
    this.sink!.message(fromTuple(value) as Message);
  }

  /**
   * A whole frame refused for what it would build fails only its call,
   * when what was read of it says which: a call is answered with the
   * error, a reply becomes the error. False when it cannot tell.
   */
  private refuse(err: DecodeRefused): boolean {
    const m = fromTuple(err.partial) as { t?: unknown; i?: unknown } | undefined;
    if (typeof m !== 'object' || m === null || typeof m.i !== 'number' || !Number.isInteger(m.i) || m.i < 0) return false;
    const e = encodeThrown(new ProtocolError(`${err.message}; this call was refused (the connection stays)`), false);
    if (m.t === MsgType.Call) {
      if (m.i !== 0) this.send({ t: MsgType.Throw, i: m.i, e }, undefined, ignore);
      return true;
    }
    if (m.t === MsgType.Return) {
      this.sink!.message({ t: MsgType.Throw, i: m.i, e });
      return true;
    }
    return false;
  }

  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void {
    // A getter of a value being encoded may itself call through this stream;
    // its message waits until the frame being written is whole.
    if (this.sending) {
      (this.reentered ??= []).push({ msg, transfer, onError });
      return;
    }
    this.sending = true;
    try {
      this.sendNow(msg, transfer, onError);
    } finally {
      this.sending = false;
    }
    const later = this.reentered;
    if (later === undefined) return;
    this.reentered = undefined;
    for (const r of later) this.send(r.msg, r.transfer, r.onError);
  }

  private sendNow(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void {
    if (this.closed) {
      onError(new ChannelClosedError(`the connection to the ${this.options.label} is closed`), msg);
      return;
    }
    const tuple = toTuple(msg);
    let encoded;
    try {
      if (tuple !== msg && transfer === undefined && this.writeInline(tuple as unknown[])) return;
      // Checked inside, before transferred buffers are detached: a call that
      // fails for its size leaves the caller's buffers as they were.
      encoded = encodeMessage(tuple, transfer, this.maxMessageSize, this.maxItems);
    } catch (err) {
      onError(err, msg);
      return;
    }
    this.write(encoded);
  }

  /**
   * Encodes a tuple straight into the queue, the path of nearly every call
   * and reply. False, with nothing queued, when it needs encodeMessage:
   * for something only ValueSerializer reproduces, a buffer that travels
   * out of band, or a size over the limit (which encodeMessage reports).
   */
  private writeInline(tuple: unknown[]): boolean {
    const q = this.queue;
    const mark = q.begin();
    let fits = false;
    try {
      fits = appendCompact(q, tuple, ownLists(tuple)) && q.bodySince(mark) <= this.maxMessageSize;
    } finally {
      if (!fits) q.drop(mark);
    }
    if (fits) this.queued(q.end(mark));
    return fits;
  }

  private write(frame: Frame): void {
    this.queue.push(frame.body, frame.buffers);
    this.queued(frameSize(frame.body, frame.buffers));
  }

  /**
   * Checked as each frame is queued, not once per flush: many calls in one
   * chunk produce their replies in one tick, which could be gigabytes. A
   * single frame may exceed the limit when nothing else waits.
   */
  private queued(size: number): void {
    const waiting = this.queue.bytes - size + this.writable.writableLength;
    if (waiting > 0 && waiting + size > this.maxWriteBuffer) {
      this.fail(
        blame(
          new ChannelClosedError(
            `the ${this.options.label} is not reading: ${waiting + size} bytes are waiting to be written (maxWriteBuffer ${this.maxWriteBuffer})`,
          ),
        ),
      );
      return;
    }
    if (this.options.writeBudget) {
      this.options.writeBudget.note(this, waiting + size);
      if (this.closed) return;
    }
    if (++this.queuedFrames >= this.flushAt) this.flush();
    else this.batch.schedule();
  }

  waiting(): number {
    return this.queue.bytes + this.writable.writableLength;
  }

  cut(waiting: number, total: number, max: number): void {
    this.fail(
      blame(
        new ChannelClosedError(
          `the ${this.options.label} reads too slowly: ${waiting} bytes are waiting for it, the most of any client, and ${total} for all (maxServerWriteBuffer ${max})`,
        ),
      ),
    );
  }

  /** The frames of one tick (at most FLUSH_FRAMES of them) leave in one writev. */
  private readonly flush = (): void => {
    if (this.closed || this.queue.bytes === 0) return;
    const chunks = this.queue.take();
    this.queuedFrames = 0;
    const w = this.writable;
    if (chunks.length === 1) {
      w.write(chunks[0]);
    } else {
      w.cork();
      for (const c of chunks) w.write(c);
      w.uncork();
    }
  };

  /**
   * Writes `msg` synchronously to `fd`, the descriptor beneath this stream,
   * for a process about to die. Skipped when an earlier frame is still
   * partly in the stream's buffer, since writing past it would corrupt both.
   */
  sayLastWords(fd: number, msg: unknown): void {
    if (this.closed || this.writable.writableLength > 0) return;
    const { body, buffers } = encodeMessage(msg, undefined);
    this.queue.push(body, buffers);
    for (const chunk of this.queue.take()) writeSync(fd, chunk);
  }

  /**
   * Sends what is queued, then ends the stream; the other side sees a clean
   * close. Nothing more is read, so the stream is destroyed once the last
   * byte is out, or after a moment if the other side will not take it:
   * a peer that neither reads nor closes cannot hold the socket open.
   */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.shutdown();
    this.settleReady(new ChannelClosedError(`the connection to the ${this.options.label} was closed before the handshake`));
    const { readable, writable } = this;
    const done = (): void => {
      clearTimeout(linger);
      readable.destroy();
      writable.destroy();
    };
    const linger = setTimeout(done, CLOSE_LINGER_MS).unref();
    writable.once('finish', done);
    writable.end();
    // Unread bytes are discarded, so the other side never blocks writing to us.
    if ((readable as unknown) !== writable) readable.destroy();
    else readable.resume();
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
    this.options.writeBudget?.leave(this);
    this.greeting.stop();
    this.queue.clear();
    for (const d of this.detach.splice(0)) d();
    // A stream with no listener would stop at 'error' with an uncaught exception.
    this.readable.on('error', ignore);
    this.writable.on('error', ignore);
  }
}

const ignore = (): void => {};
const NO_BUFFERS: readonly ArrayBuffer[] = [];
