// The bytes of a compact body as they are written: a growable buffer and
// the format's primitives (see compact.ts). What a message refers to, and
// when to give up on it, is the encoder's (compact-encode.ts).
import { Tag } from './compact.ts';

/** Thrown inside the encoder for a value it leaves to ValueSerializer. */
export const UNSUPPORTED = Symbol('unsupported');

export class ByteWriter {
  buf: Buffer = Buffer.allocUnsafe(4096);
  pos = 0;
  /** Bytes of `buf` before this belong to someone else (a frame queue's earlier frames): growing does not copy them. */
  origin = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Offsets stay where they were (an object's count is patched in at one after its keys are written), so
    // what is before `origin` is left out of the copy but not out of the new buffer.
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, this.origin, this.origin, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    if (this.pos === this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    if (n < 0x80 && this.pos < this.buf.length) {
      this.buf[this.pos++] = n;
      return;
    }
    this.ensure(5);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  float(n: number): void {
    this.ensure(9);
    this.buf[this.pos++] = Tag.Float64;
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    const len = s.length;
    if (len < 64) {
      // Short ASCII strings, the bulk of keys and names, skip the UTF-8 encoder.
      this.ensure(1 + len);
      const start = this.pos;
      this.buf[this.pos++] = len;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          this.pos = start;
          return this.utf8(s);
        }
        this.buf[this.pos++] = c;
      }
      return;
    }
    this.utf8(s);
  }

  private utf8(s: string): void {
    // UTF-8 cannot carry a lone surrogate; structured clone keeps it.
    if (!(s as string & { isWellFormed(): boolean }).isWellFormed()) throw UNSUPPORTED;
    const max = s.length * 3;
    this.ensure(5 + max);
    const lenAt = this.pos;
    // Reserve the most bytes the length can take, then write the length in place.
    const lenBytes = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : max < 0x10000000 ? 4 : 5;
    const n = this.buf.write(s, lenAt + lenBytes, 'utf8');
    let v = n;
    for (let i = 0; i < lenBytes - 1; i++) {
      this.buf[lenAt + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[lenAt + lenBytes - 1] = v;
    this.pos = lenAt + lenBytes + n;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}
