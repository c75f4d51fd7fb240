/**
 * A frame trickled a byte at a time costs about what it holds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder } from '../../src/framing.ts';
import { header } from '../streams/helpers.ts';

const gc = globalThis.gc as () => void;
const used = (): number => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

test('a big frame arriving one byte per chunk holds about its bytes, not an object per chunk', () => {
  let frames = 0;
  const decoder = new FrameDecoder(() => frames++, 64 * 1024 * 1024);
  decoder.push(header(8 * 1024 * 1024));
  const received = 200_000;
  const before = used();
  // Each chunk a Buffer of its own, as a socket hands them over.
  for (let i = 0; i < received; i++) decoder.push(Buffer.from([i & 0xff]));
  const grown = used() - before;
  // A view per byte cost ~184 bytes each: 37 MB here.
  assert.ok(grown < 4 * received, `${received} bytes received cost ${grown} bytes`);
  assert.is(frames, 0);
  assert.not.ok(decoder.idle, "the frame is still partly received");
});

test('a big frame takes memory of its own size only once half of it has arrived, and arrives byte for byte', () => {
  const size = 8 * 1024 * 1024;
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4096) body[i] = (i >>> 12) & 0xff;
  let got: Uint8Array | undefined;
  const decoder = new FrameDecoder((f) => (got = f.body), 64 * 1024 * 1024);
  decoder.push(header(size));
  const before = used();
  const chunk = 64 * 1024;
  let at = 0;
  for (; at < (size * 3) / 8; at += chunk) decoder.push(Buffer.from(body.subarray(at, at + chunk)));
  const early = used() - before;
  assert.ok(early < 1.25 * at, `${at} bytes received held ${early} bytes`);
  for (; at < size; at += chunk) decoder.push(Buffer.from(body.subarray(at, at + chunk)));
  assert.ok(got && Buffer.from(got).equals(body));
  assert.is(got!.buffer.byteLength, size, 'the body has memory of its own, of exactly its size');
});

test('a frame trickled in chunks of every size arrives whole and byte for byte', () => {
  const body = Buffer.alloc(300_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  const bytes = Buffer.concat([header(body.length), body]);
  let got: Uint8Array | undefined;
  const decoder = new FrameDecoder((f) => (got = f.body));
  const sizes = [1, 3, 4095, 4096, 70_000, 17, 65_536, 2];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    decoder.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  assert.ok(got);
  assert.ok(Buffer.from(got!).equals(body));
});

test.run();
