import type { Remote } from '../rpc/remote.ts';
import type { MemberControl } from './control.ts';
import { startHost, type Host } from './host.ts';
import type { PoolSettings } from './options.ts';

/** Why a worker left the pool. */
export type WorkerExitReason =
  /** Idle longer than `idleTimeout`, above `minThreads`. */
  | 'idle'
  /** Its heap went over `maxMemory`; it finished its tasks first. */
  | 'memory'
  /** It exited, was killed or threw an uncaught error on its own. */
  | 'crash'
  /** It died before the module had loaded. */
  | 'start-failed'
  /** A task it ran was aborted or timed out, with `terminateOnAbort`. */
  | 'aborted'
  | 'closed'
  | 'destroyed';

/** What the pool's `workerExit` event carries. */
export interface WorkerExit {
  /** threadId or pid. */
  id: number;
  reason: WorkerExitReason;
  /** Why it died, for 'crash' and 'start-failed'. */
  error?: Error;
}

/**
 * One worker of a pool and its share of the pool's work: how many tasks it
 * holds, whether it still takes new ones, how long it has been busy.
 */
export class Member {
  readonly host: Host;
  /** Tasks placed here whose slot is not free yet. */
  busy = 0;
  /** 'retiring' takes no new tasks and stops once `busy` is 0. */
  state: 'live' | 'retiring' | 'gone' = 'live';
  /** Set once the module has loaded. */
  control: Remote<MemberControl> | undefined;
  readyAt = Infinity;
  /** Set when the pool stops it; absent when it died by itself. */
  stopReason: WorkerExitReason | undefined;
  exitCause: Error | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  sampling = false;
  sampledAt = -Infinity;
  private busySince = 0;
  private busyTotal = 0;
  private referenced = false;

  /** `onIdle` runs when the caller stops using the worker outside of tasks (see `idle`). */
  constructor(href: string, settings: PoolSettings, onLost: (m: Member, cause: Error) => void, onIdle: (m: Member) => void) {
    this.host = startHost(href, settings);
    this.host.peer.onActivity(() => {
      this.updateRef();
      if (this.idle) onIdle(this);
    });
    this.host.peer.expose({
      attach: (control: Remote<MemberControl>) => {
        this.control = control;
        this.readyAt = performance.now();
      },
    });
    this.host.peer.onClose((cause) => {
      this.state = 'gone';
      this.exitCause = cause;
      clearTimeout(this.idleTimer);
      if (this.busy > 0) this.busyTotal += performance.now() - this.busySince;
      onLost(this, cause);
    });
  }

  get ready(): boolean {
    return this.control !== undefined;
  }

  /**
   * No task here, no call of the caller's on a proxy to an object here in
   * flight, and no such proxy held: the worker may be stopped. An object a
   * task returned by reference lives as long as the caller holds its proxy,
   * as over spawn() or wrap().
   */
  get idle(): boolean {
    // The pool's own proxy to the worker (`control`) does not count.
    const held = this.host.peer.heldHandles - (this.control ? 1 : 0);
    return this.busy === 0 && this.host.peer.pendingCalls === 0 && held === 0;
  }

  acquire(): void {
    clearTimeout(this.idleTimer);
    if (this.busy++ === 0) {
      this.busySince = performance.now();
      this.updateRef();
    }
  }

  release(): void {
    if (--this.busy > 0 || this.state === 'gone') return;
    this.busyTotal += performance.now() - this.busySince;
    this.updateRef();
  }

  /** A worker this process waits on keeps it alive: a task, or any call to it in flight (on a proxy it returned, say). */
  private updateRef(): void {
    const want = this.state !== 'gone' && (this.busy > 0 || this.host.peer.pendingCalls > 0);
    if (want === this.referenced) return;
    this.referenced = want;
    if (want) this.host.ref();
    else this.host.unref();
  }

  /** Milliseconds this worker has held at least one task. */
  busyMs(): number {
    return this.busyTotal + (this.busy > 0 && this.state !== 'gone' ? performance.now() - this.busySince : 0);
  }

  /**
   * Resolves once the worker can take work again: its event loop answered,
   * so a synchronous task it was running has returned.
   */
  whenResponsive(): Promise<void> {
    if (!this.control || this.state === 'gone') return Promise.resolve();
    return this.control.ping().then(
      () => {},
      () => {},
    );
  }

  stop(reason: WorkerExitReason): Promise<void> {
    this.retire(reason);
    return this.host.stop();
  }

  kill(reason: WorkerExitReason): Promise<void> {
    this.retire(reason);
    return this.host.kill();
  }

  retire(reason: WorkerExitReason): void {
    this.stopReason ??= reason;
    if (this.state === 'live') this.state = 'retiring';
  }

  /** Why a task it held did not finish, once it is gone. */
  describeLoss(): string {
    switch (this.stopReason) {
      case 'destroyed':
        return 'the pool was destroyed while it ran';
      case 'aborted':
        return `its worker (${this.host.name}) was terminated because a task on it was aborted or timed out (terminateOnAbort)`;
      default:
        return this.ready
          ? `its worker (${this.host.name}) ${exitText(this.exitCause)}`
          : `its worker (${this.host.name}) failed to load the module: ${exitText(this.exitCause)}`;
    }
  }
}

function exitText(cause: Error | undefined): string {
  if (!cause) return 'stopped';
  if (hasCode(cause, 'ERR_WORKER_OUT_OF_MEMORY')) return 'ran out of memory (over its resourceLimits)';
  const m = /^(?:worker|child process) (.*)$/s.exec(cause.message);
  return m ? m[1]! : `lost its connection: ${cause.message}`;
}

function hasCode(err: unknown, code: string): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}
