/**
 * Synchronous calls into a worker (synckit's use case): the calling thread
 * blocks until a dedicated worker has run the function.
 *
 * Caller and worker share a SharedArrayBuffer (sync-channel.ts): a request
 * mailbox, a reply mailbox, and counters. Per call:
 *
 *   caller                                    worker (sync-worker.ts)
 *   ------                                    ------
 *   seen = state[Seq]
 *   request into its area (or, when it        (spinning on ReqFull, or parked
 *     does not fit, onto the port)              in its event loop)
 *   ReqFull = 1
 *   Parked? ring the doorbell (the port) --->  takes the request: ReqFull = 0
 *   spin while state[Seq] == seen              runs fn(...args), awaits it
 *   loop:                                      reply into its area if RepFull
 *     Atomics.wait(state, Seq, seen)     <---    is 0 (else onto the port);
 *     seen = state[Seq]                          Seq += 1; notify
 *     RepFull: the reply area's id matches:    spins on ReqFull for the next
 *       return or throw; else drop it            request, then parks
 *     every message on the port
 *     (receiveMessageOnPort), likewise
 *
 * While both sides spin, a round trip is two cache-line handoffs and no
 * system call; a side spins only for its bound (option `spin`), then
 * sleeps: the caller in Atomics.wait, the worker in its event loop, which
 * the doorbell wakes, so an idle worker costs nothing.
 *
 * The counter is read before the request is made, so a reply that lands
 * at any time after changes the counter and the next wait returns at once:
 * no wake-up is lost. Ids only grow, so a late reply can never be taken for
 * the answer to a later call. A call that times out before the worker took
 * its request withdraws it, so the worker never runs it.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { decodeThrown } from '../codec/error.ts';
import { describe } from '../codec/marks.ts';
import { CallTimeoutError, ChannelClosedError, NotCloneableError } from '../errors.ts';
import { resolveModule } from '../module-href.ts';
import { checkMs, checkOptionNames, type OptionNames } from '../options.ts';
import { Area, DOORBELL, SLOTS, Slot, SpinBudget, channelBytes } from './sync-channel.ts';
import { entryBeside, startThread } from './thread.ts';

export const Reply = { Return: 0, Throw: 1, Died: 2 } as const;
export type ReplyKind = (typeof Reply)[keyof typeof Reply];

/** What the worker is sent first, on parentPort. */
export interface Init {
  port: MessagePort;
  shared: SharedArrayBuffer;
  exportName: string;
  /** Microseconds the worker spins at most for the next request after a reply; 0: never. */
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
   * Microseconds each side spins at most before it sleeps: the caller on the
   * reply, the worker on the next request after it answered. A sleeping
   * thread takes tens of microseconds to wake, a spinning one well under one,
   * so calls that come close together cost far less; an idle worker still
   * sleeps after the bound. The caller stops spinning when its spins keep
   * running out (a slow function, a crowded machine) and tries again now
   * and then; the worker does not spin for a caller that was slower than
   * the bound to call again. 0 never spins (every call wakes a
   * thread). Default: 100, or 0 when this process may use only one CPU
   * (spinning there only takes the time the other side needs).
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
  const spinUs = options.spin ?? defaultSpin();
  const budget = new SpinBudget(spinUs);
  const label = `${basename(new URL(href).pathname)}#${exportName}()`;

  const shared = new SharedArrayBuffer(channelBytes());
  const state = new Int32Array(shared, 0, SLOTS);
  const requests = new Area(shared, 'request');
  const replies = new Area(shared, 'reply');
  // Until the worker serves, a request must ring it.
  state[Slot.Parked] = 1;
  const { port1: port, port2 } = new MessageChannel();
  const worker: Worker = startThread(entry, {}, href);
  worker.postMessage({ port: port2, shared, exportName, spin: spinUs } satisfies Init, [port2]);
  worker.unref();
  port.unref();

  let lastId = 0;
  /** When the last call was answered (performance.now()): the gap to the next call tells the worker whether to spin for it. */
  let lastAnswer = -Infinity;
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

  /** Puts the request in the mailbox (or on the port); throws NotCloneableError when it cannot be cloned. */
  const request = (id: number, args: unknown[], spins: boolean, gapUs: number): void => {
    // 2: the worker is still copying out the last request, for a moment.
    while (Atomics.load(state, Slot.ReqFull) !== 0 && Atomics.load(state, Slot.Dead) === 0);
    try {
      const n = requests.write(args);
      if (n < 0) port.postMessage([id, args] satisfies Request);
      state[Slot.ReqId] = id;
      state[Slot.ReqLen] = n;
      state[Slot.ReqSpins] = spins ? 1 : 0;
      state[Slot.ReqGap] = gapUs;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new NotCloneableError(`the arguments of ${label} could not be cloned (${reason}); a worker function takes cloneable values only`, { cause: err });
    }
    Atomics.store(state, Slot.ReqFull, 1);
    if (Atomics.load(state, Slot.Parked) === 1) port.postMessage(DOORBELL);
  };

  /** The reply to call `id` if it has come: in the reply area or on the port. */
  const NONE = Symbol('none');
  const replyTo = (id: number): unknown => {
    if (Atomics.load(state, Slot.RepFull) === 1) {
      const rid = state[Slot.RepId];
      const kind = state[Slot.RepKind] as ReplyKind;
      const value = rid === id ? replies.read(state[Slot.RepLen]!)[0] : undefined;
      Atomics.store(state, Slot.RepFull, 0);
      if (rid === id) {
        if (kind === Reply.Throw) throw decodeThrown(value);
        return value;
      }
      // else the late answer of a call that timed out
    }
    let got;
    while ((got = receiveMessageOnPort(port))) {
      const [rid, kind, value] = got.message as Response;
      if (kind === Reply.Died) throw (gone = died(value));
      if (rid !== id) continue; // the late answer of a call that timed out
      if (kind === Reply.Throw) throw decodeThrown(value);
      return value;
    }
    return NONE;
  };

  const call = (...args: unknown[]): unknown => {
    if (gone) throw gone;
    if (Atomics.load(state, Slot.Dead) === 1) {
      // Died between calls, before its exit event could run here: its reason is on the port.
      replyTo(0);
      throw (gone ??= new ChannelClosedError(`the worker of ${label} has exited`));
    }
    const id = ++lastId;
    // A late reply nobody waited for: its area is free for this call's.
    if (Atomics.load(state, Slot.RepFull) === 1) Atomics.store(state, Slot.RepFull, 0);
    // Read before the request: the bump that follows this call's answer cannot be missed.
    let seen = Atomics.load(state, Slot.Seq);
    const spinUs = budget.next();
    const now = performance.now();
    request(id, args, spinUs > 0, Math.min(Math.round((now - lastAnswer) * 1000), 0x7fffffff));
    if (spinUs > 0) {
      const until = now + spinUs / 1000;
      // The clock is read every 64 turns: a read costs more than a turn.
      for (let n = 0; Atomics.load(state, Slot.Seq) === seen; n++) {
        if ((n & 63) === 63 && performance.now() >= until) break;
      }
      budget.spun(Atomics.load(state, Slot.Seq) !== seen);
    }
    const started = timeout === undefined ? 0 : performance.now();
    let deadline = timeout === undefined ? Infinity : started + (ready ? timeout : Math.max(timeout, STARTUP_LIMIT_MS));
    for (;;) {
      if (Atomics.load(state, Slot.Seq) !== seen) {
        // Caught by the spin, or came meanwhile: no need to wait.
      } else if (deadline === Infinity) {
        Atomics.wait(state, Slot.Seq, seen);
      } else {
        const now = performance.now();
        if (!ready && Atomics.load(state, Slot.Ready) === 1) {
          ready = true;
          deadline = now + timeout!;
        }
        const remaining = deadline - now;
        if (remaining <= 0 && Atomics.load(state, Slot.Seq) === seen) {
          // Not yet taken: withdrawn, so the worker never runs it.
          Atomics.compareExchange(state, Slot.ReqFull, 1, 0);
          throw new CallTimeoutError(
            ready
              ? `${label} timed out after ${timeout} ms`
              : `${label} timed out: the worker did not load ${href} within ${Math.round(now - started)} ms`,
          );
        }
        if (remaining > 0) Atomics.wait(state, Slot.Seq, seen, remaining);
      }
      seen = Atomics.load(state, Slot.Seq);
      const value = replyTo(id);
      if (value !== NONE) {
        lastAnswer = performance.now();
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
