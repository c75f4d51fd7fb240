import { createHash } from 'node:crypto';

/** What the examples serve: over a worker, a pool, a child process and a socket. */
export const math = {
  add: (a: number, b: number) => a + b,
  /** Hashes a buffer the caller transferred, so it was never copied. */
  digest(buf: ArrayBuffer): string {
    return createHash('sha256').update(new Uint8Array(buf)).digest('hex');
  },
  /** Calls back into the caller, once per tick. */
  async watch(onTick: (n: number) => void, ticks: number): Promise<number> {
    for (let n = 1; n <= ticks; n++) await onTick(n);
    return ticks;
  },
  divide(a: number, b: number): number {
    if (b === 0) throw Object.assign(new RangeError('division by zero'), { code: 'E_DIV_ZERO' });
    return a / b;
  },
};
