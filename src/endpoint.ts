import { MessageChannel, parentPort } from 'node:worker_threads';
import { describe } from './codec/marks.ts';
import { checkOptionNames, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from './options.ts';
import { adaptedPort } from './node-adapter.ts';
import type { Metrics } from './metrics/metrics.ts';
import { peerGovernor, sideGovernor, type Governor } from './rpc/govern.ts';
import { Peer } from './rpc/peer.ts';
import type { Schemas } from './rpc/validation.ts';
import { createRemote, type Remote } from './rpc/remote.ts';
import { PortTransport, isPortLike, type PortLike } from './transport/port.ts';

/** Options for `expose` and `wrap` on a port endpoint. */
export interface EndpointOptions extends PeerSettings {
  /** expose() only: a Standard Schema per method checking its arguments before it runs (see README, validation). */
  schemas?: Schemas;
  /** Metrics to record into; read them with its `stats()`. (`true` has nowhere to be read here.) */
  metrics?: Metrics | boolean;
}

/** Every option expose() and wrap() take: add a name here when you add one to EndpointOptions. */
const ENDPOINT_OPTIONS = { ...PEER_OPTIONS, schemas: true } as const satisfies OptionNames<EndpointOptions>;

/** One peer per endpoint, so `expose` and `wrap` on the same port share it. */
const peers = new WeakMap<object, Peer>();

function peerFor(given: PortLike, options: EndpointOptions | undefined, governor?: Governor): Peer {
  // comlink's Node adapter is seen through: the port itself tells when the worker exits.
  const ep = (adaptedPort(given) as PortLike | undefined) ?? given;
  const existing = peers.get(ep);
  if (existing && !existing.isClosed) return existing;
  const { use, metrics, schemas, ...settings } = options ?? {};
  const peer = new Peer(new PortTransport(ep), {
    ...settings,
    governor,
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

/** True once something is exposed on `endpoint`. */
export function isExposed(endpoint: PortLike): boolean {
  return peers.get(endpoint)?.isServing ?? false;
}

/** Inside a child started by `spawn()`, where `expose(value)` with no endpoint serves. */
let defaultExposer: ((value: unknown) => void) | undefined;

/** Makes `expose(value)` without an endpoint serve through `fn` (the child process entry uses it). */
export function setDefaultExposer(fn: (value: unknown) => void): void {
  defaultExposer = fn;
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
  if (endpoint == null && parentPort === null && defaultExposer) {
    defaultExposer(value);
    return;
  }
  const ep = endpoint ?? parentPort;
  if (ep === null) {
    throw new TypeError('expose() needs an endpoint outside a worker thread or a spawned child: pass a Worker, MessagePort or Endpoint');
  }
  checkEndpoint('expose', ep);
  const opts = Array.isArray(options) ? undefined : (options as EndpointOptions | undefined);
  checkOptionNames('expose', opts, ENDPOINT_OPTIONS);
  checkPeerSettings('expose', opts);
  const server = opts && sideGovernor('expose', endpointGovern('expose', opts), undefined, value);
  peerFor(ep, opts, peerGovernor('server', server)).expose(value);
}

/**
 * A typed proxy for what the other side of `endpoint` exposed. Calls return
 * promises; they reject (never hang) if the other side exits or the
 * endpoint closes.
 */
export function wrap<T>(endpoint: PortLike, options?: EndpointOptions): Remote<T> {
  checkEndpoint('wrap', endpoint);
  checkOptionNames('wrap', options, ENDPOINT_OPTIONS);
  checkPeerSettings('wrap', options);
  if (options?.schemas !== undefined) throw new TypeError('wrap() has no option schemas: schemas check arguments where the api is served; pass them to expose()');
  const client = options && sideGovernor('wrap', endpointGovern('wrap', options));
  return createRemote<T>(peerFor(endpoint, options, peerGovernor('client', client)), 0);
}

function endpointGovern(fn: string, o: EndpointOptions): EndpointOptions {
  if (o.metrics === true) throw new TypeError(`${fn}() option metrics: true would record where nothing reads it; pass a Metrics (new Metrics()) and read its stats()`);
  return o;
}
