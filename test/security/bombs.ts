/**
 * Bodies a hostile client sends to make the server build far more than it
 * received: for the tests, the fuzzer and the bomb script.
 */
import { Serializer } from 'node:v8';
import { Tag } from '../../src/codec/compact.ts';

export type BombKind = 'map' | 'set' | 'object' | 'array' | 'int';

/**
 * A compact call body `[CALL, id, ['f'], [groups of 1,000 empty containers]]`
 * of about `bytes` bytes: the cheapest bytes for the most heap.
 */
export function compactBomb(kind: BombKind, bytes: number, id = 1): Buffer {
  const b = Buffer.alloc(bytes + 64);
  let p = 0;
  const varint = (x: number): void => {
    while (x > 0x7f) {
      b[p++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[p++] = x;
  };
  b[p++] = 1;
  b[p++] = Tag.Array;
  b[p++] = 4;
  b.writeInt32LE(-1, (b[p++] = Tag.Int32, p));
  p += 4;
  if (id < 0x80) b[p++] = 0x80 + id;
  else (b[p++] = Tag.Int32, b.writeInt32LE(id, p), (p += 4));
  b.set([Tag.Array, 1, Tag.Name, 1, 'f'.charCodeAt(0), Tag.Array, 1, Tag.Array], p);
  p += 8;
  const per = kind === 'int' ? 1 : 2;
  const inner = 1000;
  const groups = Math.max(1, Math.floor((bytes - p - 8) / (inner * per + 3)));
  varint(groups);
  const tag = { map: Tag.Map, set: Tag.Set, object: Tag.Object, array: Tag.Array, int: 0 }[kind];
  for (let g = 0; g < groups; g++) {
    b[p++] = Tag.Array;
    varint(inner);
    for (let i = 0; i < inner; i++) {
      if (kind === 'int') b[p++] = 0x80;
      else {
        b[p++] = tag;
        b[p++] = 0;
      }
    }
  }
  return b.subarray(0, p);
}

/**
 * The same through V8's serializer: a call message whose argument is `count`
 * empty Maps, as an object or as the tuple streams send, or the Maps bare.
 */
export function v8Bomb(count: number, id = 1, shape: 'object' | 'tuple' | 'bare' = 'object'): Buffer {
  const maps = Array.from({ length: count }, () => new Map());
  const ser = new Serializer();
  ser.writeHeader();
  ser.writeValue(shape === 'bare' ? maps : shape === 'tuple' ? [-1, id, ['f'], [maps]] : { t: 0, i: id, p: ['f'], a: [maps], x: undefined });
  return ser.releaseBuffer();
}
