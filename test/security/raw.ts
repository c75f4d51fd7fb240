/**
 * A hostile client for the security tests: raw frames over a socket, each
 * message written by hand, replies matched to calls by id.
 */
import { MsgType } from '../../src/protocol.ts';
import { RawClient, frameOf, within } from '../streams/helpers.ts';

export type Reply = { t: number; i: number; v?: unknown; e?: { k: number; n?: string; m?: string } };

export interface Raw {
  client: RawClient;
  /** Sends a message as it is (no id added). */
  post(msg: Record<string, unknown>): void;
  /** Sends a call with the next id and resolves with its reply. */
  call(msg: Record<string, unknown>): Promise<Reply>;
  /** Calls the server made to this client, in order. */
  callsIn: Array<Record<string, unknown>>;
  close(): void;
}

export async function rawClient(address: string): Promise<Raw> {
  const client = await RawClient.open(address);
  await client.greet();
  let nextId = 1;
  const waiting = new Map<number, (r: Reply) => void>();
  const callsIn: Array<Record<string, unknown>> = [];
  client.onMessage = (m) => {
    const msg = m as Record<string, unknown>;
    if (msg.t === MsgType.Call) callsIn.push(msg);
    else waiting.get(msg.i as number)?.(msg as unknown as Reply);
  };
  return {
    client,
    callsIn,
    post: (msg) => client.write(frameOf(msg)),
    call(msg) {
      const i = nextId++;
      const reply = new Promise<Reply>((resolve) => waiting.set(i, resolve));
      client.write(frameOf({ t: MsgType.Call, p: [], a: [], ...msg, i }));
      return within(5000, `the reply to call ${i}`, reply);
    },
    close: () => client.destroy(),
  };
}
