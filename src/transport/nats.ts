/**
 * A peer's channel over NATS: messages published to one subject, received
 * from another, in our codec. The messages one tick sends share one NATS
 * message (their byte lengths in a header): every NATS message costs the
 * servers routing and both clients parsing, and under load that, not our
 * codec, is the cost per call. A message with buffers marked with transfer()
 * travels alone, the buffers after the body and their lengths in a header.
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
import { appendCompact, type Output } from '../codec/compact-encode.ts';
import { ChannelClosedError, ProtocolError } from '../errors.ts';
import { MsgType, fromTuple, ownLists, toTuple, type Message } from '../protocol.ts';
import { TickFlush } from './tick-flush.ts';
import type { MessageTransport, SendErrorHandler, Transferable, TransportCapabilities, TransportSink } from './types.ts';

/** Header giving a call's deadline: milliseconds the caller waits, from when it sent the call (in a batch, one per message, empty for none). */
export const DEADLINE_HEADER = 'Farcall-Deadline';
/** Header listing the byte lengths of out-of-band buffers after the body. */
const BUFFERS_HEADER = 'Farcall-Buffers';
/** Header listing the byte lengths of the messages a batch holds, in order. */
const BATCH_HEADER = 'Farcall-Batch';
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
/** Most messages one batch holds: its headers list each one's length and deadline. */
const MAX_BATCH = 512;
/** Bytes of a NATS message kept for our headers (a full batch's lists fit): the limit is on headers and body together. */
const HEADER_ROOM = 16 * 1024;
/** Bytes a channel's batch buffer starts with, and the most it keeps between ticks (an instance has one channel per client). */
const BATCH_START = 1024;
const BATCH_KEPT = 64 * 1024;

export class NatsTransport implements MessageTransport {
  readonly capabilities: TransportCapabilities;
  private sink: TransportSink | undefined;
  private closed = false;
  private readonly maxPayload: number;
  /**
   * The messages sent this tick, not yet published, encoded one after
   * another into one buffer (plain calls and returns straight from the
   * encoder, as on a stream), and their byte lengths.
   */
  private readonly out: Output = { buf: Buffer.allocUnsafeSlow(BATCH_START), start: 0, pos: 0 };
  private sizes: number[] = [];
  /** Deadlines of the batch's calls by position, when any has one. */
  private deadlines: Array<number | undefined> | undefined;
  private readonly flusher = new TickFlush(() => this.flush());
  /** Told when the other side sends a drain notice (no body). */
  ondrain: ((reason: string) => void) | undefined;
  /** Bytes of the NATS messages' bodies received and sent (headers not counted), for metrics. */
  bytesIn = 0;
  bytesOut = 0;

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
    const limit = this.maxPayload - HEADER_ROOM;
    try {
      let deadline: number | undefined;
      if (msg.t === MsgType.Call && msg.d !== undefined) {
        ({ d: deadline, ...msg } = msg);
      }
      const tuple = toTuple(msg);
      const mark = this.out.pos;
      if (transfer === undefined && tuple !== msg && appendCompact(this.out, tuple as unknown[], ownLists(tuple as unknown[]))) {
        // Too big: encodeMessage below says so, naming the limit.
        if (this.out.pos - mark <= limit) return this.added(mark, deadline);
        this.out.pos = mark;
      }
      const { body, buffers } = encodeMessage(tuple, transfer, limit);
      if (buffers.length > 0) return this.publishAlone(body, buffers, deadline);
      this.room(body.byteLength);
      this.out.buf.set(body, mark);
      this.out.pos = mark + body.byteLength;
      this.added(mark, deadline);
    } catch (err) {
      // The codec names the stream transports' option; here the limit is the NATS server's.
      const tooBig = err instanceof ProtocolError && err.message.includes('exceeds maxMessageSize');
      onError(tooBig ? new ProtocolError(err.message.replace(/maxMessageSize \((\d+) bytes\)/, `what one NATS message may carry ($1 bytes: the server's max_payload, ${this.maxPayload}, less room for headers)`)) : err, msg);
    }
  }

  /** Grows the batch buffer to take `n` more bytes. */
  private room(n: number): void {
    const { out } = this;
    if (out.pos + n <= out.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(out.buf.length * 2, out.pos + n));
    out.buf.copy(next, 0, 0, out.pos);
    out.buf = next;
  }

  /** The message from `mark` to the buffer's end joins the batch; one that would make it too big starts the next. */
  private added(mark: number, deadline: number | undefined): void {
    const size = this.out.pos - mark;
    if (this.sizes.length === MAX_BATCH || (this.sizes.length > 0 && this.out.pos > this.maxPayload - HEADER_ROOM)) {
      this.publishBatch(mark);
      this.out.buf.copyWithin(0, mark, mark + size);
      this.out.pos = size;
    }
    this.sizes.push(size);
    if (deadline !== undefined) (this.deadlines ??= [])[this.sizes.length - 1] = deadline;
    this.flusher.schedule();
  }

  private publishAlone(body: Uint8Array, buffers: readonly ArrayBuffer[], deadline: number | undefined): void {
    this.flush();
    const h = this.headers();
    h.set(BUFFERS_HEADER, buffers.map((b) => b.byteLength).join(','));
    if (deadline !== undefined) h.set(DEADLINE_HEADER, String(deadline));
    this.publish(concat(body, buffers), h);
  }

  /** Publishes the tick's messages: alone without headers when there is one (the common sequential call), else as a batch. */
  private flush(): void {
    if (this.sizes.length === 0) return;
    this.publishBatch(this.out.pos);
    this.out.pos = 0;
    if (this.out.buf.length > BATCH_KEPT) this.out.buf = Buffer.allocUnsafeSlow(BATCH_START);
  }

  /** Publishes the batch's messages, the first `end` bytes of the buffer (a copy: the NATS client may hold it until it writes). */
  private publishBatch(end: number): void {
    const { sizes, deadlines } = this;
    this.sizes = [];
    this.deadlines = undefined;
    const data = Buffer.allocUnsafe(end);
    this.out.buf.copy(data, 0, 0, end);
    let h: MsgHdrs | undefined;
    if (sizes.length > 1) (h = this.headers()).set(BATCH_HEADER, sizes.join(','));
    if (deadlines) (h ??= this.headers()).set(DEADLINE_HEADER, sizes.map((_, i) => deadlines[i] ?? '').join(','));
    this.publish(data, h);
  }

  private publish(data: Uint8Array, headers: MsgHdrs | undefined): void {
    if (this.closed) return;
    this.bytesOut += data.byteLength;
    try {
      this.nc.publish(this.to, data, { reply: this.from, headers });
    } catch (err) {
      // The connection is closed or draining: the calls in this message will not be answered, so none may wait.
      this.fail(new ChannelClosedError(`could not send to the ${this.capabilities.label}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    }
  }

  /** One message from the subscription that feeds this channel. */
  deliver(m: NatsInbound): void {
    if (this.closed || !this.sink) return;
    this.bytesIn += m.data.byteLength;
    // NATS itself says a message we sent found no subscriber: the other side's subject is gone.
    if (m.headers?.code === 503) return this.fail(new ChannelClosedError(`the ${this.capabilities.label} is gone (no responders)`));
    if (m.headers?.has(BYE_HEADER)) {
      return this.fail(new ChannelClosedError(`the ${this.capabilities.label} closed the session: ${m.headers.get(BYE_HEADER)}`));
    }
    if (m.headers?.has(DRAIN_HEADER)) return this.ondrain?.(m.headers.get(DRAIN_HEADER));
    const batch = m.headers?.get(BATCH_HEADER);
    const deadlines = m.headers?.get(DEADLINE_HEADER);
    let msgs: Message[];
    try {
      if (batch) msgs = splitBatch(m.data, batch);
      else msgs = [split(m.data, m.headers?.get(BUFFERS_HEADER) ?? '')];
      if (deadlines) addDeadlines(msgs, deadlines);
    } catch (err) {
      return this.fail(err instanceof Error ? err : new ProtocolError(String(err)));
    }
    // A message may close the channel (the peer found it invalid): the rest of the batch is then dropped with it.
    for (let i = 0; i < msgs.length && !this.closed; i++) this.sink.message(msgs[i]!);
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
    // After what this side already sent: a drain confirmed must come after the calls it covers.
    this.flush();
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

function concat(body: Uint8Array, rest: ReadonlyArray<ArrayBuffer | Uint8Array>): Uint8Array {
  let size = body.byteLength;
  for (const b of rest) size += b.byteLength;
  const out = new Uint8Array(size);
  out.set(body, 0);
  let at = body.byteLength;
  for (const b of rest) {
    out.set(b instanceof Uint8Array ? b : new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

/** Byte lengths from a header: whole, non-negative, adding up to at most `size`. */
function lengths(header: string, name: string, size: number): number[] {
  const out = header.split(',').map(Number);
  let total = 0;
  for (const n of out) {
    if (!Number.isSafeInteger(n) || n < 0) throw new ProtocolError(`bad ${name} header: ${header.slice(0, 80)}`);
    total += n;
  }
  if (total > size) throw new ProtocolError(`the ${name} header claims more bytes than the message holds`);
  return out;
}

function splitBatch(data: Uint8Array, header: string): Message[] {
  const sizes = lengths(header, BATCH_HEADER, data.byteLength);
  const out: Message[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(fromTuple(decodeMessage(data, [], at, at + n)) as Message);
    at += n;
  }
  return out;
}

/** Puts each call's deadline from the header back on the call, where the peer reads it. */
function addDeadlines(msgs: Message[], header: string): void {
  const values = header.split(',');
  if (values.length !== msgs.length) throw new ProtocolError(`the ${DEADLINE_HEADER} header has ${values.length} values for ${msgs.length} messages`);
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    if (values[i] !== '' && m.t === MsgType.Call) m.d = Number(values[i]);
  }
}

/** Splits a received payload into the body and its out-of-band buffers, and decodes it. */
function split(data: Uint8Array, header: string): Message {
  if (header === '') return fromTuple(decodeMessage(data, [])) as Message;
  const sizes = lengths(header, BUFFERS_HEADER, data.byteLength);
  let at = data.byteLength - sizes.reduce((a, b) => a + b, 0);
  const bodyEnd = at;
  const buffers: ArrayBuffer[] = [];
  for (const n of sizes) {
    // A copy of exactly its bytes: the payload's memory is the NATS client's (in Node, a Buffer whose
    // slice() is a view of a larger, shared ArrayBuffer), and a buffer must be the callee's own.
    const own = new ArrayBuffer(n);
    new Uint8Array(own).set(data.subarray(at, at + n));
    buffers.push(own);
    at += n;
  }
  return fromTuple(decodeMessage(data, buffers, 0, bodyEnd)) as Message;
}
