// The encoding side of the compact codec (the format is in compact.ts).
import { types } from 'node:util';
import { COMPACT_MARK, Tag, VIEWS, type OutOfBand } from './compact.ts';
import { ByteWriter, UNSUPPORTED } from './compact-writer.ts';
import { MAX_DEPTH } from './limits.ts';
import { tooDeepToSend } from './depth.ts';

/** ArrayBuffers at least this big travel out of band (copied once) instead of inside the body. */
const OUT_OF_BAND_MIN = 64 * 1024;
/** Stays below the frame's limit on out-of-band buffers (MAX_FRAME_BUFFERS). */
const MAX_OUT_OF_BAND = 1024;
/** A scratch buffer grown past this by one big message is not kept for the next. */
const SCRATCH_KEPT = 1024 * 1024;

const viewKind = new Map<object, number>(VIEWS.map((V, i) => [V.prototype, i]));
// A Buffer arrives as a plain Uint8Array, as with structured clone.
viewKind.set(Buffer.prototype, VIEWS.indexOf(Uint8Array));

/** The byte writer with what one message has met so far. */
class Writer extends ByteWriter {
  /** Writing into a frame queue, where a buffer that would travel out of band cannot go. */
  inline = false;
  /** A message is being encoded; the encoder is not reentrant. */
  busy = false;
  /** Objects met so far, in order; searched directly while few (most messages), through `refIndex` once many. */
  refs: Array<object | undefined> = [];
  /** Entries of `refs` in use: the array is kept between messages, as setting its length costs more than a message. */
  refCount = 0;
  refIndex: Map<object, number> | undefined;
  transfer: ReadonlySet<ArrayBuffer> | undefined;
  /** Made only for a message that has out-of-band buffers. */
  oob: OutOfBand | undefined;
  oobIndex = new Map<ArrayBuffer, number>();
  /** Objects open around the value being written. */
  depth = 0;

  reset(transfer: ReadonlySet<ArrayBuffer> | undefined): void {
    this.pos = 0;
    this.transfer = transfer;
    this.oob = undefined;
  }

  /** Done with a message: what it referred to is let go (a 32 MiB buffer must not wait for the next message). */
  clear(): void {
    this.depth = 0;
    this.transfer = undefined;
    this.oob = undefined;
    for (let i = 0; i < this.refCount; i++) this.refs[i] = undefined;
    this.refCount = 0;
    this.refIndex = undefined;
    if (this.oobIndex.size > 0) this.oobIndex.clear();
    endMessage();
  }
}

// Nothing here belongs to one connection (what outlives a message is a cache), so one encoder serves them all.
const w = new Writer();

/** Whether this encoder may run now; when not, the message goes through ValueSerializer. */
function encoderFree(): boolean {
  // Someone made a member of Object.prototype enumerable: for-in would list it.
  for (const _ in {}) return false;
  // Busy: a getter of the value being encoded made another call.
  return !w.busy;
}

/**
 * Encodes `value` into a new body starting with COMPACT_MARK, or returns
 * undefined when it holds something only ValueSerializer reproduces
 * exactly. Nothing is detached here; the caller moves `oob.moved`.
 */
export function encodeCompact(
  value: unknown,
  transfer: ReadonlySet<ArrayBuffer> | undefined,
): { body: Uint8Array; oob: OutOfBand | undefined } | undefined {
  if (!encoderFree()) return undefined;
  w.reset(transfer);
  let oob: OutOfBand | undefined;
  try {
    w.busy = true;
    w.byte(COMPACT_MARK);
    write(value);
    oob = w.oob;
  } catch (err) {
    if (err === UNSUPPORTED || isStackOverflow(err)) return undefined;
    throw err;
  } finally {
    w.clear();
    w.busy = false;
  }
  // One copy out of the shared scratch buffer, into memory of its own (not Node's pool: see FrameQueue).
  const body = Buffer.allocUnsafeSlow(w.pos);
  if (w.pos < 64) for (let i = 0; i < w.pos; i++) body[i] = w.buf[i]!;
  else w.buf.copy(body, 0, 0, w.pos);
  if (w.buf.length > SCRATCH_KEPT) w.buf = Buffer.allocUnsafe(4096);
  return { body, oob };
}

/**
 * Where `appendCompact` writes: bytes from `start` to `pos` of `buf` are
 * waiting to be sent. The encoder may replace `buf` with a bigger one
 * holding those bytes at the same offsets.
 */
export interface Output {
  buf: Buffer;
  readonly start: number;
  pos: number;
}

/**
 * Appends the compact body of the array `items` to `out`, in place, with
 * no body of its own allocated and copied: the stream transport's path for
 * the messages nearly every call is made of. `items` and its last
 * `ownLists` members are arrays farcall itself built (a message's tuple,
 * its path and arguments), so they are not checked for what only a user's
 * array can be: a proxy, or an array with named keys.
 *
 * Returns false, with `out` as it was, for a value that needs
 * `encodeCompact`'s whole path: one with something only ValueSerializer
 * reproduces, or a buffer big enough to travel out of band. A getter's
 * error propagates, `out` again unchanged.
 */
export function appendCompact(out: Output, items: readonly unknown[], ownLists: number): boolean {
  if (!encoderFree()) return false;
  const scratch = w.buf;
  w.reset(undefined);
  w.buf = out.buf;
  w.pos = out.pos;
  w.origin = out.start;
  w.inline = true;
  try {
    w.busy = true;
    w.byte(COMPACT_MARK);
    refOf(items as unknown[]);
    w.byte(Tag.Array);
    w.varint(items.length);
    const firstOwn = items.length - ownLists;
    for (let i = 0; i < items.length; i++) {
      if (i < firstOwn) write(items[i]);
      else writeOwnList(items[i] as unknown[]);
    }
    out.buf = w.buf;
    out.pos = w.pos;
    return true;
  } catch (err) {
    if (err === UNSUPPORTED || isStackOverflow(err)) return false;
    throw err;
  } finally {
    w.clear();
    w.busy = false;
    w.inline = false;
    w.origin = 0;
    w.buf = scratch;
  }
}

/**
 * An array farcall built: dense, plain, no named keys; only its members
 * are the user's. Its short strings are names (a call's path), which the
 * decoder takes from its cache: the same string object every call, not a
 * new one to allocate and hash before the path guard can look it up.
 */
function writeOwnList(a: unknown[]): void {
  refOf(a);
  const len = a.length;
  w.byte(Tag.Array);
  w.varint(len);
  for (let i = 0; i < len; i++) {
    const v = a[i];
    if (typeof v === 'string' && v.length <= MAX_NAME) {
      w.byte(Tag.Name);
      w.string(v);
    } else {
      write(v);
    }
  }
}

/** The longest string the decoder's cache keeps. */
const MAX_NAME = 16;

/**
 * A value nested too deep for the recursive encoder: ValueSerializer, which
 * goes deeper, gets it. Any other error (a getter's own RangeError
 * included) is the caller's, thrown once, with the getter run once.
 */
const isStackOverflow = (err: unknown): boolean => err instanceof RangeError && err.message === 'Maximum call stack size exceeded';

function write(v: unknown): void {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && !(v === 0 && 1 / v < 0)) {
        if (v >= 0 && v < 0x80) return w.byte(Tag.SmallInt + v);
        // Byte by byte: Buffer's checked writer costs more than the rest of a small message's number.
        w.ensure(5);
        const b = w.buf;
        let at = w.pos;
        b[at++] = Tag.Int32;
        b[at++] = v;
        b[at++] = v >> 8;
        b[at++] = v >> 16;
        b[at++] = v >> 24;
        w.pos = at;
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
  const seen = refOf(o);
  if (seen !== undefined) {
    w.byte(Tag.Ref);
    return w.varint(seen);
  }
  // Refused here, for this one message, rather than by the receiver (or by a stack overflow on either side).
  if (++w.depth > MAX_DEPTH) throw tooDeepToSend();
  writeNew(o);
  w.depth--;
}

function writeNew(o: object): void {
  if (types.isProxy(o)) throw UNSUPPORTED;
  const proto = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) return writePlain(o as Record<string, unknown>);
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

/**
 * A node of the trie of objects' key sequences: the path from the root
 * spells an object's keys in order. The trie outlives messages, so steady
 * traffic walks it without allocating.
 */
class KeyNode {
  /** The reference index of the last object of this message written with these keys. */
  ref = -1;
  /** The message `ref` belongs to. */
  epoch = -1;
  /** The child taken last, checked first: objects in a row mostly share their keys. */
  last: KeyNode | undefined;
  more: Map<string, KeyNode> | undefined;
  constructor(readonly key: string) {}
}

/**
 * Past this many nodes the trie starts over, so odd keys cannot grow it
 * without bound: 4,096 holds the key lists of hundreds of record shapes
 * (about half a MiB), and a peer sending random keys costs a rebuild now
 * and then rather than a heap that climbs for minutes.
 */
const MAX_KEY_NODES = 4096;
let keyRoot = new KeyNode('');
let keyNodes = 0;

/** The encoder's state for one message, besides the Writer's refs; `endMessage` resets it. */
const message = {
  epoch: 0,
  /** The top of `keyStack`. */
  keys: 0,
  /** Whether the last object written with its keys, or looked up, had the keys of an earlier one. */
  repeating: false,
  /** The objects in `w.refs`, once there are more than a few. */
  seen: undefined as Set<object> | undefined,
};
/** The keys of the objects being written, innermost last; its length is never set, which costs more than the stores. */
let keyStack: string[] = [];

function endMessage(): void {
  message.epoch++;
  message.keys = 0;
  message.repeating = false;
  message.seen = undefined;
  if (keyStack.length > 1024) keyStack = [];
  if (keyNodes > MAX_KEY_NODES) {
    keyRoot = new KeyNode('');
    keyNodes = 0;
  }
}

function childOf(node: KeyNode, key: string): KeyNode {
  let next = node.last === undefined ? undefined : node.more?.get(key);
  if (next === undefined) {
    next = new KeyNode(key);
    keyNodes++;
    if (node.last !== undefined) (node.more ??= new Map([[node.last.key, node.last]])).set(key, next);
  }
  node.last = next;
  return next;
}

/**
 * A plain object, just recorded in `w.refs`. One with the keys of an
 * earlier object of the message is written as a reference to that object
 * and its own values; otherwise with its keys, as before (so an older peer
 * still reads a hello), and it can serve later objects once it ends.
 */
function writePlain(o: Record<string, unknown>): void {
  // Looking the keys up first costs a second for-in, worth it while objects keep repeating keys.
  if (message.repeating && writeShaped(o)) return;
  const ref = w.refCount - 1;
  w.ensure(4);
  w.buf[w.pos] = Tag.Object;
  // The count is patched in once known, in a fixed three-byte varint.
  const countAt = w.pos + 1;
  w.pos += 4;
  let count = 0;
  let node = keyRoot;
  // for-in is V8's fast path for reading every property; it lists only own keys while Object.prototype has no enumerable member.
  for (const k in o) {
    const last = node.last;
    node = last !== undefined && last.key === k ? last : childOf(node, k);
    w.string(k);
    write(o[k]);
    count++;
  }
  if (count >= 1 << 21) throw UNSUPPORTED;
  w.buf[countAt] = (count & 0x7f) | 0x80;
  w.buf[countAt + 1] = ((count >>> 7) & 0x7f) | 0x80;
  w.buf[countAt + 2] = count >>> 14;
  if (node.epoch === message.epoch) message.repeating = true;
  // Only once it ends, when the decoder has all its keys: an object nested in it cannot refer to it for keys.
  node.ref = ref;
  node.epoch = message.epoch;
}

/** Writes `o` as an earlier object of the message with its keys and its own values, if there is one; otherwise writes nothing and returns false. */
function writeShaped(o: Record<string, unknown>): boolean {
  const base = message.keys;
  let top = base;
  let node = keyRoot;
  for (const k in o) {
    keyStack[top++] = k;
    const last = node.last;
    node = last !== undefined && last.key === k ? last : childOf(node, k);
  }
  if (node.epoch !== message.epoch) {
    message.repeating = false;
    return false;
  }
  w.byte(Tag.Shape);
  w.varint(node.ref);
  message.keys = top;
  let i = base;
  for (const k in o) {
    // A getter may have deleted a key since the first pass.
    if (keyStack[i++] !== k) throw UNSUPPORTED;
    write(o[k]);
  }
  if (i !== top) throw UNSUPPORTED;
  message.keys = base;
  return true;
}

/** Linear search wins over hashing for a handful of objects, and needs no identity hash on fresh ones. */
const FEW_REFS = 16;

function indexOf(o: object): number | undefined {
  const refs = w.refs;
  for (let i = 0; i < w.refCount; i++) if (refs[i] === o) return i;
  return undefined;
}

/**
 * The index of `o` if the message met it before; otherwise `o` is recorded
 * and the result is undefined. Past a few objects a Set tells whether it
 * is new with one hash lookup; indices by a Map (two lookups) are built
 * only once an object repeats.
 */
function refOf(o: object): number | undefined {
  if (w.refIndex !== undefined) {
    const i = w.refIndex.get(o);
    if (i === undefined) w.refIndex.set(o, record(o));
    return i;
  }
  const set = message.seen;
  if (set === undefined) {
    const i = indexOf(o);
    if (i === undefined && record(o) >= FEW_REFS) message.seen = new Set(recorded());
    return i;
  }
  const size = set.size;
  if (set.add(o).size !== size) {
    record(o);
    return undefined;
  }
  w.refIndex = new Map(recorded().map((r, j) => [r, j]));
  return w.refIndex.get(o);
}

/** Records `o` as the message's next object; returns its index. */
function record(o: object): number {
  const i = w.refCount++;
  w.refs[i] = o;
  return i;
}

const recorded = (): object[] => w.refs.slice(0, w.refCount) as object[];

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
    if (w.inline) throw UNSUPPORTED;
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
