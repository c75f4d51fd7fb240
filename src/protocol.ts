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

// 6 to 9 are streams' and 11 a drain notice's.
export const MsgType = { Call: 0, Return: 1, Throw: 2, Release: 3, Cancel: 4, Bye: 5, Ping: 10 } as const;

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
}

/** A keep-alive: says the sender is there while it has nothing to call. Needs no answer. */
export interface PingMsg {
  t: typeof MsgType.Ping;
}

export type Message = CallMsg | ReturnMsg | ThrowMsg | ReleaseMsg | CancelMsg | PingMsg;

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

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
      return undefined;
    }
    case MsgType.Return:
      if (!isId(msg.i)) return 'return without a valid id';
      return isSpecials(msg.x) ? undefined : 'return has malformed special values';
    case MsgType.Throw:
      return isId(msg.i) ? undefined : 'throw without a valid id';
    case MsgType.Release:
      return isId(msg.h) ? undefined : 'release without a valid handle';
    case MsgType.Cancel:
      return isId(msg.i) ? undefined : 'cancel without a valid id';
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
  m.t === MsgType.Call && m.h === undefined && m.k === undefined && m.x === undefined && m.d === undefined;
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
