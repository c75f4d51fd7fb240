// What farcall's benchmarks call, over every transport.
export const add = (a: number, b: number): number => a + b;
export const echo = <T>(v: T): T => v;
