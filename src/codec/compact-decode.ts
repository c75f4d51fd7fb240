// The decoding side of the compact codec (the format is in compact.ts).
import { ProtocolError } from '../errors.ts';
import { Tag, VIEWS } from './compact.ts';
import { DEFAULT_MAX_ITEMS, DecodeRefused, MAX_DEPTH, tooDeep, tooMany } from './limits.ts';

class Reader {
  readonly refs: unknown[] = [];
  pos: number;
  /** Builders for the objects that others take their keys from, by reference index. */
  builds: Build[] | undefined;
  /** How many keys each of `builds` sets. */
  buildSizes: number[] | undefined;
  /** Containers open around the value being read. */
  depth = 0;
  /** Items (containers and their members) this message may still build. */
  left: number;

  /** Reads the body in `view` from `start` (its mark) to `end`. */
  constructor(
    readonly view: Buffer,
    start: number,
    readonly end: number,
    readonly buffers: readonly ArrayBuffer[],
    readonly maxItems: number,
  ) {
    this.pos = start + 1;
    this.left = maxItems;
  }

  /** Counts `n` items against the budget, before they are built. */
  spend(n: number): void {
    if ((this.left -= n) < 0) throw new DecodeRefused(tooMany(this.maxItems), this.refs[0]);
  }

  /** Enters a container (one item itself). */
  open(): void {
    if (++this.depth > MAX_DEPTH) throw new DecodeRefused(tooDeep(), this.refs[0]);
    if (--this.left < 0) throw new DecodeRefused(tooMany(this.maxItems), this.refs[0]);
  }

  need(n: number): void {
    if (this.pos + n > this.end) throw new ProtocolError('a compact body ended early');
  }

  byte(): number {
    this.need(1);
    return this.view[this.pos++]!;
  }

  varint(): number {
    const first = this.view[this.pos]!;
    if (first < 0x80 && this.pos < this.end) {
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
    if (n > this.end - this.pos) throw new ProtocolError(`a compact body announced ${n} items in ${this.end - this.pos} bytes`);
    return n;
  }

  /**
   * A string. Property keys repeat from object to object, so they come from
   * a cache; values rarely repeat, so they are built directly.
   */
  string(isKey = false): string {
    const len = this.varint();
    this.need(len);
    const start = this.pos;
    this.pos += len;
    if (len === 0) return '';
    if (isKey && len <= 16) return shortString(this.view, start, len);
    if (!isKey && len <= 8 && isAscii(this.view, start, len)) return fromAscii(this.view, start, len);
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

/**
 * Decodes a body written by encodeCompact; anything malformed throws
 * ProtocolError, and a body that would build more than `maxItems` items or
 * nest too deep throws DecodeRefused.
 */
export function decodeCompact(body: Uint8Array, buffers: readonly ArrayBuffer[], start = 0, end = body.byteLength, maxItems = DEFAULT_MAX_ITEMS): unknown {
  const view = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new Reader(view, start, end, buffers, maxItems);
  const value = read(r);
  if (r.pos !== end) throw new ProtocolError('a compact body has bytes after its value');
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
      const v = r.view;
      const at = r.pos;
      r.pos += 4;
      return v[at]! | (v[at + 1]! << 8) | (v[at + 2]! << 16) | (v[at + 3]! << 24);
    case Tag.Float64:
      r.need(8);
      r.pos += 8;
      return r.view.readDoubleLE(r.pos - 8);
    case Tag.String:
      return r.string();
    case Tag.Name:
      return r.string(true);
    case Tag.BigInt:
      return parseBigInt(r.string());
    case Tag.Object: {
      r.open();
      const o: Record<string, unknown> = {};
      r.refs.push(o);
      const n = r.count();
      r.spend(n);
      for (let i = 0; i < n; i++) {
        const k = r.string(true);
        setKey(o, k, read(r));
      }
      r.depth--;
      return o;
    }
    case Tag.Shape: {
      const i = r.varint();
      const builds = (r.builds ??= []);
      let build = builds[i];
      if (build === undefined) {
        const like = r.refs[i];
        if (typeof like !== 'object' || like === null || Object.getPrototypeOf(like) !== Object.prototype) {
          throw new ProtocolError('a compact body takes the keys of a value that is not an object it sent');
        }
        // Its own keys are in the order they were sent: the encoder lists integer keys first, as objects do.
        const keys = Object.keys(like);
        build = builds[i] = builderFor(keys);
        (r.buildSizes ??= [])[i] = keys.length;
      }
      r.open();
      r.spend(r.buildSizes![i]!);
      const o: Record<string, unknown> = {};
      r.refs.push(o);
      build(o, r);
      r.depth--;
      return o;
    }
    case Tag.Array: {
      r.open();
      const n = r.count();
      r.spend(n);
      const a: unknown[] = new Array(n);
      r.refs.push(a);
      for (let i = 0; i < n; i++) a[i] = read(r);
      r.depth--;
      return a;
    }
    case Tag.Date: {
      r.spend(1);
      r.need(9);
      if (r.byte() !== Tag.Float64) throw new ProtocolError('a compact Date is malformed');
      const d = new Date(r.view.readDoubleLE(r.pos));
      r.pos += 8;
      r.refs.push(d);
      return d;
    }
    case Tag.RegExp: {
      r.spend(1);
      const source = r.string();
      const re = new RegExp(source, r.string());
      r.refs.push(re);
      return re;
    }
    case Tag.Map: {
      // A Map or Set costs several times an object's heap: it counts as MAP_COST items, as does each entry.
      r.open();
      r.spend(MAP_COST - 1);
      const m = new Map<unknown, unknown>();
      r.refs.push(m);
      const n = r.count();
      r.spend(n * MAP_COST);
      for (let i = 0; i < n; i++) {
        const k = read(r);
        m.set(k, read(r));
      }
      r.depth--;
      return m;
    }
    case Tag.Set: {
      r.open();
      r.spend(MAP_COST - 1);
      const s = new Set<unknown>();
      r.refs.push(s);
      const n = r.count();
      r.spend(n * MAP_COST);
      for (let i = 0; i < n; i++) s.add(read(r));
      r.depth--;
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
      r.spend(2);
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

/** Reads an object's values, in key order, onto the fresh object `o`. */
type Build = (o: Record<string, unknown>, r: Reader) => void;

/** Items a Map or Set, and each of its entries, counts as (see Tag.Map). */
const MAP_COST = 4;

/**
 * Builders generated for key lists that objects reuse, kept across
 * messages. In generated code each key is a named store with its own inline
 * cache, which adds properties several times faster than `o[k] = v` with
 * keys that vary.
 */
const builders = new Map<string, Build>();
/** Bounds the code a peer's key lists can make us generate; later lists take the slower path. */
const MAX_BUILDERS = 512;
const MAX_BUILDER_KEYS = 32;
let generate = true;

function builderFor(keys: string[]): Build {
  if (generate && keys.length <= MAX_BUILDER_KEYS && !keys.includes('__proto__')) {
    const id = JSON.stringify(keys);
    let build = builders.get(id);
    if (build === undefined && builders.size < MAX_BUILDERS) {
      // JSON string literals are JavaScript string literals, so no key can be more than a key here.
      const body = keys.map((k) => `o[${JSON.stringify(k)}] = read(r);`).join('\n');
      try {
        build = new Function('read', `return function build(o, r) {\n${body}\n};`)(read) as Build;
        builders.set(id, build);
      } catch {
        // Code generation from strings is disallowed in this process.
        generate = false;
      }
    }
    if (build !== undefined) return build;
  }
  return (o, r) => {
    for (let i = 0; i < keys.length; i++) setKey(o, keys[i]!, read(r));
  };
}

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  // An own "__proto__" key stays an own property, as with structured clone, never a prototype.
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

function parseBigInt(s: string): bigint {
  const negative = s.startsWith('-');
  const digits = negative ? s.slice(1) : s;
  if (!/^[0-9a-f]+$/.test(digits)) throw new ProtocolError('a compact BigInt is malformed');
  const n = BigInt(`0x${digits}`);
  return negative ? -n : n;
}
