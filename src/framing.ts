/**
 * Length-prefixed frames for byte streams.
 *
 *   ┌──────────┬──────────┬─────────────────┬──────────┬──────────┬─────┐
 *   │ body len │ n bufs   │ n × buffer len  │ body     │ buffer 0 │ ... │
 *   │ u32 LE   │ u32 LE   │ u32 LE each     │          │          │     │
 *   └──────────┴──────────┴─────────────────┴──────────┴──────────┴─────┘
 *
 * Out-of-band buffers (ArrayBuffers sent with `transfer()`) follow the body
 * and are written from their own memory, so a 64 MiB transfer is never
 * copied into a body. Every length is checked against the limit before
 * anything is allocated for it.
 */
import { ProtocolError } from './errors.ts';
import { Piece } from './frame-piece.ts';

export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
/** Every length on the wire is a u32; a larger one would wrap and desynchronise the stream. */
export const MAX_FRAME_SIZE = 0xffffffff;
/** Out-of-band buffers per frame; bounds the header a peer can make us read. */
export const MAX_FRAME_BUFFERS = 4096;

const FIXED_HEADER = 8;

export interface Frame {
  body: Uint8Array;
  buffers: ArrayBuffer[];
}

/** A little-endian u32 without a DataView per read. */
const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;

/** Pieces at least this big are written from their own memory; smaller ones are packed together. */
const PACK_LIMIT = 16 * 1024;
/** The least packing buffer allocated. */
const PACK_MIN = 4 * 1024;
/**
 * After a batch smaller than PACK_BUSY a packing buffer bigger than
 * PACK_QUIET is let go, and any bigger than PACK_KEPT always is: a
 * connection gone quiet holds a few KiB of packing memory at most, which
 * matters to a server with thousands of clients, while a busy one keeps
 * the buffer its batches need.
 */
const PACK_BUSY = 4 * 1024;
const PACK_QUIET = 16 * 1024;
const PACK_KEPT = 256 * 1024;
const NO_BYTES = Buffer.alloc(0);

/** The chunks of one frame, in order, for `writev`. */
export function encodeFrame(body: Uint8Array, buffers: readonly ArrayBuffer[]): Uint8Array[] {
  return encodeFrames([{ body, buffers: [...buffers] }]);
}

/** The chunks of many frames, in order, for one `writev` (see FrameQueue). */
export function encodeFrames(frames: readonly Frame[]): Uint8Array[] {
  const q = new FrameQueue();
  for (const { body, buffers } of frames) q.push(body, buffers);
  return q.take();
}

/**
 * Frames waiting to be written, as the chunks of one `writev`. Headers and
 * small bodies are packed into a shared buffer, since a writev of
 * thousands of tiny chunks costs more than one copy of them, and a body
 * can even be encoded straight into it (`begin`/`end`); big bodies and
 * out-of-band buffers are queued as their own chunks, never copied.
 */
export class FrameQueue {
  /**
   * Packed bytes from `start` to `pos` wait here. Bytes before `start` were
   * handed out and may still sit in a stream's queue, so they are never
   * written over; a full buffer is replaced, not reused.
   */
  buf: Buffer = NO_BYTES;
  start = 0;
  pos = 0;
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** Packed bytes of the last batch taken: the first allocation of the next one is sized by it. */
  private lastBatch = 0;

  /** Bytes waiting, headers included. */
  get bytes(): number {
    return this.chunkBytes + this.pos - this.start;
  }

  /** Makes room for `n` more packed bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Never from Node's shared pool: a pooled Buffer a user sends carries the whole pool, which must not hold other messages.
    const next = Buffer.allocUnsafeSlow(Math.max(PACK_MIN, 2 * this.lastBatch, 2 * (this.pos - this.start + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.pos -= this.start;
    this.start = 0;
    this.buf = next;
  }

  /** Queues a frame whose body is already encoded. */
  push(body: Uint8Array, buffers: readonly ArrayBuffer[]): void {
    this.ensure(FIXED_HEADER + 4 * buffers.length);
    this.header(this.pos, body.byteLength, buffers.length);
    this.pos += FIXED_HEADER;
    for (const b of buffers) {
      putU32(this.buf, this.pos, b.byteLength);
      this.pos += 4;
    }
    this.piece(body);
    for (const b of buffers) this.piece(new Uint8Array(b));
  }

  /**
   * Starts a frame with no out-of-band buffers whose body the caller
   * appends at `pos` (growing the buffer with `ensure`); `end` or `drop`
   * with the mark returned finishes it.
   */
  begin(): number {
    this.ensure(FIXED_HEADER);
    const mark = this.pos - this.start;
    this.pos += FIXED_HEADER;
    return mark;
  }

  /** Bytes of body appended since `begin` returned `mark`. */
  bodySince(mark: number): number {
    return this.pos - this.start - mark - FIXED_HEADER;
  }

  /** Finishes the frame begun at `mark`; returns its size on the wire. */
  end(mark: number): number {
    const body = this.bodySince(mark);
    this.header(this.start + mark, body, 0);
    return FIXED_HEADER + body;
  }

  /** Forgets the frame begun at `mark` and what was appended since. */
  drop(mark: number): void {
    this.pos = this.start + mark;
  }

  /** Everything queued, as chunks in order; the queue is empty afterwards. */
  take(): Uint8Array[] {
    const out = this.chunks;
    if (this.pos > this.start) out.push(this.buf.subarray(this.start, this.pos));
    this.lastBatch = Math.min(this.pos - this.start, PACK_KEPT);
    this.chunks = [];
    this.chunkBytes = 0;
    if (this.buf.length > (this.lastBatch < PACK_BUSY ? PACK_QUIET : PACK_KEPT)) {
      this.buf = NO_BYTES;
      this.pos = 0;
    }
    this.start = this.pos;
    return out;
  }

  /** Drops everything queued. */
  clear(): void {
    this.chunks = [];
    this.chunkBytes = 0;
    this.start = this.pos;
  }

  private header(at: number, bodyLength: number, count: number): void {
    putU32(this.buf, at, bodyLength);
    putU32(this.buf, at + 4, count);
  }

  private piece(piece: Uint8Array): void {
    if (piece.byteLength < PACK_LIMIT) {
      this.ensure(piece.byteLength);
      this.buf.set(piece, this.pos);
      this.pos += piece.byteLength;
      return;
    }
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.chunkBytes += this.pos - this.start;
      this.start = this.pos;
    }
    this.chunks.push(piece);
    this.chunkBytes += piece.byteLength;
  }
}

/** A little-endian u32 written byte by byte: cheaper than Buffer's checked writer for one value. */
function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/** Bytes a frame takes on the wire, header included. */
export function frameSize(body: Uint8Array, buffers: readonly ArrayBuffer[]): number {
  let n = FIXED_HEADER + 4 * buffers.length + body.byteLength;
  for (const b of buffers) n += b.byteLength;
  return n;
}

const enum Stage {
  Header,
  Lengths,
  Body,
  Buffers,
}

/**
 * An incremental frame parser: feed it chunks as they arrive, it calls
 * `onFrame` for each whole frame. Throws ProtocolError on a frame over the
 * limit; after that the stream is unusable and must be closed.
 */
export class FrameDecoder {
  private stage = Stage.Header;
  private readonly fixed = new Uint8Array(FIXED_HEADER);
  /** Bytes of the current piece (fixed header, lengths, body or a buffer) received so far. */
  private filled = 0;
  private lengths: Uint8Array | undefined;
  private bufferLengths: number[] = [];
  private body: Piece | undefined;
  private buffers: ArrayBuffer[] = [];
  private current: Piece | undefined;
  /**
   * When set, takes each frame that has no out-of-band buffers and lies
   * whole inside one chunk (nearly every small message) as a range of that
   * chunk, with no view or frame object made for it. The range is only
   * valid during the call.
   */
  onBody: ((chunk: Buffer, start: number, end: number) => void) | undefined;

  /**
   * @param limit largest frame accepted, in bytes. It may be changed
   *   between frames (a stream takes only a small hello first).
   */
  constructor(
    private readonly onFrame: (frame: Frame) => void,
    public limit = DEFAULT_MAX_MESSAGE_SIZE,
  ) {}

  /** Feeds the next chunk. It is kept as it is until a big piece is whole, so it must not change after this call. */
  push(bytes: Uint8Array): void {
    // Streams hand us Buffers; frames are cut from it as Buffers too, which the codec reads directly.
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (at < chunk.byteLength || this.pieceIsWhole()) {
      switch (this.stage) {
        case Stage.Header: {
          // The common case: a whole small frame inside one chunk needs no copy.
          if (this.filled === 0 && this.tryWhole(chunk, at)) {
            at = this.wholeEnd;
            continue;
          }
          at = this.fill(this.fixed, chunk, at);
          if (this.filled < FIXED_HEADER) return;
          this.filled = 0;
          this.startFrame();
          break;
        }
        case Stage.Lengths: {
          at = this.fill(this.lengths!, chunk, at);
          if (this.filled < this.lengths!.byteLength) return;
          this.filled = 0;
          this.readLengths();
          break;
        }
        case Stage.Body: {
          at = this.body!.take(chunk, at);
          if (!this.body!.whole) return;
          this.nextBuffer();
          break;
        }
        case Stage.Buffers: {
          at = this.current!.take(chunk, at);
          if (!this.current!.whole) return;
          this.buffers.push(this.current!.bytes().buffer as ArrayBuffer);
          this.nextBuffer();
          break;
        }
      }
    }
  }

  /** True between frames; false while a frame is partly received. */
  get idle(): boolean {
    return this.stage === Stage.Header && this.filled === 0;
  }

  /**
   * Where the stream's next bytes belong, when they continue a piece whose
   * memory is taken and much of it is still to come: a reader that can
   * choose its memory (a socket's `onread`) reads them there, in place,
   * and reports them with `filledInPlace`, rather than copying them out of
   * a chunk. Undefined between pieces, for pieces of 64 KiB or less, near a
   * piece's end, and while a big piece is still kept as parts (its first half).
   */
  room(): Uint8Array | undefined {
    return this.stage === Stage.Body ? this.body!.room() : this.stage === Stage.Buffers ? this.current!.room() : undefined;
  }

  /** `n` bytes were read into what `room` returned. */
  filledInPlace(n: number): void {
    (this.stage === Stage.Body ? this.body! : this.current!).advance(n);
    this.push(NO_BYTES);
  }

  /** True while views of chunks pushed earlier are kept: until then their memory must not be written over. */
  get keepsChunks(): boolean {
    return this.body?.keepsChunks === true || this.current?.keepsChunks === true;
  }

  /** A piece received whole (a zero-length one needs no byte) is finished without waiting for more. */
  private pieceIsWhole(): boolean {
    if (this.stage === Stage.Body) return this.body!.whole;
    if (this.stage === Stage.Buffers) return this.current!.whole;
    return false;
  }

  private wholeEnd = 0;

  private tryWhole(chunk: Uint8Array, at: number): boolean {
    if (chunk.byteLength - at < FIXED_HEADER) return false;
    if (u32(chunk, at + 4) !== 0) return false;
    const len = u32(chunk, at);
    this.check(len);
    const end = at + FIXED_HEADER + len;
    if (end > chunk.byteLength) return false;
    this.wholeEnd = end;
    // The decoder copies what it keeps, so a view into the chunk is safe.
    if (this.onBody) this.onBody(chunk as Buffer, at + FIXED_HEADER, end);
    else this.onFrame({ body: chunk.subarray(at + FIXED_HEADER, end), buffers: [] });
    return true;
  }

  private fill(target: Uint8Array, chunk: Uint8Array, at: number): number {
    const n = Math.min(target.byteLength - this.filled, chunk.byteLength - at);
    target.set(chunk.subarray(at, at + n), this.filled);
    this.filled += n;
    return at + n;
  }

  private startFrame(): void {
    const view = new DataView(this.fixed.buffer);
    const bodyLength = view.getUint32(0, true);
    const count = view.getUint32(4, true);
    this.check(bodyLength);
    if (count > MAX_FRAME_BUFFERS) {
      throw new ProtocolError(`a frame announced ${count} out-of-band buffers; at most ${MAX_FRAME_BUFFERS} are allowed`);
    }
    this.bufferLengths = [];
    this.buffers = [];
    if (count === 0) {
      this.body = new Piece(bodyLength);
      this.stage = Stage.Body;
    } else {
      this.lengths = new Uint8Array(4 * count);
      this.stage = Stage.Lengths;
    }
  }

  private readLengths(): void {
    const view = new DataView(this.lengths!.buffer);
    const bodyLength = new DataView(this.fixed.buffer).getUint32(0, true);
    let total = bodyLength;
    for (let i = 0; i < this.lengths!.byteLength; i += 4) {
      const len = view.getUint32(i, true);
      total += len;
      this.bufferLengths.push(len);
    }
    this.check(total);
    this.lengths = undefined;
    this.body = new Piece(bodyLength);
    this.stage = Stage.Body;
  }

  private nextBuffer(): void {
    const next = this.bufferLengths[this.buffers.length];
    if (next !== undefined) {
      this.current = new Piece(next);
      this.stage = Stage.Buffers;
      return;
    }
    const frame = { body: this.body!.bytes(), buffers: this.buffers };
    this.body = undefined;
    this.current = undefined;
    this.buffers = [];
    this.stage = Stage.Header;
    this.onFrame(frame);
  }

  private check(size: number): void {
    if (size > this.limit) {
      throw new ProtocolError(`a frame of ${size} bytes exceeds maxMessageSize (${this.limit} bytes)`);
    }
  }
}
