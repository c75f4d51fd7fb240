/**
 * The raw mechanism of a byte stream, as the bench measures it: frames of a
 * 4-byte little-endian length, a kind byte and a body, echoed in order.
 * Values travel as `v8.serialize` bytes (structured-clone semantics, what
 * farcall's stream codec carries); ArrayBuffers travel as their own bytes,
 * written straight from the buffer.
 */
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

/** The body is `v8.serialize(value)`: the echo decodes and encodes it again, as an RPC server would. */
export const VALUE = 0;
/** The body is raw bytes: echoed as they are. */
export const BYTES = 1;

const HEADER = 5;

export function writeFrame(socket: Socket, kind: number, body: Uint8Array): void {
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32LE(body.byteLength, 0);
  head[4] = kind;
  socket.cork();
  socket.write(head);
  if (body.byteLength > 0) socket.write(body);
  socket.uncork();
}

/** Splits a byte stream into frames; a body is a view on the received chunk when it fits in one. */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private have = 0;
  private need = -1;
  private kind = 0;

  constructor(private readonly onFrame: (kind: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.have < HEADER) return;
        const head = this.take(HEADER);
        this.need = head.readUInt32LE(0);
        this.kind = head[4]!;
      }
      if (this.have < this.need) return;
      const body = this.take(this.need);
      this.need = -1;
      this.onFrame(this.kind, body);
    }
  }

  private take(n: number): Buffer {
    this.have -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** The server side: every frame back, values decoded and encoded again. */
export function serveEcho(socket: Socket): void {
  socket.setNoDelay?.(true);
  const reader = new FrameReader((kind, body) => {
    if (kind === VALUE) writeFrame(socket, VALUE, serialize(deserialize(body)));
    else writeFrame(socket, kind, body);
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('error', () => socket.destroy());
}

/** The client side: calls answered in order, so a queue of waiting calls is all the bookkeeping. */
export class EchoClient {
  private readonly waiting: Array<{ resolve(v: unknown): void; reject(e: Error): void }> = [];
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay?.(true);
    const reader = new FrameReader((kind, body) => this.waiting.shift()?.resolve(kind === VALUE ? deserialize(body) : body));
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    const fail = (err?: Error): void => {
      this.failure ??= err ?? new Error('the echo connection closed');
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  /** Sends `value` (an ArrayBuffer as its bytes, anything else serialized) and resolves with the echo. */
  call(value: unknown): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (value === undefined) writeFrame(this.socket, BYTES, new Uint8Array(0));
      else if (value instanceof ArrayBuffer) writeFrame(this.socket, BYTES, new Uint8Array(value));
      else writeFrame(this.socket, VALUE, serialize(value));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
