import { MessageChannel, parentPort } from 'node:worker_threads';
import type { TransferHandlerMap } from './codec/handlers.ts';
import { describe } from './codec/marks.ts';
import { Peer } from './rpc/peer.ts';
import { createRemote, type Remote } from './rpc/remote.ts';
import { PortTransport, isPortLike, type PortLike } from './transport/port.ts';

/** Options for `expose` and `wrap` on a port endpoint. */
export interface EndpointOptions {
  /** Transfer handlers for this endpoint only, looked up before the global `transferHandlers`. */
  transferHandlers?: TransferHandlerMap;
  /** Default deadline for every call made through this endpoint, in milliseconds. */
  timeout?: number;
}

/** One peer per endpoint, so `expose` and `wrap` on the same port share it. */
const peers = new WeakMap<object, Peer>();

function peerFor(ep: PortLike, options: EndpointOptions | undefined): Peer {
  const existing = peers.get(ep);
  if (existing && !existing.isClosed) return existing;
  const peer = new Peer(new PortTransport(ep), {
    ...options,
    createEndpoint: (value) => {
      const { port1, port2 } = new MessageChannel();
      expose(value, port1, options);
      return port2;
    },
  });
  peers.set(ep, peer);
  peer.onClose(() => {
    if (peers.get(ep) === peer) peers.delete(ep);
  });
  return peer;
}

function checkEndpoint(fn: string, ep: unknown): asserts ep is PortLike {
  if (!isPortLike(ep)) {
    throw new TypeError(
      `${fn}() expects a Worker, MessagePort, parentPort, or an object with postMessage() and ` +
        `addEventListener()/removeEventListener(); got ${describe(ep)}`,
    );
  }
}

function checkOptions(fn: string, options: unknown): asserts options is EndpointOptions | undefined {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new TypeError(`${fn}() options must be an object, got ${describe(options)}`);
  const o = options as EndpointOptions;
  if (o.transferHandlers !== undefined && !(o.transferHandlers instanceof Map)) {
    throw new TypeError(`${fn}() option transferHandlers must be a Map of name to handler`);
  }
  if (o.timeout !== undefined && !(typeof o.timeout === 'number' && o.timeout >= 0 && Number.isFinite(o.timeout))) {
    throw new TypeError(`${fn}() option timeout must be a non-negative number of milliseconds, got ${describe(o.timeout)}`);
  }
}

/**
 * Serves `value` on `endpoint` (default: `parentPort` inside a worker).
 * The other side reaches its own properties and class-prototype methods,
 * nothing inherited from Object or Function.
 *
 * The third argument may be comlink's `allowedOrigins` array, which has no
 * meaning in Node and is ignored.
 */
export function expose(value: unknown, endpoint?: PortLike | null, options?: EndpointOptions | readonly unknown[]): void {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new TypeError(`expose() expects an object or a function to serve, got ${describe(value)}`);
  }
  const ep = endpoint ?? parentPort;
  if (ep === null) {
    throw new TypeError('expose() needs an endpoint outside a worker thread: pass a Worker, MessagePort or Endpoint');
  }
  checkEndpoint('expose', ep);
  const opts = Array.isArray(options) ? undefined : (options as EndpointOptions | undefined);
  checkOptions('expose', opts);
  peerFor(ep, opts).expose(value);
}

/**
 * A typed proxy for what the other side of `endpoint` exposed. Calls return
 * promises; they reject (never hang) if the other side exits or the
 * endpoint closes.
 */
export function wrap<T>(endpoint: PortLike, options?: EndpointOptions): Remote<T> {
  checkEndpoint('wrap', endpoint);
  checkOptions('wrap', options);
  return createRemote<T>(peerFor(endpoint, options), 0);
}
