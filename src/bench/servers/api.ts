// What `farcall bench` calls on every farcall transport: spawn() and
// createPool() serve these exports as they are, the worker and the socket
// server expose them.
import { transfer } from '../../index.ts';

/** No arguments, nothing back: the cost of a call itself. */
export function ping(): void {}

/** The value back, copied both ways. */
export function echo<T>(value: T): T {
  return value;
}

/** The buffer back, moved both ways (the caller moved it here). */
export function echoMoved(buf: ArrayBuffer): ArrayBuffer {
  return transfer(buf, [buf]);
}

/** n numbers, as a stream: the stream rows' small items. */
export async function* numbers(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** n fresh chunks of `size` bytes, as a stream, each moved rather than copied: the stream rows' bulk data. */
export async function* chunks(n: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) {
    const c = new Uint8Array(size);
    yield transfer(c, [c.buffer]);
  }
}
