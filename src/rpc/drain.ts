/**
 * The Drain handshake (see DrainMsg in protocol.ts). A server going offline
 * sends Drain; each client stops sending new calls there and answers with
 * Drain. Once a client has answered, whatever it sent before has arrived
 * (the stream is ordered), so when the calls being served finish the
 * server may close without losing one.
 */
import { MsgType } from '../protocol.ts';
import type { Peer } from './peer.ts';

const noop = (): void => {};

/** Sends Drain on `peer` (a notice from a server, an answer from a client). */
export function sendDrain(peer: Peer): void {
  if (!peer.isClosed) peer.transport.send({ t: MsgType.Drain }, undefined, noop);
}

const answered = new WeakMap<Peer, () => void>();

/** A server's side heard Drain from its client: the answer to its notice, or nothing asked for. */
export function drainAnswered(peer: Peer): void {
  answered.get(peer)?.();
}

/** Sends Drain to a client; resolves when it answers or closes, or after `ms`, whichever is first. */
export function drainClient(peer: Peer, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      answered.delete(peer);
      resolve();
    }
    answered.set(peer, done);
    peer.onClose(done);
    sendDrain(peer);
  });
}
