// api.ts for farcall's build: what the benchmarks call in a child process or a server of the build.
import { transfer } from '../../dist/index.js';
export const add = (a, b) => a + b;
export const echo = (v) => v;
export const echoMoved = (ab) => transfer(ab, [ab]);
export async function* numbers(n) {
  for (let i = 0; i < n; i++) yield i;
}
export async function* records(n) {
  for (let i = 0; i < n; i++) yield { id: i, name: 'a record of about a hundred bytes, as a parsed line would be...........', ok: true };
}
export async function* chunks(n, size) {
  for (let i = 0; i < n; i++) {
    const c = Buffer.allocUnsafe(size);
    yield transfer(c, [c.buffer]);
  }
}
