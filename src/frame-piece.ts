/**
 * The memory policy for receiving a frame, piece by piece (its body, then
 * each out-of-band buffer): when memory is taken, what is kept as views,
 * what is copied, and where a reader may read in place. framing.ts parses
 * the frames; this decides what their bytes cost.
 */

/**
 * Memory for a piece about to be filled from the stream, with its own
 * ArrayBuffer of exactly that size. Not zeroed first: zeroing 64 MiB costs
 * more than receiving it, and the piece is handed on only once every byte
 * was written (a stream that ends mid-frame drops it).
 */
const uninitialized = (n: number): Uint8Array => Buffer.allocUnsafeSlow(n);

/** Pieces at most this big are allocated when announced; bigger ones as their bytes arrive. */
const EAGER_PIECE = 64 * 1024;
/**
 * Parts of a big piece smaller than this are copied into a staging buffer
 * of STAGE bytes rather than kept as views: a view costs an object of a
 * hundred-odd bytes whatever it holds, so a peer trickling a frame one byte
 * per chunk made each byte cost ~184 bytes of heap.
 */
const SMALL_PART = 4 * 1024;
const STAGE = 64 * 1024;
/**
 * A piece with at least this much still to come is worth a read of its own
 * into its memory (see FrameDecoder.room in framing.ts). Smaller pieces are copied out of
 * the reads they arrive in: a 64 KiB chunk read in place would take a read
 * for its frame's head and one for itself, and measured slower than one
 * read and a copy.
 */
const READ_IN_PLACE = 64 * 1024;

/**
 * A piece of a frame (its body or an out-of-band buffer) as it arrives.
 * Past EAGER_PIECE, memory is taken as bytes arrive, never on the word of a
 * length alone: a peer that announces 64 MiB and sends ten bytes holds ten
 * bytes of ours, not 64 MiB, however many connections it opens. Until half
 * the piece is there, big chunks are kept as they came and small ones
 * packed together; then the piece's own memory is taken and filled as
 * chunks arrive, each also copying as many bytes of the parts kept so far
 * (which leaves about a chunk of them for the end). Copying a whole 63 MiB piece at once, into memory the
 * process had never touched, blocked the event loop for 250-600 ms (the
 * page faults, not the copy); spread over the chunks, no tick pays more
 * than a few of them.
 */
export class Piece {
  private filled = 0;
  private memory: Uint8Array | undefined;
  private parts: Uint8Array[] = [];
  private stage: Uint8Array | undefined;
  private staged = 0;
  /** Once `memory` is taken: where in it the next byte of `parts` goes, and how much of `parts[0]` is copied. */
  private copiedTo = 0;
  private partAt = 0;

  constructor(readonly length: number) {
    if (length <= EAGER_PIECE) this.memory = uninitialized(length);
  }

  get whole(): boolean {
    return this.filled === this.length;
  }

  get left(): number {
    return this.length - this.filled;
  }

  /** True while bytes of chunks handed to `take` are kept as views. */
  get keepsChunks(): boolean {
    return this.parts.length > 0;
  }

  /** The memory the piece's next bytes go to, when it is taken and enough of them are still to come. */
  room(): Uint8Array | undefined {
    if (this.memory === undefined || this.left < READ_IN_PLACE) return undefined;
    return this.memory.subarray(this.filled);
  }

  /** `n` bytes were written into what `room` returned. */
  advance(n: number): void {
    this.filled += n;
    if (this.parts.length > 0) this.copyParts(n);
  }

  /** Takes what belongs to this piece from `chunk` at `at`; returns where the rest starts. */
  take(chunk: Uint8Array, at: number): number {
    const n = Math.min(this.length - this.filled, chunk.byteLength - at);
    if (this.memory) {
      this.memory.set(chunk.subarray(at, at + n), this.filled);
      if (this.parts.length > 0) this.copyParts(n);
    } else if (n >= SMALL_PART && 2 * n >= chunk.buffer.byteLength) {
      // A view keeps all of the chunk's memory: kept only when it is most of it (a read into a 64 KiB buffer that brought 4 KiB is copied).
      this.unstage();
      this.parts.push(chunk.subarray(at, at + n));
    } else {
      let from = at;
      while (from < at + n) {
        this.stage ??= uninitialized(Math.min(STAGE, this.length - this.filled - (from - at)));
        const k = Math.min(this.stage.byteLength - this.staged, at + n - from);
        this.stage.set(chunk.subarray(from, from + k), this.staged);
        this.staged += k;
        from += k;
        if (this.staged === this.stage.byteLength) this.unstage();
      }
    }
    this.filled += n;
    if (this.memory === undefined && 2 * this.filled >= this.length) {
      this.unstage();
      this.memory = uninitialized(this.length);
    }
    return at + n;
  }

  private unstage(): void {
    if (this.stage === undefined) return;
    this.parts.push(this.stage.subarray(0, this.staged));
    this.stage = undefined;
    this.staged = 0;
  }

  /** Copies up to `budget` bytes of the parts kept before `memory` was taken into it. */
  private copyParts(budget: number): void {
    const memory = this.memory!;
    while (budget > 0 && this.parts.length > 0) {
      const part = this.parts[0]!;
      const k = Math.min(budget, part.byteLength - this.partAt);
      memory.set(part.subarray(this.partAt, this.partAt + k), this.copiedTo);
      this.copiedTo += k;
      this.partAt += k;
      budget -= k;
      if (this.partAt === part.byteLength) {
        this.parts.shift();
        this.partAt = 0;
      }
    }
  }

  /** The whole piece, in memory of its own (an ArrayBuffer of exactly its length). */
  bytes(): Uint8Array {
    this.copyParts(Infinity);
    return this.memory!;
  }
}
