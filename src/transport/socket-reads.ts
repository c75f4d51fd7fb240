/**
 * Socket reads into memory the frame decoder chooses.
 *
 * Read the usual way, every read lands in a fresh 64 KiB buffer that is
 * garbage once its bytes are copied out: a stream of 64 KiB chunks made
 * two 64 KiB allocations per chunk (the read's and the chunk's own), and
 * the collector's work showed. A
 * socket opened with `onread` asks for the memory of each read instead. It
 * gets one buffer kept for the purpose (64 KiB, or 256 KiB once the socket
 * had more waiting), reused while the decoder holds no view of it; or, when
 * a piece of a frame over 64 KiB is far from whole and its memory is taken
 * (its second half), the rest of that piece, so those bytes land where
 * they stay and the buffer a user receives is the one the kernel wrote.
 *
 * Node's `onread` exists only for sockets this process opens (not for the
 * ones a server accepts), so clients read this way and servers the usual way.
 */
import type net from 'node:net';

/** What reads feed: the decoder's wishes and the transport's handling of what was read. */
export interface ReadSink {
  /** Memory the next read should fill in place, if any (FrameDecoder.room). */
  room(): Uint8Array | undefined;
  /** True while views of earlier chunks are kept (FrameDecoder.keepsChunks). */
  readonly keepsChunks: boolean;
  /** `n` bytes were read into what `room` returned. */
  filled(n: number): void;
  /** Bytes read into a buffer of ours, valid during the call unless `keepsChunks` says they are kept. */
  chunk(bytes: Buffer): void;
}

/** The size of the first reads, as Node's own. */
const READ_SIZE = 64 * 1024;
/**
 * The size of reads once one filled its buffer (more was waiting). A read
 * that takes all a Unix socket holds (about 200 KiB) lets the writer go on
 * while this side works through it, rather than after: a stream of 64 KiB
 * chunks measured about 10 % faster with a writer on another CPU.
 */
const BIG_READ = 256 * 1024;

const bySocket = new WeakMap<net.Socket, SocketReads>();

/** The reads of a socket opened with a SocketReads' `onread` (and bound to it); such a socket emits no 'data' events. */
export const readsOf = (socket: object): SocketReads | undefined => bySocket.get(socket as net.Socket);

export class SocketReads {
  /** READ_SIZE, or BIG_READ for good once a read filled the buffer. */
  private size = READ_SIZE;
  private spare = Buffer.allocUnsafeSlow(READ_SIZE);
  private sink: ReadSink | undefined;
  /** Chunks read before a sink was attached (a server's hello arrives as soon as the socket connects). */
  private early: Buffer[] = [];
  /** The last memory handed out was the sink's room, not a buffer of ours. */
  private inPlace = false;

  /** For `net.connect({ ..., onread })`. */
  readonly onread = {
    buffer: (): Uint8Array => this.next(),
    // True: go on reading (a transport never pauses its socket).
    callback: (n: number, memory: Uint8Array): boolean => (this.read(n, memory), true),
  };

  /** Ties these reads to the socket they were opened with, for `readsOf`. */
  bind(socket: net.Socket): net.Socket {
    bySocket.set(socket, this);
    return socket;
  }

  /** Hands what was read to `sink` from now on, the bytes read so far first. */
  attach(sink: ReadSink): void {
    this.sink = sink;
    for (const c of this.early.splice(0)) sink.chunk(c);
  }

  private next(): Uint8Array {
    const sink = this.sink;
    this.inPlace = false;
    if (sink === undefined) return this.spare;
    const room = sink.room();
    if (room !== undefined) {
      this.inPlace = true;
      return room;
    }
    if (sink.keepsChunks || this.spare.byteLength < this.size) this.spare = Buffer.allocUnsafeSlow(this.size);
    return this.spare;
  }

  private read(n: number, memory: Uint8Array): void {
    if (this.inPlace) return this.sink!.filled(n);
    if (n === memory.byteLength) this.size = BIG_READ;
    const bytes = (memory as Buffer).subarray(0, n);
    if (this.sink) this.sink.chunk(bytes);
    else this.early.push(Buffer.from(bytes));
  }
}
