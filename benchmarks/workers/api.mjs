// api.ts for farcall's build: what the benchmarks call in a child process or a server of the build.
import { transfer } from '../../dist/index.js';
export const add = (a, b) => a + b;
export const echo = (v) => v;
export const echoMoved = (ab) => transfer(ab, [ab]);
