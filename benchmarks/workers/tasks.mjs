// The pool benchmark's task module, one file for farcall's createPool, piscina and tinypool
// (piscina and tinypool pick the export by the `name` run option), and for createSyncFn.
import { createHash } from 'node:crypto';

const block = new Uint8Array(64 * 1024).fill(7);

/** The tiny task: one number in, one out. */
export function tiny(x) {
  return x;
}

/** CPU-bound: sha256 over `blocks` × 64 KiB. */
export function hash(blocks) {
  const h = createHash('sha256');
  for (let i = 0; i < blocks; i++) h.update(block);
  return h.digest('hex');
}

/** What the sync-call benchmark calls (synckit's worker runs the same). */
export function add(a, b) {
  return a + b;
}

export default tiny;
