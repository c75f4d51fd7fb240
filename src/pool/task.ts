import { CallAbortedError, CallTimeoutError, ChannelClosedError, QueueFullError } from '../errors.ts';
import { formatPath } from '../rpc/path.ts';
import type { Member } from './member.ts';

/** One call of the pool's api, from the call until its caller has an answer. */
export interface Task {
  readonly path: string[];
  readonly args: unknown[];
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly calledAt: number;
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** Captured at the call: the task may run later, outside the caller's async context. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Set once placed on a worker. */
  member?: Member;
  startedAt?: number;
  /** Cancels the call on its worker when the caller gives up. */
  controller?: AbortController;
  /** The caller was answered (aborted, timed out) while the worker still runs it. */
  abandoned?: boolean;
  settled?: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

/** Answers the caller once; its deadline and abort listener go. */
export function settle(task: Task, ok: boolean, value: unknown): void {
  if (task.settled) return;
  task.settled = true;
  clearTimeout(task.timer);
  if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
  if (ok) task.resolve(value);
  else task.reject(value);
}

// ---- what the caller is told ------------------------------------------------------

export function queueFull(path: string[], maxQueue: number): QueueFullError {
  return new QueueFullError(
    `${formatPath(path)}() was refused: the pool's queue is full (maxQueue ${maxQueue}, every worker busy); ` +
      `wait for the pool's 'drain' event or raise maxQueue`,
  );
}

/** The caller stopped waiting; the words say where the task was. */
export function gaveUp(task: Task, why: 'timeout' | 'abort'): Error {
  const fn = formatPath(task.path);
  const where = task.member ? `while running on ${task.member.host.name}` : `while waiting in the pool's queue`;
  return why === 'timeout'
    ? new CallTimeoutError(`${fn}() timed out after ${task.timeout} ms ${where}`)
    : new CallAbortedError(`${fn}() was aborted ${where}`, { cause: task.signal!.reason });
}

/** The task's worker went away under it. */
export function lostWith(task: Task, m: Member, cause: unknown): ChannelClosedError {
  return new ChannelClosedError(`${formatPath(task.path)}() did not finish: ${m.describeLoss()}`, { cause });
}

/** The task never reached a worker. */
export function neverRan(task: Task, why: string, cause?: unknown): ChannelClosedError {
  return new ChannelClosedError(`${formatPath(task.path)}() did not run: ${why}`, cause === undefined ? undefined : { cause });
}
