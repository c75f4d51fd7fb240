/**
 * The thread behind a `createSyncFn()` function: loads the user's module,
 * then answers each call on the port it was given and bumps the shared
 * counter the blocked caller waits on. See sync.ts for the protocol.
 */
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { encodeThrown } from '../codec/error.ts';
import { NotCloneableError } from '../errors.ts';
import { Reply, Slot, type Init, type ReplyKind, type Request } from './sync.ts';

const [module] = process.argv.splice(2, 1);
const { port, state, exportName, spin } = await new Promise<Init>((resolve) => parentPort!.once('message', resolve));

/** Tells the caller something is on its port (or the module is loaded). */
const wake = (): void => {
  Atomics.add(state, Slot.Seq, 1);
  Atomics.notify(state, Slot.Seq);
};

// Dying always answers: the caller may be blocked on a call this thread will never finish.
let fatal: { error: unknown } | undefined;
process.on('uncaughtExceptionMonitor', (error) => (fatal ??= { error }));
process.on('exit', (code) => {
  try {
    port.postMessage([0, Reply.Died, { code, error: fatal && encodeThrown(fatal.error) }]);
  } finally {
    wake();
  }
});

let fn: ((...args: unknown[]) => unknown) | undefined;
let loadError: Error | undefined;
try {
  const ns = (await import(module!)) as Record<string, unknown>;
  const value = Object.hasOwn(ns, exportName) ? ns[exportName] : undefined;
  if (typeof value === 'function') fn = value as (...args: unknown[]) => unknown;
  else {
    const functions = Object.keys(ns).filter((k) => typeof ns[k] === 'function');
    loadError = new TypeError(
      `createSyncFn(): ${module} has no function exported as "${exportName}"` +
        (functions.length > 0 ? ` (its functions: ${functions.join(', ')})` : ' (it exports no functions)'),
    );
  }
} catch (err) {
  loadError = new Error(`createSyncFn(): ${module} could not be loaded: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
Atomics.store(state, Slot.Ready, 1);
wake();

function send(port: MessagePort, id: number, kind: ReplyKind, value: unknown): void {
  try {
    port.postMessage([id, kind, kind === Reply.Throw ? encodeThrown(value) : value]);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const e = new NotCloneableError(`the result of ${exportName}() could not be cloned (${reason})`);
    port.postMessage([id, Reply.Throw, encodeThrown(e)]);
  }
  wake();
}

/** Answers one request; false when the answer comes later (a promise). */
function handle([id, args]: Request): boolean {
  if (!fn) return (send(port, id, Reply.Throw, loadError), true);
  let result: unknown;
  try {
    result = fn(...args);
  } catch (err) {
    return (send(port, id, Reply.Throw, err), true);
  }
  if (result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function')) {
    Promise.resolve(result).then(
      (v) => (send(port, id, Reply.Return, v), spinForNext()),
      (e) => (send(port, id, Reply.Throw, e), spinForNext()),
    );
    return false;
  }
  send(port, id, Reply.Return, result);
  return true;
}

/**
 * After a reply the caller usually calls again soon: watch the request
 * counter for `spin` microseconds and take what comes straight off the port,
 * instead of sleeping in the event loop and paying its wake-up. Then return to
 * the loop, where a posted request wakes this thread as before.
 */
function spinForNext(): void {
  if (spin <= 0) return;
  let until = performance.now() + spin / 1000;
  let seenReq = Atomics.load(state, Slot.Req);
  // The clock is read every 64 turns: a read costs more than a turn.
  for (let n = 0; ; n++) {
    const req = Atomics.load(state, Slot.Req);
    if (req !== seenReq) {
      seenReq = req;
      const got = receiveMessageOnPort(port);
      if (got && !handle(got.message as Request)) return;
      until = performance.now() + spin / 1000;
    } else if ((n & 63) === 63 && performance.now() >= until) return;
  }
}

port.on('message', (request: Request) => {
  if (handle(request)) spinForNext();
});
