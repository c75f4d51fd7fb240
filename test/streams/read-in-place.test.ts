/**
 * Client sockets read the pieces of frames in place (transport/socket-reads.ts):
 * whatever way the reads fall, every byte of every frame arrives, a buffer
 * the decoder still holds views of is never written over, and bytes read
 * before the transport attached are not lost.
 */
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameDecoder, encodeFrame, type Frame } from '../../src/framing.ts';
import { connect, listen, transfer } from '../../src/index.ts';
import { dial, resolveAddress } from '../../src/transport/socket.ts';
import { SocketReads, readsOf, type ReadSink } from '../../src/transport/socket-reads.ts';
import { hello, isError, tempDir, within } from './helpers.ts';
import { StreamTransport } from '../../src/transport/stream.ts';
import { ChannelClosedError } from '../../src/errors.ts';

const tmp = tempDir();
let n = 0;
const sock = (): string => tmp.path(`r${n++}.sock`);

/** `size` bytes that differ with their position and the seed, so a byte out of place shows. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** A sink over a decoder, as the stream transport makes one. */
function sinkOf(decoder: FrameDecoder): ReadSink & { inPlace: number; copied: number } {
  return {
    inPlace: 0,
    copied: 0,
    room: () => decoder.room(),
    get keepsChunks() {
      return decoder.keepsChunks;
    },
    filled(k) {
      this.inPlace += k;
      decoder.filledInPlace(k);
    },
    chunk(bytes) {
      this.copied += bytes.byteLength;
      decoder.push(bytes);
    },
  };
}

/**
 * Plays `wire` into `reads` as a socket would: each read fills at most
 * `most(i)` bytes of the memory it asks for. Returns the frames decoded.
 */
function play(wire: Buffer, most: (i: number) => number): { frames: Frame[]; sink: ReturnType<typeof sinkOf>; rooms: Set<ArrayBufferLike> } {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((f) => frames.push({ body: Buffer.from(f.body), buffers: f.buffers }));
  const reads = new SocketReads();
  const sink = sinkOf(decoder);
  reads.attach(sink);
  const rooms = new Set<ArrayBufferLike>();
  let at = 0;
  for (let i = 0; at < wire.byteLength; i++) {
    const memory = reads.onread.buffer();
    if (decoder.room()?.buffer === memory.buffer) rooms.add(memory.buffer);
    const k = Math.min(memory.byteLength, wire.byteLength - at, most(i));
    memory.set(wire.subarray(at, at + k));
    at += k;
    reads.onread.callback(k, memory);
  }
  assert.ok(decoder.idle, 'every frame should be whole');
  return { frames, sink, rooms };
}

/** Frames of a stream of `sizes` transferred buffers, each behind a small body. */
function bufferFrames(sizes: number[]): { wire: Buffer; buffers: Buffer[] } {
  const buffers = sizes.map((s, i) => pattern(s, i));
  const chunks = buffers.flatMap((b, i) => encodeFrame(pattern(20, 100 + i), [b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer]));
  return { wire: Buffer.concat(chunks), buffers };
}

test('the second half of a big piece lands in place, in the memory the user receives', () => {
  const sizes = Array.from({ length: 4 }, () => 4 << 20);
  const { wire, buffers } = bufferFrames(sizes);
  const { frames, sink, rooms } = play(wire, () => Infinity);
  assert.is(frames.length, sizes.length);
  frames.forEach((f, i) => {
    assert.ok(Buffer.from(f.buffers[0]!).equals(buffers[i]!), `buffer ${i}`);
    assert.ok(Buffer.from(f.body).equals(pattern(20, 100 + i)), `body ${i}`);
  });
  // The first half is kept as it came (no memory is taken on a length's word alone); the rest, but for what the read that crossed half way brought, in place.
  assert.ok(sink.inPlace > 0.4 * wire.byteLength, `${sink.inPlace} of ${wire.byteLength} bytes read in place`);
  assert.ok(
    frames.every((f) => rooms.has(f.buffers[0]!)),
    'the buffers received should be the memory the reads went to',
  );
});

test('64 KiB chunks are copied out of the reads, not read in place', () => {
  const { wire, buffers } = bufferFrames(Array.from({ length: 20 }, () => 64 * 1024));
  const { frames, sink } = play(wire, () => Infinity);
  frames.forEach((f, i) => assert.ok(Buffer.from(f.buffers[0]!).equals(buffers[i]!), `buffer ${i}`));
  assert.is(sink.inPlace, 0);
});

test('every size of piece, cut by reads of every kind, arrives whole', () => {
  const sizes = [0, 1, 4095, 16383, 16384, 16385, 65535, 65536, 65537, 100_000, 300_000, 1 << 20, 5, 0, 70_000];
  const { wire, buffers } = bufferFrames(sizes);
  const bodies = [pattern(200_000, 1), pattern(3, 2), pattern(64 * 1024, 3)];
  const wire2 = Buffer.concat([wire, ...bodies.flatMap((b) => encodeFrame(b, []))]);
  const cuts: Array<[string, (i: number) => number]> = [
    ['whole reads', () => Infinity],
    ['reads of 1,000 bytes', () => 1000],
    ['reads of 7 bytes now and then', (i) => (i % 5 === 0 ? 7 : 40_000)],
    ['reads of shifting sizes', (i) => 1 + ((i * 7919) % 90_000)],
  ];
  for (const [what, most] of cuts) {
    const { frames } = play(wire2, most);
    assert.is(frames.length, sizes.length + bodies.length, what);
    sizes.forEach((s, i) => {
      const got = frames[i]!.buffers[0]!;
      assert.is(got.byteLength, s, `${what}: buffer ${i} is its own ArrayBuffer of its size`);
      assert.ok(Buffer.from(got).equals(buffers[i]!), `${what}: buffer ${i} of ${s} bytes`);
    });
    bodies.forEach((b, i) => assert.ok(Buffer.from(frames[sizes.length + i]!.body).equals(b), `${what}: body ${i} of ${b.byteLength} bytes`));
  }
});

test('reads take 64 KiB until one fills its buffer, then 256 KiB', () => {
  const reads = new SocketReads();
  reads.attach(sinkOf(new FrameDecoder(() => {})));
  const first = reads.onread.buffer();
  assert.is(first.byteLength, 64 * 1024);
  // Zeros: empty frames, whatever the memory held before.
  reads.onread.callback(96, first.fill(0));
  const second = reads.onread.buffer();
  assert.is(second, first, 'a read that did not fill the buffer keeps it');
  reads.onread.callback(second.byteLength, second.fill(0));
  assert.is(reads.onread.buffer().byteLength, 256 * 1024);
});

test('a piece kept as views of the reused read buffer is not written over by the next read', () => {
  // Pieces past 64 KiB are kept as the chunks they came in until half is there (no memory on a length's word alone).
  const { wire, buffers } = bufferFrames([1 << 20, 1 << 20]);
  const { frames, sink } = play(wire, () => 64 * 1024);
  frames.forEach((f, i) => assert.ok(Buffer.from(f.buffers[0]!).equals(buffers[i]!), `buffer ${i}`));
  assert.ok(sink.copied > 0 && sink.inPlace > 0, 'both kinds of read should have happened');
});

test('a big piece arriving a little per read into 64 KiB buffers keeps its bytes, not the buffers', () => {
  // Before half a big piece is there it is kept as the chunks it came in; a view of 4 KiB would keep all 64 KiB of its read buffer.
  const decoder = new FrameDecoder(() => {});
  const header = Buffer.alloc(8);
  header.writeUInt32LE(32 << 20, 0);
  decoder.push(header);
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 2048; i++) decoder.push(Buffer.allocUnsafeSlow(64 * 1024).subarray(0, 4096));
  (globalThis as { gc?: () => void }).gc?.();
  const held = process.memoryUsage().arrayBuffers - before;
  // Kept as views, the 64 KiB buffers would hold 128 MiB; the memory counts of a collected heap wander by tens of MiB.
  assert.ok(held < 64 << 20, `8 MiB received in 4 KiB reads held ${(held / 2 ** 20).toFixed(1)} MiB`);
  assert.not.ok(decoder.idle, 'the piece is still coming');
});

test('bytes a socket read before the transport attached are handed over first, in order', async () => {
  const path = sock();
  const server = net.createServer((s) => s.end(Buffer.concat([pattern(100_000, 9), Buffer.from('last')])));
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const reads = new SocketReads();
    const socket = reads.bind(net.connect({ path, onread: reads.onread }));
    assert.is(readsOf(socket), reads);
    await within(5000, 'the socket should end', once(socket, 'end'));
    const got: Buffer[] = [];
    reads.attach({ room: () => undefined, keepsChunks: false, filled: () => assert.unreachable('nothing was offered'), chunk: (b) => got.push(Buffer.from(b)) });
    assert.ok(Buffer.concat(got).equals(Buffer.concat([pattern(100_000, 9), Buffer.from('last')])));
    socket.destroy();
  } finally {
    server.close();
  }
});

test('a transport started after its socket read the hello and ended: opens, then closes, nothing left waiting', async () => {
  const path = sock();
  const server = net.createServer((s) => s.end(hello()));
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const reads = new SocketReads();
    const socket = reads.bind(net.connect({ path, onread: reads.onread }));
    await within(5000, 'the socket should end', once(socket, 'end'));
    const transport = new StreamTransport(socket, socket, { label: 'server' });
    const closed = new Promise<Error | undefined>((resolve) => transport.start({ message: () => {}, close: resolve }));
    await within(5000, 'the hello read before the start should open the transport', transport.ready);
    isError(await within(5000, 'the end before the start should close the transport', closed), ChannelClosedError, 'closed the connection');
  } finally {
    server.close();
  }
});

test('clients dial Unix sockets and plain TCP with reads of their own (SocketReads)', async () => {
  const path = sock();
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(path, r));
  const tcp = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  try {
    const unix = await dial(resolveAddress('t', path));
    const plain = await dial(resolveAddress('t', { host: '127.0.0.1', port: (tcp.address() as net.AddressInfo).port }));
    assert.ok(readsOf(unix) instanceof SocketReads, 'unix');
    assert.ok(readsOf(plain) instanceof SocketReads, 'tcp');
    unix.destroy();
    plain.destroy();
  } finally {
    server.close();
    tcp.close();
  }
});

const api = {
  async *chunks(sizes: number[]) {
    for (let i = 0; i < sizes.length; i++) {
      const b = pattern(sizes[i]!, i);
      yield transfer(b, [b.buffer as ArrayBuffer]);
    }
  },
  copied: (sizes: number[]) => sizes.map((s, i) => pattern(s, 50 + i)),
  add: (a: number, b: number) => a + b,
};

for (const where of ['unix', 'tcp'] as const) {
  test(`over ${where === 'unix' ? 'a Unix socket' : 'TCP'}: streamed, transferred and copied buffers of every size arrive intact beside small calls`, async () => {
    const server = await listen(api, where === 'unix' ? sock() : { host: '127.0.0.1', port: 0 });
    const conn = await connect<typeof api>(server.address);
    try {
      const sizes = [65536, 0, 1, 65536, 16384, 200_000, 65537, 3 << 20, 65536, 4095, 65536];
      const stream = (async () => {
        let i = 0;
        for await (const c of await conn.api.chunks([...sizes, ...sizes])) {
          const s = sizes[i % sizes.length]!;
          assert.is(c.byteLength, s, `item ${i}`);
          assert.ok(Buffer.from(c.buffer, c.byteOffset, c.byteLength).equals(pattern(s, i)), `item ${i} of ${s} bytes`);
          i++;
        }
        return i;
      })();
      const small = Promise.all(Array.from({ length: 500 }, (_, i) => conn.api.add(i, 1)));
      const copied = conn.api.copied(sizes);
      assert.is(await within(20_000, 'the stream should end', stream), 2 * sizes.length);
      assert.equal(await small, Array.from({ length: 500 }, (_, i) => i + 1));
      (await copied).forEach((b, i) => assert.ok(Buffer.from(b).equals(pattern(sizes[i]!, 50 + i)), `copied ${i}`));
    } finally {
      await conn.close();
      await server.close();
    }
  });
}

test.after(() => tmp.remove());
test.run();
