/**
 * Frames and the byte codec on their own: whatever way the bytes are cut,
 * the same messages come out, and a lying header costs nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage, encodeMessage } from '../../src/codec/binary.ts';
import { ProtocolError } from '../../src/errors.ts';
import { FrameDecoder, MAX_FRAME_BUFFERS, encodeFrame, frameSize, type Frame } from '../../src/framing.ts';
import { header, isError } from './helpers.ts';

const MiB = 1024 * 1024;

/** Decodes every frame in `chunks`, fed in that order. */
function decodeAll(chunks: Uint8Array[], maxMessageSize?: number): Frame[] {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((f) => frames.push({ body: f.body.slice(), buffers: f.buffers }), maxMessageSize);
  for (const c of chunks) decoder.push(c);
  assert.ok(decoder.idle, 'the decoder should be between frames after whole frames');
  return frames;
}

/** The bytes of one frame, concatenated. */
function wire(body: Uint8Array, buffers: ArrayBuffer[] = []): Uint8Array {
  return Buffer.concat(encodeFrame(body, buffers));
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function sameFrame(got: Frame, body: Uint8Array, buffers: ArrayBuffer[]): void {
  assert.equal([...got.body], [...body], 'body');
  assert.is(got.buffers.length, buffers.length, 'number of out-of-band buffers');
  got.buffers.forEach((b, i) => assert.equal([...new Uint8Array(b)], [...new Uint8Array(buffers[i]!)], `buffer ${i}`));
}

test('a message round-trips through encode, frames and decode', () => {
  const value = { t: 0, i: 7, p: ['a', 'b'], a: [1n, new Date(5), new Map([[1, { x: [1, 2] }]]), 'ü€𝄞', -0, undefined] };
  const enc = encodeMessage(value, undefined);
  const [frame] = decodeAll([wire(enc.body, enc.buffers)]);
  assert.equal(decodeMessage(frame!.body, frame!.buffers), value);
  assert.is(frameSize(enc.body, enc.buffers), wire(enc.body, enc.buffers).byteLength);
});

test('a frame split at every byte boundary decodes the same', () => {
  const body = bytes(300, 1);
  const buffers = [bytes(5, 2).buffer as ArrayBuffer, new ArrayBuffer(0), bytes(70, 3).buffer as ArrayBuffer];
  const one = wire(body, buffers);
  for (let cut = 0; cut <= one.byteLength; cut++) {
    const frames = decodeAll([one.subarray(0, cut), one.subarray(cut)]);
    assert.is(frames.length, 1, `cut at ${cut}`);
    sameFrame(frames[0]!, body, buffers);
  }
  // And one byte at a time.
  const frames = decodeAll([...one].map((b) => Uint8Array.of(b)));
  assert.is(frames.length, 1);
  sameFrame(frames[0]!, body, buffers);
});

test('many frames in one chunk decode the same as one by one, empty ones included', () => {
  const parts: Array<[Uint8Array, ArrayBuffer[]]> = [];
  for (let i = 0; i < 50; i++) {
    const buffers = i % 3 === 0 ? [bytes(i, i).buffer as ArrayBuffer] : [];
    parts.push([bytes(i % 7 === 0 ? 0 : i * 3, i), buffers]);
  }
  const chunks = parts.map(([b, bufs]) => wire(b, bufs));
  const together = decodeAll([Buffer.concat(chunks)]);
  const apart = decodeAll(chunks);
  // Cut the whole stream at an awkward stride too.
  const all = Buffer.concat(chunks);
  const strided: Uint8Array[] = [];
  for (let at = 0; at < all.byteLength; at += 13) strided.push(all.subarray(at, at + 13));
  const odd = decodeAll(strided);
  for (const frames of [together, apart, odd]) {
    assert.is(frames.length, parts.length);
    frames.forEach((f, i) => sameFrame(f, parts[i]![0], parts[i]![1]));
  }
});

test('a 4 GiB length prefix is rejected from the header alone, before anything is allocated', () => {
  const decoder = new FrameDecoder(() => assert.unreachable('no frame should come out'));
  const before = process.memoryUsage().arrayBuffers;
  let thrown: unknown;
  try {
    decoder.push(header(0xffffffff));
  } catch (err) {
    thrown = err;
  }
  isError(thrown, ProtocolError, '4294967295 bytes', 'maxMessageSize');
  assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024, 'nothing large was allocated');
});

test('a length over maxMessageSize is rejected even when the header arrives a byte at a time', () => {
  const decoder = new FrameDecoder(() => assert.unreachable('no frame should come out'), 1000);
  const h = header(1001);
  for (let i = 0; i < h.byteLength - 1; i++) decoder.push(h.subarray(i, i + 1));
  assert.throws(() => decoder.push(h.subarray(h.byteLength - 1)), (err: unknown) => err instanceof ProtocolError && err.message.includes('1001 bytes'));
});

test('out-of-band buffer lengths count toward maxMessageSize, checked before allocating them', () => {
  const before = process.memoryUsage().arrayBuffers;
  const decoder = new FrameDecoder(() => assert.unreachable('no frame should come out'), 1000);
  assert.throws(
    () => decoder.push(header(10, 500, 491)),
    (err: unknown) => err instanceof ProtocolError && err.message.includes('1001 bytes'),
  );
  const big = new FrameDecoder(() => assert.unreachable('no frame should come out'));
  assert.throws(() => big.push(header(0, 0xffffffff, 0xffffffff)), (err: unknown) => err instanceof ProtocolError && err.message.includes('maxMessageSize'));
  assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024, 'nothing large was allocated');
  // Exactly at the limit is fine.
  const frames = decodeAll([wire(bytes(10, 0), [bytes(500, 1).buffer as ArrayBuffer, bytes(490, 2).buffer as ArrayBuffer])], 1000);
  assert.is(frames.length, 1);
});

test('too many out-of-band buffers are rejected from the fixed header', () => {
  const decoder = new FrameDecoder(() => assert.unreachable('no frame should come out'));
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0, 0);
  h.writeUInt32LE(MAX_FRAME_BUFFERS + 1, 4);
  assert.throws(
    () => decoder.push(h),
    (err: unknown) => err instanceof ProtocolError && err.message.includes(`${MAX_FRAME_BUFFERS + 1} out-of-band buffers`),
  );
  // The most allowed still decodes.
  const many = Array.from({ length: MAX_FRAME_BUFFERS }, () => new ArrayBuffer(1));
  assert.is(decodeAll([wire(new Uint8Array(0), many)])[0]!.buffers.length, MAX_FRAME_BUFFERS);
});

test('transferred ArrayBuffers arrive as their own ArrayBuffers with the right bytes', () => {
  const a = bytes(1000, 9).buffer as ArrayBuffer;
  const b = bytes(3, 4).buffer as ArrayBuffer;
  const expectA = [...new Uint8Array(a)];
  const expectB = [...new Uint8Array(b)];
  const value = { a, view: new Uint16Array(a, 10, 5), b, again: a };
  const enc = encodeMessage(value, [a, b]);
  assert.is(a.byteLength, 0, 'the sender’s buffer is detached, as postMessage does');
  assert.is(enc.buffers.length, 2);
  const chunks = encodeFrame(enc.body, enc.buffers);
  assert.ok(enc.body.byteLength < 200, 'the buffers are not copied into the body');
  // Sent in small pieces so no buffer arrives as one chunk.
  const all = Buffer.concat(chunks);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < all.byteLength; at += 97) pieces.push(all.subarray(at, at + 97));
  const [frame] = decodeAll(pieces);
  for (const buf of frame!.buffers) {
    assert.instance(buf, ArrayBuffer);
    assert.is(buf.byteLength, new Uint8Array(buf).byteLength);
  }
  const got = decodeMessage(frame!.body, frame!.buffers) as typeof value;
  assert.instance(got.a, ArrayBuffer);
  assert.is(got.a.byteLength, 1000, 'the buffer is its own, not a window on a bigger one');
  assert.equal([...new Uint8Array(got.a)], expectA);
  assert.equal([...new Uint8Array(got.b)], expectB);
  assert.ok(got.again === got.a, 'identity within the message is kept');
  assert.ok(got.view.buffer === got.a, 'a view arrives over the received buffer');
  assert.is(got.view.byteOffset, 10);
  assert.equal([...got.view], [...new Uint16Array(new Uint8Array(expectA).buffer, 10, 5)]);
  assert.ok(got.a !== got.b && frame!.buffers[0] !== frame!.buffers[1]);
});

test('a small frame inside a chunk is decoded without keeping the chunk', () => {
  const enc = encodeMessage({ s: 'hello' }, undefined);
  const chunk = Buffer.concat([wire(enc.body), wire(enc.body)]);
  const values: unknown[] = [];
  const decoder = new FrameDecoder((f) => values.push(decodeMessage(f.body, f.buffers)));
  decoder.push(chunk);
  chunk.fill(0);
  assert.equal(values, [{ s: 'hello' }, { s: 'hello' }]);
});

test('a body that is not a message is a ProtocolError, not a crash', () => {
  assert.throws(() => decodeMessage(Uint8Array.of(1, 2, 3, 4), []), (err: unknown) => err instanceof ProtocolError && err.message.includes('could not be decoded'));
  assert.throws(() => decodeMessage(new Uint8Array(0), []), (err: unknown) => err instanceof ProtocolError);
  // A body that refers to an out-of-band buffer that did not come.
  const buf = new ArrayBuffer(8);
  const enc = encodeMessage({ buf }, [buf]);
  assert.throws(() => decodeMessage(enc.body, []), (err: unknown) => err instanceof ProtocolError);
});

test('a frame that announces 60 MiB holds memory only for the bytes that arrived', () => {
  for (const announced of [header(60 * MiB), header(8, 60 * MiB)]) {
    const decoder = new FrameDecoder(() => assert.unreachable('no frame should come out'), 128 * MiB);
    const before = process.memoryUsage().arrayBuffers;
    decoder.push(Buffer.concat([announced, bytes(1000, 5)]));
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < MiB, `${grown} bytes were allocated for 1,000 received`);
    assert.not.ok(decoder.idle);
  }
});

test('big bodies and buffers that arrive in many chunks come out whole and in their own memory', () => {
  const body = bytes(3 * MiB + 5, 7);
  const buffers = [bytes(70_000, 8).buffer as ArrayBuffer, bytes(MiB, 9).buffer as ArrayBuffer];
  const one = wire(body, buffers);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < one.byteLength; at += 65_536 - 17) chunks.push(one.slice(at, at + 65_536 - 17));
  const [frame] = decodeAll(chunks, 8 * MiB);
  sameFrame(frame!, body, buffers);
  frame!.buffers.forEach((ab, i) => assert.is(ab.byteLength, buffers[i]!.byteLength, `buffer ${i} is an ArrayBuffer of its own length`));
});

test.run();
