/**
 * The value matrix: what every transport must carry exactly as
 * structuredClone (and so postMessage) does. Each entry makes a fresh value,
 * because transfer-free cloning must not depend on the value being reused.
 */

type Make = () => unknown;

const typedArrays = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
] as const;

function circular(): unknown {
  const o: Record<string, unknown> = { name: 'root' };
  o.self = o;
  o.list = [o, { back: o }];
  return o;
}

function sharedReferences(): unknown {
  const leaf = { leaf: true };
  const buf = new ArrayBuffer(16);
  return {
    a: leaf,
    b: leaf,
    list: [leaf, leaf],
    map: new Map([[leaf, leaf]]),
    // Two views of one buffer must still share it after the trip.
    bytes: new Uint8Array(buf, 0, 8),
    words: new Uint32Array(buf, 8, 2),
  };
}

function deep(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? { v } : [v];
  return v;
}

/** Objects that repeat one another's keys, in the same order, another order, or as a prefix. */
function repeatedKeys(): unknown {
  const records = Array.from({ length: 40 }, (_, i) => ({ id: i, name: `n${i}`, tags: i % 3 ? [i] : { first: i } }));
  return {
    records,
    orders: [{ a: 1, b: 2 }, { b: 3, a: 4 }, { a: 5, b: 6 }],
    prefixes: [{ a: 1, b: 2, c: 3 }, { a: 4 }, { a: 5, b: 6 }, { a: 7 }, { a: 8, b: 9, c: 10 }, {}, {}],
    tree: { v: 1, kids: [{ v: 2, kids: [] }, { kids: [], v: 3 }, { v: 4, kids: [{ v: 5, kids: [] }] }] },
  };
}

/** Many objects with the same keys that share and point back at one another. */
function repeatedKeysWithReferences(): unknown {
  const root: Record<string, unknown> = { id: 0, next: null };
  const nodes = [root];
  for (let i = 1; i < 30; i++) nodes.push({ id: i, next: nodes[i - 1] });
  root.next = nodes[29];
  return { nodes, again: nodes[7], list: [nodes[3], { id: -1, next: nodes[3] }] };
}

export const valueMatrix: Array<[string, Make]> = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['booleans', () => [true, false]],
  ['0', () => 0],
  ['-0', () => -0],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['numbers at the edges', () => [Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2, -(2 ** 31), 2 ** 32, 0.1]],
  ['BigInt', () => 2n ** 200n],
  ['BigInts of every size and sign', () => [0n, -1n, 2n ** 63n, -(2n ** 64n) - 1n]],
  ['empty string', () => ''],
  ['unicode string', () => 'héllo wörld · 日本語 · 😀👍🏽'],
  ['lone surrogates', () => ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF', '😀'.slice(0, 1), '😀'.slice(1)]],
  ['string with NUL', () => 'a\0b\0'],
  ['long string', () => 'xyz'.repeat(100_000)],
  ['Date', () => new Date(1_700_000_000_123)],
  ['invalid Date', () => new Date(NaN)],
  [
    'RegExp with flags and lastIndex',
    () => {
      const r = /a(?<word>b+)c/dgimsy;
      r.lastIndex = 3;
      return r;
    },
  ],
  ['RegExp with unicode', () => /\p{L}+/u],
  [
    'Map',
    () =>
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'two'],
        [{ key: 'object' }, [1, 2]],
        [NaN, -0],
        [null, new Map([[1, new Set([1])]])],
      ]),
  ],
  ['Set', () => new Set<unknown>([1, 'one', { one: 1 }, NaN, undefined, [1]])],
  ...typedArrays.map(
    (T): [string, Make] => [T.name, () => T.from([0, 1, -1, 127, 128, 255, 256, 65535, 1.5, -0, NaN, Infinity])],
  ),
  ['BigInt64Array', () => BigInt64Array.from([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)])],
  ['BigUint64Array', () => BigUint64Array.from([0n, 1n, 2n ** 64n - 1n])],
  ['typed array at an offset into a larger buffer', () => new Int16Array(new Uint8Array(64).map((_, i) => i).buffer, 6, 10)],
  ['Buffer (arrives as a Uint8Array)', () => Buffer.from('buffer bytes')],
  ['empty typed array', () => new Float64Array(0)],
  ['DataView', () => new DataView(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer, 2, 4)],
  ['ArrayBuffer', () => new Uint8Array([0, 1, 2, 254, 255]).buffer],
  ['empty ArrayBuffer', () => new ArrayBuffer(0)],
  ['boxed primitives', () => [new Number(-0), new String('boxed'), new Boolean(false), Object(10n)]],
  [
    'nested objects and arrays',
    () => ({ a: [1, { b: [2, { c: new Map([['d', new Set([new Date(0)])]]) }] }], e: { f: { g: { h: null } } } }),
  ],
  ['deeply nested (200 levels)', () => deep(200)],
  ['circular object', circular],
  [
    'circular Map and array',
    () => {
      const m = new Map<string, unknown>();
      const a: unknown[] = [m];
      m.set('array', a).set('self', m);
      a.push(a);
      return a;
    },
  ],
  ['shared references within one message', sharedReferences],
  // A hole sends the whole message through ValueSerializer, which refers back to the shared buffer.
  ['shared references beside a sparse array', () => ({ shared: sharedReferences(), sparse: [1, , 3] })], // eslint-disable-line no-sparse-arrays
  ['objects repeating keys in order, out of order and as prefixes', repeatedKeys],
  ['objects repeating keys with shared and circular references', repeatedKeysWithReferences],
  ['sparse array', () => [1, , 3, , , 6]], // eslint-disable-line no-sparse-arrays
  ['array of holes only', () => new Array(7)],
  ['array with extra properties', () => Object.assign([1, 2], { extra: 'x' })],
  ['null-prototype object', () => Object.assign(Object.create(null), { a: 1 })],
  ['object with an own __proto__ key', () => JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}')],
  ['object with numeric and odd keys', () => ({ 1: 'one', 0: 'zero', '': 'empty', 'a b': 'space', '-1': 'minus' })],
  [
    'class instance (arrives as a plain object)',
    () =>
      new (class Point {
        x = 1;
        y = 2;
      })(),
  ],
  ['Error', () => new Error('plain')],
  ['TypeError with a cause', () => new TypeError('typed', { cause: new RangeError('range') })],
  ['errors nested inside a value', () => ({ list: [new Error('one'), new SyntaxError('two')], map: new Map([['e', new EvalError('three')]]) })],
];
