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
