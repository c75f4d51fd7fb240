/**
 * What a callee may know about the call it serves: which client made it.
 * Read synchronously, like currentSignal(), at the start of the exposed
 * function, before any `await`.
 */
import { servingPeer, type Peer } from './peer.ts';

/** One client of a server: the same object for all its calls, from 'connection' to 'disconnect'. */
export interface ClientInfo {
  /** Unique among this process's clients. */
  readonly id: number;
  /** Where it connected from: host:port over TCP, the socket path over a Unix socket. */
  readonly remoteAddress: string;
  readonly connectedAt: Date;
  /** Closes this client's connection (its pending calls reject on its side). */
  close(): void;
}

/** The call being served. */
export interface CallContext {
  /** The client that made it; undefined when the caller is not a client of a server (a worker's parent, say). */
  readonly client: ClientInfo | undefined;
}

const clients = new WeakMap<Peer, ClientInfo>();
const peers = new WeakMap<ClientInfo, Peer>();
let nextClientId = 1;

/** The client object a server hands out for `peer`. */
export function clientOf(peer: Peer, remoteAddress: string): ClientInfo {
  const client: ClientInfo = Object.freeze({
    id: nextClientId++,
    remoteAddress,
    connectedAt: new Date(),
    close: () => peer.close(),
  });
  clients.set(peer, client);
  peers.set(client, peer);
  return client;
}

/** The connection behind a client object (for a server's own bookkeeping, like draining). */
export const peerOf = (client: ClientInfo): Peer | undefined => peers.get(client);

/**
 * The context of the call now being served. Call it synchronously at the
 * start of an exposed function, before any `await`.
 *
 * ```ts
 * const api = { hello() { return `hello, client ${currentCall().client?.id}`; } };
 * ```
 */
export function currentCall(): CallContext {
  const peer = servingPeer();
  if (!peer) throw new Error('currentCall() must be called synchronously at the start of a function farcall is calling, before any await');
  return { client: clients.get(peer) };
}
