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
 *
 * This file is the format both sides share; compact-encode.ts and
 * compact-decode.ts are the two sides.
 */

/** First byte of a compact body; a ValueSerializer body starts with 0xFF. */
export const COMPACT_MARK = 0x01;

export const enum Tag {
  Undefined,
  Null,
  False,
  True,
  Int32,
  Float64,
  String,
  BigInt,
  /** A count, then each key and its value. */
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
  /** A string likely to repeat from message to message (a call's path step), read through the decoder's cache. */
  Name,
  /** An object with the keys of an earlier one (protocol 3): that object's reference index, then the values in key order. */
  Shape,
  /** Tags from here on are the integers 0..127 themselves. */
  SmallInt = 0x80,
}

/** Typed array kinds by their index on the wire. */
export const VIEWS = [
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

export interface OutOfBand {
  /** Buffers the body refers to by index, in order. */
  buffers: ArrayBuffer[];
  /** Which of them are the caller's own, to be detached (moved) rather than copied. */
  moved: Set<ArrayBuffer>;
}
