// What farcall's benchmarks call, over every transport.
import { transfer } from 'farcall';
export const add = (a: number, b: number): number => a + b;
export const echo = <T>(v: T): T => v;
/** Sends a received buffer back without a copy. */
export const echoMoved = (ab: ArrayBuffer): ArrayBuffer => transfer(ab, [ab]);
