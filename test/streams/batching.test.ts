/**
 * How a stream side batches its writes: the frames of one tick leave
 * together, but a long batch is written in parts as it grows, so when a
 * chunk brings a thousand calls the first replies are on their way while
 * the rest are still being served (both sides then work at once).
 */
import { PassThrough, Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendCompact } from '../../src/codec/compact-encode.ts';
import { FrameDecoder, FrameQueue } from '../../src/framing.ts';
import { MsgType, toTuple } from '../../src/protocol.ts';
import { Peer } from '../../src/rpc/peer.ts';
import { StreamTransport } from '../../src/transport/stream.ts';
import { hello, within } from './helpers.ts';

/** A writable that counts the writes it is given and the frames in them. */
class Counting extends Writable {
  writes = 0;
  frames = 0;
  private readonly decoder = new FrameDecoder(() => this.frames++);
  private waiters: Array<[number, () => void]> = [];

  override _writev(chunks: Array<{ chunk: Buffer }>, done: () => void): void {
    this.writes++;
    for (const { chunk } of chunks) this.decoder.push(chunk);
    this.waiters = this.waiters.filter(([n, wake]) => (this.frames >= n ? (wake(), false) : true));
    done();
  }

  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this._writev([{ chunk }], done);
  }

  /** Settles once `n` frames have been written; fails, rather than hangs, if they never are. */
  framesWritten(n: number): Promise<void> {
    if (this.frames >= n) return Promise.resolve();
    return within(10_000, `waiting for ${n} frames written`, new Promise((wake) => this.waiters.push([n, wake])));
  }
}

/** A server peer over a stream whose writes are counted; the test writes the client's bytes into `input`. */
function served(api: object): { input: PassThrough; output: Counting; server: Peer } {
  const input = new PassThrough();
  const output = new Counting();
  const server = new Peer(new StreamTransport(input, output, { label: 'client' }));
  server.expose(api);
  return { input, output, server };
}

/** Bytes of the hello frame that starts callsInOneChunk(). */
const helloBytes = (): number => hello().length;

/** One chunk holding a hello and `n` calls of add(i, 1), as a fast client would send them. */
function callsInOneChunk(n: number): Buffer {
  const q = new FrameQueue();
  for (let i = 1; i <= n; i++) {
    const mark = q.begin();
    assert.ok(appendCompact(q, toTuple({ t: MsgType.Call, i, p: ['add'], a: [i, 1] }) as unknown[], 2));
    q.end(mark);
  }
  return Buffer.concat([hello(), ...q.take()]);
}

test('replies to a chunk of 1,000 calls leave in parts while the chunk is served, not all at the end', async () => {
  const writesWhenServed: number[] = [];
  const { input, output, server } = served({
    add(a: number, b: number) {
      writesWhenServed.push(output.writes);
      return a + b;
    },
  });
  try {
    input.write(callsInOneChunk(1000));
    await output.framesWritten(1 + 1000);
    assert.is(writesWhenServed.length, 1000);
    // The hello was one write; by the last call most replies were already out, in parts.
    const before = writesWhenServed[999]! - 1;
    assert.ok(before >= 10, `only ${before} writes of replies before the last of 1,000 calls was served`);
    assert.ok(output.writes <= 40, `${output.writes} writes for 1,000 replies: the replies should still be batched`);
  } finally {
    server.close();
  }
});

test('once calls arrive a dozen or more at a time, their replies leave in halves', async () => {
  const { input, output, server } = served({ add: (a: number, b: number) => a + b });
  try {
    // The first chunk (the hello and 16 calls) sets the size; the next 16 calls are answered in two writes.
    input.write(callsInOneChunk(16));
    await output.framesWritten(1 + 16);
    const before = output.writes;
    input.write(callsInOneChunk(16).subarray(helloBytes()));
    await output.framesWritten(1 + 32);
    assert.is(output.writes - before, 2);
    // One call at a time again: back to whole batches.
    input.write(callsInOneChunk(1).subarray(helloBytes()));
    await output.framesWritten(1 + 33);
    const single = output.writes;
    input.write(callsInOneChunk(16).subarray(helloBytes()));
    await output.framesWritten(1 + 49);
    assert.is(output.writes - single, 1);
  } finally {
    server.close();
  }
});

test('the calls of one tick leave in one write', async () => {
  const toServer = new Counting();
  const fromServer = new PassThrough();
  const client = new Peer(new StreamTransport(fromServer, toServer, { label: 'server' }));
  try {
    await toServer.framesWritten(1); // the hello
    const writes = toServer.writes;
    for (let i = 0; i < 50; i++) client.call(0, 0, ['add'], [i, 1]).catch(() => {});
    await toServer.framesWritten(1 + 50);
    assert.is(toServer.writes - writes, 1);
  } finally {
    client.close();
  }
});

test.run();
