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
