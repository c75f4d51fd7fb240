/**
 * A seeded fuzzer for what a socket peer can send: the frame decoder, the
 * codecs and the protocol handler, with random frames, mutated valid ones
 * and crafted bombs, against a real listen() server while a well-behaved
 * client keeps calling it. Used by the suite (a short run) and by
 * benchmarks/fuzz.ts (a long one).
 */
import net from 'node:net';
import { encodeMessage, decodeMessage } from '../../src/codec/binary.ts';
import { ProtocolError } from '../../src/errors.ts';
import { FrameDecoder, encodeFrame } from '../../src/framing.ts';
import { connect, listen, proxy } from '../../src/index.ts';
import { CallKind, MsgType } from '../../src/protocol.ts';
import { compactBomb } from './bombs.ts';
import { hello } from '../streams/helpers.ts';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type R = () => number;
const int = (r: R, n: number): number => Math.floor(r() * n);
const pick = <T>(r: R, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const NAMES = ['add', 'echo', 'keep', 'nested', 'deep', 'value', '__proto__', 'constructor', 'toString', 'then', 'x'];

/** A random value of the kinds the codecs carry. */
export function value(r: R, depth = 0): unknown {
  const k = int(r, depth > 3 ? 8 : 14);
  switch (k) {
    case 0: return undefined;
    case 1: return null;
    case 2: return r() < 0.5;
    case 3: return int(r, 256) - 128;
    case 4: return (r() - 0.5) * 1e12;
    case 5: return 'x'.repeat(int(r, 40)) + pick(r, NAMES);
    case 6: return BigInt(int(r, 1e9)) * (r() < 0.5 ? -1n : 1n);
    case 7: return new Date(int(r, 2e12));
    case 8: return Array.from({ length: int(r, 5) }, () => value(r, depth + 1));
    case 9: return Object.fromEntries(Array.from({ length: int(r, 5) }, () => [pick(r, NAMES), value(r, depth + 1)]));
    case 10: return new Map(Array.from({ length: int(r, 4) }, () => [value(r, depth + 1), value(r, depth + 1)]));
    case 11: return new Set(Array.from({ length: int(r, 4) }, () => value(r, depth + 1)));
    case 12: return new Uint8Array(int(r, 32)).fill(int(r, 256));
    default: return [new Error(pick(r, NAMES)), new Number(int(r, 10))];
  }
}

/** A random protocol message, valid or nearly so. */
export function message(r: R): unknown {
  const t = r() < 0.9 ? pick(r, [MsgType.Call, MsgType.Call, MsgType.Call, MsgType.Return, MsgType.Throw, MsgType.Release, MsgType.Cancel, MsgType.Ping]) : int(r, 20) - 2;
  const i = r() < 0.8 ? 1 + int(r, 1000) : pick(r, [0, -1, 1.5, 2 ** 53, 'x']);
  switch (t) {
    case MsgType.Call: {
      const m: Record<string, unknown> = { t, i, p: Array.from({ length: int(r, 3) }, () => pick(r, NAMES)), a: Array.from({ length: int(r, 3) }, () => value(r)) };
      if (r() < 0.3) m.h = int(r, 4);
      if (r() < 0.3) m.k = int(r, 6);
      if (r() < 0.2) m.x = [[int(r, 3), pick(r, ['proxy', 'nope', 'throw']), int(r, 100)]];
      if (r() < 0.1) m.d = int(r, 100);
      return m;
    }
    case MsgType.Return: return { t, i, v: value(r) };
    case MsgType.Throw: return { t, i, e: r() < 0.5 ? { k: 1, n: pick(r, NAMES), m: 'm', c: value(r) } : value(r) };
    case MsgType.Release: return { t, h: int(r, 5) };
    default: return { t, i };
  }
}

/** Flips, cuts, repeats or overwrites bytes of a valid frame. */
function mutate(r: R, bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  switch (int(r, 5)) {
    case 0:
      for (let n = 1 + int(r, 4); n > 0; n--) { const at = int(r, b.length); b[at] = b[at]! ^ (1 << int(r, 8)); }
      return b;
    case 1:
      return b.subarray(0, int(r, b.length));
    case 2:
      b.writeUInt32LE(int(r, 2 ** 32), int(r, 2) * 4);
      return b;
    case 3:
      for (let n = 1 + int(r, 8); n > 0; n--) b[8 + int(r, Math.max(1, b.length - 8))] = int(r, 256);
      return b;
    default:
      return Buffer.concat([b, b.subarray(int(r, b.length))]);
  }
}

const frame = (body: Uint8Array): Buffer => Buffer.concat(encodeFrame(body, []));

/** Crafted bombs, built once: each costs the decoder its whole budget, so they are a small share of the cases. */
let bombs: Buffer[] | undefined;
function bomb(r: R): Buffer {
  bombs ??= [
    ...(['map', 'set', 'object', 'array', 'int'] as const).map((k) => frame(compactBomb(k, 2 * 1024 * 1024, 7))),
    frame(v8ArrayOfMaps(150_000)),
    frame(nested(5000)),
    frame(nested(200_000)),
  ];
  return pick(r, bombs);
}

/** A ValueSerializer body by hand: an array of `n` empty Maps. */
export function v8ArrayOfMaps(n: number): Buffer {
  const varint = (x: number): number[] => {
    const out: number[] = [];
    while (x > 0x7f) out.push((x & 0x7f) | 0x80), (x >>>= 7);
    return [...out, x];
  };
  const head = Buffer.from([0xff, 0x0f, 0x41, ...varint(n)]);
  const maps = Buffer.alloc(3 * n);
  for (let i = 0; i < n; i++) maps.set([0x3b, 0x3a, 0], 3 * i);
  return Buffer.concat([head, maps, Buffer.from([0x24, 0, ...varint(n)])]);
}

/** A compact body of arrays each holding the next, `depth` deep. */
function nested(depth: number): Buffer {
  const body = Buffer.alloc(1 + 2 * depth + 1, 0);
  body[0] = 1;
  for (let i = 0; i < depth; i++) body.set([9, 1], 1 + 2 * i);
  body[body.length - 1] = 0x80;
  return body;
}

/** The bytes of one fuzz case: a valid message (45 %), a mutated one (45 %), random bytes, or a bomb (1 %). */
export function fuzzCase(r: R): Buffer {
  const roll = r();
  if (roll < 0.45) return frame(encodeMessage(message(r), undefined).body);
  if (roll < 0.9) return mutate(r, frame(encodeMessage(message(r), undefined).body));
  if (roll < 0.99) return Buffer.from(Array.from({ length: 1 + int(r, 64) }, () => int(r, 256)));
  return bomb(r);
}

/**
 * Decodes `n` random and mutated bodies in process: each must decode or
 * throw ProtocolError, nothing else. Returns the other errors met.
 */
export function fuzzCodec(seed: number, n: number): Error[] {
  const r = rng(seed);
  const odd: Error[] = [];
  for (let c = 0; c < n; c++) {
    const bytes = r() < 0.5 ? fuzzCase(r) : mutate(r, frame(encodeMessage(value(r), undefined).body));
    const decoder = new FrameDecoder((f) => {
      try {
        decodeMessage(f.body, f.buffers);
      } catch (err) {
        if (!(err instanceof ProtocolError)) odd.push(err as Error);
      }
    }, 8 * 1024 * 1024);
    try {
      decoder.push(bytes);
    } catch (err) {
      if (!(err instanceof ProtocolError)) odd.push(err as Error);
    }
  }
  return odd;
}

export interface FuzzResult {
  frames: number;
  connections: number;
  /** Errors thrown out of event handlers, or rejections no one handled, in this process. */
  crashes: Error[];
  /** Calls of the well-behaved client beside the fuzzer: made, and failed. */
  goodCalls: number;
  goodFailures: Error[];
  /** Largest heap seen, sampled after each connection. */
  peakHeap: number;
  ms: number;
}

/**
 * Sends fuzz cases over raw connections to a real server until `frames`
 * were sent or `ms` passed, while a well-behaved client calls beside them.
 */
export async function fuzzServer(address: string, seed: number, frames: number, ms: number, onProgress?: (r: FuzzResult) => void): Promise<FuzzResult> {
  const crashes: Error[] = [];
  const onCrash = (err: unknown): void => void crashes.push(err as Error);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const held: unknown[] = [];
  const api = {
    add: (a: number, b: number) => a + b,
    echo: (v: unknown) => v,
    keep: (cb: unknown) => void held.push(cb),
    nested: { deep: { value: 1 } },
    value: 5,
  };
  const server = await listen(api, address, { maxMessageSize: 8 * 1024 * 1024, idleTimeout: 5000 });
  server.on('clientError', () => {});
  const good = await connect<typeof api>(address);
  const result: FuzzResult = { frames: 0, connections: 0, crashes, goodCalls: 0, goodFailures: [], peakHeap: 0, ms: 0 };
  let running = true;
  const goodLoop = (async () => {
    const r = rng(seed ^ 0x5eed);
    while (running) {
      result.goodCalls++;
      try {
        const v = value(r);
        const [sum, back] = await Promise.all([good.api.add(2, 3), good.api.echo(v)]);
        if (sum !== 5) throw new Error(`add(2, 3) gave ${String(sum)}`);
        void back;
        await good.api.keep(proxy(() => {}) as never);
        held.length = 0;
      } catch (err) {
        result.goodFailures.push(err as Error);
      }
    }
  })();
  const r = rng(seed);
  const start = performance.now();
  while (result.frames < frames && performance.now() - start < ms) {
    const socket = net.connect(address);
    socket.on('error', () => {});
    socket.on('data', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()).once('close', () => resolve()));
    result.connections++;
    if (r() < 0.95) socket.write(hello());
    // A burst of cases on one connection, until one of them costs it the connection.
    const burst = 1 + int(r, 200);
    for (let i = 0; i < burst && !socket.destroyed && result.frames < frames; i++) {
      const bytes = fuzzCase(r);
      result.frames++;
      if (!socket.write(bytes)) await new Promise<void>((resolve) => socket.once('drain', () => resolve()).once('close', () => resolve()));
    }
    // Waiting for the server to take in the burst (its close, or an echo of a ping) keeps the fuzzer from outrunning it.
    await new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end(frame(encodeMessage({ t: MsgType.Call, i: 0, p: ['add'], a: [1, 1], k: CallKind.Apply }, undefined).body));
      setTimeout(() => (socket.destroy(), resolve()), 2000).unref();
    });
    result.peakHeap = Math.max(result.peakHeap, process.memoryUsage().heapUsed);
    result.ms = performance.now() - start;
    onProgress?.(result);
  }
  running = false;
  await goodLoop;
  result.ms = performance.now() - start;
  await good.close();
  await server.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  return result;
}
