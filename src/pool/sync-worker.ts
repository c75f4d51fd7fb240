/**
 * The thread behind a `createSyncFn()` function: loads the user's module,
 * then takes each request from the shared request mailbox, answers it in
 * the reply mailbox (or on the port, when it does not fit there) and bumps
 * the counter the blocked caller waits on. See sync.ts for the protocol.
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { encodeThrown } from '../codec/error.ts';
import { NotCloneableError } from '../errors.ts';
import { Reply, type Init, type ReplyKind, type Request } from './sync.ts';
import { Area, DOORBELL, SLOTS, Slot, SpinBudget } from './sync-channel.ts';

const [module] = process.argv.splice(2, 1);
const { port, shared, exportName, spin } = await new Promise<Init>((resolve) => parentPort!.once('message', resolve));
const state = new Int32Array(shared, 0, SLOTS);
const requests = new Area(shared, 'request');
const replies = new Area(shared, 'reply');
const budget = new SpinBudget(spin);

/** Tells the caller there is a reply (or that the module is loaded). */
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
    Atomics.store(state, Slot.Dead, 1);
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

function send(id: number, kind: ReplyKind, value: unknown): void {
  const body = kind === Reply.Throw ? encodeThrown(value) : value;
  // The reply area is free unless the caller has not yet read a late reply of a call it gave up on.
  let n = -1;
  if (Atomics.load(state, Slot.RepFull) === 0) {
    try {
      n = replies.write([body]);
    } catch {
      // A getter that throws: structured clone below says what went wrong.
    }
  }
  if (n >= 0) {
    state[Slot.RepId] = id;
    state[Slot.RepKind] = kind;
    state[Slot.RepLen] = n;
    Atomics.store(state, Slot.RepFull, 1);
  } else {
    try {
      port.postMessage([id, kind, body]);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const e = new NotCloneableError(`the result of ${exportName}() could not be cloned (${reason})`);
      port.postMessage([id, Reply.Throw, encodeThrown(e)]);
    }
  }
  wake();
}

/** Answers one request; false when the answer comes later (a promise). */
function handle(id: number, args: unknown[]): boolean {
  if (!fn) return (send(id, Reply.Throw, loadError), true);
  let result: unknown;
  try {
    result = fn(...args);
  } catch (err) {
    return (send(id, Reply.Throw, err), true);
  }
  if (result instanceof Promise || (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function')) {
    Promise.resolve(result).then(
      (v) => (send(id, Reply.Return, v), serve()),
      (e) => (send(id, Reply.Throw, e), serve()),
    );
    return false;
  }
  send(id, Reply.Return, result);
  return true;
}

/**
 * Requests that came over the port, in order. Some may be older than the
 * mailbox's: requests the caller withdrew when they timed out before this
 * thread took them.
 */
const posted: Request[] = [];

/** The request `id` from the port, dropping the withdrawn ones before it. */
function fromPort(id: number): unknown[] {
  for (;;) {
    let r = posted.shift();
    if (r === undefined) {
      // The caller posts before it fills the mailbox, so the message is there.
      const got = receiveMessageOnPort(port);
      if (got === undefined) continue;
      if (!Array.isArray(got.message)) continue; // a doorbell
      r = got.message as Request;
    }
    if (r[0] === id) return r[1];
  }
}

const Taken = { None: 0, Answered: 1, Later: 2 } as const;

/** What the caller said of the last request: whether it spins for the answer, and how long it took to call after its last answer. */
let callerSpins = false;
let callerGapUs = Infinity;

/**
 * How long to spin for the next request after answering one. Not at all
 * when the caller took longer than the bound to call again last time (it
 * does other work between calls). The full bound when the caller spins for
 * its answers: it sees this one at once and, calling in a loop, calls again
 * at once. Otherwise the caller sleeps, and whether the spin covers its
 * wake-up is what this side's own budget learns.
 */
function spinForNext(): { us: number; adaptive: boolean } {
  if (spin === 0 || callerGapUs > spin) return { us: 0, adaptive: false };
  if (callerSpins) return { us: spin, adaptive: false };
  return { us: budget.next(), adaptive: true };
}

/** Takes the request in the mailbox, if there is one, and answers it (or starts to). */
function take(): (typeof Taken)[keyof typeof Taken] {
  if (Atomics.compareExchange(state, Slot.ReqFull, 1, 2) !== 1) return Taken.None;
  const id = state[Slot.ReqId]!;
  const n = state[Slot.ReqLen]!;
  callerSpins = state[Slot.ReqSpins] === 1;
  callerGapUs = state[Slot.ReqGap]!;
  let args: unknown[];
  if (n >= 0) {
    args = requests.read(n);
    while (posted.length > 0 && posted[0]![0] < id) posted.shift();
    Atomics.store(state, Slot.ReqFull, 0);
  } else {
    Atomics.store(state, Slot.ReqFull, 0);
    args = fromPort(id);
  }
  return handle(id, args) ? Taken.Answered : Taken.Later;
}

/**
 * Answers what is in the mailbox, then watches it for `spin` microseconds:
 * the caller usually calls again soon, and a spinning thread sees it at
 * once where a sleeping one takes tens of microseconds to wake. Then it
 * parks (returns to the event loop), saying so, so that the next request
 * rings it over the port. Parked is set before the mailbox is looked at
 * once more, and the caller fills the mailbox before it looks at Parked:
 * one of the two always sees the other. A promise's answer needs the event
 * loop, so after starting one it parks at once.
 */
function serve(): void {
  Atomics.store(state, Slot.Parked, 0);
  let answered = false;
  for (;;) {
    const taken = take();
    if (taken === Taken.Answered) {
      answered = true;
      continue;
    }
    // Woken for nothing (a doorbell whose request was taken while spinning): nothing to spin for.
    const next = taken === Taken.None && answered ? spinForNext() : { us: 0, adaptive: false };
    answered = false;
    if (next.us > 0) {
      const until = performance.now() + next.us / 1000;
      // The clock is read every 64 turns: a read costs more than a turn.
      for (let n = 0; Atomics.load(state, Slot.ReqFull) !== 1; n++) {
        if ((n & 63) === 63 && performance.now() >= until) break;
      }
      const caught = Atomics.load(state, Slot.ReqFull) === 1;
      if (next.adaptive) budget.spun(caught);
      if (caught) continue;
    }
    Atomics.store(state, Slot.Parked, 1);
    if (Atomics.load(state, Slot.ReqFull) !== 1) return;
    Atomics.store(state, Slot.Parked, 0);
  }
}

port.on('message', (message: Request | typeof DOORBELL) => {
  if (message !== DOORBELL) posted.push(message);
  serve();
});
serve();
