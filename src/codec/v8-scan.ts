/**
 * Counts what a ValueSerializer body would build, before V8 builds it.
 * The format is a sequence of tagged values (V8's value-serializer.cc);
 * this reads the tags and skips their payloads without making anything,
 * so a body over the item budget or too deep is refused at the cost of
 * reading it, never of decoding it.
 */
import { ProtocolError } from '../errors.ts';
import { DecodeRefused, MAX_DEPTH, tooDeep, tooMany } from './limits.ts';

const c = (s: string): number => s.charCodeAt(0);
const PADDING = 0;
const VERSION = 0xff;
const VIEW = c('V');
/** As in the compact decoder: a Map or Set, and each entry, counts as this many items. */
const MAP_COST = 4;

class Scan {
  pos: number;
  left: number;
  version = 0;
  /**
   * The outer value's first members as far as read, when it is an array or
   * object: enough to tell which call a refused body belonged to (its tag
   * and id come first), as the compact decoder's partial value does.
   */
  head: unknown[] | Record<string, unknown> | undefined;
  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
    readonly maxItems: number,
  ) {
    this.pos = start;
    this.left = maxItems;
  }

  byte(): number {
    if (this.pos >= this.end) throw new ProtocolError('a message body ended early');
    return this.b[this.pos++]!;
  }

  /** The next tag, past padding, without consuming it. */
  peek(): number {
    while (this.pos < this.end && this.b[this.pos] === PADDING) this.pos++;
    if (this.pos >= this.end) throw new ProtocolError('a message body ended early');
    return this.b[this.pos]!;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new ProtocolError('a message body holds a malformed varint');
  }

  skip(n: number): void {
    if (n > this.end - this.pos) throw new ProtocolError('a message body ended early');
    this.pos += n;
  }

  spend(n: number): void {
    if ((this.left -= n) < 0) throw new DecodeRefused(tooMany(this.maxItems));
  }
}

/** Throws DecodeRefused when the ValueSerializer body from `start` to `end` would build more than `maxItems` items or nest too deep. */
export function scanV8(body: Uint8Array, start: number, end: number, maxItems: number): void {
  const s = new Scan(body, start, end, maxItems);
  if (s.peek() === VERSION) {
    s.pos++;
    s.version = s.varint();
  }
  try {
    value(s, 0, 1);
  } catch (err) {
    if (err instanceof DecodeRefused) err.partial = s.head;
    throw err;
  }
}

/** Members of the outer value kept in its head: a tuple's tag and id, an object's t and i. */
const HEAD_MEMBERS = 2;
const HEAD_KEYS = new Set(['t', 'i']);

/** The small integer or one-byte string at the scan's position, without moving it; undefined for anything else. */
function smallValue(s: Scan): number | string | undefined {
  const at = s.pos;
  const tag = s.peek();
  let v: number | string | undefined;
  if (tag === c('I') || tag === c('U')) {
    s.pos++;
    const n = s.varint();
    v = tag === c('U') ? n : n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  } else if (tag === c('"')) {
    s.pos++;
    const n = s.varint();
    if (n <= 8 && s.pos + n <= s.end) v = String.fromCharCode(...s.b.subarray(s.pos, s.pos + n));
  }
  s.pos = at;
  return v;
}

/** One value and all it holds; `cost` is what each value counts as (more inside a Map or Set). */
function value(s: Scan, depth: number, cost: number): void {
  const tag = s.peek();
  s.pos++;
  s.spend(cost);
  switch (String.fromCharCode(tag)) {
    case '-': case '_': case '0': case 'T': case 'F': case 'y': case 'x':
      return;
    case 'I': case 'U': case '?':
      s.varint();
      return;
    case '^':
      // A second view over one ArrayBuffer refers back to the buffer, then follows it as the first did.
      s.varint();
      return view(s);
    case 'N': case 'D': case 'n':
      s.skip(8);
      return;
    case 'Z': case 'z':
      // A bitfield whose bits from the second on are the digits' byte length.
      s.skip(Math.floor(s.varint() / 2));
      return;
    case '"': case 'S': case 'c':
      s.skip(s.varint());
      return;
    case 's':
      return value(s, depth, 1);
    case 'R':
      value(s, depth, 1);
      s.varint();
      return;
    case 'B':
      s.skip(s.varint());
      return view(s);
    case '~': {
      const length = s.varint();
      s.varint();
      s.skip(length);
      return view(s);
    }
    case 't':
      s.varint();
      return view(s);
    case '\\':
      // Node's host object: a typed array's kind, its byte length, its bytes.
      s.varint();
      s.skip(s.varint());
      return;
    case 'o':
      if (depth === 0) s.head = {};
      return members(s, depth, c('{'), 1, 1);
    case 'A':
    case 'a': {
      const length = s.varint();
      if (depth === 0 && tag === c('A')) s.head = new Array<unknown>(Math.min(length, 16));
      return members(s, depth, tag === c('A') ? c('$') : c('@'), 2, 1);
    }
    case ';':
      s.spend(MAP_COST - 1);
      return members(s, depth, c(':'), 1, MAP_COST);
    case "'":
      s.spend(MAP_COST - 1);
      return members(s, depth, c(','), 1, MAP_COST);
    case 'r':
      return error(s, depth);
    default:
      throw new ProtocolError(`a message body holds a value of an unknown kind (tag ${tag})`);
  }
}

/** A container's members up to its end tag, then the end tag's `counts` varints. */
function members(s: Scan, depth: number, endTag: number, counts: number, cost: number): void {
  if (depth + 1 > MAX_DEPTH) throw new DecodeRefused(tooDeep());
  if (depth === 0 && s.head !== undefined) return headMembers(s, endTag, counts);
  while (s.peek() !== endTag) value(s, depth + 1, cost);
  s.pos++;
  for (let i = 0; i < counts; i++) s.varint();
}

/** The outer value's members, its first few kept in `s.head` (an object's as key, value, key, ...). */
function headMembers(s: Scan, endTag: number, counts: number): void {
  const head = s.head!;
  let key: string | number | undefined;
  for (let k = 0; s.peek() !== endTag; k++) {
    if (Array.isArray(head)) {
      if (k < HEAD_MEMBERS && k < head.length) head[k] = smallValue(s);
    } else if (k % 2 === 0) key = smallValue(s);
    else if (typeof key === 'string' && HEAD_KEYS.has(key)) head[key] = smallValue(s);
    value(s, 1, 1);
  }
  s.pos++;
  for (let i = 0; i < counts; i++) s.varint();
}

/** A view may follow the buffer it is over. */
function view(s: Scan): void {
  if (s.pos >= s.end || s.peek() !== VIEW) return;
  s.pos++;
  s.byte();
  s.varint();
  s.varint();
  if (s.version >= 14) s.varint();
}

/** An Error: sub-tags up to '.', with a message, a stack and a cause as values of their own. */
function error(s: Scan, depth: number): void {
  if (depth + 1 > MAX_DEPTH) throw new DecodeRefused(tooDeep());
  for (;;) {
    const sub = s.byte();
    if (sub === c('.')) return;
    if (sub === c('m') || sub === c('s') || sub === c('c')) value(s, depth + 1, 1);
    else if (!'ERFSTU'.includes(String.fromCharCode(sub))) throw new ProtocolError(`a message body holds a malformed error (sub-tag ${sub})`);
  }
}
