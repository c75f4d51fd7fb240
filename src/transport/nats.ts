/**
 * A peer's channel over NATS: messages published to one subject, received
 * from another. One NATS message per farcall message, in our codec; buffers
 * marked with transfer() travel after the body, their lengths in a header, so
 * the body format (and framing) is the one every stream transport uses. The
 * NATS client already coalesces publishes of one tick into one write.
 *
 * Where the other side answers travels as the message's NATS reply subject,
 * not a header: a message without headers is the cheapest NATS carries, and a
 * plain call needs none. A call's deadline travels in a header, where NATS
 * tooling and other languages can read it without our codec.
 *
 * The channel does not subscribe itself: whoever owns the subscription (a
 * client's inbox, an instance's session subject shared by its clients) hands
 * each message to `deliver`, so one subscription can feed many channels.
 */
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { decodeMessage, encodeMessage } from '../codec/binary.ts';
import { ChannelClosedError, ProtocolError } from '../errors.ts';
import { MsgType, type Message } from '../protocol.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportCapabilities, TransportSink } from './types.ts';

/** Header giving a call's deadline: milliseconds the caller waits, from when it sent the call. */
export const DEADLINE_HEADER = 'Farcall-Deadline';
/** Header listing the byte lengths of out-of-band buffers after the body. */
const BUFFERS_HEADER = 'Farcall-Buffers';
/** Header saying the session is over (no body). */
export const BYE_HEADER = 'Farcall-Bye';
/**
 * Header of an instance going away: send no more calls, those sent are
 * served. The client answers with the same header once it has stopped, so the
 * instance knows every call it sent has arrived (NATS keeps one sender's order).
 */
export const DRAIN_HEADER = 'Farcall-Drain';
/** Header of a client's heartbeat, naming its session (its inbox). */
export const PING_HEADER = 'Farcall-Ping';

/** The headers factory of the NATS client library (passed in: this module never imports it). */
export type HeadersFactory = () => MsgHdrs;

/** What a NATS message hands `deliver`. */
export interface NatsInbound {
  readonly data: Uint8Array;
  readonly headers?: Pick<MsgHdrs, 'has' | 'get' | 'code'> | undefined;
}

/** Most bytes one message may carry by default: NATS's own default max_payload. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export class NatsTransport implements MessageTransport {
  readonly capabilities: TransportCapabilities;
  private sink: TransportSink | undefined;
  private closed = false;
  private readonly maxPayload: number;
  /** Told when the other side sends a drain notice (no body). */
  ondrain: ((reason: string) => void) | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly headers: HeadersFactory,
    /** Where this side publishes. */
    private readonly to: string,
    /** Where the other side answers this one, sent with every message (the instance side sends none: its client's inbox is fixed). */
    private readonly from: string | undefined,
    label: string,
  ) {
    this.capabilities = { transfer: true, ports: false, label };
    this.maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  start(sink: TransportSink): void {
    this.sink = sink;
  }

  send(msg: Message, transfer: readonly Transferable[] | undefined, onError: SendErrorHandler): void {
    if (this.closed) return onError(new ChannelClosedError(`the ${this.capabilities.label} is closed`), msg);
    try {
      let h: MsgHdrs | undefined;
      if (msg.t === MsgType.Call && msg.d !== undefined) {
        (h = this.headers()).set(DEADLINE_HEADER, String(msg.d));
        const { d: _, ...rest } = msg;
        msg = rest;
      }
      // Room for the headers: the limit is on the whole NATS message.
      const { body, buffers } = encodeMessage(msg, transfer, this.maxPayload - 512);
      let data = body;
      if (buffers.length > 0) {
        (h ??= this.headers()).set(BUFFERS_HEADER, buffers.map((b) => b.byteLength).join(','));
        data = concat(body, buffers);
      }
      this.nc.publish(this.to, data, { reply: this.from, headers: h });
    } catch (err) {
      onError(err, msg);
    }
  }

  /** One message from the subscription that feeds this channel. */
  deliver(m: NatsInbound): void {
    if (this.closed || !this.sink) return;
    // NATS itself says a message we sent found no subscriber: the other side's subject is gone.
    if (m.headers?.code === 503) return this.fail(new ChannelClosedError(`the ${this.capabilities.label} is gone (no responders)`));
    if (m.headers?.has(BYE_HEADER)) {
      return this.fail(new ChannelClosedError(`the ${this.capabilities.label} closed the session: ${m.headers.get(BYE_HEADER)}`));
    }
    if (m.headers?.has(DRAIN_HEADER)) return this.ondrain?.(m.headers.get(DRAIN_HEADER));
    let msg: Message;
    try {
      msg = split(m.data, m.headers?.get(BUFFERS_HEADER) ?? '');
      const deadline = m.headers?.get(DEADLINE_HEADER);
      if (deadline && msg.t === MsgType.Call) msg.d = Number(deadline);
    } catch (err) {
      return this.fail(err instanceof Error ? err : new ProtocolError(String(err)));
    }
    this.sink.message(msg);
  }

  /** Tells the other side the session is over (best effort: it may be gone). */
  sayBye(reason: string): void {
    this.signal(BYE_HEADER, reason);
  }

  /** Tells the other side to send no more calls (an instance), or that it has stopped (a client). */
  sayDrain(reason: string): void {
    this.signal(DRAIN_HEADER, reason);
  }

  private signal(header: string, value: string): void {
    if (this.closed || this.nc.isClosed()) return;
    const h = this.headers();
    h.set(header, value);
    try {
      this.nc.publish(this.to, new Uint8Array(0), { reply: this.from, headers: h });
    } catch {
      // The connection is going away too; the other side learns from that.
    }
  }

  /** Ends the channel and tells the peer above why (once). */
  fail(cause: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.sink?.close(cause);
  }

  close(): void {
    this.closed = true;
  }
}

function concat(body: Uint8Array, buffers: readonly ArrayBuffer[]): Uint8Array {
  let size = body.byteLength;
  for (const b of buffers) size += b.byteLength;
  const out = new Uint8Array(size);
  out.set(body, 0);
  let at = body.byteLength;
  for (const b of buffers) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

/** Splits a received payload into the body and its out-of-band buffers, and decodes it. */
function split(data: Uint8Array, lengths: string): Message {
  if (lengths === '') return decodeMessage(data, []) as Message;
  const sizes = lengths.split(',').map(Number);
  let total = 0;
  for (const n of sizes) {
    if (!Number.isSafeInteger(n) || n < 0) throw new ProtocolError(`bad ${BUFFERS_HEADER} header: ${lengths.slice(0, 80)}`);
    total += n;
  }
  const bodyEnd = data.byteLength - total;
  if (bodyEnd < 0) throw new ProtocolError(`the ${BUFFERS_HEADER} header claims more bytes than the message holds`);
  const buffers: ArrayBuffer[] = [];
  let at = bodyEnd;
  for (const n of sizes) {
    // A copy: the received payload's memory is the client's, and a buffer must be the callee's own.
    buffers.push(data.slice(at, at + n).buffer);
    at += n;
  }
  return decodeMessage(data, buffers, 0, bodyEnd) as Message;
}
