/**
 * The byte codec for stream transports.
 *
 * It is V8's own ValueSerializer, the serializer `postMessage` uses, so a
 * value crosses a socket exactly as it crosses a MessagePort (the parity
 * rule), errors and circular references included. ArrayBuffers marked with
 * `transfer()` are not copied into the body: they travel out of band, the
 * body refers to them by index, and views over them arrive as views over
 * the received buffers.
 */
import { Deserializer, Serializer } from 'node:v8';
import { ProtocolError } from '../errors.ts';
import { describe } from './marks.ts';

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
 * Encodes one message. Throws a DataCloneError (before detaching anything)
 * for what structured clone rejects: functions, symbols, MessagePorts in
 * the transfer list (a stream cannot carry a port); and a ProtocolError,
 * also before detaching, when body and buffers together exceed `maxSize`.
 */
export function encodeMessage(msg: unknown, transfer: readonly unknown[] | undefined, maxSize = Infinity): EncodedMessage {
  const ser = new Serializer();
  ser.writeHeader();
  let list: ArrayBuffer[] | undefined;
  if (transfer !== undefined && transfer.length > 0) {
    list = [];
    for (const item of transfer) {
      if (!(item instanceof ArrayBuffer)) {
        throw dataCloneError(`only ArrayBuffers can be transferred over a stream, got ${describe(item)}`);
      }
      if (item.byteLength === 0 && isDetached(item)) throw dataCloneError('an ArrayBuffer in the transfer list is already detached');
      if (list.includes(item)) continue;
      ser.transferArrayBuffer(list.length, item);
      list.push(item);
    }
  }
  try {
    ser.writeValue(msg);
  } catch (err) {
    throw dataCloneError(err instanceof Error ? err.message : String(err));
  }
  const body = ser.releaseBuffer();
  let size = body.byteLength;
  for (const ab of list ?? []) size += ab.byteLength;
  if (size > maxSize) throw new ProtocolError(`a message of ${size} bytes exceeds maxMessageSize (${maxSize} bytes)`);
  // Moving the backing store detaches the sender's buffer, as postMessage does, without a copy.
  const buffers = list === undefined ? [] : list.map((ab) => structuredClone(ab, { transfer: [ab] }));
  return { body, buffers };
}

function isDetached(ab: ArrayBuffer): boolean {
  try {
    structuredClone(ab);
    return false;
  } catch {
    return true;
  }
}

/** Decodes one message; anything malformed becomes a ProtocolError. */
export function decodeMessage(body: Uint8Array, buffers: readonly ArrayBuffer[]): unknown {
  try {
    const des = new Deserializer(body);
    des.readHeader();
    for (let i = 0; i < buffers.length; i++) des.transferArrayBuffer(i, buffers[i]!);
    return des.readValue();
  } catch (err) {
    throw new ProtocolError(`a message body could not be decoded: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
