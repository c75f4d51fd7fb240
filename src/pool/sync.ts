/**
 * Synchronous calls into a worker (synckit's use case): the calling thread
 * blocks until a dedicated worker has run the function.
 *
 * The protocol, per call:
 *
 *   caller                                    worker (sync-worker.ts)
 *   ------                                    ------
 *   seen = state[Seq]
 *   port.postMessage([id, args])      --->    runs fn(...args), awaits it
 *   state[Req] += 1                           port.postMessage([id, kind, value])
 *   spin while state[Seq] == seen     <---    state[Seq] += 1; notify
 *   loop:                                     spin on state[Req]; when it moves,
 *     Atomics.wait(state, Seq, seen)            take the request (receiveMessageOnPort)
 *     seen = state[Seq]                         without waking the event loop
 *     every message on the port (receiveMessageOnPort):
 *       id matches: return or throw
 *       older id: a timed-out call's late reply, dropped
 *
 * The counter is read before the port is looked at, so a reply that lands
 * after the look changes the counter and the next wait returns at once: no
 * wake-up is lost. Ids only grow, so a late reply can never be taken for the
 * answer to a later call.
 *
 * Both spins are bounded (option `spin`): after it, the caller sleeps in
 * Atomics.wait and the worker in its event loop, which the posted request
 * wakes, so an idle worker costs nothing.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { decodeThrown } from '../codec/error.ts';
import { describe } from '../codec/marks.ts';
import { CallTimeoutError, ChannelClosedError, NotCloneableError } from '../errors.ts';
import { resolveModule } from '../module-href.ts';
import { checkMs, checkOptionNames, type OptionNames } from '../options.ts';
import { entryBeside, startThread } from './thread.ts';

/** Slots of the shared Int32Array. */
export const Slot = {
  /** Bumped by the worker after every message it posts. */
  Seq: 0,
  /** 1 once the worker has loaded the module (or failed to). */
  Ready: 1,
  /** Bumped by the caller after every request it posts: what a spinning worker watches. */
  Req: 2,
} as const;

export const Reply = { Return: 0, Throw: 1, Died: 2 } as const;
export type ReplyKind = (typeof Reply)[keyof typeof Reply];

/** What the worker is sent first, on parentPort. */
export interface Init {
  port: MessagePort;
  state: Int32Array;
  exportName: string;
  /** Microseconds the worker spins for the next request after a reply; 0: never. */
  spin: number;
}
export type Request = [id: number, args: unknown[]];
type Response = [id: number, kind: ReplyKind, value: unknown];

export interface SyncFnOptions {
  /**
   * Milliseconds one call may take before it throws CallTimeoutError.
   * Default: no limit. The worker's start (loading the module) is not
   * counted: the first call waits for it, up to 30 s when a timeout is set.
   */
  timeout?: number;
  /**
   * Microseconds each side spins before it sleeps: the caller on the reply,
   * the worker on the next request after it answered. A sleeping thread
   * takes tens of microseconds to wake, a spinning one well under one, so
   * calls that come close together cost far less; an idle worker still
   * sleeps after the bound. 0 never spins (every call wakes a thread).
   * Default: 100, or 0 when this process may use only one CPU (spinning
   * there only takes the time the other side needs).
   */
  spin?: number;
}

/** Every option createSyncFn() takes: add a name here when you add one to SyncFnOptions. */
const SYNC_FN_OPTIONS = { timeout: true, spin: true } as const satisfies OptionNames<SyncFnOptions>;

/** A function that runs in a worker and returns its result synchronously. */
export type SyncFn<F extends (...args: any[]) => unknown> = ((...args: Parameters<F>) => Awaited<ReturnType<F>>) & {
  /** Stops the worker; later calls throw ChannelClosedError. */
  close(): Promise<void>;
};

const entry = entryBeside(import.meta.url, 'sync-worker');
const STARTUP_LIMIT_MS = 30_000;
/** Chosen by measurement: covers a tiny function's reply and a caller's next call, well under the idle wake-up it saves. */
const DEFAULT_SPIN_US = 100;
/** availableParallelism() follows the CPU affinity mask (taskset) on Linux. */
const defaultSpin = (): number => (availableParallelism() > 1 ? DEFAULT_SPIN_US : 0);

/**
 * Runs `module`'s export `exportName` (default: the default export) on a
 * dedicated worker and returns a function that calls it synchronously,
 * blocking this thread until the answer comes. An async function's promise is
 * awaited in the worker. Errors it throws are thrown here with their shape.
 * The worker never keeps the process alive; `fn.close()` stops it.
 */
export function createSyncFn<F extends (...args: any[]) => unknown>(
  module: string | URL,
  exportName: string = 'default',
  options: SyncFnOptions = {},
): SyncFn<F> {
  const href = resolveModule('createSyncFn', module);
  if (typeof exportName !== 'string' || exportName.length === 0) {
    throw new TypeError(`createSyncFn() exportName must be a non-empty string, got ${describe(exportName)}`);
  }
  checkOptionNames('createSyncFn', options, SYNC_FN_OPTIONS);
  checkMs('createSyncFn', 'timeout', options.timeout);
  const timeout = options.timeout;
  if (options.spin !== undefined && !(typeof options.spin === 'number' && Number.isFinite(options.spin) && options.spin >= 0)) {
    throw new TypeError(`createSyncFn() option spin must be a finite number of microseconds >= 0, got ${describe(options.spin)}`);
  }
  const spinMs = (options.spin ?? defaultSpin()) / 1000;
  const label = `${basename(new URL(href).pathname)}#${exportName}()`;

  const state = new Int32Array(new SharedArrayBuffer(12));
  const { port1: port, port2 } = new MessageChannel();
  const worker: Worker = startThread(entry, {}, href);
  worker.postMessage({ port: port2, state, exportName, spin: spinMs * 1000 } satisfies Init, [port2]);
  worker.unref();
  port.unref();

  let lastId = 0;
  let ready = false;
  /** Why calls can no longer be made, once they cannot. */
  let gone: Error | undefined;
  worker.on('error', (err) => (gone ??= new ChannelClosedError(`the worker of ${label} threw an uncaught error: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => (gone ??= new ChannelClosedError(`the worker of ${label} exited with code ${code}`)));

  const died = (info: unknown): Error => {
    const { code, error } = (info ?? {}) as { code?: number; error?: unknown };
    if (error !== undefined) {
      const cause = decodeThrown(error);
      const message = cause instanceof Error ? cause.message : String(cause);
      return new ChannelClosedError(`the worker of ${label} threw an uncaught error: ${message}`, { cause });
    }
    return new ChannelClosedError(`the worker of ${label} exited with code ${code}`);
  };

  const call = (...args: unknown[]): unknown => {
    if (gone) throw gone;
    const id = ++lastId;
    // Read before posting: the bump that follows this call's answer cannot be missed.
    let seen = Atomics.load(state, Slot.Seq);
    try {
      port.postMessage([id, args] satisfies Request);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new NotCloneableError(`the arguments of ${label} could not be cloned (${reason}); a worker function takes cloneable values only`, { cause: err });
    }
    Atomics.add(state, Slot.Req, 1);
    if (spinMs > 0) {
      const until = performance.now() + spinMs;
      // The clock is read every 64 turns: a read costs more than a turn.
      for (let n = 0; Atomics.load(state, Slot.Seq) === seen; n++) {
        if ((n & 63) === 63 && performance.now() >= until) break;
      }
    }
    const started = timeout === undefined ? 0 : performance.now();
    let deadline = timeout === undefined ? Infinity : started + (ready ? timeout : Math.max(timeout, STARTUP_LIMIT_MS));
    for (;;) {
      if (deadline === Infinity) {
        Atomics.wait(state, Slot.Seq, seen);
      } else {
        const now = performance.now();
        if (!ready && Atomics.load(state, Slot.Ready) === 1) {
          ready = true;
          deadline = now + timeout!;
        }
        const remaining = deadline - now;
        if (remaining <= 0 && Atomics.load(state, Slot.Seq) === seen) {
          throw new CallTimeoutError(
            ready
              ? `${label} timed out after ${timeout} ms`
              : `${label} timed out: the worker did not load ${href} within ${Math.round(now - started)} ms`,
          );
        }
        if (remaining > 0) Atomics.wait(state, Slot.Seq, seen, remaining);
      }
      seen = Atomics.load(state, Slot.Seq);
      let got;
      while ((got = receiveMessageOnPort(port))) {
        const [rid, kind, value] = got.message as Response;
        if (kind === Reply.Died) throw (gone = died(value));
        if (rid !== id) continue; // the late answer of a call that timed out
        if (kind === Reply.Throw) throw decodeThrown(value);
        return value;
      }
    }
  };

  return Object.assign(call, {
    close: async (): Promise<void> => {
      gone ??= new ChannelClosedError(`${label} was closed`);
      port.close();
      await worker.terminate();
    },
  }) as unknown as SyncFn<F>;
}
