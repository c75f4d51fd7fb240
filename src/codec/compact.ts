/**
 * A compact binary codec for the values most messages hold: primitives,
 * strings, plain objects, dense arrays, Map, Set, Date, RegExp, ArrayBuffers
 * and typed arrays, with shared and circular references kept.
 *
 * It exists for speed: V8's ValueSerializer costs a native object and an
 * external buffer per message, which dominates small calls over a stream.
 * It is not a second definition of structured clone: whenever a value holds
 * anything it does not reproduce exactly (errors, boxed primitives, sparse
 * arrays, arrays with named properties, class instances, proxies, strings
 * with lone surrogates, ...), `encodeCompact` returns undefined and the
 * whole message goes through ValueSerializer instead, so the result is
 * always what structured clone gives.
 */
import { types } from 'node:util';
import { ProtocolError } from '../errors.ts';

/** First byte of a compact body; a ValueSerializer body starts with 0xFF. */
export const COMPACT_MARK = 0x01;
/** ArrayBuffers at least this big travel out of band (copied once) instead of inside the body. */
const OUT_OF_BAND_MIN = 64 * 1024;
/** Stays below the frame's limit on out-of-band buffers (MAX_FRAME_BUFFERS). */
const MAX_OUT_OF_BAND = 1024;
/** A scratch buffer grown past this by one big message is not kept for the next. */
const SCRATCH_KEPT = 1024 * 1024;

const enum Tag {
  Undefined,
  Null,
  False,
  True,
  Int32,
  Float64,
  String,
  BigInt,
  Object,
  Array,
  Date,
  RegExp,
  Map,
  Set,
  ArrayBuffer,
  OutOfBand,
  View,
  Ref,
  /** Tags from here on are the integers 0..127 themselves. */
  SmallInt = 0x80,
}

const VIEWS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;
const viewKind = new Map<object, number>(VIEWS.map((V, i) => [V.prototype, i]));
// A Buffer arrives as a plain Uint8Array, as with structured clone.
viewKind.set(Buffer.prototype, VIEWS.indexOf(Uint8Array));

/** Thrown inside the encoder for a value it leaves to ValueSerializer. */
const UNSUPPORTED = Symbol('unsupported');

export interface OutOfBand {
  /** Buffers the body refers to by index, in order. */
  buffers: ArrayBuffer[];
  /** Which of them are the caller's own, to be detached (moved) rather than copied. */
  moved: Set<ArrayBuffer>;
}

class Writer {
  buf = Buffer.allocUnsafe(4096);
  pos = 0;
  /** Objects met so far, in order; searched directly while few (most messages), through `refIndex` once many. */
  refs: object[] = [];
  refIndex: Map<object, number> | undefined;
  transfer: ReadonlySet<ArrayBuffer> | undefined;
  /** Made only for a message that has out-of-band buffers. */
  oob: OutOfBand | undefined;
  oobIndex = new Map<ArrayBuffer, number>();

  reset(transfer: ReadonlySet<ArrayBuffer> | undefined): void {
    this.pos = 0;
    this.transfer = transfer;
    this.oob = undefined;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
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

// The encoder and decoder hold no state between messages, so one of each serves every connection.
const w = new Writer();

/**
 * Encodes `value` into a new body starting with COMPACT_MARK, or returns
 * undefined when it holds something only ValueSerializer reproduces
 * exactly. Nothing is detached here; the caller moves `oob.moved`.
 */
export function encodeCompact(
  value: unknown,
  transfer: ReadonlySet<ArrayBuffer> | undefined,
): { body: Uint8Array; oob: OutOfBand | undefined } | undefined {
  w.reset(transfer);
  // Someone made a member of Object.prototype enumerable: for-in would list it, so leave such a process to ValueSerializer.
  for (const _ in {}) return undefined;
  try {
    w.byte(COMPACT_MARK);
    write(value);
  } catch (err) {
    if (err === UNSUPPORTED || err instanceof RangeError) return undefined;
    throw err;
  } finally {
    w.refs.length = 0;
    w.refIndex = undefined;
    if (w.oobIndex.size > 0) w.oobIndex.clear();
  }
  // One copy out of the shared scratch buffer, into Node's pool for small bodies.
  const body = Buffer.allocUnsafe(w.pos);
  if (w.pos < 64) for (let i = 0; i < w.pos; i++) body[i] = w.buf[i]!;
  else w.buf.copy(body, 0, 0, w.pos);
  if (w.buf.length > SCRATCH_KEPT) w.buf = Buffer.allocUnsafe(4096);
  return { body, oob: w.oob };
}

function write(v: unknown): void {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && !(v === 0 && 1 / v < 0)) {
        if (v >= 0 && v < 0x80) return w.byte(Tag.SmallInt + v);
        w.ensure(5);
        w.buf[w.pos++] = Tag.Int32;
        w.buf.writeInt32LE(v, w.pos);
        w.pos += 4;
        return;
      }
      return w.float(v);
    case 'string':
      w.byte(Tag.String);
      return w.string(v);
    case 'boolean':
      return w.byte(v ? Tag.True : Tag.False);
    case 'undefined':
      return w.byte(Tag.Undefined);
    case 'bigint':
      w.byte(Tag.BigInt);
      return w.string(v.toString(16));
    case 'object':
      if (v === null) return w.byte(Tag.Null);
      return writeObject(v);
    default:
      // Functions and symbols: let ValueSerializer raise structured clone's own error.
      throw UNSUPPORTED;
  }
}

function writeObject(o: object): void {
  const seen = w.refIndex === undefined ? indexOf(w.refs, o) : w.refIndex.get(o);
  if (seen !== undefined) {
    w.byte(Tag.Ref);
    return w.varint(seen);
  }
  if (types.isProxy(o)) throw UNSUPPORTED;
  remember(o);
  const proto = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) {
    // The count is patched in once known, in a fixed three-byte varint.
    w.ensure(4);
    w.buf[w.pos] = Tag.Object;
    const countAt = w.pos + 1;
    w.pos += 4;
    let count = 0;
    // for-in is V8's fast path for reading every property; it lists only own keys while Object.prototype has no enumerable member.
    for (const k in o) {
      w.string(k);
      write((o as Record<string, unknown>)[k]);
      count++;
    }
    if (count >= 1 << 21) throw UNSUPPORTED;
    w.buf[countAt] = (count & 0x7f) | 0x80;
    w.buf[countAt + 1] = ((count >>> 7) & 0x7f) | 0x80;
    w.buf[countAt + 2] = count >>> 14;
    return;
  }
  if (proto === Array.prototype) return writeArray(o as unknown[]);
  if (proto === Map.prototype) {
    const m = o as Map<unknown, unknown>;
    w.byte(Tag.Map);
    w.varint(m.size);
    for (const [k, val] of m) {
      write(k);
      write(val);
    }
    return;
  }
  if (proto === Set.prototype) {
    const s = o as Set<unknown>;
    w.byte(Tag.Set);
    w.varint(s.size);
    for (const val of s) write(val);
    return;
  }
  if (proto === Date.prototype) {
    w.byte(Tag.Date);
    return w.float((o as Date).getTime());
  }
  if (proto === RegExp.prototype) {
    const r = o as RegExp;
    w.byte(Tag.RegExp);
    w.string(r.source);
    return w.string(r.flags);
  }
  if (proto === ArrayBuffer.prototype) return writeArrayBuffer(o as ArrayBuffer);
  const kind = viewKind.get(proto);
  if (kind !== undefined) {
    const view = o as ArrayBufferView;
    w.byte(Tag.View);
    w.byte(kind);
    // As structured clone does, the whole underlying buffer goes along, shared with other views of it.
    writeObject(view.buffer);
    w.varint(view.byteOffset);
    return w.varint(view instanceof DataView ? view.byteLength : (view as Uint8Array).length);
  }
  throw UNSUPPORTED;
}

/** Linear search wins over a Map for a handful of objects, and needs no identity hash on fresh ones. */
const FEW_REFS = 16;

function indexOf(refs: object[], o: object): number | undefined {
  for (let i = 0; i < refs.length; i++) if (refs[i] === o) return i;
  return undefined;
}

function remember(o: object): void {
  const i = w.refs.push(o) - 1;
  if (w.refIndex !== undefined) w.refIndex.set(o, i);
  else if (i === FEW_REFS) w.refIndex = new Map(w.refs.map((r, j) => [r, j]));
}

function writeArray(a: unknown[]): void {
  const len = a.length;
  w.byte(Tag.Array);
  w.varint(len);
  for (let i = 0; i < len; i++) {
    const v = a[i];
    if (v === undefined && !(i in a)) throw UNSUPPORTED; // a hole
    write(v);
  }
  // Named properties on an array are cloned too; that case is left to ValueSerializer.
  if (Object.keys(a).length !== len) throw UNSUPPORTED;
}

function writeArrayBuffer(ab: ArrayBuffer): void {
  // Resizable and detached buffers are rare; ValueSerializer knows their rules.
  if ((ab as ArrayBuffer & { resizable: boolean }).resizable || ab.byteLength === 0) throw UNSUPPORTED;
  const moved = w.transfer?.has(ab) === true;
  if (moved || (ab.byteLength >= OUT_OF_BAND_MIN && (w.oob?.buffers.length ?? 0) < MAX_OUT_OF_BAND)) {
    const oob = (w.oob ??= { buffers: [], moved: new Set() });
    let index = w.oobIndex.get(ab);
    if (index === undefined) {
      index = oob.buffers.length;
      w.oobIndex.set(ab, index);
      oob.buffers.push(ab);
      if (moved) oob.moved.add(ab);
    }
    w.byte(Tag.OutOfBand);
    return w.varint(index);
  }
  w.byte(Tag.ArrayBuffer);
  w.bytes(new Uint8Array(ab));
}

class Reader {
  pos = 1;
  readonly refs: unknown[] = [];
  readonly view: Buffer;

  constructor(
    body: Uint8Array,
    readonly buffers: readonly ArrayBuffer[],
  ) {
    this.view = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.view.length) throw new ProtocolError('a compact body ended early');
  }

  byte(): number {
    this.need(1);
    return this.view[this.pos++]!;
  }

  varint(): number {
    const first = this.view[this.pos];
    if (first !== undefined && first < 0x80) {
      this.pos++;
      return first;
    }
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new ProtocolError('a compact body holds a malformed length');
  }

  /** A count of items that each take at least one byte, so a lie cannot make us allocate. */
  count(): number {
    const n = this.varint();
    if (n > this.view.length - this.pos) throw new ProtocolError(`a compact body announced ${n} items in ${this.view.length - this.pos} bytes`);
    return n;
  }

  /** A string value: values rarely repeat, so no cache. */
  string(): string {
    const len = this.varint();
    this.need(len);
    const start = this.pos;
    this.pos += len;
    if (len === 0) return '';
    if (len <= 8 && isAscii(this.view, start, len)) return fromAscii(this.view, start, len);
    return this.view.toString('utf8', start, start + len);
  }

  /** A property key: keys repeat from object to object, so they come from the cache. */
  key(): string {
    const len = this.varint();
    this.need(len);
    const start = this.pos;
    this.pos += len;
    if (len === 0) return '';
    if (len <= 16) return shortString(this.view, start, len);
    return this.view.toString('utf8', start, start + len);
  }
}

function isAscii(view: Buffer, start: number, len: number): boolean {
  for (let i = start; i < start + len; i++) if (view[i]! >= 0x80) return false;
  return true;
}

/**
 * Keys and names repeat from message to message, so short strings come
 * from a small cache checked byte by byte rather than being built again.
 */
const recent: string[] = new Array(4096).fill('');

/** One call to String.fromCharCode, with the bytes as arguments, is the fastest way to a short string. */
function fromAscii(v: Buffer, at: number, len: number): string {
  const f = String.fromCharCode;
  switch (len) {
    case 1: return f(v[at]!);
    case 2: return f(v[at]!, v[at + 1]!);
    case 3: return f(v[at]!, v[at + 1]!, v[at + 2]!);
    case 4: return f(v[at]!, v[at + 1]!, v[at + 2]!, v[at + 3]!);
    case 5: return f(v[at]!, v[at + 1]!, v[at + 2]!, v[at + 3]!, v[at + 4]!);
    case 6: return f(v[at]!, v[at + 1]!, v[at + 2]!, v[at + 3]!, v[at + 4]!, v[at + 5]!);
    case 7: return f(v[at]!, v[at + 1]!, v[at + 2]!, v[at + 3]!, v[at + 4]!, v[at + 5]!, v[at + 6]!);
    case 8: return f(v[at]!, v[at + 1]!, v[at + 2]!, v[at + 3]!, v[at + 4]!, v[at + 5]!, v[at + 6]!, v[at + 7]!);
    default: return v.toString('latin1', at, at + len);
  }
}

function shortString(view: Buffer, start: number, len: number): string {
  const slot = ((len << 7) ^ (view[start]! << 2) ^ view[start + len - 1]!) & 4095;
  const cached = recent[slot]!;
  if (cached.length === len) {
    let i = 0;
    while (i < len && cached.charCodeAt(i) === view[start + i]) i++;
    if (i === len) return cached;
  }
  const s = isAscii(view, start, len) ? fromAscii(view, start, len) : view.toString('utf8', start, start + len);
  recent[slot] = s;
  return s;
}

/** Decodes a body written by encodeCompact; anything malformed throws ProtocolError. */
export function decodeCompact(body: Uint8Array, buffers: readonly ArrayBuffer[]): unknown {
  const r = new Reader(body, buffers);
  const value = read(r);
  if (r.pos !== r.view.length) throw new ProtocolError('a compact body has bytes after its value');
  return value;
}

function read(r: Reader): unknown {
  const tag = r.byte();
  if (tag >= Tag.SmallInt) return tag - Tag.SmallInt;
  switch (tag) {
    case Tag.Undefined:
      return undefined;
    case Tag.Null:
      return null;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Int32:
      r.need(4);
      r.pos += 4;
      return r.view.readInt32LE(r.pos - 4);
    case Tag.Float64:
      r.need(8);
      r.pos += 8;
      return r.view.readDoubleLE(r.pos - 8);
    case Tag.String:
      return r.string();
    case Tag.BigInt:
      return parseBigInt(r.string());
    case Tag.Object: {
      const o: Record<string, unknown> = {};
      r.refs.push(o);
      const n = r.count();
      for (let i = 0; i < n; i++) {
        const k = r.key();
        const v = read(r);
        // An own "__proto__" key stays an own property, as with structured clone, never a prototype.
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
        else o[k] = v;
      }
      return o;
    }
    case Tag.Array: {
      const n = r.count();
      const a: unknown[] = new Array(n);
      r.refs.push(a);
      for (let i = 0; i < n; i++) a[i] = read(r);
      return a;
    }
    case Tag.Date: {
      r.need(9);
      if (r.byte() !== Tag.Float64) throw new ProtocolError('a compact Date is malformed');
      const d = new Date(r.view.readDoubleLE(r.pos));
      r.pos += 8;
      r.refs.push(d);
      return d;
    }
    case Tag.RegExp: {
      const source = r.string();
      const re = new RegExp(source, r.string());
      r.refs.push(re);
      return re;
    }
    case Tag.Map: {
      const m = new Map<unknown, unknown>();
      r.refs.push(m);
      const n = r.count();
      for (let i = 0; i < n; i++) {
        const k = read(r);
        m.set(k, read(r));
      }
      return m;
    }
    case Tag.Set: {
      const s = new Set<unknown>();
      r.refs.push(s);
      const n = r.count();
      for (let i = 0; i < n; i++) s.add(read(r));
      return s;
    }
    case Tag.ArrayBuffer: {
      const len = r.varint();
      r.need(len);
      // A copy: the body's memory belongs to the stream's chunk.
      const ab = r.view.buffer.slice(r.view.byteOffset + r.pos, r.view.byteOffset + r.pos + len);
      r.pos += len;
      r.refs.push(ab);
      return ab;
    }
    case Tag.OutOfBand: {
      const ab = r.buffers[r.varint()];
      if (ab === undefined) throw new ProtocolError('a compact body refers to an out-of-band buffer that was not sent');
      r.refs.push(ab);
      return ab;
    }
    case Tag.View: {
      // Registered before its buffer, in the order the encoder met them.
      const at = r.refs.length;
      r.refs.push(undefined);
      const View = VIEWS[r.byte()] as (new (ab: ArrayBuffer, offset: number, length: number) => ArrayBufferView) | undefined;
      const ab = read(r);
      if (View === undefined || !(ab instanceof ArrayBuffer)) throw new ProtocolError('a compact typed array is malformed');
      const offset = r.varint();
      const length = r.varint();
      const view = new View(ab, offset, length);
      r.refs[at] = view;
      return view;
    }
    case Tag.Ref: {
      const i = r.varint();
      if (i >= r.refs.length || r.refs[i] === undefined) throw new ProtocolError('a compact body refers to a value it has not sent');
      return r.refs[i];
    }
    default:
      throw new ProtocolError(`a compact body holds an unknown tag ${tag}`);
  }
}

function parseBigInt(s: string): bigint {
  const negative = s.startsWith('-');
  const digits = negative ? s.slice(1) : s;
  if (!/^[0-9a-f]+$/.test(digits)) throw new ProtocolError('a compact BigInt is malformed');
  const n = BigInt(`0x${digits}`);
  return negative ? -n : n;
}
