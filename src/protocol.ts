/**
 * Wire messages. Every transport carries these same shapes; stream
 * transports add a handshake (see transport/stream.ts) before them.
 * Short keys because they are cloned or encoded on every call.
 */

/**
 * Bumped on any incompatible change to the shapes below or to the compact
 * codec (3: a call's path steps travel as names, and an object with the
 * keys of an earlier one refers to it for them).
 */
export const PROTOCOL_VERSION = 3;

export const MsgType = {
  Call: 0,
  Return: 1,
  Throw: 2,
  Release: 3,
  Cancel: 4,
  Bye: 5,
  StreamData: 6,
  StreamCredit: 7,
  StreamEnd: 8,
  StreamCancel: 9,
  Ping: 10,
  Drain: 11,
} as const;

/**
 * A child process's last words before an uncaught error kills it, so the
 * parent can say why its calls failed. Handled by the child transport, never
 * by the peer.
 */
export interface ByeMsg {
  t: typeof MsgType.Bye;
  e: unknown;
}

export const CallKind = { Apply: 0, Get: 1, Set: 2, Construct: 3, Endpoint: 4 } as const;
export type CallKind = (typeof CallKind)[keyof typeof CallKind];

/**
 * Values a handler encoded: `[index, handlerName, payload]`. The index is the
 * argument position (or 0 for a result / set value); the slot in the raw
 * array holds `undefined`.
 */
export type Specials = Array<[number, string, unknown]>;

export interface CallMsg {
  t: typeof MsgType.Call;
  /** Call id; 0 means no reply is wanted. */
  i: number;
  /** Handle on the receiver; absent means 0, the exposed root. */
  h?: number;
  /** Absent means Apply. */
  k?: CallKind;
  p: string[];
  a: unknown[];
  x?: Specials;
  /** Milliseconds the caller will wait, so the callee can give up too. */
  d?: number;
  /** Metadata: string keys and values the callee reads and carries on (see rpc/metadata.ts). */
  m?: Record<string, string>;
}

export interface ReturnMsg {
  t: typeof MsgType.Return;
  i: number;
  v: unknown;
  x?: Specials;
}

export interface ThrowMsg {
  t: typeof MsgType.Throw;
  i: number;
  e: unknown;
}

export interface ReleaseMsg {
  t: typeof MsgType.Release;
  h: number;
}

export interface CancelMsg {
  t: typeof MsgType.Cancel;
  i: number;
  /** 1: the caller's deadline passed (absent: the caller aborted). */
  r?: 1;
}

/** Items of stream `s`, producer to consumer; `x` as a call's, indexed by item. */
export interface StreamDataMsg {
  t: typeof MsgType.StreamData;
  s: number;
  v: unknown[];
  x?: Specials;
}

/** Consumer to producer: `n` more items and `b` more bytes may come. */
export interface StreamCreditMsg {
  t: typeof MsgType.StreamCredit;
  s: number;
  n: number;
  b: number;
}

/** Producer to consumer: the stream is over; `e` (a thrown value, encoded) when it failed. */
export interface StreamEndMsg {
  t: typeof MsgType.StreamEnd;
  s: number;
  e?: unknown;
}

/** Consumer to producer: stop; `e` (encoded) is thrown into the producer when present. */
export interface StreamCancelMsg {
  t: typeof MsgType.StreamCancel;
  s: number;
  e?: unknown;
}

export type StreamMsg = StreamDataMsg | StreamCreditMsg | StreamEndMsg | StreamCancelMsg;

/**
 * A server going offline tells each client so (like HTTP/2's GOAWAY): send
 * no new calls here; calls in flight still get their answers. The client
 * answers with the same message once it has stopped sending new calls, so
 * the server knows nothing more is on its way before it closes.
 */
export interface DrainMsg {
  t: typeof MsgType.Drain;
}

/** A keep-alive: says the sender is there while it has nothing to call. Needs no answer. */
export interface PingMsg {
  t: typeof MsgType.Ping;
}

export type Message = CallMsg | ReturnMsg | ThrowMsg | ReleaseMsg | CancelMsg | StreamMsg | DrainMsg | PingMsg;

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** A stream's credit: whole, and small enough that sums of it stay exact. */
const isCount = (v: unknown): v is number => isId(v) && v <= 2 ** 32;

function isPath(p: unknown): boolean {
  if (!Array.isArray(p)) return false;
  for (let i = 0; i < p.length; i++) if (typeof p[i] !== 'string') return false;
  return true;
}

function isSpecials(x: unknown): boolean {
  if (x === undefined) return true;
  if (!Array.isArray(x)) return false;
  for (const s of x) {
    if (!Array.isArray(s) || s.length !== 3 || !isId(s[0]) || typeof s[1] !== 'string') return false;
  }
  return true;
}

/** Most entries one call's metadata may have. */
export const MAX_METADATA_ENTRIES = 64;
/** Most characters one call's metadata may have, keys and values together. */
export const MAX_METADATA_CHARS = 8192;

/**
 * Says why `m` is not valid call metadata (an object of string keys and
 * values within the bounds above), or returns undefined when it is. Both
 * sides check: the caller before sending, the callee on receipt.
 */
export function invalidMetadata(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'call metadata is not an object of strings';
  let entries = 0;
  let chars = 0;
  for (const key in m) {
    if (!Object.hasOwn(m, key)) continue;
    const v = (m as Record<string, unknown>)[key];
    if (typeof v !== 'string') return `call metadata ${JSON.stringify(key.slice(0, 64))} is not a string`;
    if (++entries > MAX_METADATA_ENTRIES) return `call metadata has more than ${MAX_METADATA_ENTRIES} entries`;
    chars += key.length + v.length;
    if (chars > MAX_METADATA_CHARS) return `call metadata is over ${MAX_METADATA_CHARS} characters (keys and values together)`;
  }
  return undefined;
}

/**
 * Says why `m` is not a valid message, or returns undefined when it is.
 * Untrusted peers send through here, so every field is checked.
 */
export function invalidMessage(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null) return 'message is not an object';
  const msg = m as Record<string, unknown>;
  switch (msg.t) {
    case MsgType.Call: {
      if (!isId(msg.i) || (msg.h !== undefined && !isId(msg.h))) return 'call without a valid id or handle';
      if (msg.k !== undefined && (typeof msg.k !== 'number' || msg.k < 0 || msg.k > 4)) return 'call with an unknown kind';
      if (!isPath(msg.p)) return 'call path is not a list of strings';
      if (!Array.isArray(msg.a)) return 'call arguments are not a list';
      if (!isSpecials(msg.x)) return 'call has malformed special values';
      if (msg.d !== undefined && (typeof msg.d !== 'number' || !(msg.d >= 0))) return 'call has a bad deadline';
      return msg.m === undefined ? undefined : invalidMetadata(msg.m);
    }
    case MsgType.Return:
      if (!isId(msg.i)) return 'return without a valid id';
      return isSpecials(msg.x) ? undefined : 'return has malformed special values';
    case MsgType.Throw:
      return isId(msg.i) ? undefined : 'throw without a valid id';
    case MsgType.Release:
      return isId(msg.h) ? undefined : 'release without a valid handle';
    case MsgType.Cancel:
      if (msg.r !== undefined && msg.r !== 1) return 'cancel with an unknown reason';
      return isId(msg.i) ? undefined : 'cancel without a valid id';
    case MsgType.StreamData:
      if (!isId(msg.s)) return 'stream items without a valid stream id';
      if (!Array.isArray(msg.v)) return 'stream items are not a list';
      return isSpecials(msg.x) ? undefined : 'stream items have malformed special values';
    case MsgType.StreamCredit:
      return isId(msg.s) && isCount(msg.n) && isCount(msg.b) ? undefined : 'stream credit without a valid stream id or counts';
    case MsgType.StreamEnd:
    case MsgType.StreamCancel:
      return isId(msg.s) ? undefined : 'stream end or cancel without a valid stream id';
    case MsgType.Drain:
    case MsgType.Ping:
      return undefined;
    default:
      return `unknown message type ${String(msg.t)}`;
  }
}

/**
 * The two messages nearly every call is made of — a call on the root with
 * nothing special, and its plain return — can travel as tuples, without
 * their keys: that is less to write and read per call. The port transport
 * lays them flat into its batches; the stream transport sends the tuple.
 */
export const isPlainCall = (m: Message): m is CallMsg =>
  m.t === MsgType.Call && m.h === undefined && m.k === undefined && m.x === undefined && m.d === undefined && m.m === undefined;
export const isPlainReturn = (m: Message): m is ReturnMsg => m.t === MsgType.Return && m.x === undefined;

const TUPLE_CALL = -1;
const TUPLE_RETURN = -2;

/** A message as it is encoded on a stream: a tuple when it can be one. */
export function toTuple(m: Message): unknown {
  if (isPlainCall(m)) return [TUPLE_CALL, m.i, m.p, m.a];
  if (isPlainReturn(m)) return [TUPLE_RETURN, m.i, m.v];
  return m;
}

/**
 * How many of a tuple's last members are lists farcall built itself (a
 * call's path and arguments) rather than values from the user.
 */
export const ownLists = (tuple: readonly unknown[]): number => (tuple[0] === TUPLE_CALL ? 2 : 0);

/** The message a decoded value stands for (a tuple becomes its message; anything else is itself). */
export function fromTuple(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  if (v[0] === TUPLE_CALL && v.length === 4) return { t: MsgType.Call, i: v[1], p: v[2], a: v[3] };
  if (v[0] === TUPLE_RETURN && v.length === 3) return { t: MsgType.Return, i: v[1], v: v[2] };
  return v;
}
