/**
 * The client side of one socket, as connect() and connect({ service }) both
 * open it: the transport (with the auth handshake), the peer with its
 * middleware and metrics, and the keep-alive ping. Kept in one place so that
 * a connection to a service's instance can do all that a plain connect() can.
 */
import type net from 'node:net';
import { describe } from './codec/marks.ts';
import { checkMs, checkPeerSettings, PEER_OPTIONS, type OptionNames, type PeerSettings } from './options.ts';
import { MsgType } from './protocol.ts';
import { peerGovernor, type SideGovernor } from './rpc/govern.ts';
import { Peer } from './rpc/peer.ts';
import { checkAuth, Handshake, type ClientAuth } from './transport/auth.ts';
import { checkLimits, STREAM_LIMIT_OPTIONS } from './transport/socket.ts';
import { StreamTransport, type StreamLimits } from './transport/stream.ts';

export interface ClientPeerSettings extends PeerSettings, StreamLimits {
  /** What this side serves to the server (callbacks passed with `proxy()` work without it). */
  expose?: object;
  /**
   * Proves this client holds the server's secret, and checks the server
   * holds it too, before any call: `{ secret, keyId? }`. A wrong or missing
   * secret rejects with AuthenticationError.
   */
  auth?: ClientAuth;
  /**
   * Milliseconds between keep-alive pings, so that a server's idleTimeout
   * does not close a connection that is only quiet. Sent only to a server
   * whose hello says it understands them. Default 10,000; 0 sends none.
   */
  pingInterval?: number;
}

/** The option names of ClientPeerSettings, for each entry point's check of the names it takes. */
export const CLIENT_PEER_OPTIONS = { ...PEER_OPTIONS, ...STREAM_LIMIT_OPTIONS, expose: true, auth: true, pingInterval: true } as const satisfies OptionNames<ClientPeerSettings>;

/** Checks the values of the settings (their names are the entry point's to check); `fn` names the entry point in errors. */
export function checkClientPeerSettings(fn: string, options: ClientPeerSettings): void {
  checkPeerSettings(fn, options);
  checkLimits(fn, options);
  if (options.expose !== undefined && (typeof options.expose !== 'object' || options.expose === null) && typeof options.expose !== 'function') {
    throw new TypeError(`${fn}() option expose must be an object or a function, got ${describe(options.expose)}`);
  }
  checkAuth(fn, 'client', options.auth);
  checkMs(fn, 'pingInterval', options.pingInterval);
}

export interface ClientPeerPlace {
  /** How errors name the other side: 'server at /run/kv.sock'. */
  label: string;
  /** The connection's middleware and metrics, shared by every socket it opens. */
  governor: SideGovernor | undefined;
  /** The server is going offline (it sent Drain). */
  onDrain: (peer: Peer) => void;
}

/** Opens the client side on `socket`; resolves once the handshake is done (and closes the peer when it fails). */
export async function openClientPeer(socket: net.Socket, settings: ClientPeerSettings, place: ClientPeerPlace): Promise<Peer> {
  const { maxMessageSize, maxWriteBuffer, helloTimeout, maxInFlight, maxMessageItems, auth } = settings;
  const transport = new StreamTransport(socket, socket, {
    label: place.label,
    maxMessageSize,
    maxWriteBuffer,
    helloTimeout,
    maxInFlight,
    maxMessageItems,
    auth: auth && new Handshake('client', auth),
  });
  const peer: Peer = new Peer(transport, {
    timeout: settings.timeout,
    transferHandlers: settings.transferHandlers,
    maxInFlight,
    streamWindow: settings.streamWindow,
    governor: peerGovernor('client', place.governor),
    onDrain: () => place.onDrain(peer),
  });
  const bytes = place.governor?.metrics?.countBytes(() => ({ bytesIn: socket.bytesRead, bytesOut: socket.bytesWritten }));
  if (bytes) peer.onClose(() => bytes.retire());
  if (settings.expose !== undefined) peer.expose(settings.expose);
  try {
    await transport.ready;
  } catch (err) {
    peer.close();
    throw err;
  }
  const every = settings.pingInterval ?? 10_000;
  // A server from before Ping would drop the connection on the first one.
  if (every > 0 && transport.understands('ping')) {
    const pinger = setInterval(() => transport.send({ t: MsgType.Ping }, undefined, () => {}), every).unref();
    peer.onClose(() => clearInterval(pinger));
  }
  return peer;
}
