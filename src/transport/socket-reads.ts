/**
 * Socket reads into memory the frame decoder chooses.
 *
 * Read the usual way, every read lands in a fresh 64 KiB buffer, and a
 * piece of a frame (a 64 KiB chunk, a transferred buffer) is then copied
 * out of it into memory of its own: per chunk of a stream, two allocations
 * and a copy. A socket opened with `onread` asks for the memory of each
 * read instead. It gets the rest of the piece being received when there is
 * enough of it (so the bytes land where they stay, and the buffer a user
 * receives is the one the kernel wrote), a short buffer for the head of
 * the next frame after a big piece, and otherwise one buffer kept for the
 * purpose, reused while the decoder holds no view of it.
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

/** The size of the usual read, as Node's own. */
const READ_SIZE = 64 * 1024;

const bySocket = new WeakMap<net.Socket, SocketReads>();

/** The reads of a socket opened with `socketReads().onread`; it delivers no 'data' events. */
export const readsOf = (socket: object): SocketReads | undefined => bySocket.get(socket as net.Socket);

export class SocketReads {
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
    if (sink.keepsChunks) this.spare = Buffer.allocUnsafeSlow(READ_SIZE);
    return this.spare;
  }

  private read(n: number, memory: Uint8Array): void {
    if (this.inPlace) return this.sink!.filled(n);
    const bytes = (memory as Buffer).subarray(0, n);
    if (this.sink) this.sink.chunk(bytes);
    else this.early.push(Buffer.from(bytes));
  }
}
