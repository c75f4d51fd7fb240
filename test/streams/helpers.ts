/**
 * Shared pieces for the stream tests: temp dirs, deadlines, and a raw
 * client that speaks frames by hand so a test can misbehave on purpose.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { decodeMessage, encodeMessage } from '../../src/codec/binary.ts';
import { FrameDecoder, encodeFrame } from '../../src/framing.ts';
import { PROTOCOL_VERSION, fromTuple } from '../../src/protocol.ts';
import { within } from '../deadline.ts';

export { within };

/** A fresh directory under the OS temp dir, removed by the returned function. */
export function tempDir(): { dir: string; path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'farcall-'));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The reason `p` rejected with; fails the test if it fulfils. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, Error, `expected an Error, got ${String(err)}`);
    return err as Error;
  }
  return assert.unreachable('expected a rejection, but it succeeded') as never;
}

/** Checks that `err` is an instance of `Class` whose message mentions each of `includes`. */
export function isError(err: unknown, Class: abstract new (...args: never[]) => Error, ...includes: string[]): asserts err is Error {
  assert.instance(err, Class, `expected a ${Class.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  for (const s of includes) assert.ok((err as Error).message.includes(s), `"${(err as Error).message}" should mention "${s}"`);
}

/** The bytes of one frame carrying `value`, as a farcall peer would write them. */
export function frameOf(value: unknown): Buffer {
  const { body, buffers } = encodeMessage(value, undefined);
  return Buffer.concat(encodeFrame(body, buffers));
}

/** A frame header by hand: body length and out-of-band buffer count (then their lengths). */
export function header(bodyLength: number, ...bufferLengths: number[]): Buffer {
  const b = Buffer.alloc(8 + 4 * bufferLengths.length);
  b.writeUInt32LE(bodyLength, 0);
  b.writeUInt32LE(bufferLengths.length, 4);
  bufferLengths.forEach((n, i) => b.writeUInt32LE(n, 8 + 4 * i));
  return b;
}

export const hello = (version = PROTOCOL_VERSION): Buffer => frameOf({ farcall: version, features: [] });

/**
 * A client that writes raw bytes and reads whole frames, for tests that
 * break the protocol on purpose. `greet()` does the handshake by hand.
 */
export class RawClient {
  readonly messages: unknown[] = [];
  /** When set, each message goes here as it arrives instead of waiting for next(). */
  onMessage: ((m: unknown) => void) | undefined;
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    const decoder = new FrameDecoder((f) => {
      const m = fromTuple(decodeMessage(f.body, f.buffers));
      if (this.onMessage) return this.onMessage(m);
      this.messages.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = once(socket, 'close').then(() => {});
  }

  static async open(path: string): Promise<RawClient> {
    const socket = net.connect(path);
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends our hello and waits for the server's. */
  async greet(): Promise<void> {
    this.write(hello());
    const first = await this.next();
    assert.equal(first, { farcall: PROTOCOL_VERSION, features: ['ping'] });
  }

  /** The next message not yet taken. */
  async next(ms = 5000): Promise<unknown> {
    while (this.messages.length === 0) {
      await within(ms, 'waiting for a message from the server', new Promise<void>((resolve) => this.waiters.push(resolve)));
    }
    return this.messages.shift();
  }

  /** Resolves when the server has closed this connection. */
  whenClosed(ms = 5000): Promise<void> {
    return within(ms, 'waiting for the server to close the connection', this.closed);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
