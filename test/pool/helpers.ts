import { once } from 'node:events';
import * as assert from 'uvu/assert';
import type { Pool, WorkerExit, WorkerExitReason } from '../../src/index.ts';
import type * as TasksModule from '../fixtures/pool/tasks.ts';
import { within } from '../deadline.ts';

export { within };

export type Tasks = typeof TasksModule;
export const tasksUrl = new URL('../fixtures/pool/tasks.ts', import.meta.url);

/** A gate for `tasks.hold()`: tasks block on it until `open()`. */
export function gate(): { sab: SharedArrayBuffer; open(): void } {
  const sab = new SharedArrayBuffer(4);
  return {
    sab,
    open() {
      const view = new Int32Array(sab);
      Atomics.store(view, 0, 1);
      Atomics.notify(view, 0);
    },
  };
}

/** Awaits `promise`, expecting it to reject with an instance of `type` whose message includes every string. */
export async function rejects(promise: Promise<unknown>, type: abstract new (...args: any[]) => Error, ...includes: string[]): Promise<Error> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `expected a rejection with ${type.name}, but it resolved`);
  assert.instance(thrown, type, `expected ${type.name}, got ${String(thrown)}`);
  const message = (thrown as Error).message;
  for (const s of includes) assert.ok(message.includes(s), `"${message}" should mention "${s}"`);
  return thrown as Error;
}

/** The next worker to leave `pool` for `reason`. */
export async function nextExit(pool: Pool<unknown>, reason: WorkerExitReason): Promise<WorkerExit> {
  for (;;) {
    const [exit] = (await once(pool, 'workerExit')) as [WorkerExit];
    if (exit.reason === reason) return exit;
  }
}

export const elapsedSince = (t: number): number => performance.now() - t;

