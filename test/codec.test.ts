// The byte codec alone: every value of the matrix comes back as structuredClone
// gives it, through whichever path it takes; the compact path is the one taken
// for ordinary messages; and any bytes at all decode to a value or a ProtocolError.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage, encodeMessage } from '../src/codec/binary.ts';
import { COMPACT_MARK, Tag } from '../src/codec/compact.ts';
import { ProtocolError } from '../src/errors.ts';
import { difference } from './conformance/compare.ts';
import { valueMatrix } from './conformance/values.ts';

const roundTrip = (v: unknown, transfer?: unknown[]): { value: unknown; compact: boolean } => {
  const { body, buffers } = encodeMessage(v, transfer);
  return { value: decodeMessage(body, buffers), compact: body[0] === COMPACT_MARK };
};

for (const [name, make] of valueMatrix) {
  test(`matrix: ${name}`, () => {
    const v = make();
    const d = difference(roundTrip(v).value, structuredClone(v));
    assert.is(d, undefined, d);
  });
}

test('ordinary messages take the compact path', () => {
  const ordinary = [
    { t: 0, i: 1, a: [1, 2] },
    { t: 1, i: 7, v: 'héllo · 日本語', m: new Map([['k', new Set([new Date(0)])]]) },
    [-0, NaN, 2 ** 40, -(2 ** 31), 10n ** 30n, -5n, null, undefined, true, /x+/gi],
    Object.assign(Object.create(null), { a: 1 }),
    { bytes: Buffer.from('abc'), words: new Uint32Array(4), view: new DataView(new ArrayBuffer(8), 2, 4) },
  ];
  for (const v of ordinary) {
    const r = roundTrip(v);
    assert.ok(r.compact, `expected the compact path for ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x))}`);
    assert.is(difference(r.value, structuredClone(v)), undefined);
  }
});

test('what compact cannot reproduce exactly goes through ValueSerializer', () => {
  for (const v of [[1, , 3], Object.assign([1], { x: 1 }), new Error('e'), new Number(1), '\uD800', new (class A {})()]) {
    assert.not.ok(roundTrip(v).compact);
  }
});

test('transferred buffers move on both paths, and listed buffers the value lacks are detached too', () => {
  for (const extra of [undefined, new Error('forces ValueSerializer')]) {
    const a = new Uint8Array([1, 2, 3]).buffer;
    const unused = new ArrayBuffer(4);
    const { body, buffers } = encodeMessage({ a, extra }, [a, unused]);
    assert.is(a.byteLength, 0);
    assert.is(unused.byteLength, 0);
    const got = decodeMessage(body, buffers) as { a: ArrayBuffer };
    assert.equal([...new Uint8Array(got.a)], [1, 2, 3]);
  }
});

test('a big buffer that is not transferred travels out of band as a copy, the sender keeps it', () => {
  const big = new Uint8Array(1 << 20).fill(7);
  const { body, buffers } = encodeMessage({ big, again: big }, undefined);
  assert.ok(body.byteLength < 100, `body is ${body.byteLength} bytes`);
  assert.is(buffers.length, 1);
  assert.is(big.byteLength, 1 << 20);
  const got = decodeMessage(body, buffers) as { big: Uint8Array; again: Uint8Array };
  assert.is(got.big, got.again);
  assert.is(got.big[12345], 7);
});

test("a getter's own RangeError is thrown once, the getter run once, not taken for a stack overflow", () => {
  let runs = 0;
  const v = { get a(): never { runs++; throw new RangeError('out of range, says the getter'); } };
  assert.throws(() => encodeMessage(v, undefined), (e: Error) => e instanceof RangeError && e.message === 'out of range, says the getter');
  assert.is(runs, 1);
});

test('a value nested deeper than 1,000 levels is refused at encode, as one the receiver could not decode; 1,000 levels cross', () => {
  const nested = (levels: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };
  for (const levels of [1001, 3000, 50_000]) {
    assert.throws(() => encodeMessage(nested(levels), undefined), (e: Error) => e.name === 'DataCloneError' && e.message.includes('deeper than 1000 levels'));
  }
  const { body, buffers } = encodeMessage(nested(1000), undefined);
  let back = decodeMessage(body, buffers);
  let depth = 0;
  while (Array.isArray(back)) (back = back[0]), depth++;
  assert.is(depth, 1000);
});

test("a getter's own error passes through unchanged on both paths, as from structuredClone", () => {
  const throwing = { get a(): never { throw new TypeError('from the getter'); } };
  for (const v of [throwing, [new Number(1), throwing]]) {
    assert.throws(() => encodeMessage(v, undefined), (e: Error) => e instanceof TypeError && e.message === 'from the getter');
  }
});

test('a function still fails as structured clone fails', () => {
  assert.throws(() => encodeMessage({ f: () => 1 }, undefined), (e: Error) => e.name === 'DataCloneError');
});

const sameAsClone = (v: unknown): void => {
  const r = roundTrip(v);
  assert.ok(r.compact);
  const d = difference(r.value, structuredClone(v));
  assert.is(d, undefined, d);
};

test('objects that repeat keys send them once, whatever the order, prefixes and odd keys', () => {
  const records = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}` }));
  const body = encodeMessage(records, undefined).body;
  assert.ok(Buffer.from(body).toString('latin1').split('name').length <= 3, 'the key is written once or twice, not per object');
  sameAsClone(records);
  const odd = ['', '0', '7', 'constructor', 'a"b', 'c\\d', 'line\nbreak', '\u2028', 'é', '日本', '😀', '${x}', '`'];
  sameAsClone(Array.from({ length: 4 }, (_, i) => Object.fromEntries(odd.map((k, j) => [k, i * j]))));
  sameAsClone([JSON.parse('{"__proto__": {"x": 1}, "a": 1}'), JSON.parse('{"__proto__": {"x": 2}, "a": 2}'), { a: 3 }]);
  sameAsClone(Array.from({ length: 3 }, (_, i) => Object.assign(Object.create(null), { a: i, b: [i] })));
  // More keys than a builder is made for.
  sameAsClone(Array.from({ length: 3 }, (_, i) => Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`k${j}`, i + j]))));
});

test('many key lists and shared objects in one message, and across messages', () => {
  for (let round = 0; round < 3; round++) {
    const objects = Array.from({ length: 2000 }, (_, i) => ({ [`k${i % 700}`]: i, [`j${i % 3}`]: round, ...(i % 5 ? {} : { z: i }) }));
    sameAsClone({ objects, copies: objects.slice(0, 50).map((o) => ({ ...o })), same: objects.slice(0, 50).reverse() });
  }
});

test('an object a getter changes while it is written still arrives as structuredClone gives it', () => {
  const make = (): object => {
    const o: Record<string, unknown> = {
      get a(): number {
        delete o.b;
        return 1;
      },
      b: 2,
      c: 3,
    };
    return o;
  };
  const d = difference(roundTrip([{ a: 0, b: 0, c: 0 }, make()]).value, structuredClone([{ a: 0, b: 0, c: 0 }, make()]));
  assert.is(d, undefined, d);
});

test('objects that repeat keys decode where code generation from strings is disallowed', async () => {
  const script = fileURLToPath(new URL('./fixtures/codec-roundtrip.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', script], { timeout: 60_000 }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );
  assert.is(stdout.trim(), 'same');
});

test("the first object of its keys is written as protocol 2 wrote it, so an older peer reads the version in the hello", () => {
  const body = encodeMessage({ farcall: 3, features: [] }, undefined).body;
  const key = (k: string): number[] => [k.length, ...Buffer.from(k)];
  assert.equal([...body], [COMPACT_MARK, Tag.Object, 0x82, 0x80, 0, ...key('farcall'), 0x83, ...key('features'), Tag.Array, 0]);
});

test('malformed compact bodies are ProtocolErrors', () => {
  const bad = [
    [COMPACT_MARK],
    [COMPACT_MARK, 99],
    [COMPACT_MARK, 9, 0xff, 0xff, 0xff, 0xff, 0x0f], // an array announcing 4 G items
    [COMPACT_MARK, 17, 0], // a reference to nothing
    [COMPACT_MARK, 15, 0], // an out-of-band buffer that was not sent
    [COMPACT_MARK, 0x80, 0x80], // bytes after the value
    [COMPACT_MARK, 11, 1, 0x61, 1, 0x21], // a RegExp with a bad flag
    [COMPACT_MARK, Tag.Shape, 0], // the keys of an object never sent
    [COMPACT_MARK, Tag.Array, 2, Tag.Shape, 1, Tag.Object, 0], // the keys of an object not sent yet
    [COMPACT_MARK, Tag.Array, 1, Tag.Shape, 0], // the keys of an array
    [COMPACT_MARK, Tag.Array, 2, Tag.Date, Tag.Float64, 0, 0, 0, 0, 0, 0, 0, 0, Tag.Shape, 1], // the keys of a Date
    [COMPACT_MARK, Tag.Array, 2, Tag.Object, 1, 1, 0x61, Tag.Null, Tag.Shape, 1], // values that end early
  ];
  for (const bytes of bad) {
    assert.throws(() => decodeMessage(new Uint8Array(bytes), []), (e: Error) => e instanceof ProtocolError, `bytes ${bytes}`);
  }
});

test('random bytes decode to a value or a ProtocolError, never anything else', () => {
  const records = [{ x: 1, y: 'a' }, { y: 'b', x: 2 }, { x: 3, y: 'c' }, { x: 4 }, { x: 5, y: 'e' }];
  const base = encodeMessage({ t: 0, i: 3, p: ['a', 'b'], a: [1, 'x', new Map([[1, new Uint16Array(3)]]), records] }, undefined).body;
  for (let i = 0; i < 5000; i++) {
    const bytes = i % 2 ? Uint8Array.from(base) : randomBytes(1 + (i % 40));
    bytes[0] = COMPACT_MARK;
    if (i % 2) bytes[1 + (i % (bytes.length - 1))] = randomBytes(1)[0]!;
    try {
      decodeMessage(bytes, []);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw new Error(`bytes ${[...bytes]} threw ${e}`);
    }
  }
});

test.run();
