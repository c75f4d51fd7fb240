/**
 * The seeded fuzz, short: the codecs in process, then a real server under
 * random, mutated and crafted frames while a well-behaved client calls it.
 * benchmarks/fuzz.ts runs the same for a million frames and more.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../streams/helpers.ts';
import { fuzzCodec, fuzzServer } from './fuzz.ts';

const SEED = Number(process.env.FARCALL_FUZZ_SEED ?? 20261204);
const MiB = 1024 * 1024;

test('codec fuzz: 5,000 random and mutated bodies decode or throw ProtocolError, nothing else', () => {
  const odd = fuzzCodec(SEED, 5_000);
  assert.equal(odd.map((e) => `${e.name}: ${e.message}`).slice(0, 5), [], `seed ${SEED}`);
});

test('server fuzz: no crash, every call of the well-behaved client served, heap bounded', async () => {
  const tmp = tempDir();
  const r = await fuzzServer(tmp.path('fuzz.sock'), SEED, 20_000, 10_000);
  tmp.remove();
  assert.equal(r.crashes.map((e) => String(e)), [], `seed ${SEED}`);
  assert.equal(r.goodFailures.map((e) => e.message).slice(0, 5), [], `seed ${SEED}`);
  assert.ok(r.goodCalls > 0);
  assert.ok(r.frames > 1000, `only ${r.frames} frames in ${r.ms} ms`);
  assert.ok(r.peakHeap < 256 * MiB, `heap reached ${(r.peakHeap / MiB).toFixed(0)} MiB`);
});

test.run();
