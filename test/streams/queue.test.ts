/**
 * The stream transport's send path: frames queued for one writev, bodies
 * encoded straight into the queue, and bodies decoded from a range of a
 * chunk. Whatever mix of frames a tick queues, the bytes on the wire are
 * the frames in order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage, encodeMessage } from '../../src/codec/binary.ts';
import { appendCompact } from '../../src/codec/compact-encode.ts';
import { ProtocolError } from '../../src/errors.ts';
import { FrameDecoder, FrameQueue, type Frame } from '../../src/framing.ts';
import { difference } from '../conformance/compare.ts';

/** Every message in `chunks`, decoded, with the range path on or off. */
function messages(chunks: Uint8Array[], ranges: boolean): unknown[] {
  const out: unknown[] = [];
  const decoder = new FrameDecoder((f: Frame) => out.push(decodeMessage(f.body, f.buffers)));
  if (ranges) decoder.onBody = (chunk, start, end) => out.push(decodeMessage(chunk, [], start, end));
  for (const c of chunks) decoder.push(c);
  assert.ok(decoder.idle);
  return out;
}

/** Queues `tuple` the way the transport does: inline when it can, else as an encoded frame. */
function queue(q: FrameQueue, tuple: unknown[], ownLists = 0): 'inline' | 'encoded' {
  const mark = q.begin();
  if (appendCompact(q, tuple, ownLists)) {
    q.end(mark);
    return 'inline';
  }
  q.drop(mark);
  const { body, buffers } = encodeMessage(tuple, undefined);
  q.push(body, buffers);
  return 'encoded';
}

test('inline and encoded frames interleave in order, across buffer growth and big pieces', () => {
  const q = new FrameQueue();
  const shared = { s: 'shared' };
  const tuples: unknown[][] = [
    [-1, 1, ['add'], [1, 2]],
    [-2, 2, new Number(5)], // only ValueSerializer keeps a boxed number
    [-1, 3, ['echo'], [shared, shared, 'x'.repeat(70_000)]], // grows the 64 KiB packing buffer mid-body
    [-2, 4, new Uint8Array(100_000)], // out of band: not inline
    [-2, 5, { map: new Map([[1, new Set([2n])]]), d: new Date(9) }],
  ];
  const paths = tuples.map((t) => queue(q, t, t[0] === -1 ? 2 : 0));
  assert.equal(paths, ['inline', 'encoded', 'inline', 'encoded', 'inline']);
  const chunks = q.take();
  for (const ranges of [true, false]) {
    const got = messages(chunks, ranges);
    assert.is(difference(got, structuredClone(tuples)), undefined, `ranges ${ranges}`);
    const echoed = got[2] as [number, number, string[], [object, object, string]];
    assert.ok(echoed[3][0] === echoed[3][1], 'a value passed twice arrives as one object, as with structured clone');
  }
  // The same bytes whatever way they are cut.
  const all = Buffer.concat(chunks);
  for (const cut of [1, 7, 8, 9, 100, all.length - 1]) {
    const got = messages([all.subarray(0, cut), all.subarray(cut)], true);
    assert.is(difference(got, structuredClone(tuples)), undefined, `cut at ${cut}`);
  }
});

test("a call's own lists round-trip whatever strings they hold (short ones travel as names)", () => {
  const names = ['', 'a', 'x'.repeat(16), 'y'.repeat(17), 'größe', '日本語', '𝄞', 'a'.repeat(15) + 'é'];
  const q = new FrameQueue();
  for (let i = 0; i < 3; i++) assert.is(queue(q, [-1, i, names, [...names, 1, { k: names }]], 2), 'inline');
  const got = messages(q.take(), true);
  for (const m of got) assert.equal(m, [-1, (m as number[])[1], names, [...names, 1, { k: names }]]);
});

test('many messages of objects in one batch, the buffer growing in the middle of an object', () => {
  // The shape of an API response, about 1 KiB each: 200 of them outgrow the 64 KiB packing buffer several times.
  const record = (i: number) => ({ id: i, name: `record ${i}`, active: i % 3 === 0, score: i * 0.25, tags: ['alpha', 'beta'] });
  // Batches taken now and then, as flushes do, so later ones start part-way into the buffer.
  const q = new FrameQueue();
  const tuples: unknown[][] = [];
  const chunks: Uint8Array[] = [];
  for (let m = 0; m < 200; m++) {
    const tuple = [-1, m, ['echo'], [{ items: Array.from({ length: 10 + (m % 7) }, (_, i) => record(i)) }]];
    tuples.push(tuple);
    assert.is(queue(q, tuple, 2), 'inline');
    if (m % 3 === 0) chunks.push(...q.take());
  }
  chunks.push(...q.take());
  assert.is(difference(messages(chunks, true), tuples), undefined);
});

test('bytes handed out by take() are never written over by later frames', () => {
  const q = new FrameQueue();
  const taken: Uint8Array[] = [];
  const copies: Buffer[] = [];
  for (let round = 0; round < 300; round++) {
    for (let i = 0; i < 10; i++) queue(q, [-2, round * 10 + i, `value ${'v'.repeat(round)}`]);
    for (const c of q.take()) {
      taken.push(c);
      copies.push(Buffer.from(c));
    }
  }
  taken.forEach((c, i) => assert.ok(Buffer.from(c).equals(copies[i]!), `chunk ${i} changed after it was taken`));
  assert.is(messages(taken, true).length, 3000);
});

test('a queue gone quiet keeps a few KiB of packing memory at most; a busy one keeps what its batches need', () => {
  const q = new FrameQueue();
  assert.is(q.buf.length, 0, 'nothing before the first frame');
  queue(q, [-2, 1, 'small']);
  q.take();
  const quiet = q.buf.length;
  assert.ok(quiet > 0 && quiet <= 16 * 1024, `a quiet connection holds ${quiet} bytes`);
  for (let i = 0; i < 3000; i++) queue(q, [-2, i, 'a reply of some thirty bytes']);
  const busy = q.buf;
  q.take();
  assert.ok(q.buf === busy && busy.length > 64 * 1024, 'a busy connection keeps its buffer for the next batch');
  queue(q, [-2, 1, 'small again']);
  q.take();
  assert.ok(q.buf.length <= 16 * 1024, `and lets it go once its batches are small (holds ${q.buf.length} bytes)`);
});

test('a message that cannot go inline leaves the queue as it was', () => {
  const q = new FrameQueue();
  queue(q, [-2, 1, 'before']);
  const bytes = q.bytes;
  const mark = q.begin();
  assert.not.ok(appendCompact(q, [-2, 2, { e: new Error('only ValueSerializer') }], 0));
  q.drop(mark);
  const getter = { get boom(): never { throw new TypeError('from the getter'); } };
  const again = q.begin();
  assert.throws(() => appendCompact(q, [-2, 3, getter], 0), (e: Error) => e instanceof TypeError && e.message === 'from the getter');
  q.drop(again);
  assert.is(q.bytes, bytes);
  assert.equal(messages(q.take(), true), [[-2, 1, 'before']]);
});

test('a body read from a range stops at its end, even with more bytes after it', () => {
  // [-2, 5, "abc"], then the range is cut one byte short: the string's last byte lies outside it.
  const { body } = encodeMessage([-2, 5, 'abc'], undefined);
  const chunk = Buffer.concat([Buffer.from([9, 9]), body, Buffer.from([0x41, 0x42])]);
  assert.equal(decodeMessage(chunk, [], 2, 2 + body.length), [-2, 5, 'abc']);
  assert.throws(() => decodeMessage(chunk, [], 2, 2 + body.length - 1), (e: unknown) => e instanceof ProtocolError);
  // The bytes that would complete the value are there, but past the range's end.
  const { body: list } = encodeMessage([1, 2, 3, 400], undefined);
  for (let end = 1; end < list.length; end++) {
    assert.throws(() => decodeMessage(list, [], 0, end), (e: unknown) => e instanceof ProtocolError, `end ${end}`);
  }
});

test.run();
