import type { MessagePort } from 'node:worker_threads';
import type { TransferHandlerMap } from '../codec/handlers.ts';
import type { Governor } from './govern.ts';
import type { SetGuard } from './set-guard.ts';
import type { StreamWindow } from './streams.ts';

export type { CallOptions } from './types.ts';

/** What a peer (rpc/peer.ts) is told when it is made (what one call may carry is in types.ts). */

export interface PeerOptions {
  /** Transfer handlers for this connection only (looked up before the global map). */
  transferHandlers?: TransferHandlerMap;
  /** Default deadline for every call, in milliseconds. */
  timeout?: number;
  /**
   * Most objects this side keeps alive for the other side (values it passed
   * by reference and has not seen released), and most proxies for the other
   * side's objects (callbacks it passed in) alive here. A limit for untrusted peers.
   */
  maxHandles?: number;
  /**
   * The exposed value is shared with other connections (a server's api):
   * the other side releasing it ends only this connection and never runs
   * its `[finalizer]`.
   */
  sharedRoot?: boolean;
  /**
   * Most calls from the other side served at once (results still pending).
   * One past it is answered at once with a QueueFullError rather than
   * queued: queuing would mean buffering or pausing the channel, and a
   * paused channel would also hold back the replies to this side's own
   * calls (a callee awaiting the caller's callback would deadlock).
   */
  maxInFlight?: number;
  /** Whether an error this side throws travels with its stack (default true). */
  errorStacks?: boolean;
  /** Serves `remote[createEndpoint]()`: a new port exposing `value`. */
  createEndpoint?: (value: unknown) => MessagePort;
  /** The other side sent Drain (see protocol.ts): a notice to a client, an answer to a server. */
  onDrain?: () => void;
  /** How far a stream's producer may run ahead of this side consuming it. */
  streamWindow?: StreamWindow;
  /** Middleware, validation and metrics around this side's calls and the calls it serves (rpc/govern.ts). */
  governor?: Governor;
  /** Checks each property set from the other side (see set-guard.ts); none means any set the path guard allows. */
  guardSet?: SetGuard;
}
