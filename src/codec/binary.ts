/**
 * The byte codec for stream transports.
 *
 * A value crosses a socket exactly as it crosses a MessagePort (the parity
 * rule). Most messages go through the compact codec, which is several times
 * faster for them; anything it does not reproduce exactly goes through V8's
 * own ValueSerializer, the serializer `postMessage` uses. ArrayBuffers
 * marked with `transfer()` are not copied into the body: they travel out of
 * band, the body refers to them by index, and views over them arrive as
 * views over the received buffers.
 */
import { Deserializer, Serializer } from 'node:v8';
import { ProtocolError } from '../errors.ts';
import { COMPACT_MARK } from './compact.ts';
import { decodeCompact } from './compact-decode.ts';
import { encodeCompact } from './compact-encode.ts';
import { DEFAULT_MAX_ITEMS, DecodeRefused } from './limits.ts';
import { describe } from './marks.ts';
import { scanV8 } from './v8-scan.ts';

export interface EncodedMessage {
  body: Uint8Array;
  /** Out-of-band buffers, in the order the body refers to them; the sender's copies are detached. */
  buffers: ArrayBuffer[];
}

/** The error structured clone throws, so callers see one kind of clone failure on every transport. */
function dataCloneError(message: string): Error {
  const err = new Error(message);
  err.name = 'DataCloneError';
  return err;
}

/**
 * ValueSerializer with structured clone's error for what cannot be cloned.
 * Anything else thrown while serializing (a getter's own error) passes
 * through unchanged, as it does from structuredClone and postMessage.
 */
class WireSerializer extends Serializer {
  _getDataCloneError = dataCloneError;
}

/**
 * Encodes one message. Throws a DataCloneError (before detaching anything)
 * for what structured clone rejects: functions, symbols, MessagePorts in
 * the transfer list (a stream cannot carry a port); and a ProtocolError,
 * also before detaching, when body and buffers together exceed `maxSize`.
 */
export function encodeMessage(msg: unknown, transfer: readonly unknown[] | undefined, maxSize = Infinity, maxItems = DEFAULT_MAX_ITEMS): EncodedMessage {
  const list = transferList(transfer);
  const compact = encodeCompact(msg, list && new Set(list));
  if (compact !== undefined) {
    const { body, oob } = compact;
    checkSize(body, oob?.buffers, maxSize);
    if (oob === undefined && list === undefined) return { body, buffers: [] };
    // Big buffers that were not transferred are copied once, here, as structured clone would copy them.
    const sent = oob === undefined ? [] : oob.buffers.map((ab) => (oob.moved.has(ab) ? detach(ab) : ab.slice(0)));
    // A listed buffer the value does not hold is still detached, as with postMessage.
    for (const ab of list ?? []) if (oob?.moved.has(ab) !== true) detach(ab);
    return { body, buffers: sent };
  }
  const ser = new WireSerializer();
  ser.writeHeader();
  list?.forEach((ab, i) => ser.transferArrayBuffer(i, ab));
  ser.writeValue(msg);
  const body = ser.releaseBuffer();
  checkSize(body, list, maxSize);
  // The receiver would refuse it; better said here, as a failure of this one message.
  try {
    scanV8(body, 0, body.byteLength, maxItems);
  } catch (err) {
    throw dataCloneError(`${(err as Error).message}; it cannot be sent`);
  }
  return { body, buffers: list === undefined ? [] : list.map(detach) };
}

/** Body and out-of-band buffers together, as the receiver counts them; checked before anything is detached. */
function checkSize(body: Uint8Array, buffers: readonly ArrayBuffer[] | undefined, maxSize: number): void {
  let size = body.byteLength;
  for (const ab of buffers ?? []) size += ab.byteLength;
  if (size > maxSize) throw new ProtocolError(`a message of ${size} bytes exceeds maxMessageSize (${maxSize} bytes)`);
}

/** Moving the backing store detaches the sender's buffer, as postMessage does, without a copy. */
const detach = (ab: ArrayBuffer): ArrayBuffer => structuredClone(ab, { transfer: [ab] });

/** The transfer list, checked and without repeats; undefined when empty. */
function transferList(transfer: readonly unknown[] | undefined): ArrayBuffer[] | undefined {
  if (transfer === undefined || transfer.length === 0) return undefined;
  const list: ArrayBuffer[] = [];
  for (const item of transfer) {
    if (!(item instanceof ArrayBuffer)) {
      throw dataCloneError(`only ArrayBuffers can be transferred over a stream, got ${describe(item)}`);
    }
    if (item.byteLength === 0 && isDetached(item)) throw dataCloneError('an ArrayBuffer in the transfer list is already detached');
    if (!list.includes(item)) list.push(item);
  }
  return list;
}

function isDetached(ab: ArrayBuffer): boolean {
  try {
    structuredClone(ab);
    return false;
  } catch {
    return true;
  }
}

/**
 * Decodes one message, the body being `body` from `start` to `end`;
 * anything malformed becomes a ProtocolError.
 */
export function decodeMessage(body: Uint8Array, buffers: readonly ArrayBuffer[], start = 0, end = body.byteLength, maxItems = DEFAULT_MAX_ITEMS): unknown {
  try {
    if (end > start && body[start] === COMPACT_MARK) return decodeCompact(body, buffers, start, end, maxItems);
    scanV8(body, start, end, maxItems);
    const des = new Deserializer(start === 0 && end === body.byteLength ? body : body.subarray(start, end));
    des.readHeader();
    for (let i = 0; i < buffers.length; i++) des.transferArrayBuffer(i, buffers[i]!);
    return des.readValue();
  } catch (err) {
    if (err instanceof DecodeRefused) throw err;
    throw new ProtocolError(`a message body could not be decoded: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
