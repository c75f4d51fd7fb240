// What farcall's benchmarks call, over every transport.
import { transfer } from 'farcall';
export const add = (a: number, b: number): number => a + b;
export const echo = <T>(v: T): T => v;
/** Sends a received buffer back without a copy. */
export const echoMoved = (ab: ArrayBuffer): ArrayBuffer => transfer(ab, [ab]);
/** Streams for the iterables benchmark: n numbers; n records of about 100 bytes; n chunks of `size` bytes, transferred. */
export async function* numbers(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}
export async function* records(n: number): AsyncGenerator<{ id: number; name: string; ok: boolean }> {
  for (let i = 0; i < n; i++) yield { id: i, name: 'a record of about a hundred bytes, as a parsed line would be...........', ok: true };
}
export async function* chunks(n: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < n; i++) {
    const c = Buffer.allocUnsafe(size);
    yield transfer(c, [c.buffer]);
  }
}
