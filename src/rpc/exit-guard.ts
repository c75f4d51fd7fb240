import { ChannelClosedError } from '../errors.ts';

/** What the guard needs of a peer. */
interface Guarded {
  readonly label: string;
  readonly pendingCalls: number;
  close(cause: Error): void;
}

/** Peers with calls awaiting an answer. */
const waiting = new Set<Guarded>();
let installed = false;

/**
 * The event loop ran dry while calls were pending: nothing keeps their
 * channel open (an unref()'d worker, port or socket), so their answers can
 * never come. Without this the process would exit in silence (code 13 under
 * a top-level await, 0 otherwise) with the calls unanswered; rejecting them
 * lets the caller see why, or fail loudly as an unhandled rejection.
 */
function onBeforeExit(): void {
  for (const peer of [...waiting]) {
    const n = peer.pendingCalls;
    peer.close(
      new ChannelClosedError(
        `the process was about to exit with ${n === 1 ? 'a call' : `${n} calls`} to the ${peer.label} unanswered: ` +
          `nothing keeps that channel open (was the worker, port or socket unref()'d?)`,
      ),
    );
  }
}

/** Called when a peer's first call goes out and when its last answer comes. */
export function pendingChanged(peer: Guarded): void {
  if (peer.pendingCalls === 0) {
    waiting.delete(peer);
    return;
  }
  waiting.add(peer);
  if (!installed) {
    installed = true;
    process.on('beforeExit', onBeforeExit);
  }
}
