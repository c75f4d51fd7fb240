/**
 * The pool's own channel to a worker, beside the user's API and on the same
 * connection: once the module has loaded, the worker's entry calls the
 * pool's `attach()` with this object by reference. The user's exports stay
 * the root, so no name of theirs is taken.
 */
import { getHeapStatistics } from 'node:v8';
import { proxy } from '../codec/marks.ts';
import type { Remote } from '../rpc/remote.ts';

const memberControl = {
  /** Bytes of JavaScript heap in use, garbage not yet collected included. */
  heapUsed: (): number => getHeapStatistics().used_heap_size,
  /**
   * Answers once the worker's event loop gets to it: after a synchronous
   * task it was stuck in has returned.
   */
  ping: (): void => {},
};

export type MemberControl = typeof memberControl;

/** What the pool serves to each of its workers. */
export interface PoolSide {
  /** The worker has loaded the module and is serving; `control` is a proxy. */
  attach(control: MemberControl): void;
}

/** Argument that tells a spawned child's entry it is a pool's worker. */
export const POOL_MEMBER_FLAG = '--farcall-pool-member';

/** Called by a worker's entry once it serves the user's module. */
export function attachToPool(pool: Remote<PoolSide>): void {
  // If the pool is gone, so is the reason to tell it.
  pool.attach(proxy(memberControl)).catch(() => {});
}
